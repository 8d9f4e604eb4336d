"""What staff do about a call, each recorded on it as its outcome.

A call is handled once: the first action takes it with a conditional UPDATE (``WHERE
outcome IS NULL``), so of two screens tapping at once one acts and the other hears 409
``call_handled``. The action and its outcome are one unit of work: a bill that cannot be
opened leaves the call unhandled.

- **ignore**; **called back** (a missed call returned);
- **select the caller**: onto the bill the register has open, or (none open) a new
  takeaway bill for them;
- **a new order**: the open bill is parked (it stays in the open bills) and a new bill is
  opened with the caller on it;
- **add the caller** as a member (the number filled in), then select them as above;
- **repeat the last order**: a new bill with the lines of their last paid bill (products,
  quantities, options, notes); what cannot be sold now (sold out, no longer on sale, an
  open price) is left out and reported;
- **reservation made** (by the reservations capability, through ``telephony.hooks``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog import service as catalog
from kassa.catalog.models import Product, ProductKind, StoreProduct
from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.database import utc_now
from kassa.core.errors import Conflict, KassaError, ValidationFailed
from kassa.core.events import Event, publish_after_commit
from kassa.members import service as members
from kassa.members.models import Member
from kassa.orders import service as orders
from kassa.orders.models import Bill, BillLine, BillStatus, OrderType
from kassa.stores.models import Store
from kassa.telephony.models import CallOutcome, PhoneCall
from kassa.telephony.service import CALL_HANDLED_EVENT, get_call, register_topic

SOLD_OUT = "sold_out"
UNAVAILABLE = "unavailable"
OPEN_PRICE = "open_price"


class CallAlreadyHandled(Conflict):
    code = "call_handled"
    title = "Call handled already"


@dataclass(frozen=True)
class SkippedLine:
    """A line of the last order that the repeat left out, and why."""

    product_id: int
    name: str
    quantity: int
    reason: str  # SOLD_OUT, UNAVAILABLE or OPEN_PRICE


@dataclass(frozen=True)
class CallHandled:
    call: PhoneCall
    bill: Bill | None = None  # the bill the caller is on now
    parked_bill: Bill | None = None
    member: Member | None = None
    skipped: tuple[SkippedLine, ...] = field(default=())


async def _claim(session: AsyncSession, actor: Actor, call_id: int, outcome: CallOutcome) -> PhoneCall:
    """Take the call for ``outcome``, unless someone acted on it already."""
    call = await get_call(session, actor, call_id)
    claimed = await session.scalar(
        update(PhoneCall)
        .where(PhoneCall.id == call.id, PhoneCall.outcome.is_(None))
        .values(outcome=outcome, handled_at=utc_now(), handled_by_staff_id=actor.staff_id)
        .returning(PhoneCall.id)
    )
    await session.refresh(call)
    if claimed is None:
        assert call.outcome is not None
        raise CallAlreadyHandled(
            f"this call was handled already ({call.outcome.value.replace('_', ' ')})",
            field="call_id",
            extra={"outcome": call.outcome.value},
        )
    return call


async def _caller(session: AsyncSession, call: PhoneCall) -> Member:
    member = await session.get(Member, call.member_id) if call.member_id is not None else None
    if member is None or member.erased_at is not None:
        raise ValidationFailed("the caller is no member; add them first", field="call_id")
    return member


def _finish(
    session: AsyncSession,
    actor: Actor,
    call: PhoneCall,
    *,
    bill: Bill | None = None,
    parked: Bill | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    call.bill_id = bill.id if bill is not None else None
    call.parked_bill_id = parked.id if parked is not None else None
    if details:
        call.details = details
    assert call.outcome is not None
    audit.record(
        session,
        actor,
        "phone.call_outcome",
        "phone_call",
        call.id,
        store_id=call.store_id,
        after={
            "outcome": call.outcome,
            "bill_id": call.bill_id,
            "parked_bill_id": call.parked_bill_id,
            "member_id": call.member_id,
        },
    )
    # Every screen of the register closes its popup of this call.
    publish_after_commit(
        session,
        Event(
            register_topic(call.register_id),
            CALL_HANDLED_EVENT,
            {"call_id": call.id, "outcome": call.outcome.value, "bill_id": call.bill_id},
        ),
    )


async def _open_bill_for(session: AsyncSession, actor: Actor, member_id: int) -> Bill:
    """A new takeaway bill on the actor's register with the member on it."""
    bill = await orders.open_bill(session, actor, order_type=OrderType.TAKEAWAY)
    return await orders.attach_member(session, actor, bill.id, bill.version, member_id)


def _version_of(bill_id: int | None, version: int | None) -> int:
    if bill_id is not None and version is None:
        raise ValidationFailed("name the version of the bill the register shows", field="version")
    return version or 0


async def ignore(session: AsyncSession, actor: Actor, call_id: int) -> CallHandled:
    """The call is dealt with and needs nothing (no call-back either)."""
    call = await _claim(session, actor, call_id, CallOutcome.IGNORED)
    _finish(session, actor, call)
    return CallHandled(call)


async def mark_called_back(session: AsyncSession, actor: Actor, call_id: int) -> CallHandled:
    """Staff returned a missed call: it leaves the call-back list."""
    call = await _claim(session, actor, call_id, CallOutcome.CALLED_BACK)
    _finish(session, actor, call)
    return CallHandled(call)


async def select_caller(
    session: AsyncSession,
    actor: Actor,
    call_id: int,
    *,
    bill_id: int | None = None,
    version: int | None = None,
) -> CallHandled:
    """Put the calling member on the register's open bill (``bill_id`` at ``version``),
    or, with no bill open, on a new takeaway bill."""
    expected = _version_of(bill_id, version)
    outcome = CallOutcome.CUSTOMER_SELECTED if bill_id is not None else CallOutcome.BILL_OPENED
    call = await _claim(session, actor, call_id, outcome)
    member = await _caller(session, call)
    if bill_id is not None:
        bill = await orders.attach_member(session, actor, bill_id, expected, member.id)
    else:
        bill = await _open_bill_for(session, actor, member.id)
    _finish(session, actor, call, bill=bill)
    return CallHandled(call, bill=bill, member=member)


async def new_order_for_caller(
    session: AsyncSession,
    actor: Actor,
    call_id: int,
    *,
    bill_id: int | None = None,
    version: int | None = None,
) -> CallHandled:
    """Park the register's open bill (``bill_id`` at ``version``; it stays in the open
    bills) and open a new takeaway bill with the calling member on it."""
    expected = _version_of(bill_id, version)
    outcome = CallOutcome.NEW_ORDER if bill_id is not None else CallOutcome.BILL_OPENED
    call = await _claim(session, actor, call_id, outcome)
    member = await _caller(session, call)
    parked = await orders.park(session, actor, bill_id, expected) if bill_id is not None else None
    bill = await _open_bill_for(session, actor, member.id)
    _finish(session, actor, call, bill=bill, parked=parked)
    return CallHandled(call, bill=bill, parked_bill=parked, member=member)


async def add_caller(
    session: AsyncSession,
    actor: Actor,
    call_id: int,
    data: members.MemberInput,
    consents: members.RegistrationConsents,
    *,
    bill_id: int | None = None,
    version: int | None = None,
    new_order: bool = False,
) -> CallHandled:
    """Sign an unknown caller up (the number they called from, or one typed in) and select
    them: onto the open bill, or with ``new_order`` onto a new bill with the open one
    parked; with no bill open, onto a new takeaway bill."""
    expected = _version_of(bill_id, version)
    call = await _claim(session, actor, call_id, CallOutcome.CUSTOMER_ADDED)
    known = await session.get(Member, call.member_id) if call.member_id is not None else None
    if known is not None and known.erased_at is None:
        raise ValidationFailed("the caller is a member already; select them", field="call_id")
    member = await members.register_member(session, actor, call.store_id, data, consents)
    call.member_id = member.id
    parked = None
    if bill_id is not None and not new_order:
        bill = await orders.attach_member(session, actor, bill_id, expected, member.id)
    else:
        if bill_id is not None:
            parked = await orders.park(session, actor, bill_id, expected)
        bill = await _open_bill_for(session, actor, member.id)
    _finish(session, actor, call, bill=bill, parked=parked)
    return CallHandled(call, bill=bill, parked_bill=parked, member=member)


async def record_reservation(
    session: AsyncSession, actor: Actor, call_id: int, reservation_id: int | str
) -> CallHandled:
    """The caller reserved a table (the reservations capability made the reservation)."""
    call = await _claim(session, actor, call_id, CallOutcome.RESERVATION_MADE)
    _finish(session, actor, call, details={"reservation_id": reservation_id})
    return CallHandled(call)


# --- repeating the last order -------------------------------------------------------------


async def last_paid_bill(session: AsyncSession, member_id: int) -> Bill | None:
    return await session.scalar(
        select(Bill)
        .where(Bill.member_id == member_id, Bill.status == BillStatus.CLOSED)
        .order_by(Bill.opened_at.desc(), Bill.id.desc())
        .limit(1)
    )


def _option_ids(line: BillLine) -> list[int]:
    return [int(modifier["option_id"]) for modifier in line.modifiers if modifier.get("option_id")]


async def _why_not(
    session: AsyncSession, actor: Actor, store: Store, line: BillLine, needed: dict[int, int]
) -> str | None:
    """Why the line cannot be sold again now (None: it can). Checked before adding, so a
    refused line never leaves half a change behind; ``needed`` counts the counted stock
    the lines before it take."""
    product = await session.get(Product, line.product_id)
    if product is not None and product.kind == ProductKind.OPEN_PRICE:
        return OPEN_PRICE
    try:
        item = await catalog.resolve_item(
            session, actor, store.id, line.product_id, modifier_option_ids=_option_ids(line)
        )
    except catalog.SoldOut:
        return SOLD_OUT
    except KassaError:
        return UNAVAILABLE
    if store.allow_negative_stock or actor.can(Permission.STOCK_NEGATIVE):
        return None
    for product_id in item.stock_product_ids:
        left = await session.scalar(
            select(StoreProduct.stock_quantity).where(
                StoreProduct.store_id == store.id, StoreProduct.product_id == product_id
            )
        )
        if left is not None and left < needed.get(product_id, 0) + line.quantity:
            return SOLD_OUT
    for product_id in item.stock_product_ids:
        needed[product_id] = needed.get(product_id, 0) + line.quantity
    return None


async def repeat_last_order(session: AsyncSession, actor: Actor, call_id: int) -> CallHandled:
    """A new takeaway bill for the calling member with the lines of their last paid bill:
    the same products, quantities, options and notes at today's prices. Lines that cannot
    be sold now are left out and reported (``skipped``)."""
    call = await _claim(session, actor, call_id, CallOutcome.ORDER_REPEATED)
    member = await _caller(session, call)
    last = await last_paid_bill(session, member.id)
    if last is None:
        raise Conflict("the caller has no paid order to repeat", field="call_id")
    bill = await _open_bill_for(session, actor, member.id)
    store = await session.get(Store, bill.store_id)
    assert store is not None
    lines: Sequence[BillLine] = await orders.bill_lines(session, last.id, include_voided=False)
    skipped: list[SkippedLine] = []
    needed: dict[int, int] = {}
    for line in lines:
        reason = await _why_not(session, actor, store, line, needed)
        if reason is not None:
            skipped.append(SkippedLine(line.product_id, line.name, line.quantity, reason))
            continue
        await orders.add_line(
            session,
            actor,
            bill.id,
            bill.version,
            product_id=line.product_id,
            quantity=line.quantity,
            modifier_option_ids=_option_ids(line),
            note=line.note,
        )
    _finish(
        session,
        actor,
        call,
        bill=bill,
        details={
            "repeated_bill_id": last.id,
            "skipped": [
                {
                    "product_id": item.product_id,
                    "name": item.name,
                    "quantity": item.quantity,
                    "reason": item.reason,
                }
                for item in skipped
            ],
        },
    )
    return CallHandled(call, bill=bill, member=member, skipped=tuple(skipped))
