"""For random days of bills (lines, line and bill discounts, voids, cash and card, bills left
open or cancelled) the Z report adds up, and its fast aggregate figures equal a slow
reference that recomputes every closed bill through ``bill_totals`` as its receipt did."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Role
from kassa.orders import service as orders
from kassa.orders.models import Bill, BillLine, BillStatus, LineStatus, OrderType
from kassa.orders.totals import Discount, LineAmounts, bill_totals, cash_rounding_for
from kassa.payments import service as payments
from kassa.payments.models import Payment, PaymentStatus
from kassa.shifts.reports import compute_z_report
from kassa.shifts.schemas import ZReport
from kassa.stores.models import Store
from tests.shifts.identities import assert_z_report_adds_up
from tests.shop import Shop

_keys = itertools.count(1)

discounts = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=10_000).map(lambda basis_points: Discount(basis_points=basis_points)),
    st.integers(min_value=0, max_value=12_000).map(lambda amount: Discount(fixed_amount=amount)),
)
lines = st.tuples(
    st.sampled_from(["americano", "cake", "water", "egg", "latte", "large latte"]),
    st.integers(min_value=1, max_value=4),
    discounts,
    st.booleans(),  # voided
)
bills = st.fixed_dictionaries(
    {
        "lines": st.lists(lines, min_size=1, max_size=4),
        "discount": discounts,
        "payment": st.sampled_from(["cash", "card", "card then cash", "leave open"]),
        "guests": st.one_of(st.none(), st.integers(min_value=1, max_value=8)),
        "extra_cash": st.integers(min_value=0, max_value=10_000),
        "card_percent": st.integers(min_value=1, max_value=99),
    }
)


async def _manager(session: AsyncSession, shop: Shop) -> Actor:
    store = await session.get(Store, shop.store_id)
    assert store is not None
    return Actor(
        organization_id=store.organization_id,
        staff_id=shop.staff_ids[Role.MANAGER],
        role=Role.MANAGER,
        store_id=store.id,
        register_id=shop.register_ids[0],
        display_name="manager",
    )


def _at_most(discount: Discount | None, amount: int) -> Discount | None:
    if discount is None or discount.fixed_amount is None or discount.fixed_amount <= amount:
        return discount
    return Discount(fixed_amount=amount) if amount > 0 else None


def _request(discount: Discount, reason: str) -> orders.DiscountRequest:
    return orders.DiscountRequest(discount.basis_points, discount.fixed_amount, reason)


async def _ring_up(session: AsyncSession, actor: Actor, shop: Shop, plan: dict[str, Any]) -> Bill:
    """Open, fill, discount and settle one bill through the services as the register does."""
    dine_in = plan["guests"] is not None and plan["payment"] != "leave open"
    bill = await orders.open_bill(
        session,
        actor,
        order_type=OrderType.DINE_IN if dine_in else OrderType.TAKEAWAY,
        table_id=shop.table_ids[0] if dine_in else None,
        guest_count=plan["guests"] if dine_in else None,
    )
    for product, quantity, line_discount, is_voided in plan["lines"]:
        size = "Large" if product == "large latte" else "Regular"
        line = await orders.add_line(
            session,
            actor,
            bill.id,
            bill.version,
            product_id=shop.products["latte" if product == "large latte" else product],
            quantity=quantity,
            modifier_option_ids=[shop.size_options[size]] if "latte" in product else [],
        )
        # A fixed discount above the amount is refused (not capped): the register offers no more.
        line_discount = _at_most(line_discount, line.unit_price_amount * line.quantity)
        if line_discount is not None:
            await orders.discount_line(
                session, actor, bill.id, bill.version, line.id, _request(line_discount, "p")
            )
        if is_voided:
            await orders.void_line(session, actor, bill.id, bill.version, line.id, "changed mind")
    await orders.recalculate(session, bill)
    bill_discount = _at_most(plan["discount"], bill.subtotal_amount)
    if bill_discount is not None:
        await orders.discount_bill(session, actor, bill.id, bill.version, _request(bill_discount, "member"))
    if plan["payment"] == "leave open":
        return bill
    if bill.total_amount == 0:
        return await orders.close(session, actor, bill.id, bill.version)  # cancelled: nothing to pay
    if plan["payment"] in ("card", "card then cash"):
        card = (
            bill.total_amount
            if plan["payment"] == "card"
            else bill.total_amount * plan["card_percent"] // 100
        )
        if card > 0:
            await payments.take_card(
                session,
                actor,
                bill.id,
                bill.version,
                approval_code="1",
                amount=card,
                idempotency_key=f"prop-{next(_keys):08d}",
            )
    if bill.status == BillStatus.OPEN:
        due = orders.amount_due(bill)
        payable = cash_rounding_for(bill.currency).apply(due)
        await payments.take_cash(
            session,
            actor,
            bill.id,
            bill.version,
            tendered=payable + plan["extra_cash"],
            idempotency_key=f"prop-{next(_keys):08d}",
        )
    assert bill.status == BillStatus.CLOSED
    return bill


async def _reference(session: AsyncSession, store_id: int, on: date) -> dict[str, Any]:
    """The day the slow way: every closed bill's receipt arithmetic, one bill at a time."""
    by_category: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # qty, before, line, bill
    by_rate: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    tenders: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    voids = [0, 0]
    day_bills = (
        await session.scalars(select(Bill).where(Bill.store_id == store_id, Bill.business_date == on))
    ).all()
    for bill in day_bills:
        bill_lines = (
            await session.scalars(select(BillLine).where(BillLine.bill_id == bill.id).order_by(BillLine.id))
        ).all()
        for line in bill_lines:
            if line.status == LineStatus.VOIDED:
                voids[0] += 1
                voids[1] += line.total_amount
        if bill.status != BillStatus.CLOSED:
            continue
        active = [line for line in bill_lines if line.status == LineStatus.ACTIVE]
        totals = bill_totals(
            [
                LineAmounts(line.total_amount, line.vat_rate_code, line.vat_rate_basis_points)
                for line in active
            ],
            Discount(bill.discount_basis_points, bill.discount_fixed_amount),
        )
        assert totals.total == bill.total_amount
        for line, share in zip(active, totals.discount_shares, strict=True):
            row = by_category[line.category_id]
            row[0] += line.quantity
            row[1] += line.total_amount + line.discount_amount
            row[2] += line.discount_amount
            row[3] += share
        for vat_row in totals.vat:
            by_rate[vat_row.code][0] += vat_row.gross
            by_rate[vat_row.code][1] += vat_row.vat
        for payment in (
            await session.scalars(
                select(Payment).where(Payment.bill_id == bill.id, Payment.status == PaymentStatus.SUCCEEDED)
            )
        ).all():
            tenders[payment.tender.value][0] += 1
            tenders[payment.tender.value][1] += payment.amount
            tenders[payment.tender.value][2] += payment.change_amount
    return {
        "by_category": dict(by_category),
        "by_rate": dict(by_rate),
        "tenders": dict(tenders),
        "voids": voids,
        "bills": sum(1 for bill in day_bills if bill.status == BillStatus.CLOSED),
        "total": sum(bill.total_amount for bill in day_bills if bill.status == BillStatus.CLOSED),
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=st.lists(bills, min_size=1, max_size=5))
async def test_for_random_days_the_z_report_adds_up_and_equals_the_receipts(
    session: AsyncSession, cafe: Shop, day: list[dict[str, Any]]
) -> None:
    # each example in its own savepoint, so the examples do not pile up
    savepoint = await session.begin_nested()
    try:
        actor = await _manager(session, cafe)
        rung_up = [await _ring_up(session, actor, cafe, plan) for plan in day]
        store = await session.get(Store, cafe.store_id)
        assert store is not None
        on = rung_up[0].business_date
        report: ZReport = await compute_z_report(session, store, on)
        assert_z_report_adds_up(report)

        reference = await _reference(session, store.id, on)
        assert (report.bills_count, report.total_sales_amount) == (reference["bills"], reference["total"])
        assert {
            item.category_id: [
                item.quantity,
                item.before_discounts_amount,
                item.line_discount_amount,
                item.bill_discount_amount,
            ]
            for item in report.by_category
        } == reference["by_category"]
        assert {row.code: [row.gross_amount, row.vat_amount] for row in report.by_vat_rate} == reference[
            "by_rate"
        ]
        assert {
            tender.tender.value: [tender.count, tender.amount, tender.change_amount]
            for tender in report.tenders
        } == reference["tenders"]
        assert [report.voids.count, report.voids.amount] == reference["voids"]
        open_bills = sum(1 for bill in rung_up if bill.status == BillStatus.OPEN)
        cancelled = sum(1 for bill in rung_up if bill.status == BillStatus.CANCELLED)
        assert (report.open_bills_count, report.cancelled_bills_count) == (open_bills, cancelled)
    finally:
        await savepoint.rollback()
        session.info.clear()  # the rolled-back example's pending audit records and events
        session.expunge_all()
