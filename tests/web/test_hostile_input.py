"""Odd and hostile input is a 4xx problem naming the field, or a correct answer: never a 500,
never silently stored."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from kassa.core.auth import Role
from kassa.core.schemas import MAX_AMOUNT, MAX_ID, MAX_PRICE_AMOUNT, MAX_QUANTITY
from kassa.orders import service as orders_service
from tests.shop import Shop


def _fields(problem: dict[str, object]) -> list[str]:
    return [item["field"] for item in problem["errors"]]  # type: ignore[attr-defined, index]


async def test_an_unknown_body_field_is_refused_naming_it(shop: Shop) -> None:
    problem = await shop.call(
        "POST", "/bills", {"order_type": "takeaway", "opened_at": "2020-01-01T00:00:00Z"}, expect=422
    )
    assert problem["code"] == "validation_failed"
    assert _fields(problem) == ["opened_at"]


@pytest.mark.parametrize("bill_id", [0, -1, MAX_ID + 1, 2**63, 2**64])
async def test_ids_beyond_the_database_range_are_422(shop: Shop, bill_id: int) -> None:
    problem = await shop.call("GET", f"/bills/{bill_id}", expect=422)
    assert _fields(problem) == ["bill_id"]


async def test_amounts_beyond_the_bound_are_422(shop: Shop) -> None:
    bill = await shop.open_takeaway()
    bill = await shop.add(bill, "cake")
    problem = await shop.pay(bill, "cash", expect=422, tendered_amount=MAX_AMOUNT + 1)
    assert _fields(problem) == ["tendered_amount"]


@pytest.mark.parametrize(
    "name",
    ["\u200b", "\x00", " \u200b\u00a0\ufeff ", "\u202e\u2066"],
    ids=["zero-width-space", "nul", "invisible-mix", "bidi-only"],
)
async def test_names_of_only_invisible_characters_are_refused(shop: Shop, name: str) -> None:
    problem = await shop.call("POST", "/catalog/categories", {"name": name}, role=Role.OWNER, expect=422)
    assert _fields(problem) == ["name"]


async def test_invisible_characters_are_taken_out_of_names(shop: Shop) -> None:
    category = await shop.call(
        "POST", "/catalog/categories", {"name": " Te\u200bas\x00 "}, role=Role.OWNER, expect=201
    )
    assert category["name"] == "Teas"


@pytest.mark.parametrize("date_from", ["2026-12-01", "2026-12-01T08:00:00", "2026-12-01T08:00:00+08:00"])
async def test_the_returns_archive_takes_plain_dates_and_naive_times(shop: Shop, date_from: str) -> None:
    found = await shop.call(
        "GET",
        f"/stores/{shop.store_id}/returns?date_from={quote(date_from)}&date_to=2027-01-01",
        role=Role.OWNER,
    )
    assert found == []


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
async def test_extreme_dates_are_422(shop: Shop, day: str) -> None:
    problem = await shop.call(
        "GET", f"/stores/{shop.store_id}/returns?date_from={day}", role=Role.OWNER, expect=422
    )
    assert _fields(problem) == ["date_from"]
    problem = await shop.call(
        "GET", f"/stores/{shop.store_id}/reservations?day={day}", role=Role.OWNER, expect=422
    )
    assert _fields(problem) == ["day"]


async def _new_product(shop: Shop, price_amount: int, expect: int) -> dict[str, object]:
    categories = await shop.call("GET", "/catalog/categories", role=Role.OWNER)
    body = {
        "category_id": categories[0]["id"],
        "name": "Gold leaf",
        "sku": "GOLD",
        "price_amount": price_amount,
        "currency": "CNY",
        "vat_rate_code": "standard",
    }
    return await shop.call("POST", "/catalog/products", body, role=Role.OWNER, expect=expect)


async def test_a_price_that_could_overflow_a_bill_is_refused(shop: Shop) -> None:
    problem = await _new_product(shop, MAX_PRICE_AMOUNT + 1, expect=422)
    assert _fields(problem) == ["price_amount"]


async def test_the_largest_line_fits(shop: Shop) -> None:
    product = await _new_product(shop, MAX_PRICE_AMOUNT, expect=201)
    bill = await shop.open_takeaway()
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines",
        {"version": bill["version"], "product_id": product["id"], "quantity": MAX_QUANTITY},
    )
    assert bill["subtotal_amount"] == MAX_PRICE_AMOUNT * MAX_QUANTITY


async def test_a_bill_holds_a_bounded_number_of_lines(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orders_service, "MAX_LINES_PER_BILL", 2)
    bill = await shop.open_takeaway()
    bill = await shop.add(bill, "cake")
    bill = await shop.add(bill, "tart")
    problem = await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines",
        {"version": bill["version"], "product_id": shop.products["cake"]},
        expect=409,
    )
    assert problem["code"] == "bill_full"


async def test_a_fixed_discount_above_the_bill_is_refused_not_capped(shop: Shop) -> None:
    bill = await shop.open_takeaway()
    bill = await shop.add(bill, "cake")  # 28.00
    problem = await shop.call(
        "POST",
        f"/bills/{bill['id']}/discount",
        {"version": bill["version"], "fixed_amount": 2801, "reason": "regular"},
        role=Role.OWNER,
        expect=422,
    )
    assert (problem["code"], _fields(problem)) == ("discount_above_total", ["fixed_amount"])
    line_id = bill["lines"][0]["id"]
    problem = await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines/{line_id}/discount",
        {"version": bill["version"], "fixed_amount": 2801, "reason": "regular"},
        role=Role.OWNER,
        expect=422,
    )
    assert (problem["code"], _fields(problem)) == ("discount_above_total", ["fixed_amount"])
    bill = await shop.call("GET", f"/bills/{bill['id']}")
    assert (bill["discount_amount"], bill["lines"][0]["discount_amount"]) == (0, 0)
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/discount",
        {"version": bill["version"], "fixed_amount": 2800, "reason": "regular"},
        role=Role.OWNER,
    )
    assert bill["total_amount"] == 0


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"delivery_phone": "12345", "delivery_address": "1 Main St"}, "delivery_phone"),
        ({"delivery_phone": "13800138000", "delivery_address": "   "}, "delivery_address"),
        ({"delivery_phone": "13800138000", "delivery_address": "\u200b\x00"}, "delivery_address"),
    ],
    ids=["short-phone", "spaces-address", "invisible-address"],
)
async def test_delivery_contact_must_be_real(shop: Shop, extra: dict[str, str], field: str) -> None:
    problem = await shop.call("POST", "/bills", {"order_type": "delivery", **extra}, expect=422)
    assert _fields(problem) == [field]


async def test_a_delivery_phone_is_stored_in_e164(shop: Shop) -> None:
    bill = await shop.call(
        "POST",
        "/bills",
        {"order_type": "delivery", "delivery_phone": "138 0013 8000", "delivery_address": " 1 Main St "},
    )
    assert (bill["delivery_phone"], bill["delivery_address"]) == ("+8613800138000", "1 Main St")
