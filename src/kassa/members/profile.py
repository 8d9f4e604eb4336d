"""What a member's bills say about them: spend, visits, favourite items, order history,
and the back office's member list with its filters.

The rules, everywhere in the members capability (profile, list, export, analytics):

- Only **closed** bills count: open ones are not paid yet, cancelled and merged ones sold
  nothing (a merged bill's lines are on the bill it went into).
- A bill's **paid amount** is its total plus its cash rounding (抹零 makes that negative).
- **Total spend** is the closed bills' paid amounts less the refunds on them that
  **succeeded**; a refund still pending (card terminal, customer confirmation) or failed
  has not given money back yet.
- A **visit** is one closed bill: two bills on one business day are two visits.
- The **average bill** is total spend / visits, rounded half up to the minor unit.
- **Favourite items** are the products bought most (by quantity) on the active lines of the
  member's closed bills.

Everything is aggregated in the database (one row per member, never one per bill), so a
member with thousands of bills costs the same few queries. This module only reads the
orders, payments, returns and catalog tables; none of those capabilities imports it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    cast,
    distinct,
    exists,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.models import Product
from kassa.core.auth import Actor, Permission
from kassa.core.errors import ValidationFailed
from kassa.core.phones import is_last4, looks_like_phone, try_normalize_phone
from kassa.members import service
from kassa.members.cards import is_card_number
from kassa.members.models import Member
from kassa.orders.models import Bill, BillLine, BillStatus, LineStatus, OrderType
from kassa.payments.models import Refund, RefundStatus
from kassa.returns.models import RefundState, ReturnRequest, ReturnStatus
from kassa.stores.models import Store

Comparable = TypeVar("Comparable", date, int)
FAVOURITES = 5
HISTORY_LIMIT = 20
MAX_HISTORY_LIMIT = 100
LIST_LIMIT = 50
MAX_LIST_LIMIT = 200
USUAL_ORDER_ITEMS = 5
USUAL_ORDER_BILLS = 20
# Members per IN (...) list: well inside every database's limit on bound parameters.
CHUNK = 500
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_CURRENCY = "CNY"


# --- the organization's local settings ---------------------------------------------------


@dataclass(frozen=True)
class LocalSettings:
    """Where dates are read and money is counted for an actor: their store's, or for
    someone working across stores (an owner), the organization's first store's."""

    timezone: str
    currency: str
    phone_region: str

    def start_of(self, day: date) -> datetime:
        """The UTC instant a local calendar day begins."""
        return datetime.combine(day, time(), ZoneInfo(self.timezone)).astimezone(UTC)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(ZoneInfo(self.timezone)).date()


async def local_settings(session: AsyncSession, actor: Actor) -> LocalSettings:
    query = select(Store.timezone, Store.currency, Store.phone_region).where(
        Store.organization_id == actor.organization_id
    )
    if actor.store_id is not None:
        query = query.where(Store.id == actor.store_id)
    row = (await session.execute(query.order_by(Store.id).limit(1))).first()
    if row is None:
        return LocalSettings(DEFAULT_TIMEZONE, DEFAULT_CURRENCY, service.DEFAULT_PHONE_REGION)
    return LocalSettings(row.timezone, row.currency, row.phone_region)


# --- figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberFigures:
    """A member's totals over all their closed bills (see the module's rules)."""

    member_id: int
    visits: int = 0
    paid_amount: int = 0
    refunded_amount: int = 0
    first_visit_at: datetime | None = None
    last_visit_at: datetime | None = None

    @property
    def total_spend_amount(self) -> int:
        return self.paid_amount - self.refunded_amount

    @property
    def average_bill_amount(self) -> int | None:
        if not self.visits:
            return None
        return int((Decimal(self.total_spend_amount) / self.visits).quantize(Decimal(1), ROUND_HALF_UP))


def closed_bill_figures(organization_id: int, *conditions: ColumnElement[bool]) -> Subquery:
    """Per member: visits, paid amount, first and last visit (closed bills only); extra
    ``conditions`` narrow the bills (a period, some members)."""
    return (
        select(
            Bill.member_id.label("member_id"),
            func.count(Bill.id).label("visits"),
            func.sum(Bill.total_amount + Bill.rounding_amount).label("paid_amount"),
            func.min(Bill.closed_at).label("first_visit_at"),
            func.max(Bill.closed_at).label("last_visit_at"),
        )
        .join(Member, Member.id == Bill.member_id)
        .where(Member.organization_id == organization_id, Bill.status == BillStatus.CLOSED, *conditions)
        .group_by(Bill.member_id)
        .subquery("bill_figures")
    )


def succeeded_refunds(organization_id: int, *conditions: ColumnElement[bool]) -> Subquery:
    """Per member: what succeeded refunds gave back on their closed bills."""
    return (
        select(Bill.member_id.label("member_id"), func.sum(Refund.amount).label("refunded_amount"))
        .join(Bill, Bill.id == Refund.bill_id)
        .join(Member, Member.id == Bill.member_id)
        .where(
            Member.organization_id == organization_id,
            Bill.status == BillStatus.CLOSED,
            Refund.status == RefundStatus.SUCCEEDED,
            *conditions,
        )
        .group_by(Bill.member_id)
        .subquery("refund_figures")
    )


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]


async def figures_of(
    session: AsyncSession, organization_id: int, member_ids: Sequence[int]
) -> dict[int, MemberFigures]:
    """The figures of these members (every one of them, zero for those without a bill)."""
    found = {member_id: MemberFigures(member_id) for member_id in member_ids}
    for chunk in _chunks(list(found)):
        bills = closed_bill_figures(organization_id, Bill.member_id.in_(chunk))
        refunds = succeeded_refunds(organization_id, Bill.member_id.in_(chunk))
        query = select(bills, refunds.c.refunded_amount).outerjoin(
            refunds, refunds.c.member_id == bills.c.member_id
        )
        for row in (await session.execute(query)).all():
            found[row.member_id] = MemberFigures(
                member_id=row.member_id,
                visits=int(row.visits),
                paid_amount=int(row.paid_amount or 0),
                refunded_amount=int(row.refunded_amount or 0),
                first_visit_at=row.first_visit_at,
                last_visit_at=row.last_visit_at,
            )
    return found


# --- the profile --------------------------------------------------------------------------


@dataclass(frozen=True)
class FavouriteItem:
    product_id: int
    name: str
    quantity: int  # bought in all, on active lines of closed bills
    bill_count: int  # on how many bills


@dataclass(frozen=True)
class BillReturn:
    """A return asked on a bill of the history."""

    return_id: int
    status: ReturnStatus
    amount: int
    refund_state: RefundState
    requested_at: datetime


@dataclass(frozen=True)
class HistoryBill:
    """One of the member's bills. ``amount`` is what the customer paid (total plus cash
    rounding) on a closed bill, the total so far on an open one."""

    bill_id: int
    store_id: int
    store_name: str
    business_date: date
    number: int
    order_type: OrderType
    status: BillStatus
    currency: str
    amount: int
    refunded_amount: int  # succeeded refunds
    opened_at: datetime
    closed_at: datetime | None
    returns: list[BillReturn] = field(default_factory=list)


@dataclass(frozen=True)
class MemberProfile:
    member: Member
    currency: str
    figures: MemberFigures
    favourites: list[FavouriteItem]
    history: list[HistoryBill]  # newest first, one page
    history_total: int  # all the member's bills (but merged ones)


async def member_profile(
    session: AsyncSession,
    actor: Actor,
    member_id: int,
    *,
    history_limit: int = HISTORY_LIMIT,
    history_offset: int = 0,
) -> MemberProfile:
    """A member's figures, favourite items and order history (newest first, one page of
    ``history_limit`` bills from ``history_offset``), with the returns asked on each bill.
    Tags and notes are on the member; ``update_member`` changes them."""
    member = await service.get_member(session, actor, member_id)
    if not 1 <= history_limit <= MAX_HISTORY_LIMIT:
        raise ValidationFailed(f"from 1 to {MAX_HISTORY_LIMIT} bills per page", field="history_limit")
    if history_offset < 0:
        raise ValidationFailed("an offset is 0 or more", field="history_offset")
    figures = (await figures_of(session, actor.organization_id, [member.id]))[member.id]
    currency = await session.scalar(select(Store.currency).where(Store.id == member.registered_at_store_id))
    return MemberProfile(
        member=member,
        currency=currency or DEFAULT_CURRENCY,
        figures=figures,
        favourites=await favourite_items(session, member.id),
        history=await _history(session, member.id, history_limit, history_offset),
        history_total=int(
            await session.scalar(
                select(func.count(Bill.id)).where(
                    Bill.member_id == member.id, Bill.status != BillStatus.MERGED
                )
            )
            or 0
        ),
    )


async def favourite_items(
    session: AsyncSession, member_id: int, *, limit: int = FAVOURITES
) -> list[FavouriteItem]:
    """The products the member bought most, by quantity (then on more bills, then the
    older product first), from the active lines of their closed bills."""
    quantity = func.sum(BillLine.quantity)
    bill_count = func.count(distinct(BillLine.bill_id))
    query = (
        select(BillLine.product_id, Product.name, quantity.label("quantity"), bill_count.label("bill_count"))
        .join(Bill, Bill.id == BillLine.bill_id)
        .join(Product, Product.id == BillLine.product_id)
        .where(
            Bill.member_id == member_id,
            Bill.status == BillStatus.CLOSED,
            BillLine.status == LineStatus.ACTIVE,
        )
        .group_by(BillLine.product_id, Product.name)
        .order_by(quantity.desc(), bill_count.desc(), BillLine.product_id)
        .limit(limit)
    )
    return [
        FavouriteItem(row.product_id, row.name, int(row.quantity), int(row.bill_count))
        for row in (await session.execute(query)).all()
    ]


async def _history(session: AsyncSession, member_id: int, limit: int, offset: int) -> list[HistoryBill]:
    rows = (
        await session.execute(
            select(Bill, Store.name)
            .join(Store, Store.id == Bill.store_id)
            .where(Bill.member_id == member_id, Bill.status != BillStatus.MERGED)
            .order_by(Bill.opened_at.desc(), Bill.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    bill_ids = [bill.id for bill, _store_name in rows]
    refunded: dict[int, int] = {}
    returns: dict[int, list[BillReturn]] = {}
    if bill_ids:
        refunded = {
            bill_id: int(amount)
            for bill_id, amount in (
                await session.execute(
                    select(Refund.bill_id, func.sum(Refund.amount))
                    .where(Refund.bill_id.in_(bill_ids), Refund.status == RefundStatus.SUCCEEDED)
                    .group_by(Refund.bill_id)
                )
            ).all()
        }
        for request in (
            await session.scalars(
                select(ReturnRequest)
                .where(ReturnRequest.bill_id.in_(bill_ids))
                .order_by(ReturnRequest.requested_at, ReturnRequest.id)
            )
        ).all():
            returns.setdefault(request.bill_id, []).append(
                BillReturn(
                    request.id, request.status, request.amount, request.refund_state, request.requested_at
                )
            )
    return [
        HistoryBill(
            bill_id=bill.id,
            store_id=bill.store_id,
            store_name=store_name,
            business_date=bill.business_date,
            number=bill.number,
            order_type=bill.order_type,
            status=bill.status,
            currency=bill.currency,
            amount=bill.total_amount + (bill.rounding_amount if bill.status == BillStatus.CLOSED else 0),
            refunded_amount=refunded.get(bill.id, 0),
            opened_at=bill.opened_at,
            closed_at=bill.closed_at,
            returns=returns.get(bill.id, []),
        )
        for bill, store_name in rows
    ]


# --- the usual order ----------------------------------------------------------------------


@dataclass(frozen=True)
class UsualItem:
    product_id: int
    name: str
    bill_count: int  # on how many of the recent bills
    usual_quantity: int  # how many per bill, rounded half up (at least 1)


async def usual_order(
    session: AsyncSession,
    member_id: int,
    *,
    limit: int = USUAL_ORDER_ITEMS,
    recent_bills: int = USUAL_ORDER_BILLS,
) -> list[UsualItem]:
    """What the member usually orders: the products on most of their latest
    ``recent_bills`` closed bills (habits change, so older bills do not count), still on
    sale, each with the quantity they usually take. For the register's bill panel and the
    phone assistant, which know the member already (no permission is checked here)."""
    recent = (
        select(Bill.id)
        .where(Bill.member_id == member_id, Bill.status == BillStatus.CLOSED)
        .order_by(Bill.closed_at.desc(), Bill.id.desc())
        .limit(recent_bills)
        .subquery("recent_bills")
    )
    bill_count = func.count(distinct(BillLine.bill_id))
    quantity = func.sum(BillLine.quantity)
    query = (
        select(BillLine.product_id, Product.name, bill_count.label("bill_count"), quantity.label("quantity"))
        .join(recent, recent.c.id == BillLine.bill_id)
        .join(Product, Product.id == BillLine.product_id)
        .where(BillLine.status == LineStatus.ACTIVE, Product.is_active)
        .group_by(BillLine.product_id, Product.name)
        .order_by(bill_count.desc(), quantity.desc(), BillLine.product_id)
        .limit(limit)
    )
    items = []
    for row in (await session.execute(query)).all():
        per_bill = (Decimal(int(row.quantity)) / int(row.bill_count)).quantize(Decimal(1), ROUND_HALF_UP)
        items.append(UsualItem(row.product_id, row.name, int(row.bill_count), max(int(per_bill), 1)))
    return items


# --- the member list ----------------------------------------------------------------------


@dataclass(frozen=True)
class MemberFilter:
    """The back office's member list: a search text (as at the counter: a phone number in
    any format, its last 4 digits, a card number or part of a name) and filters, all
    combined. Date ranges are local calendar days, both ends included; amounts are minor
    units of total spend. A member who never came has no last visit (a last-visit filter
    leaves them out) and a total spend of 0."""

    text: str = ""
    tag: str | None = None
    last_visit_from: date | None = None
    last_visit_to: date | None = None
    spend_at_least_amount: int | None = None
    spend_at_most_amount: int | None = None
    registered_from: date | None = None
    registered_to: date | None = None
    # LOYALTY HOOK (tier filter): the members of the chosen tier, as ids or a query that
    # selects member ids (e.g. from the loyalty capability's tier table). None: any tier.
    # The members capability never imports loyalty; the caller (web/UI) passes this in.
    tier_member_ids: Collection[int] | Select[int] | None = None

    @property
    def uses_figures(self) -> bool:
        return any(
            value is not None
            for value in (
                self.last_visit_from,
                self.last_visit_to,
                self.spend_at_least_amount,
                self.spend_at_most_amount,
            )
        )


@dataclass(frozen=True)
class MemberRow:
    member: Member
    figures: MemberFigures


@dataclass(frozen=True)
class MemberPage:
    rows: list[MemberRow]
    total: int  # members matching, over all pages
    offset: int
    limit: int


def _check_range(start: Comparable | None, end: Comparable | None, field_name: str) -> None:
    if start is not None and end is not None and end < start:
        raise ValidationFailed("the end of the range lies before its start", field=field_name)


async def filtered_members(session: AsyncSession, actor: Actor, filters: MemberFilter) -> Select[Member]:
    """The query of the members a filter selects (not erased), without an order."""
    actor.require(Permission.MEMBER_VIEW)
    _check_range(filters.last_visit_from, filters.last_visit_to, "last_visit_to")
    _check_range(filters.spend_at_least_amount, filters.spend_at_most_amount, "spend_at_most_amount")
    _check_range(filters.registered_from, filters.registered_to, "registered_to")
    for name in ("spend_at_least_amount", "spend_at_most_amount"):
        value = getattr(filters, name)
        if value is not None and value < 0:
            raise ValidationFailed("an amount is 0 or more", field=name)
    local = await local_settings(session, actor)
    query = select(Member).where(Member.organization_id == actor.organization_id, Member.erased_at.is_(None))
    text_condition = await _text_condition(session, actor, filters.text)
    if text_condition is not None:
        query = query.where(text_condition)
    tag = " ".join((filters.tag or "").split())
    if tag:
        query = query.where(_has_tag(session, tag))
    if filters.registered_from is not None:
        query = query.where(Member.created_at >= local.start_of(filters.registered_from))
    if filters.registered_to is not None:
        query = query.where(Member.created_at < local.start_of(filters.registered_to + timedelta(days=1)))
    if filters.tier_member_ids is not None:
        query = query.where(Member.id.in_(filters.tier_member_ids))
    if filters.uses_figures:
        bills = closed_bill_figures(actor.organization_id)
        refunds = succeeded_refunds(actor.organization_id)
        query = query.outerjoin(bills, bills.c.member_id == Member.id).outerjoin(
            refunds, refunds.c.member_id == Member.id
        )
        spend = spend_expression(bills, refunds)
        if filters.last_visit_from is not None:
            query = query.where(bills.c.last_visit_at >= local.start_of(filters.last_visit_from))
        if filters.last_visit_to is not None:
            query = query.where(
                bills.c.last_visit_at < local.start_of(filters.last_visit_to + timedelta(days=1))
            )
        if filters.spend_at_least_amount is not None:
            query = query.where(spend >= filters.spend_at_least_amount)
        if filters.spend_at_most_amount is not None:
            query = query.where(spend <= filters.spend_at_most_amount)
    return query


async def list_members(
    session: AsyncSession,
    actor: Actor,
    filters: MemberFilter,
    *,
    offset: int = 0,
    limit: int = LIST_LIMIT,
) -> MemberPage:
    """One page of the members a filter selects, the latest sign-ups first, each with their
    figures, and how many match in all."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise ValidationFailed(f"from 1 to {MAX_LIST_LIMIT} members per page", field="limit")
    if offset < 0:
        raise ValidationFailed("an offset is 0 or more", field="offset")
    query = await filtered_members(session, actor, filters)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    members = list(
        (
            await session.scalars(
                query.order_by(Member.created_at.desc(), Member.id.desc()).offset(offset).limit(limit)
            )
        ).all()
    )
    # Figures for this page only: no aggregate over every member unless a filter needs it.
    figures = await figures_of(session, actor.organization_id, [member.id for member in members])
    return MemberPage(
        rows=[MemberRow(member, figures[member.id]) for member in members],
        total=total,
        offset=offset,
        limit=limit,
    )


async def _text_condition(session: AsyncSession, actor: Actor, query: str) -> ColumnElement[bool] | None:
    """The counter search (``service.find_members``) as a condition."""
    text = query.strip()
    if not text:
        return None
    if looks_like_phone(text):
        if is_last4(text):
            return Member.phone_last4 == text
        conditions: list[ColumnElement[bool]] = []
        phone = try_normalize_phone(text, await service.phone_region(session, actor))
        if phone is not None:
            conditions.append(Member.phone_e164 == phone)
        digits = re.sub(r"\D", "", text)
        if is_card_number(digits):
            conditions.append(Member.card_number == digits)
        return or_(*conditions) if conditions else false()
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(Member.name).like(f"%{escaped}%", escape="\\")


def _has_tag(session: AsyncSession, tag: str) -> ColumnElement[bool]:
    """The member's tags (a JSON list) hold ``tag``, ignoring case (ASCII letters)."""
    if session.get_bind().dialect.name == "postgresql":
        elements = func.jsonb_array_elements_text(cast(Member.tags, JSONB)).table_valued("value")
    else:
        elements = func.json_each(Member.tags).table_valued("value")
    return exists(select(1).select_from(elements).where(func.lower(elements.c.value) == tag.lower()))


def spend_expression(bills: Subquery, refunds: Subquery) -> ColumnElement[int]:
    """Total spend from the two figure subqueries, 0 for a member without bills."""
    return func.coalesce(bills.c.paid_amount, 0) - func.coalesce(refunds.c.refunded_amount, 0)


def in_period(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Bills closed from ``start`` (included) to ``end`` (excluded)."""
    return and_(Bill.closed_at >= start, Bill.closed_at < end)
