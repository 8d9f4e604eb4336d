"""Paying with what a member holds: stored value (储值卡) and points.

The balances live in the loyalty capability, above payments; it plugs in here through
``set_member_wallet`` (see ``kassa.wiring``), so payments never imports it. A charge is made
in the same transaction as the payment row, by the wallet's conditional UPDATE, so two
registers spending one balance at once can never take it below zero: the second gets a
conflict. Refunds of these tenders go straight back to the member.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Permission
from kassa.core.errors import Conflict, ValidationFailed
from kassa.core.money import Money
from kassa.payments.models import Payment, PaymentStatus, Tender

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


async def take_member_tender(
    session: AsyncSession,
    actor: Actor,
    bill_id: int,
    version: int,
    *,
    tender: Tender,
    idempotency_key: str,
    amount: int | None = None,
    split_share_index: int | None = None,
    close_when_paid: bool = True,
) -> Payment:
    """Pay (part of) a bill from the member's stored value or points; the member must be on
    the bill."""
    from kassa.payments import service  # the module that takes every other tender

    actor.require(Permission.PAYMENT_TAKE)
    if tender not in MEMBER_TENDERS:
        raise ValidationFailed("only stored value and points are member tenders", field="tender")
    bill, existing = await service._lock_for_payment(session, actor, bill_id, version, idempotency_key)
    if existing is not None:
        return existing
    assert bill is not None
    if bill.member_id is None:
        raise Conflict("attach the member to the bill first", field="member_id")
    target = service._target_amount(bill, amount, split_share_index)
    payment = service._new_payment(
        bill, actor, tender, PaymentStatus.SUCCEEDED, target, idempotency_key, split_share_index
    )
    session.add(payment)
    await session.flush()
    taken = await member_wallet().charge(
        session, actor, bill.member_id, tender, Money(target, bill.currency), f"payment:{payment.id}"
    )
    payment.provider = "member"
    payment.provider_response = dict(taken)
    service._record(session, actor, payment)
    await service._after_success(session, actor, bill, close_when_paid=close_when_paid)
    return payment
