"""Members' bills with controlled dates for the profile, list, export and analytics tests.

Bills, payments, refunds and returns are written as rows here (not through the order
service), so each test sets ``closed_at`` and the amounts exactly; one profile test runs
the real register flow through the API to show the rules agree with the services.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog import service as catalog
from kassa.core.auth import Actor
from kassa.core.money import Money
from kassa.members.models import Member
from kassa.orders.models import Bill, BillLine, BillStatus, LineStatus, OrderType
from kassa.payments.models import Payment, PaymentStatus, Refund, RefundStatus, Tender
from kassa.returns.models import RefundState, ReturnRequest, ReturnStatus
from kassa.stores.models import Store
from tests.factories import make_register
from tests.members.conftest import MemberShop

SHANGHAI = ZoneInfo("Asia/Shanghai")
PRICES = {"latte": 2400, "americano": 1800, "cake": 2800, "tart": 800}
_numbers = itertools.count(1)


def local(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time as an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@dataclass
class Sales:
    shop: MemberShop
    register_ids: dict[int, int]  # store id → a register of it
    products: dict[str, int]
    staff_id: int


async def make_sales(session: AsyncSession, shop: MemberShop) -> Sales:
    actor = Actor.system(shop.organization.id, store_id=shop.store.id)
    category = await catalog.create_category(session, actor, "Menu")
    products = {}
    for name, price in PRICES.items():
        product = await catalog.create_product(
            session,
            actor,
            category_id=category.id,
            name=name,
            sku=f"{name.upper()}-{shop.organization.id}",
            price=Money(price, "CNY"),
            vat_rate_code="standard",
        )
        products[name] = product.id
    registers = {
        store.id: (await make_register(session, store)).id for store in (shop.store, shop.other_store)
    }
    staff_id = shop.cashier.staff_id
    assert staff_id is not None
    return Sales(shop, registers, products, staff_id)


async def sell(
    session: AsyncSession,
    sales: Sales,
    member: Member | None,
    lines: Sequence[tuple[str, int] | tuple[str, int, int]],
    *,
    closed_at: datetime | None,
    store: Store | None = None,
    rounding_amount: int = 0,
    status: BillStatus = BillStatus.CLOSED,
    voided: Sequence[tuple[str, int]] = (),
    opened_at: datetime | None = None,
) -> Bill:
    """A bill of ``member`` with these lines (product, quantity[, line total]) and voided
    ones; a closed bill is paid in cash: its total plus ``rounding_amount``."""
    store = store or sales.shop.store
    opened = opened_at or closed_at or datetime.now(UTC)
    active: list[tuple[str, int, int]] = []
    for line in lines:
        name, quantity = line[0], line[1]
        active.append((name, quantity, line[2] if len(line) == 3 else PRICES[name] * quantity))
    total = sum(amount for _name, _quantity, amount in active)
    number = next(_numbers)
    bill = Bill(
        store_id=store.id,
        register_id=sales.register_ids[store.id],
        opened_by_staff_id=sales.staff_id,
        business_date=(closed_at or opened).astimezone(SHANGHAI).date(),
        number=number,
        order_type=OrderType.TAKEAWAY,
        status=status,
        currency="CNY",
        member_id=member.id if member else None,
        subtotal_amount=total,
        total_amount=total,
        rounding_amount=rounding_amount,
        paid_amount=total + rounding_amount if status == BillStatus.CLOSED else 0,
        receipt_token=f"test-receipt-{number:08d}",
        opened_at=opened,
        closed_at=closed_at if status == BillStatus.CLOSED else None,
    )
    session.add(bill)
    await session.flush()
    for name, quantity, amount in active:
        session.add(_line(sales, bill, name, quantity, amount, LineStatus.ACTIVE))
    for name, quantity in voided:
        session.add(_line(sales, bill, name, quantity, PRICES[name] * quantity, LineStatus.VOIDED))
    if status == BillStatus.CLOSED:
        session.add(
            Payment(
                bill_id=bill.id,
                store_id=store.id,
                register_id=bill.register_id,
                tender=Tender.CASH,
                status=PaymentStatus.SUCCEEDED,
                amount=total + rounding_amount,
                currency="CNY",
                idempotency_key=f"test-payment-{number:08d}",
                created_by_staff_id=sales.staff_id,
                completed_at=closed_at,
            )
        )
    await session.flush()
    return bill


def _line(sales: Sales, bill: Bill, name: str, quantity: int, amount: int, status: LineStatus) -> BillLine:
    return BillLine(
        bill_id=bill.id,
        product_id=sales.products[name],
        name=name,
        sku=name.upper(),
        category_id=0,
        quantity=quantity,
        unit_price_amount=PRICES[name],
        vat_rate_code="standard",
        vat_rate_basis_points=600,
        total_amount=amount,
        status=status,
        added_by_staff_id=sales.staff_id,
    )


async def refund(
    session: AsyncSession,
    sales: Sales,
    bill: Bill,
    amount: int,
    status: RefundStatus = RefundStatus.SUCCEEDED,
) -> Refund:
    payment_id = await session.scalar(select(Payment.id).where(Payment.bill_id == bill.id))
    assert payment_id is not None
    row = Refund(
        payment_id=payment_id,
        bill_id=bill.id,
        store_id=bill.store_id,
        tender=Tender.CASH,
        amount=amount,
        currency="CNY",
        status=status,
        reason="test",
        source_type="test",
        source_id=bill.id,
        created_by_staff_id=sales.staff_id,
    )
    session.add(row)
    await session.flush()
    return row


async def return_on(
    session: AsyncSession,
    sales: Sales,
    bill: Bill,
    amount: int,
    *,
    status: ReturnStatus = ReturnStatus.APPROVED,
    refund_state: RefundState = RefundState.DONE,
    requested_at: datetime | None = None,
) -> ReturnRequest:
    request = ReturnRequest(
        store_id=bill.store_id,
        bill_id=bill.id,
        status=status,
        reason_code="quality",
        bill_was_paid=bill.status == BillStatus.CLOSED,
        amount=amount,
        currency="CNY",
        requested_by_staff_id=sales.staff_id,
        requested_at=requested_at or bill.closed_at or datetime.now(UTC),
        refund_state=refund_state,
    )
    session.add(request)
    await session.flush()
    return request


def day(text: str) -> date:
    return date.fromisoformat(text)
