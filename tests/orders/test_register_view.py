"""The register screen's rules that need no browser: keypad amounts, cash and change,
option choices, scanned codes, discounts and splits, and the views read through the
services (bill panel, floor, open bills)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.menu import MenuModifierGroup, MenuOption, get_store_menu
from kassa.core.auth import Actor, Role
from kassa.core.money import Money
from kassa.orders import service as orders
from kassa.orders.models import OrderType
from kassa.orders.ui.floor import plan_height, plan_left, plan_top
from kassa.orders.ui.view import (
    OpenBillRow,
    TableView,
    age_minutes,
    amount_text,
    bill_place,
    cash_plan,
    default_choice,
    discount_request,
    find_by_code,
    load_bill_view,
    load_floor,
    load_open_bills,
    parse_amount,
    press_key,
    queue_of,
    search_menu,
    split_parts,
    toggle_option,
    unsatisfied_groups,
)
from kassa.payments.models import PaymentStatus, Tender
from kassa.staff import service as staff_service
from tests.shop import Shop

# --- the keypad -----------------------------------------------------------------------------


def type_keys(keys: list[str], currency: str = "CNY") -> str:
    text = ""
    for key in keys:
        text = press_key(text, key, currency)
    return text


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (["5", "0"], "50"),
        (["0", "0", "7"], "7"),
        (["1", "2", ".", "5"], "12.5"),
        (["1", ".", "2", "5", "9"], "1.25"),  # no third decimal
        ([".", "5"], "0.5"),
        (["1", ".", "."], "1."),
        (["4", "2", "back"], "4"),
        (["4", "2", "clear"], ""),
        (["1", "00"], "100"),
        (["9"] * 12, "9" * 10),  # at most ten characters
    ],
)
def test_keypad_keys_build_an_amount(keys: list[str], expected: str) -> None:
    assert type_keys(keys) == expected


def test_a_currency_without_decimals_has_no_point() -> None:
    assert type_keys(["5", ".", "0"], "JPY") == "50"


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("50", "CNY", 5000),
        ("12.5", "CNY", 1250),
        ("¥1,234.56", "CNY", 123456),
        ("0", "CNY", 0),
        ("", "CNY", None),
        ("abc", "CNY", None),
        ("1.234", "CNY", None),
        ("-5", "CNY", None),
        ("500", "JPY", 500),
    ],
)
def test_typed_amounts_become_minor_units(text: str, currency: str, expected: int | None) -> None:
    assert parse_amount(text, currency) == expected


@given(st.integers(min_value=0, max_value=10**9))
def test_an_amount_shown_on_the_keypad_reads_back_the_same(amount: int) -> None:
    assert parse_amount(amount_text(amount, "CNY"), "CNY") == amount


# --- cash -------------------------------------------------------------------------------------


def test_cash_above_what_is_due_settles_it_with_change() -> None:
    plan = cash_plan(due=7000, tendered=10000, currency="CNY")
    assert plan is not None
    assert (plan.payable, plan.change, plan.amount, plan.is_partial) == (7000, 3000, None, False)


def test_less_cash_than_due_pays_part_of_it() -> None:
    plan = cash_plan(due=7000, tendered=5000, currency="CNY")
    assert plan is not None
    assert (plan.payable, plan.change, plan.amount, plan.is_partial) == (5000, 0, 5000, True)


def test_cash_that_settles_the_bill_is_rounded_down_to_the_jiao() -> None:
    # ¥46.35 due: cash settles at ¥46.30 (抹零), so ¥46.30 handed over is enough.
    plan = cash_plan(due=4635, tendered=4630, currency="CNY")
    assert plan is not None
    assert (plan.payable, plan.change, plan.is_partial) == (4630, 0, False)


def test_cash_for_one_share_of_an_even_split() -> None:
    plan = cash_plan(due=10000, tendered=5000, currency="CNY", share=3334)
    assert plan is not None
    assert (plan.payable, plan.change, plan.amount, plan.is_partial) == (3334, 1666, None, False)


def test_no_cash_or_nothing_due_is_no_payment() -> None:
    assert cash_plan(due=7000, tendered=0, currency="CNY") is None
    assert cash_plan(due=0, tendered=5000, currency="CNY") is None


@given(due=st.integers(min_value=1, max_value=10**7), tendered=st.integers(min_value=1, max_value=10**7))
def test_cash_never_pays_more_than_due_and_change_is_what_is_left(due: int, tendered: int) -> None:
    plan = cash_plan(due, tendered, "CNY")
    assert plan is not None
    assert 0 <= plan.payable <= due
    assert plan.payable + plan.change == tendered or (plan.is_partial and plan.payable == tendered)
    assert plan.change >= 0


# --- options ----------------------------------------------------------------------------------


def option(option_id: int, delta: int = 0, *, is_sold_out: bool = False) -> MenuOption:
    return MenuOption(option_id, f"o{option_id}", f"o{option_id}", {}, Money(delta, "CNY"), None, is_sold_out)


def group(
    group_id: int, options: list[MenuOption], *, is_required: bool = False, minimum: int = 0, maximum: int = 1
) -> MenuModifierGroup:
    return MenuModifierGroup(
        group_id, f"g{group_id}", f"g{group_id}", {}, is_required, minimum, maximum, tuple(options)
    )


def test_a_single_choice_group_swaps_its_option() -> None:
    size = group(1, [option(10), option(11)], is_required=True, minimum=1)
    chosen = toggle_option(size, [], 10)
    assert chosen == [10]
    assert toggle_option(size, chosen, 11) == [11]
    assert toggle_option(size, [11], 11) == []


def test_a_multi_choice_group_stops_at_its_maximum_and_keeps_other_groups() -> None:
    extras = group(2, [option(20), option(21), option(22)], maximum=2)
    chosen = toggle_option(extras, [10], 20)
    chosen = toggle_option(extras, chosen, 21)
    assert toggle_option(extras, chosen, 22) == [10, 20, 21]


def test_required_groups_must_be_chosen_and_maximums_hold() -> None:
    size = group(1, [option(10), option(11)], is_required=True, minimum=1)
    extras = group(2, [option(20), option(21)], maximum=1)
    assert unsatisfied_groups([size, extras], []) == [size]
    assert unsatisfied_groups([size, extras], [10]) == []
    assert unsatisfied_groups([size, extras], [10, 20, 21]) == [extras]


def test_a_required_group_with_one_option_left_is_chosen_for_the_cashier() -> None:
    size = group(1, [option(10, is_sold_out=True), option(11)], is_required=True, minimum=1)
    extras = group(2, [option(20)])
    assert default_choice([size, extras]) == [11]


# --- discounts and splits ----------------------------------------------------------------------


def test_a_typed_percentage_becomes_basis_points() -> None:
    assert discount_request(True, "12.5", "staff", "CNY") == orders.DiscountRequest(
        basis_points=1250, reason="staff"
    )
    assert discount_request(False, "8", "staff", "CNY") == orders.DiscountRequest(
        fixed_amount=800, reason="staff"
    )
    assert discount_request(True, "", "staff", "CNY") is None
    assert discount_request(True, "1.234", "staff", "CNY") is None


def test_split_parts_leave_out_lines_that_stay() -> None:
    assert split_parts({1: 0, 2: 1, 3: 2}) == [orders.SplitPart(2, 1), orders.SplitPart(3, 2)]


# --- lists ------------------------------------------------------------------------------------


def row(bill_id: int, order_type: OrderType, minutes_ago: int, *, is_urgent: bool = False) -> OpenBillRow:
    opened = datetime(2026, 11, 24, 12, 0, tzinfo=UTC) - timedelta(minutes=minutes_ago)
    return OpenBillRow(
        bill_id,
        bill_id,
        1,
        order_type,
        None,
        None,
        f"{bill_id:03d}",
        None,
        "",
        opened,
        0,
        0,
        "CNY",
        is_urgent,
        False,
    )


def test_the_queue_puts_urgent_orders_first_then_the_oldest() -> None:
    rows = [
        row(1, OrderType.TAKEAWAY, 5),
        row(2, OrderType.TAKEAWAY, 20),
        row(3, OrderType.TAKEAWAY, 1, is_urgent=True),
        row(4, OrderType.DELIVERY, 3),
    ]
    queue = queue_of(rows)
    assert [bill.id for bill in queue[OrderType.TAKEAWAY]] == [3, 2, 1]
    assert [bill.id for bill in queue[OrderType.DELIVERY]] == [4]
    assert queue[OrderType.DINE_IN] == []


def test_where_an_order_goes_and_how_old_it_is() -> None:
    assert bill_place(OrderType.DINE_IN, "T3", None) == "T3"
    assert bill_place(OrderType.TAKEAWAY, None, "007") == "#007"
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert age_minutes(now - timedelta(minutes=14, seconds=59), now) == 14
    assert age_minutes(now + timedelta(minutes=1), now) == 0


def test_tables_are_placed_inside_the_plan() -> None:
    tables = [TableView(1, "T1", 2, 10, 20, ()), TableView(2, "T5", 4, 10, 60, ())]
    assert plan_left(0) == 6
    assert plan_left(100) == 94
    assert plan_height(tables) == 60 * 2 + 40 * 3
    assert [plan_top(table.position_y, tables) for table in tables] == [60, 180]
    assert plan_height([]) == 120


# --- read through the services ------------------------------------------------------------------


async def cashier(session: AsyncSession, shop: Shop) -> Actor:
    headers = await shop.login(Role.CASHIER)
    return await staff_service.authenticate(session, headers["Authorization"].removeprefix("Bearer "))


async def test_the_bill_panel_shows_lines_options_payments_and_change(
    session: AsyncSession, shop: Shop
) -> None:
    # Given a dine-in bill with a large latte and two tarts, sent to the kitchen, paid in cash
    bill = await shop.call(
        "POST", "/bills", {"order_type": "dine_in", "table_id": shop.table_ids[1], "guest_count": 2}
    )
    bill = await shop.add(bill, "latte", modifier_option_ids=[shop.size_options["Large"]], note="oat milk")
    bill = await shop.add(bill, "tart", 2)
    await shop.call("POST", f"/bills/{bill['id']}/kitchen", {"version": bill["version"]})
    bill = await shop.call("GET", f"/bills/{bill['id']}")
    bill = await shop.pay(bill, "cash", tendered_amount=5000)
    actor = await cashier(session, shop)

    # When the register reads it
    view = await load_bill_view(session, actor, bill["id"], "zh_CN")

    # Then
    assert view.table_name == "T2"
    assert not view.is_open
    assert [(line.name, line.quantity, line.total, line.is_sent) for line in view.lines] == [
        ("latte", 1, 2700, True),
        ("tart", 2, 1600, True),
    ]
    assert view.lines[0].modifiers == ("Large +¥3.00",)
    assert view.lines[0].note == "oat milk"
    assert view.lines[0].option_ids == (shop.size_options["Large"],)
    assert [(payment.tender, payment.status, payment.amount) for payment in view.payments] == [
        (Tender.CASH, PaymentStatus.SUCCEEDED, 4300)
    ]
    assert (view.due, view.change_given, view.item_count) == (0, 700, 3)


async def test_the_floor_and_the_open_bills_show_who_sits_where(session: AsyncSession, shop: Shop) -> None:
    bill = await shop.call(
        "POST", "/bills", {"order_type": "dine_in", "table_id": shop.table_ids[0], "guest_count": 3}
    )
    await shop.add(bill, "cake")
    takeaway = await shop.open_takeaway()
    actor = await cashier(session, shop)

    areas = await load_floor(session, actor, shop.store_id, shop.register_ids[0])
    rows = await load_open_bills(session, actor, shop.store_id, shop.register_ids[0])

    tables = {table.name: table for area in areas for table in area.tables}
    assert (tables["T1"].is_occupied, tables["T1"].total) == (True, 2800)
    assert tables["T2"].is_occupied is False
    assert [(item.id, item.table_name, item.pickup_code, item.total) for item in rows] == [
        (bill["id"], "T1", None, 2800),
        (takeaway["id"], None, takeaway["pickup_code"], 0),
    ]
    assert rows[0].staff_name == actor.display_name


async def test_a_scanned_sku_or_barcode_finds_the_product(session: AsyncSession, shop: Shop) -> None:
    actor = await cashier(session, shop)
    menu = await get_store_menu(session, actor, shop.store_id)

    found = find_by_code(menu, "americano")
    assert found is not None
    assert found.id == shop.products["americano"]
    assert find_by_code(menu, "nothing") is None
    assert [product.sku for product in search_menu(menu, "T")] == ["LATTE", "TART"]
    assert search_menu(menu, "  ") == []
