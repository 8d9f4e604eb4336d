"""The Z report: a store's business day in figures, computed with a few aggregate queries.

Only closed bills are sales. Amounts come from the bills and lines as stored (the orders
service keeps them in step); per-bill arithmetic is needed only where a receipt rounds or
allocates per bill:

- VAT is rounded once per bill and rate (``orders.totals.bill_totals``). For bills without
  a bill discount the per-(bill, rate) gross is a GROUP BY and the half-up rounding an
  integer expression in SQL: floor((2 g r + (10000 + r)) / (2 (10000 + r))) for g >= 0.
- A bill discount is spread over the bill's lines by largest remainder. Only the closed
  bills that carry one (usually few) are loaded, and ``bill_totals`` gives exactly the
  shares and VAT rows their receipts showed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.models import Category
from kassa.catalog.products import localized_name
from kassa.core.auth import Actor, Permission
from kassa.core.database import utc_now
from kassa.core.i18n import normalize_locale
from kassa.core.money import allocate
from kassa.orders.models import Bill, BillLine, BillStatus, LineStatus
from kassa.orders.service import business_date_of
from kassa.orders.totals import BASIS_POINTS, Discount, LineAmounts, bill_totals
from kassa.payments.models import Payment, PaymentStatus, Refund, RefundStatus, Tender, TopUpPayment
from kassa.returns.models import ReturnRequest, ReturnStatus
from kassa.shifts.models import Shift, ShiftStatus
from kassa.shifts.schemas import (
    CategorySales,
    DirectedRefund,
    DiscountTotals,
    RefundTender,
    RefundTotals,
    ShiftSummary,
    TenderTotal,
    TopUpTotal,
    VatSales,
    VoidReason,
    VoidTotals,
    ZReport,
)
from kassa.shifts.service import cash_figures, staff_name, staff_names
from kassa.stores import service as stores
from kassa.stores.models import Register, Store

RateKey = tuple[str, int]  # (VAT rate code, basis points)


@dataclass
class _CategoryRate:
    """One category's sales at one VAT rate."""

    quantity: int = 0
    before_discounts: int = 0
    line_discount: int = 0
    bill_discount: int = 0

    @property
    def gross(self) -> int:
        return self.before_discounts - self.line_discount - self.bill_discount


@dataclass
class _VatRate:
    gross: int = 0
    vat: int = 0


@dataclass
class _Day:
    by_category_rate: dict[tuple[int, RateKey], _CategoryRate] = field(
        default_factory=lambda: defaultdict(_CategoryRate)
    )
    by_rate: dict[RateKey, _VatRate] = field(default_factory=lambda: defaultdict(_VatRate))
    line_discount_count: int = 0


def _closed_bills_of(store_id: int, business_date: date) -> list[ColumnElement[bool]]:
    return [Bill.store_id == store_id, Bill.business_date == business_date, Bill.status == BillStatus.CLOSED]


async def _sales_by_category_and_rate(session: AsyncSession, day: _Day, store_id: int, on: date) -> None:
    """Active lines of closed bills, per category and VAT rate, before bill discounts."""
    rows = await session.execute(
        select(
            BillLine.category_id,
            BillLine.vat_rate_code,
            BillLine.vat_rate_basis_points,
            func.sum(BillLine.quantity),
            func.sum(BillLine.total_amount + BillLine.discount_amount),
            func.sum(BillLine.discount_amount),
            func.sum(case((BillLine.discount_amount != 0, 1), else_=0)),
        )
        .join(Bill, Bill.id == BillLine.bill_id)
        .where(*_closed_bills_of(store_id, on), BillLine.status == LineStatus.ACTIVE)
        .group_by(BillLine.category_id, BillLine.vat_rate_code, BillLine.vat_rate_basis_points)
    )
    for category_id, code, rate, quantity, before, line_discount, discounted_lines in rows.all():
        item = day.by_category_rate[(int(category_id), (str(code), int(rate)))]
        item.quantity += int(quantity)
        item.before_discounts += int(before)
        item.line_discount += int(line_discount)
        day.line_discount_count += int(discounted_lines)


async def _vat_of_undiscounted_bills(session: AsyncSession, day: _Day, store_id: int, on: date) -> None:
    """VAT per rate of closed bills without a bill discount, rounded per bill and rate as
    their receipts were, in SQL."""
    per_bill = (
        select(
            BillLine.vat_rate_code.label("code"),
            BillLine.vat_rate_basis_points.label("rate"),
            cast(func.sum(BillLine.total_amount), BigInteger).label("gross"),
        )
        .join(Bill, Bill.id == BillLine.bill_id)
        .where(
            *_closed_bills_of(store_id, on),
            Bill.discount_amount == 0,
            Bill.member_discount_amount == 0,
            BillLine.status == LineStatus.ACTIVE,
        )
        .group_by(BillLine.bill_id, BillLine.vat_rate_code, BillLine.vat_rate_basis_points)
        .subquery()
    )
    # Half up of g * r / (10000 + r) for g >= 0, in integers (both databases divide
    # integers by truncation, which is floor here).
    divisor = BASIS_POINTS + per_bill.c.rate
    rounded_vat = (2 * per_bill.c.gross * per_bill.c.rate + divisor) // (2 * divisor)
    rows = await session.execute(
        select(per_bill.c.code, per_bill.c.rate, func.sum(per_bill.c.gross), func.sum(rounded_vat)).group_by(
            per_bill.c.code, per_bill.c.rate
        )
    )
    for code, rate, gross, vat in rows.all():
        row = day.by_rate[(str(code), int(rate))]
        row.gross += int(gross)
        row.vat += int(vat)


async def _discounted_bills(session: AsyncSession, day: _Day, store_id: int, on: date) -> None:
    """Closed bills with a bill or member discount, one by one through ``bill_totals``: the
    discount share of each line and the VAT rows exactly as on the receipt."""
    rows = await session.execute(
        select(
            Bill.id,
            Bill.discount_basis_points,
            Bill.discount_fixed_amount,
            Bill.member_discount_basis_points,
            BillLine.total_amount,
            BillLine.category_id,
            BillLine.vat_rate_code,
            BillLine.vat_rate_basis_points,
        )
        .join(BillLine, BillLine.bill_id == Bill.id)
        .where(
            *_closed_bills_of(store_id, on),
            or_(Bill.discount_amount != 0, Bill.member_discount_amount != 0),
            BillLine.status == LineStatus.ACTIVE,
        )
        .order_by(Bill.id, BillLine.id)  # the receipt's line order: the allocation depends on it
    )
    current_bill: int | None = None
    discount = Discount()
    member_discount = Discount()
    lines: list[LineAmounts] = []
    categories: list[int] = []

    def settle() -> None:
        totals = bill_totals(lines, discount, member_discount)
        for line, category_id, share in zip(lines, categories, totals.discount_shares, strict=True):
            day.by_category_rate[
                (category_id, (line.vat_rate_code, line.vat_rate_basis_points))
            ].bill_discount += share
        for vat_row in totals.vat:
            row = day.by_rate[(vat_row.code, vat_row.rate_basis_points)]
            row.gross += vat_row.gross
            row.vat += vat_row.vat

    for (
        bill_id,
        basis_points,
        fixed_amount,
        member_basis_points,
        total,
        category_id,
        code,
        rate,
    ) in rows.all():
        if bill_id != current_bill:
            if lines:
                settle()
            current_bill, lines, categories = bill_id, [], []
            discount = Discount(basis_points, fixed_amount)
            member_discount = Discount(basis_points=member_basis_points)
        lines.append(LineAmounts(int(total), str(code), int(rate)))
        categories.append(int(category_id))
    if lines:
        settle()


@dataclass(frozen=True)
class _BillTotals:
    closed_count: int = 0
    cancelled_count: int = 0
    open_count: int = 0
    discount_count: int = 0
    discount: int = 0
    total: int = 0
    rounding: int = 0
    guests: int = 0


async def _bill_totals(session: AsyncSession, store_id: int, on: date) -> _BillTotals:
    rows = await session.execute(
        select(
            Bill.status,
            func.count(Bill.id),
            # The member's tier discount counts with the bill discounts.
            func.sum(case((or_(Bill.discount_amount != 0, Bill.member_discount_amount != 0), 1), else_=0)),
            func.sum(Bill.discount_amount + Bill.member_discount_amount),
            func.sum(Bill.total_amount),
            func.sum(Bill.rounding_amount),
            func.sum(func.coalesce(Bill.guest_count, 0)),
        )
        .where(Bill.store_id == store_id, Bill.business_date == on)
        .group_by(Bill.status)
    )
    by_status = {BillStatus(row[0]): row for row in rows.all()}
    closed = by_status.get(BillStatus.CLOSED)
    return _BillTotals(
        closed_count=int(closed[1]) if closed else 0,
        cancelled_count=int(by_status[BillStatus.CANCELLED][1]) if BillStatus.CANCELLED in by_status else 0,
        open_count=int(by_status[BillStatus.OPEN][1]) if BillStatus.OPEN in by_status else 0,
        discount_count=int(closed[2]) if closed else 0,
        discount=int(closed[3]) if closed else 0,
        total=int(closed[4]) if closed else 0,
        rounding=int(closed[5]) if closed else 0,
        guests=int(closed[6]) if closed else 0,
    )


async def _tenders(session: AsyncSession, store_id: int, on: date) -> list[TenderTotal]:
    """Succeeded payments of the day's closed bills, per tender."""
    rows = await session.execute(
        select(
            Payment.tender,
            func.count(Payment.id),
            func.sum(Payment.amount),
            func.sum(Payment.change_amount),
        )
        .join(Bill, Bill.id == Payment.bill_id)
        .where(*_closed_bills_of(store_id, on), Payment.status == PaymentStatus.SUCCEEDED)
        .group_by(Payment.tender)
    )
    totals = {
        Tender(tender): TenderTotal(
            tender=tender, count=int(count), amount=int(amount), change_amount=int(change)
        )
        for tender, count, amount, change in rows.all()
    }
    return [totals[tender] for tender in Tender if tender in totals]


def _business_day_window(store: Store, on: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(store.timezone)
    start = datetime.combine(on, time(store.business_day_start_hour), tzinfo=zone)
    end = datetime.combine(on + timedelta(days=1), time(store.business_day_start_hour), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


async def _refunds(session: AsyncSession, store: Store, on: date) -> RefundTotals:
    """Refunds paid out and returns approved during the business day (by when they happened,
    not by the day of the bill they belong to)."""
    start, end = _business_day_window(store, on)
    rows = await session.execute(
        select(Refund.tender, func.count(Refund.id), func.sum(Refund.amount))
        .where(
            Refund.store_id == store.id,
            Refund.status == RefundStatus.SUCCEEDED,
            Refund.completed_at >= start,
            Refund.completed_at < end,
        )
        .group_by(Refund.tender)
    )
    by_tender = {Tender(tender): (int(count), int(amount)) for tender, count, amount in rows.all()}
    returns = (
        await session.execute(
            select(func.count(ReturnRequest.id), func.coalesce(func.sum(ReturnRequest.amount), 0)).where(
                ReturnRequest.store_id == store.id,
                ReturnRequest.status == ReturnStatus.APPROVED,
                ReturnRequest.reviewed_at >= start,
                ReturnRequest.reviewed_at < end,
            )
        )
    ).one()
    directed_rows = (
        await session.execute(
            select(Refund.directed_from_tender, Refund.tender, Refund.amount, Refund.direction_reason)
            .where(
                Refund.store_id == store.id,
                Refund.status == RefundStatus.SUCCEEDED,
                Refund.completed_at >= start,
                Refund.completed_at < end,
                Refund.directed_from_tender.is_not(None),
            )
            .order_by(Refund.id)
        )
    ).all()
    directed: dict[tuple[Tender, Tender], list[tuple[int, str]]] = {}
    for from_tender, to_tender, amount, reason in directed_rows:
        assert from_tender is not None
        directed.setdefault((Tender(from_tender), Tender(to_tender)), []).append((int(amount), reason or ""))
    return RefundTotals(
        directed=[
            DirectedRefund(
                from_tender=from_tender.value,
                to_tender=to_tender.value,
                count=len(items),
                amount=sum(amount for amount, _reason in items),
                reasons=list(dict.fromkeys(reason for _amount, reason in items if reason)),
            )
            for (from_tender, to_tender), items in sorted(directed.items())
        ],
        count=sum(count for count, _amount in by_tender.values()),
        amount=sum(amount for _count, amount in by_tender.values()),
        returns_count=int(returns[0]),
        returns_amount=int(returns[1]),
        by_tender=[
            RefundTender(tender=tender.value, count=by_tender[tender][0], amount=by_tender[tender][1])
            for tender in Tender
            if tender in by_tender
        ],
    )


async def _top_ups(session: AsyncSession, store: Store, on: date) -> list[TopUpTotal]:
    """Stored-value top-ups confirmed during the business day, per tender: money taken that
    is not a sale (it is spent later, as the stored-value tender)."""
    start, end = _business_day_window(store, on)
    rows = await session.execute(
        select(TopUpPayment.tender, func.count(TopUpPayment.id), func.sum(TopUpPayment.amount))
        .where(
            TopUpPayment.store_id == store.id,
            TopUpPayment.status == PaymentStatus.SUCCEEDED,
            TopUpPayment.completed_at >= start,
            TopUpPayment.completed_at < end,
        )
        .group_by(TopUpPayment.tender)
    )
    totals = {Tender(tender): (int(count), int(amount)) for tender, count, amount in rows.all()}
    return [
        TopUpTotal(tender=tender, count=totals[tender][0], amount=totals[tender][1])
        for tender in Tender
        if tender in totals
    ]


async def _voids(session: AsyncSession, store_id: int, on: date) -> VoidTotals:
    """Voided lines of every bill of the day, whatever became of the bill (a cancelled bill
    is its voided lines), at the line total they would have cost."""
    reason = func.coalesce(BillLine.void_reason, "")
    rows = await session.execute(
        select(reason, func.count(BillLine.id), func.sum(BillLine.quantity), func.sum(BillLine.total_amount))
        .join(Bill, Bill.id == BillLine.bill_id)
        .where(Bill.store_id == store_id, Bill.business_date == on, BillLine.status == LineStatus.VOIDED)
        .group_by(reason)
    )
    by_reason = sorted(
        (
            VoidReason(reason=str(text), count=int(count), quantity=int(quantity), amount=int(amount))
            for text, count, quantity, amount in rows.all()
        ),
        key=lambda item: (-item.amount, item.reason),
    )
    return VoidTotals(
        count=sum(item.count for item in by_reason),
        quantity=sum(item.quantity for item in by_reason),
        amount=sum(item.amount for item in by_reason),
        by_reason=by_reason,
    )


async def _categories(session: AsyncSession, day: _Day, locale: str) -> list[CategorySales]:
    """Category rows; each rate's VAT is split over the categories selling at that rate in
    proportion to their gross (largest remainder), so categories and rates add up."""
    vat_by_category: dict[int, int] = defaultdict(int)
    for rate_key, rate_row in day.by_rate.items():
        parts = [
            (category_id, item.gross)
            for (category_id, key), item in day.by_category_rate.items()
            if key == rate_key
        ]
        if not parts or rate_row.vat == 0 or sum(gross for _, gross in parts) == 0:
            continue
        shares = allocate(rate_row.vat, [gross for _, gross in sorted(parts)])
        for (category_id, _gross), share in zip(sorted(parts), shares, strict=True):
            vat_by_category[category_id] += share
    sums: dict[int, _CategoryRate] = defaultdict(_CategoryRate)
    for (category_id, _key), item in day.by_category_rate.items():
        total = sums[category_id]
        total.quantity += item.quantity
        total.before_discounts += item.before_discounts
        total.line_discount += item.line_discount
        total.bill_discount += item.bill_discount
    names: dict[int, tuple[str, int]] = {}
    if sums:
        rows = await session.execute(
            select(Category.id, Category.name, Category.name_translations, Category.sort_order).where(
                Category.id.in_(list(sums))
            )
        )
        for category_id, name, translations, sort_order in rows.all():
            names[int(category_id)] = (
                localized_name(str(name), dict(translations or {}), locale),
                int(sort_order),
            )
    result = []
    for category_id, item in sums.items():
        name, sort_order = names.get(category_id, (f"#{category_id}", 0))
        vat = vat_by_category.get(category_id, 0)
        result.append(
            (
                (sort_order, name, category_id),
                CategorySales(
                    category_id=category_id,
                    name=name,
                    quantity=item.quantity,
                    before_discounts_amount=item.before_discounts,
                    line_discount_amount=item.line_discount,
                    bill_discount_amount=item.bill_discount,
                    gross_amount=item.gross,
                    vat_amount=vat,
                    net_amount=item.gross - vat,
                ),
            )
        )
    return [row for _, row in sorted(result, key=lambda pair: pair[0])]


async def _shifts(session: AsyncSession, store_id: int, on: date) -> list[ShiftSummary]:
    """The shifts opened on the business day, per register; open ones with their drawer so far."""
    shifts = (
        await session.scalars(
            select(Shift)
            .where(Shift.store_id == store_id, Shift.business_date == on)
            .order_by(Shift.register_id, Shift.opened_at)
        )
    ).all()
    if not shifts:
        return []
    registers = dict(
        (
            await session.execute(
                select(Register.id, Register.name).where(
                    Register.id.in_({shift.register_id for shift in shifts})
                )
            )
        ).all()
    )
    names = await staff_names(
        session, [staff for shift in shifts for staff in (shift.opened_by_staff_id, shift.closed_by_staff_id)]
    )
    summaries = []
    for shift in shifts:
        is_closed = shift.status == ShiftStatus.CLOSED
        expected = shift.expected_cash_amount if is_closed else None
        if expected is None:
            expected = (await cash_figures(session, shift)).expected
        summaries.append(
            ShiftSummary(
                shift_id=shift.id,
                register_id=shift.register_id,
                register_name=str(registers.get(shift.register_id, f"#{shift.register_id}")),
                status=shift.status,
                opened_at=shift.opened_at,
                opened_by_name=staff_name(shift.opened_by_staff_id, names),
                closed_at=shift.closed_at,
                closed_by_name=staff_name(shift.closed_by_staff_id, names) if is_closed else None,
                opening_float_amount=shift.opening_float_amount,
                expected_cash_amount=expected,
                counted_cash_amount=shift.counted_cash_amount,
                difference_amount=shift.difference_amount,
            )
        )
    return summaries


async def compute_z_report(
    session: AsyncSession, store: Store, business_date: date, *, locale: str | None = None
) -> ZReport:
    """The Z report of ``store``'s ``business_date`` (no permission check: see ``z_report``)."""
    locale = normalize_locale(locale, default=normalize_locale(store.locale))
    day = _Day()
    await _sales_by_category_and_rate(session, day, store.id, business_date)
    await _vat_of_undiscounted_bills(session, day, store.id, business_date)
    await _discounted_bills(session, day, store.id, business_date)
    bills = await _bill_totals(session, store.id, business_date)
    tenders = await _tenders(session, store.id, business_date)
    by_category = await _categories(session, day, locale)
    by_vat_rate = [
        VatSales(
            code=code,
            rate_basis_points=rate,
            gross_amount=row.gross,
            vat_amount=row.vat,
            net_amount=row.gross - row.vat,
        )
        for (code, rate), row in sorted(day.by_rate.items(), key=lambda item: (item[0][1], item[0][0]))
    ]
    line_discount = sum(item.line_discount_amount for item in by_category)
    vat = sum(row.vat_amount for row in by_vat_rate)
    shifts = await _shifts(session, store.id, business_date)
    top_ups = await _top_ups(session, store, business_date)
    return ZReport(
        store_id=store.id,
        store_name=store.name,
        business_date=business_date,
        currency=store.currency,
        locale=locale,
        timezone=store.timezone,
        generated_at=utc_now(),
        bills_count=bills.closed_count,
        guests_count=bills.guests,
        cancelled_bills_count=bills.cancelled_count,
        open_bills_count=bills.open_count,
        before_discounts_amount=sum(item.before_discounts_amount for item in by_category),
        discounts=DiscountTotals(
            line_count=day.line_discount_count,
            line_amount=line_discount,
            bill_count=bills.discount_count,
            bill_amount=bills.discount,
            total_amount=line_discount + bills.discount,
        ),
        total_sales_amount=bills.total,
        vat_amount=vat,
        net_sales_amount=bills.total - vat,
        # Rounded down to the minor unit (floor division of non-negative amounts).
        average_bill_amount=bills.total // bills.closed_count if bills.closed_count else 0,
        cash_rounding_amount=bills.rounding,
        payments_amount=sum(tender.amount for tender in tenders),
        refunds=await _refunds(session, store, business_date),
        by_category=by_category,
        by_vat_rate=by_vat_rate,
        tenders=tenders,
        voids=await _voids(session, store.id, business_date),
        shifts=shifts,
        over_short_amount=sum(shift.difference_amount or 0 for shift in shifts),
        top_ups=top_ups,
        top_ups_amount=sum(item.amount for item in top_ups),
    )


async def z_report(
    session: AsyncSession,
    actor: Actor,
    store_id: int,
    business_date: date | None = None,
    *,
    locale: str | None = None,
) -> ZReport:
    """The Z report of a store's business day (today's by default); needs REPORT_VIEW."""
    actor.require(Permission.REPORT_VIEW)
    store = await stores.get_store(session, actor, store_id)
    day = business_date or business_date_of(store, utc_now())
    return await compute_z_report(session, store, day, locale=locale)
