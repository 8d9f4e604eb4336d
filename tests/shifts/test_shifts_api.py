"""Shifts through the API: open with a float, cash in and out, the X report, close with the
count by denomination and the over/short."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.audit import AuditRecord
from kassa.core.auth import Role
from kassa.core.events import InProcessEventBus
from kassa.printing.layout import display_width
from kassa.shifts.models import CashMovement
from tests.fingerprint import unchanged
from tests.shop import Shop, new_key

FLOAT = [
    {"value_amount": 10000, "count": 2},
    {"value_amount": 1000, "count": 5},
    {"value_amount": 100, "count": 10},
]  # 200 + 50 + 10 = 260 yuan


async def open_shift(
    shop: Shop,
    body: dict[str, Any] | None = None,
    *,
    register_index: int = 0,
    role: Role = Role.CASHIER,
    expect: int | None = 201,
) -> dict[str, Any]:
    payload = {"denominations": FLOAT} if body is None else body
    return await shop.call(
        "POST",
        f"/registers/{shop.register_ids[register_index]}/shifts",
        payload,
        role=role,
        register_index=register_index,
        expect=expect,
    )


async def sell(
    shop: Shop, product: str, tender: str, register_index: int = 0, **fields: Any
) -> dict[str, Any]:
    bill = await shop.call("POST", "/bills", {"order_type": "takeaway"}, register_index=register_index)
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines",
        {"version": bill["version"], "product_id": shop.products[product]},
        register_index=register_index,
    )
    if tender == "card":
        fields.setdefault("approval_code", "123456")
    return await shop.call(
        "POST",
        f"/bills/{bill['id']}/payments",
        {"version": bill["version"], "tender": tender, **fields},
        key=new_key(),
        register_index=register_index,
    )


async def x_report(shop: Shop, shift_id: int, role: Role = Role.CASHIER) -> dict[str, Any]:
    return await shop.call("GET", f"/shifts/{shift_id}/x-report", role=role)


async def test_open_a_shift_with_the_float_counted_by_denomination(shop: Shop) -> None:
    shift = await open_shift(shop, {"denominations": FLOAT, "note": "morning"})
    assert (shift["status"], shift["opening_float_amount"], shift["currency"]) == ("open", 26000, "CNY")
    assert shift["opening_denominations"] == {"10000": 2, "1000": 5, "100": 10}
    assert shift["opened_by_staff_id"] == shop.staff_ids[Role.CASHIER]
    assert shift["register_id"] == shop.register_ids[0]
    assert shift["note"] == "morning"
    current = await shop.call("GET", f"/registers/{shop.register_ids[0]}/shifts/current")
    assert current["id"] == shift["id"]


async def test_a_float_may_be_given_as_one_amount(shop: Shop) -> None:
    shift = await open_shift(shop, {"amount": 30000}, register_index=1)
    assert (shift["opening_float_amount"], shift["opening_denominations"]) == (30000, None)


async def test_one_open_shift_per_register(shop: Shop) -> None:
    first = await open_shift(shop)
    second = await open_shift(shop, expect=409)
    assert (second["code"], second["shift_id"]) == ("shift_open", first["id"])
    assert second["errors"][0]["field"] == "register_id"
    other_register = await open_shift(shop, register_index=1)
    assert other_register["register_id"] == shop.register_ids[1]


async def test_closing_twice_is_a_conflict_and_a_new_shift_can_open_after(shop: Shop) -> None:
    shift = await open_shift(shop)
    await shop.call("POST", f"/shifts/{shift['id']}/close", {"denominations": FLOAT})
    again = await shop.call("POST", f"/shifts/{shift['id']}/close", {"denominations": FLOAT}, expect=409)
    assert (again["code"], again["errors"][0]["field"]) == ("shift_closed", "shift_id")
    movement = await shop.call(
        "POST",
        f"/shifts/{shift['id']}/cash-movements",
        {"kind": "cash_in", "amount": 100, "reason": "late change"},
        expect=409,
    )
    assert movement["code"] == "shift_closed"
    await shop.call("GET", f"/registers/{shop.register_ids[0]}/shifts/current", expect=404)
    second = await open_shift(shop)
    assert second["id"] != shift["id"]


async def test_expected_cash_counts_cash_sales_without_change_and_not_cards(shop: Shop) -> None:
    # given a shift with 260 yuan float
    shift = await open_shift(shop)
    # when a cake (28.00) is paid with 50 in cash and an americano (18.00) by card
    cash_bill = await sell(shop, "cake", "cash", tendered_amount=5000)
    assert cash_bill["payments"][0]["change_amount"] == 2200
    await sell(shop, "americano", "card")
    # then only the 28.00 that stayed in the drawer counts
    report = await x_report(shop, shift["id"])
    assert report["kind"] == "x"
    assert (report["cash_sales_amount"], report["cash_sales_count"]) == (2800, 1)
    assert report["expected_cash_amount"] == 26000 + 2800
    assert report["tenders"] == [
        {"tender": "cash", "count": 1, "amount": 2800, "change_amount": 2200},
        {"tender": "card", "count": 1, "amount": 1800, "change_amount": 0},
    ]


async def test_cash_rounded_down_to_the_jiao_counts_as_rounded(shop: Shop) -> None:
    shift = await open_shift(shop)
    bill = await shop.open_takeaway()
    bill = await shop.add(bill, "cake")
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/discount",
        {"version": bill["version"], "fixed_amount": 3, "reason": "抹零"},
    )
    paid = await shop.pay(bill, "cash", tendered_amount=3000)
    assert (paid["payments"][0]["amount"], paid["rounding_amount"]) == (2790, -7)
    assert (await x_report(shop, shift["id"]))["expected_cash_amount"] == 26000 + 2790


async def test_a_voided_cash_payment_is_not_in_the_drawer(shop: Shop) -> None:
    shift = await open_shift(shop)
    bill = await shop.open_takeaway()
    bill = await shop.add(bill, "cake")
    bill = await shop.pay(bill, "cash", amount=1000, tendered_amount=1000)
    payment_id = bill["payments"][0]["id"]
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/payments/{payment_id}/void",
        {"version": bill["version"], "reason": "customer pays by card"},
    )
    await shop.pay(bill, "card", approval_code="777")
    report = await x_report(shop, shift["id"])
    assert (report["cash_sales_amount"], report["cash_refunds_amount"]) == (0, 0)
    assert report["expected_cash_amount"] == 26000


async def test_sales_before_the_shift_or_on_another_register_are_not_in_its_drawer(shop: Shop) -> None:
    await sell(shop, "tart", "cash", tendered_amount=800)  # before any shift
    shift = await open_shift(shop)
    await sell(shop, "cake", "cash", register_index=1, tendered_amount=2800)
    await sell(shop, "americano", "cash", tendered_amount=2000)
    report = await x_report(shop, shift["id"])
    assert (report["cash_sales_amount"], report["cash_sales_count"]) == (1800, 1)


async def test_cash_in_and_out_change_the_expected_cash(shop: Shop) -> None:
    shift = await open_shift(shop)
    cash_in = await shop.call(
        "POST",
        f"/shifts/{shift['id']}/cash-movements",
        {"kind": "cash_in", "amount": 10000, "reason": "change from the bank"},
        expect=201,
    )
    assert (cash_in["kind"], cash_in["amount"], cash_in["reason"]) == (
        "cash_in",
        10000,
        "change from the bank",
    )
    await shop.call(
        "POST",
        f"/shifts/{shift['id']}/cash-movements",
        {"kind": "cash_out", "amount": 3000, "reason": "paid-out: vegetables supplier"},
    )
    report = await x_report(shop, shift["id"])
    assert (report["cash_in_amount"], report["cash_out_amount"]) == (10000, 3000)
    assert report["expected_cash_amount"] == 26000 + 10000 - 3000
    assert [(item["kind"], item["amount"]) for item in report["movements"]] == [
        ("cash_in", 10000),
        ("cash_out", 3000),
    ]


async def test_cash_out_cannot_take_more_than_the_drawer_holds(shop: Shop) -> None:
    shift = await open_shift(shop)
    refused = await shop.call(
        "POST",
        f"/shifts/{shift['id']}/cash-movements",
        {"kind": "cash_out", "amount": 26001, "reason": "bank drop"},
        expect=409,
    )
    assert (refused["errors"][0]["field"], refused["expected_cash_amount"]) == ("amount", 26000)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "cash_in", "amount": 100, "reason": ""}, "reason"),
        ({"kind": "cash_in", "amount": 0, "reason": "x"}, "amount"),
        ({"kind": "sideways", "amount": 100, "reason": "x"}, "kind"),
        ({"kind": "cash_in", "amount": 100, "reason": "   "}, "reason"),
    ],
)
async def test_a_cash_movement_needs_a_kind_an_amount_and_a_reason(
    shop: Shop, body: dict[str, Any], field: str
) -> None:
    shift = await open_shift(shop)
    refused = await shop.call("POST", f"/shifts/{shift['id']}/cash-movements", body, expect=422)
    assert refused["errors"][0]["field"] == field


async def test_a_repeated_cash_movement_is_recorded_once(shop: Shop, session: AsyncSession) -> None:
    shift = await open_shift(shop)
    body = {"kind": "cash_in", "amount": 500, "reason": "coins"}
    key = new_key()
    first = await shop.call("POST", f"/shifts/{shift['id']}/cash-movements", body, key=key)
    again = await shop.call("POST", f"/shifts/{shift['id']}/cash-movements", body, key=key)
    assert again == first
    count = await session.scalar(
        select(func.count(CashMovement.id)).where(CashMovement.shift_id == shift["id"])
    )
    assert count == 1


async def test_close_records_the_count_and_the_over_or_short(shop: Shop) -> None:
    shift = await open_shift(shop)
    await sell(shop, "cake", "cash", tendered_amount=5000)  # +28.00
    # expected 288.00; counted 100 + 100 + 50 + 20 + 10 + 5 + 1 + 1 + 0.5 + 0.1 x 3 = 287.80
    counted = [
        {"value_amount": 10000, "count": 2},
        {"value_amount": 5000, "count": 1},
        {"value_amount": 2000, "count": 1},
        {"value_amount": 1000, "count": 1},
        {"value_amount": 500, "count": 1},
        {"value_amount": 100, "count": 2},
        {"value_amount": 50, "count": 1},
        {"value_amount": 10, "count": 3},
    ]
    closing = await shop.call("POST", f"/shifts/{shift['id']}/close", {"denominations": counted})
    assert closing["kind"] == "close"
    assert (
        closing["expected_cash_amount"],
        closing["counted_cash_amount"],
        closing["difference_amount"],
    ) == (
        28800,
        28780,
        -20,
    )
    assert closing["shift"]["status"] == "closed"
    assert closing["shift"]["counted_denominations"] == {
        "10000": 2,
        "5000": 1,
        "2000": 1,
        "1000": 1,
        "500": 1,
        "100": 2,
        "50": 1,
        "10": 3,
    }
    assert closing["closed_by_name"]
    # a sale after the close is not in the closed shift
    await sell(shop, "americano", "cash", tendered_amount=2000)
    later = await x_report(shop, shift["id"])
    assert (later["cash_sales_amount"], later["expected_cash_amount"], later["difference_amount"]) == (
        2800,
        28800,
        -20,
    )


async def test_counting_more_than_expected_is_over(shop: Shop) -> None:
    shift = await open_shift(shop)
    closing = await shop.call("POST", f"/shifts/{shift['id']}/close", {"amount": 26050})
    assert closing["difference_amount"] == 50


async def test_the_x_report_leaves_the_shift_open(shop: Shop) -> None:
    shift = await open_shift(shop)
    await sell(shop, "cake", "cash", tendered_amount=2800)
    report = await x_report(shop, shift["id"])
    assert (report["kind"], report["shift"]["status"], report["counted_cash_amount"]) == ("x", "open", None)
    await sell(shop, "tart", "cash", tendered_amount=1000)
    assert (await x_report(shop, shift["id"]))["cash_sales_amount"] == 2800 + 800
    headers = await shop.login()
    text = await shop.client.get(f"/api/v1/shifts/{shift['id']}/x-report.txt", headers=headers)
    assert text.headers["content-type"].startswith("text/plain")
    assert "X 报表" in text.text
    assert all(display_width(line, ambiguous_is_wide=True) <= 48 for line in text.text.splitlines())
    english = await shop.client.get(f"/api/v1/shifts/{shift['id']}/x-report.txt?locale=en", headers=headers)
    assert "Expected cash" in english.text
    pdf = await shop.client.get(f"/api/v1/shifts/{shift['id']}/x-report.pdf", headers=headers)
    assert pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"denominations": [{"value_amount": 300, "count": 1}]}, "denominations"),
        ({"denominations": [{"value_amount": 100, "count": 1}], "amount": 200}, "amount"),
        ({}, "denominations"),
        (
            {"denominations": [{"value_amount": 100, "count": 1}, {"value_amount": 100, "count": 2}]},
            "denominations",
        ),
        ({"denominations": [{"value_amount": 100, "count": -1}]}, "denominations.0.count"),
        ({"amount": -5}, "amount"),
    ],
)
async def test_a_cash_count_must_be_real_notes_and_coins(
    shop: Shop, body: dict[str, Any], field: str
) -> None:
    refused = await shop.call("POST", f"/registers/{shop.register_ids[0]}/shifts", body, expect=422)
    assert refused["errors"][0]["field"] == field


async def test_unknown_shifts_and_registers_are_not_found(shop: Shop) -> None:
    missing_shift = await shop.call("GET", "/shifts/999999/x-report", expect=404)
    assert missing_shift["errors"][0]["field"] == "shift_id"
    refused = await shop.call("POST", "/registers/999999/shifts", {"amount": 0}, expect=404)
    assert refused["errors"][0]["field"] == "register_id"
    closed = await shop.call("POST", "/shifts/999999/close", {"amount": 0}, expect=404)
    assert closed["errors"][0]["field"] == "shift_id"


@pytest.mark.parametrize(
    ("role", "status"), [(Role.WAITER, 403), (Role.CASHIER, 201), (Role.MANAGER, 201), (Role.OWNER, 201)]
)
async def test_who_may_open_a_shift(shop: Shop, session: AsyncSession, role: Role, status: int) -> None:
    await shop.login(role)
    async with unchanged(session, when=status == 403):
        await open_shift(shop, role=role, expect=status)


@pytest.mark.parametrize(("role", "status"), [(Role.WAITER, 403), (Role.CASHIER, 201), (Role.MANAGER, 201)])
async def test_who_may_move_cash(shop: Shop, session: AsyncSession, role: Role, status: int) -> None:
    shift = await open_shift(shop)
    await shop.login(role)
    async with unchanged(session, when=status == 403):
        await shop.call(
            "POST",
            f"/shifts/{shift['id']}/cash-movements",
            {"kind": "cash_in", "amount": 100, "reason": "coins"},
            role=role,
            expect=status,
        )


@pytest.mark.parametrize(("role", "status"), [(Role.WAITER, 403), (Role.CASHIER, 200), (Role.MANAGER, 200)])
async def test_who_may_see_and_close_a_shift(
    shop: Shop, session: AsyncSession, role: Role, status: int
) -> None:
    shift = await open_shift(shop)
    await shop.login(role)
    async with unchanged(session, when=status == 403):
        await shop.call("GET", f"/shifts/{shift['id']}/x-report", role=role, expect=status)
        await shop.call("POST", f"/shifts/{shift['id']}/close", {"amount": 26000}, role=role, expect=status)


async def test_every_drawer_change_is_audited(shop: Shop, session: AsyncSession) -> None:
    shift = await open_shift(shop)
    await shop.call(
        "POST",
        f"/shifts/{shift['id']}/cash-movements",
        {"kind": "cash_out", "amount": 1000, "reason": "milk"},
    )
    await shop.call("POST", f"/shifts/{shift['id']}/close", {"amount": 25000})
    records = (
        await session.execute(
            select(AuditRecord.action, AuditRecord.after, AuditRecord.staff_id)
            .where(AuditRecord.entity_type == "shift", AuditRecord.entity_id == str(shift["id"]))
            .order_by(AuditRecord.sequence)
        )
    ).all()
    assert [record.action for record in records] == ["shift.open", "shift.cash_out", "shift.close"]
    assert {record.staff_id for record in records} == {shop.staff_ids[Role.CASHIER]}
    assert records[1].after["reason"] == "milk"
    assert (records[2].after["expected"], records[2].after["counted"], records[2].after["difference"]) == (
        25000,
        25000,
        0,
    )


async def test_the_stores_screens_hear_of_shifts(shop: Shop, event_bus: InProcessEventBus) -> None:
    heard: list[tuple[str, dict[str, Any]]] = []
    event_bus.subscribe(f"store:{shop.store_id}", lambda event: heard.append((event.name, event.payload)))
    shift = await open_shift(shop)
    await shop.call("POST", f"/shifts/{shift['id']}/close", {"amount": 26000})
    assert heard == [
        ("shift.opened", {"shift_id": shift["id"], "register_id": shop.register_ids[0], "status": "open"}),
        ("shift.closed", {"shift_id": shift["id"], "register_id": shop.register_ids[0], "status": "closed"}),
    ]
