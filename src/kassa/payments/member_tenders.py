"""Paying with what a member holds: stored value (储值卡) and points.

The balances live in the loyalty capability, above payments; it plugs in here through
``set_member_wallet`` (see ``kassa.wiring``), so payments never imports it. A charge is made
in the same transaction as the payment row, by the wallet's conditional UPDATE, so two
registers spending one balance at once can never take it below zero: the second gets a
conflict (``payments.service.take_member_tender``). Refunds of these tenders go straight
back to the member.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor
from kassa.core.errors import Conflict
from kassa.core.money import Money
from kassa.payments.models import Tender

MEMBER_TENDERS = frozenset({Tender.STORED_VALUE, Tender.POINTS})


class MemberWallet(Protocol):
    async def charge(
        self,
        session: AsyncSession,
        actor: Actor,
        member_id: int,
        tender: Tender,
        amount: Money,
        reference: str,
    ) -> dict[str, Any]:
        """Take ``amount`` (its value; points are converted) from the member, or raise Conflict
        when the balance is short. Returns what was taken, for the payment's record."""
        ...

    async def refund(
        self,
        session: AsyncSession,
        actor: Actor,
        member_id: int,
        tender: Tender,
        amount: Money,
        reference: str,
    ) -> dict[str, Any]:
        """Give ``amount`` of an earlier charge (``reference``) back to the member."""
        ...


_wallet: MemberWallet | None = None


def set_member_wallet(wallet: MemberWallet | None) -> None:
    global _wallet
    _wallet = wallet


def member_wallet() -> MemberWallet:
    if _wallet is None:
        raise Conflict("stored value and points are not available in this installation", field="tender")
    return _wallet
