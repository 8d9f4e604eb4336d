"""What the phone assistant's screens show, as plain data read through the services: the
popup's card of a call, the register's open bill it would act on, labels. No NiceGUI here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor
from kassa.core.errors import KassaError
from kassa.core.i18n import N_
from kassa.core.phones import display_phone
from kassa.orders import service as orders
from kassa.orders.models import BillStatus, OrderType
from kassa.orders.ui.hooks import MEMBER_FACT_LOADERS
from kassa.telephony import service
from kassa.telephony.hooks import Caller
from kassa.telephony.models import CallOutcome, PhoneCall

OUTCOME_LABELS = {
    CallOutcome.IGNORED: N_("Ignored"),
    CallOutcome.CUSTOMER_ADDED: N_("Customer added"),
    CallOutcome.CUSTOMER_SELECTED: N_("Customer selected"),
    CallOutcome.BILL_OPENED: N_("Bill opened"),
    CallOutcome.NEW_ORDER: N_("Bill parked, new bill"),
    CallOutcome.ORDER_REPEATED: N_("Last order repeated"),
    CallOutcome.RESERVATION_MADE: N_("Table reserved"),
    CallOutcome.CALLED_BACK: N_("Called back"),
}
MISSED_LABEL = N_("Missed")
RINGING_LABEL = N_("Ringing")
SKIP_REASON_LABELS = {
    "sold_out": N_("sold out"),
    "unavailable": N_("no longer on sale"),
    "open_price": N_("needs a price"),
}


def caller_number(call: PhoneCall, region: str) -> str:
    """The number for people: national format at home, international from abroad, as sent
    when it is no valid number ("" for a withheld one)."""
    return display_phone(call.phone_e164, region) if call.phone_e164 else call.number


def state_label(call: PhoneCall, now: datetime) -> str:
    """What became of a call (untranslated, marked with N_)."""
    if call.outcome is not None:
        return OUTCOME_LABELS[call.outcome]
    return MISSED_LABEL if service.is_missed(call, now) else RINGING_LABEL


@dataclass(frozen=True)
class OpenBill:
    """The bill the register has open: what "Select customer" acts on."""

    id: int
    number: int
    version: int
    order_type: OrderType
    pickup_code: str | None
    member_id: int | None


async def open_bill_of(session: AsyncSession, actor: Actor, bill_id: object) -> OpenBill | None:
    """The bill a register screen shows (its id as kept in the browser), if still open."""
    if not isinstance(bill_id, int):
        return None
    try:
        bill = await orders.get_bill(session, actor, bill_id)
    except KassaError:
        return None
    if bill.status != BillStatus.OPEN or bill.store_id != actor.store_id:
        return None
    return OpenBill(bill.id, bill.number, bill.version, bill.order_type, bill.pickup_code, bill.member_id)


@dataclass(frozen=True)
class CallCard:
    """The popup's content: the call, the caller and what they order."""

    summary: service.CallerSummary
    number: str  # for display
    facts: tuple[str, ...]  # tier, points, balance (from the loyalty capability, if there)

    @property
    def call(self) -> PhoneCall:
        return self.summary.call

    @property
    def is_known(self) -> bool:
        return self.summary.member is not None

    def caller(self) -> Caller:
        member = self.summary.member
        call = self.call
        return Caller(
            call_id=call.id,
            store_id=call.store_id,
            register_id=call.register_id,
            number=call.number,
            phone_e164=call.phone_e164,
            member_id=member.id if member is not None else None,
            name=member.name if member is not None else None,
        )


async def load_call_card(
    session: AsyncSession, actor: Actor, call_id: int, region: str, locale: str
) -> CallCard:
    summary = await service.caller_summary(session, actor, call_id, locale=locale)
    facts: list[str] = []
    if summary.member is not None:
        for loader in MEMBER_FACT_LOADERS:
            facts += await loader(session, summary.member.organization_id, summary.member.id)
    return CallCard(summary=summary, number=caller_number(summary.call, region), facts=tuple(facts))
