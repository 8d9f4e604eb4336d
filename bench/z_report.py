"""The Z report of a busy day: 10,000 closed bills, on SQLite and PostgreSQL.

A fresh database is migrated, a store with two registers, two VAT rates and six products is
made through the services, and two business days are bulk-inserted (bills, lines and
payments whose amounts come from ``orders.totals``, as the services would store them):

- a typical day: 5 % of the bills carry a bill discount, 10 % of the lines a line discount,
  3 % of the lines are voided, 1 % of the bills cancelled, cash / card / wallets / split;
- a heavy day: every bill carries a bill discount (the per-bill path for all of them).

Register 1's shift stays open (its drawer is computed live), register 2's is closed.
The report is computed with ``shifts.reports.compute_z_report`` (what the API calls after
the permission check); the text and PDF renderings are timed once.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, make_url

from bench.harness import _recreate_postgres, database_urls
from kassa.catalog import service as catalog
from kassa.core import migrations
from kassa.core.auth import Actor, Role
from kassa.core.database import Database, utc_now
from kassa.core.money import Money
from kassa.orders.models import Bill, BillLine, BillStatus, LineStatus, OrderType
from kassa.orders.service import business_date_of
from kassa.orders.totals import Discount, LineAmounts, bill_totals, cash_rounding_for, line_total
from kassa.payments.models import Payment, PaymentStatus, Tender
from kassa.shifts import render
from kassa.shifts import service as shifts
from kassa.shifts.reports import compute_z_report
from kassa.staff import service as staff_service
from kassa.stores import service as store_service
from kassa.stores.models import Store

CLOSED_BILLS = 10_000
RUNS = 5
DATABASE_NAME = "kassa_bench_z_report"


@dataclass(frozen=True)
class _Product:
    id: int
    category_id: int
    name: str
    price: int
    vat_code: str
    vat_basis_points: int


@dataclass(frozen=True)
class _Shop:
    store: Store
    register_ids: tuple[int, int]
    staff_id: int
    products: tuple[_Product, ...]


async def _make_shop(database: Database) -> _Shop:
    async with database.unit_of_work() as session:
        organization = await store_service.create_organization(session, "Bench")
        owner = Actor.system(organization.id)
        store = await store_service.create_store(
            session,
            owner,
            name="Bench café",
            currency="CNY",
            timezone="Asia/Shanghai",
            phone_region="CN",
            locale="zh_CN",
            vat_rates=[
                store_service.VatRateInput("standard", "6%", 600, is_default=True),
                store_service.VatRateInput("reduced", "9%", 900),
            ],
        )
        actor = Actor.system(organization.id, store_id=store.id)
        registers = [
            await store_service.add_register(session, actor, store.id, f"Counter {n}") for n in (1, 2)
        ]
        cashier = await staff_service.create_staff(
            session, actor, display_name="Bench cashier", role=Role.CASHIER, pin="3333", store_id=store.id
        )
        coffee = await catalog.create_category(session, actor, "咖啡")
        food = await catalog.create_category(session, actor, "餐点")
        drinks = await catalog.create_category(session, actor, "饮料")
        products: list[_Product] = []
        for category, name, price, vat_code, basis_points in (
            (coffee, "拿铁", 2400, "standard", 600),
            (coffee, "美式", 1800, "standard", 600),
            (food, "蛋糕", 2800, "standard", 600),
            (food, "茶叶蛋", 300, "reduced", 900),
            (drinks, "矿泉水", 500, "reduced", 900),
            (drinks, "果汁", 1550, "reduced", 900),
        ):
            product = await catalog.create_product(
                session,
                actor,
                category_id=category.id,
                name=name,
                sku=f"B{len(products)}",
                price=Money(price, "CNY"),
                vat_rate_code=vat_code,
            )
            products.append(_Product(product.id, category.id, name, price, vat_code, basis_points))
    return _Shop(store, (registers[0].id, registers[1].id), cashier.id, tuple(products))


def _tender_plan(random_source: random.Random) -> list[Tender]:
    roll = random_source.random()
    if roll < 0.4:
        return [Tender.CASH]
    if roll < 0.6:
        return [Tender.CARD]
    if roll < 0.8:
        return [Tender.WECHAT_PAY]
    if roll < 0.95:
        return [Tender.ALIPAY]
    return [Tender.CARD, Tender.CASH]


@dataclass
class _Rows:
    bills: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    payments: list[dict[str, Any]]
    discounted: int = 0


def _day_rows(
    shop: _Shop,
    day: date,
    moment: datetime,
    *,
    first_bill_id: int,
    first_line_id: int,
    first_payment_id: int,
    bill_discount_share: float,
    seed: int,
) -> _Rows:
    """One business day's bills, lines and payments, with every amount as the services
    would derive it."""
    random_source = random.Random(seed)
    rows = _Rows([], [], [])
    bill_id, line_id, payment_id = first_bill_id, first_line_id, first_payment_id
    closed = number = 0
    while closed < CLOSED_BILLS:
        number += 1
        roll = random_source.random()
        is_cancelled, is_open = roll < 0.01, 0.01 <= roll < 0.015
        register_id = shop.register_ids[number % 2]
        opened_at = moment + timedelta(microseconds=number * 10)
        active: list[LineAmounts] = []
        for _ in range(random_source.randint(1, 5)):
            product = random_source.choice(shop.products)
            quantity = random_source.randint(1, 3)
            has_line_discount = random_source.random() < 0.1
            discount = Discount(basis_points=1000) if has_line_discount else Discount()
            line_discount, total = line_total(product.price, quantity, discount)
            is_voided = is_cancelled or random_source.random() < 0.03
            rows.lines.append(
                {
                    "id": line_id,
                    "bill_id": bill_id,
                    "product_id": product.id,
                    "name": product.name,
                    "name_translations": {},
                    "sku": "B",
                    "category_id": product.category_id,
                    "kitchen_station": None,
                    "quantity": quantity,
                    "unit_price_amount": product.price,
                    "modifiers": [],
                    "stock_product_ids": [],
                    "note": "",
                    "vat_rate_code": product.vat_code,
                    "vat_rate_basis_points": product.vat_basis_points,
                    "discount_basis_points": 1000 if has_line_discount else None,
                    "discount_fixed_amount": None,
                    "discount_reason": "staff" if has_line_discount else None,
                    "discount_amount": line_discount,
                    "total_amount": total,
                    "status": LineStatus.VOIDED if is_voided else LineStatus.ACTIVE,
                    "added_by_staff_id": shop.staff_id,
                    "added_at": opened_at,
                    "voided_at": opened_at if is_voided else None,
                    "void_reason": random_source.choice(["wrong item", "changed mind", None])
                    if is_voided
                    else None,
                }
            )
            line_id += 1
            if not is_voided:
                active.append(LineAmounts(total, product.vat_code, product.vat_basis_points))
        has_bill_discount = bool(active) and random_source.random() < bill_discount_share
        bill_discount = (
            Discount(basis_points=random_source.choice([500, 880, 1000, 1500]))
            if has_bill_discount and random_source.random() < 0.7
            else Discount(fixed_amount=random_source.randint(1, 999))
            if has_bill_discount
            else Discount()
        )
        totals = bill_totals(active, bill_discount)
        status = BillStatus.OPEN if is_open else BillStatus.CLOSED
        if totals.total == 0 and not is_open:
            status = BillStatus.CANCELLED
        rounding = paid = 0
        if status == BillStatus.CLOSED:
            closed += 1
            rows.discounted += has_bill_discount
            due = totals.total
            for index, tender in enumerate(plan := _tender_plan(random_source)):
                is_last = index == len(plan) - 1
                amount = due if is_last else due // 2
                tendered: int | None = None
                change = 0
                if tender == Tender.CASH and is_last:
                    rounding = cash_rounding_for("CNY").apply(due) - due
                    amount = due + rounding
                    tendered = -(-amount // 10000) * 10000 if amount else 0
                    change = tendered - amount
                rows.payments.append(
                    {
                        "id": payment_id,
                        "bill_id": bill_id,
                        "store_id": shop.store.id,
                        "register_id": register_id,
                        "tender": tender,
                        "status": PaymentStatus.SUCCEEDED,
                        "amount": amount,
                        "currency": "CNY",
                        "tendered_amount": tendered,
                        "change_amount": change,
                        "idempotency_key": f"bench-{payment_id}",
                        "created_by_staff_id": shop.staff_id,
                        "created_at": opened_at,
                        "completed_at": opened_at,
                    }
                )
                payment_id += 1
                paid += amount
                due -= amount
        rows.bills.append(
            {
                "id": bill_id,
                "store_id": shop.store.id,
                "register_id": register_id,
                "opened_by_staff_id": shop.staff_id,
                "business_date": day,
                "number": number,
                "order_type": OrderType.TAKEAWAY,
                "status": status,
                "currency": "CNY",
                "guest_count": None,
                "discount_basis_points": bill_discount.basis_points,
                "discount_fixed_amount": bill_discount.fixed_amount,
                "discount_reason": "member" if has_bill_discount else None,
                "subtotal_amount": totals.subtotal,
                "discount_amount": totals.discount,
                "total_amount": totals.total,
                "rounding_amount": rounding,
                "paid_amount": paid,
                "receipt_token": f"bench-{bill_id}",
                "opened_at": opened_at,
                "closed_at": None if status == BillStatus.OPEN else opened_at,
                "closed_by_staff_id": None if status == BillStatus.OPEN else shop.staff_id,
            }
        )
        bill_id += 1
    return rows


async def _insert(database: Database, rows: _Rows) -> None:
    async with database.unit_of_work() as session:
        for model, items in ((Bill, rows.bills), (BillLine, rows.lines), (Payment, rows.payments)):
            for start in range(0, len(items), 5000):
                await session.execute(insert(model), items[start : start + 5000])


async def _seed(database: Database) -> tuple[_Shop, list[tuple[date, int]]]:
    shop = await _make_shop(database)
    cashier = Actor(
        organization_id=shop.store.organization_id,
        staff_id=shop.staff_id,
        role=Role.CASHIER,
        store_id=shop.store.id,
        register_id=shop.register_ids[0],
        display_name="Bench cashier",
    )
    async with database.unit_of_work() as session:
        open_shift = await shifts.open_shift(session, cashier, shop.register_ids[0], amount=50000)
        closing_shift = await shifts.open_shift(session, cashier, shop.register_ids[1], amount=50000)
    today = business_date_of(shop.store, utc_now())
    days = []
    next_ids = (1, 1, 1)
    # the heavy day first, a day earlier; today (the shifts' day) is the typical one
    for offset, share in ((1, 1.0), (0, 0.05)):
        day = today - timedelta(days=offset)
        rows = _day_rows(
            shop,
            day,
            open_shift.opened_at,
            first_bill_id=next_ids[0],
            first_line_id=next_ids[1],
            first_payment_id=next_ids[2],
            bill_discount_share=share,
            seed=offset,
        )
        await _insert(database, rows)
        next_ids = (
            next_ids[0] + len(rows.bills),
            next_ids[1] + len(rows.lines),
            next_ids[2] + len(rows.payments),
        )
        days.append((day, rows.discounted))
    async with database.unit_of_work() as session:
        await shifts.close_shift(session, cashier, closing_shift.id, amount=50000)
    if not database.is_sqlite:
        async with database.engine.begin() as connection:
            await connection.exec_driver_sql("ANALYZE")
    return shop, days[::-1]


async def _measure(database_url: str) -> list[str]:
    engine_database = Database(database_url)
    try:
        await migrations.upgrade(engine_database.engine)
        shop, days = await _seed(engine_database)
        lines = []
        for day, discounted in days:
            timings = []
            async with engine_database.read_only() as session:
                for _ in range(RUNS + 1):
                    started = time.perf_counter()
                    report = await compute_z_report(session, shop.store, day)
                    timings.append((time.perf_counter() - started) * 1000)
            if sum(item.gross_amount for item in report.by_category) != report.total_sales_amount:
                raise AssertionError("the categories do not add up to the sales")
            started = time.perf_counter()
            text = render.z_report_text(report)
            text_ms = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            pdf = render.z_report_pdf(report)
            pdf_ms = (time.perf_counter() - started) * 1000
            lines.append(
                f"{report.bills_count} closed bills ({discounted:>5} with a bill discount): "
                f"first {timings[0]:6.1f} ms, then median {statistics.median(timings[1:]):6.1f} ms "
                f"(min {min(timings[1:]):6.1f}); text {text_ms:4.1f} ms ({len(text.splitlines())} lines), "
                f"PDF {pdf_ms:5.1f} ms ({len(pdf) // 1024} KiB)"
            )
        return lines
    finally:
        await engine_database.dispose()


def main() -> None:
    for database, url in database_urls().items():
        with tempfile.TemporaryDirectory(prefix="kassa-bench-z-") as directory:
            if database == "sqlite":
                url = f"sqlite+aiosqlite:///{directory}/kassa.db"
            else:
                url = make_url(url).set(database=DATABASE_NAME).render_as_string(hide_password=False)
                _recreate_postgres(url)
            for line in asyncio.run(_measure(url)):
                print(f"z_report {database:<10} {line}")


if __name__ == "__main__":
    main()
