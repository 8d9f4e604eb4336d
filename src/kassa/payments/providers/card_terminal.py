"""Card terminals behind one interface (:class:`CardTerminal`).

Today every store uses :class:`ManualApprovalTerminal`: the card is paid on a stand-alone
terminal and the cashier types the approval code it printed. An integrated terminal (one
Kassa drives over the network) implements the same two methods and is returned by
``kassa.payments.service.card_terminal_for``; the register, the API and the refund flow stay
as they are.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from kassa.core.errors import ValidationFailed
from kassa.core.money import Money

APPROVAL_CODE_MAX_LENGTH = 40


@dataclass(frozen=True, slots=True)
class CardCharge:
    """Take ``amount`` by card. ``reference`` is our idempotency key of the charge;
    ``approval_code`` is what a person read off a stand-alone terminal, if any."""

    reference: str
    amount: Money
    approval_code: str | None = None


@dataclass(frozen=True, slots=True)
class CardRefund:
    reference: str
    amount: Money
    approval_code: str | None = None


@dataclass(frozen=True, slots=True)
class CardApproval:
    """The terminal approved: its approval code goes on the payment (and the receipt)."""

    approval_code: str


class CardTerminal(ABC):
    """A card terminal. Methods raise a :class:`~kassa.core.errors.KassaError` when the card
    is not approved; they return only approvals."""

    name: str
    # Whether the register asks the cashier for the terminal's approval code.
    needs_approval_code: bool

    @abstractmethod
    async def charge(self, charge: CardCharge) -> CardApproval:
        """Take the money, or raise."""

    @abstractmethod
    async def refund(self, refund: CardRefund) -> CardApproval:
        """Give money back to the card, or raise."""


class ManualApprovalTerminal(CardTerminal):
    """A stand-alone terminal: the approval code the cashier typed is the approval."""

    name = "manual"
    needs_approval_code = True

    async def charge(self, charge: CardCharge) -> CardApproval:
        return CardApproval(_approval_code(charge.approval_code))

    async def refund(self, refund: CardRefund) -> CardApproval:
        return CardApproval(_approval_code(refund.approval_code))


def _approval_code(typed: str | None) -> str:
    code = (typed or "").strip()
    if not code or len(code) > APPROVAL_CODE_MAX_LENGTH:
        raise ValidationFailed("type the approval code the terminal printed", field="approval_code")
    return code
