"""A member on the bill: their tier discount is its own line, before the staff's bill
discount; taking the member off removes it; the receipt shows it and still adds up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from kassa.orders import service as orders
from tests.shop import Shop


async def _gold(session: AsyncSession, organization_id: int, member_id: int) -> tuple[str, int] | None:
    return ("Gold", 1000)


@pytest.fixture
def gold_tier() -> Iterator[None]:
    orders.set_member_discount_lookup(_gold)
    yield
    orders.set_member_discount_lookup(None)


async def _member(shop: Shop) -> dict[str, object]:
    return await shop.call(
        "POST",
        "/members",
        {
            "phone": "13800138000",
            "name": "Li Na",
            "privacy_policy_accepted": True,
            "privacy_policy_version": "2026-11",
        },
    )


async def test_the_tier_discount_is_its_own_line_before_the_bill_discount(
    shop: Shop, gold_tier: None
) -> None:
    member = await _member(shop)
    bill = await shop.add(await shop.open_takeaway(), "cake", 2)  # 56.00
    bill = await shop.call(
        "POST", f"/bills/{bill['id']}/member", {"version": bill["version"], "member_id": member["id"]}
    )
    assert (bill["member_discount_label"], bill["member_discount_amount"], bill["total_amount"]) == (
        "Gold",
        560,
        5040,
    )
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/discount",
        {"version": bill["version"], "basis_points": 1000, "reason": "regular"},
    )
    # 10 % off what is left after the tier discount: 50.40 -> 5.04 off
    assert (bill["member_discount_amount"], bill["discount_amount"], bill["total_amount"]) == (560, 504, 4536)
    assert sum(row["gross_amount"] for row in bill["vat"]) == bill["total_amount"]
    bill = await shop.pay(bill, "card", approval_code="A1")
    headers = await shop.login()
    receipt = (await shop.client.get(f"/api/v1/bills/{bill['id']}/receipt.txt", headers=headers)).text
    assert "会员折扣 (Gold)" in receipt
    assert "45.36" in receipt
    report = await shop.call("GET", f"/stores/{shop.store_id}/z-report", role=Role.MANAGER)
    assert (report["discounts"]["bill_count"], report["discounts"]["bill_amount"]) == (1, 560 + 504)
    assert report["total_sales_amount"] == 4536
    assert sum(row["gross_amount"] for row in report["by_vat_rate"]) == 4536


async def test_taking_the_member_off_takes_the_discount_off(shop: Shop, gold_tier: None) -> None:
    member = await _member(shop)
    bill = await shop.add(await shop.open_takeaway(), "americano")
    bill = await shop.call(
        "POST", f"/bills/{bill['id']}/member", {"version": bill["version"], "member_id": member["id"]}
    )
    assert bill["total_amount"] == 1620
    bill = await shop.call(
        "POST", f"/bills/{bill['id']}/member", {"version": bill["version"], "member_id": None}
    )
    assert (bill["member_id"], bill["member_discount_amount"], bill["total_amount"]) == (None, 0, 1800)


async def test_a_returned_line_gives_back_its_share_of_the_tier_discount(shop: Shop, gold_tier: None) -> None:
    member = await _member(shop)
    bill = await shop.add(await shop.open_takeaway(), "cake")
    bill = await shop.add(bill, "americano")
    bill = await shop.call(
        "POST", f"/bills/{bill['id']}/member", {"version": bill["version"], "member_id": member["id"]}
    )
    bill = await shop.pay(bill, "card", approval_code="A1")
    cake = next(line["id"] for line in bill["lines"] if line["name"] == "cake")
    request = await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": cake, "quantity": 1}], "reason_code": "quality"},
    )
    assert request["amount"] == 2520  # 28.00 less 10 %
