"""Voiding part of a line: the rest stays on the bill, the voided part becomes a line of its
own (for the Z report and the bill's history), stock comes back for that part only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.audit import AuditRecord
from kassa.core.auth import Role
from kassa.orders.models import BillLine
from tests.orders.test_bills_api import stock_of
from tests.shop import Shop


async def _void(
    shop: Shop, bill: dict[str, Any], line_id: int, expect: int | None = None, **body: Any
) -> dict[str, Any]:
    return await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines/{line_id}/void",
        {"version": bill["version"], **body},
        expect=expect,
    )


def _parts(bill: dict[str, Any]) -> list[tuple[str, int, str, int, int, str | None]]:
    return [
        (
            line["name"],
            line["quantity"],
            line["status"],
            line["discount_amount"],
            line["total_amount"],
            line["void_reason"],
        )
        for line in bill["lines"]
    ]


async def test_part_of_a_line_the_kitchen_has_is_voided_with_a_reason(
    shop: Shop, session: AsyncSession
) -> None:
    # Given three tarts (the last three in stock) sent to the kitchen
    bill = await shop.add(await shop.open_takeaway(), "tart", 3)
    await shop.call("POST", f"/bills/{bill['id']}/kitchen", {"version": bill["version"]})
    bill = await shop.call("GET", f"/bills/{bill['id']}")
    line_id = bill["lines"][0]["id"]
    assert await stock_of(session, shop, "tart") == 0

    # When one is voided without a reason, it is refused
    refused = await _void(shop, bill, line_id, expect=422, quantity=1)
    assert refused["errors"][0]["field"] == "reason"

    # When one is voided with a reason
    bill = await _void(shop, bill, line_id, quantity=1, reason="Wrong item")

    # Then two stay, one is a voided line of its own with the kitchen's mark, one tart is back
    assert _parts(bill) == [
        ("tart", 2, "active", 0, 1600, None),
        ("tart", 1, "voided", 0, 800, "Wrong item"),
    ]
    kept, voided = bill["lines"]
    assert kept["id"] == line_id
    assert voided["sent_to_kitchen_at"] == kept["sent_to_kitchen_at"] is not None
    assert (voided["product_id"], voided["unit_price_amount"]) == (kept["product_id"], 800)
    assert bill["total_amount"] == 1600
    assert await stock_of(session, shop, "tart") == 1

    # And the audit trail names the quantity, the Z report counts one void of one tart
    record = await session.scalar(
        select(AuditRecord).where(AuditRecord.action == "bill.line_void").order_by(AuditRecord.id.desc())
    )
    assert record is not None
    assert record.before == {"line_id": line_id, "quantity": 3, "total": 2400}
    assert record.after == {
        "line_id": line_id,
        "voided_line_id": voided["id"],
        "quantity": 1,
        "total": 800,
        "reason": "Wrong item",
        "was_sent_to_kitchen": True,
        "remaining_quantity": 2,
    }
    report = await shop.call(
        "GET",
        f"/stores/{shop.store_id}/z-report?business_date={bill['business_date']}",
        role=Role.MANAGER,
    )
    assert report["voids"] == {
        "count": 1,
        "quantity": 1,
        "amount": 800,
        "by_reason": [{"reason": "Wrong item", "count": 1, "quantity": 1, "amount": 800}],
    }


async def test_a_percentage_discount_is_shared_exactly_and_options_go_with_the_part(shop: Shop) -> None:
    # Given three large lattes (27.00 each) with 12.5 % off: 81.00 - 10.13
    bill = await shop.add(
        await shop.open_takeaway(), "latte", 3, modifier_option_ids=[shop.size_options["Large"]]
    )
    line_id = bill["lines"][0]["id"]
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines/{line_id}/discount",
        {"version": bill["version"], "basis_points": 1250, "reason": "regular"},
    )
    assert (bill["lines"][0]["discount_amount"], bill["total_amount"]) == (1013, 7087)

    # When one is voided
    bill = await _void(shop, bill, line_id, quantity=1)

    # Then the two left keep 12.5 % of 54.00 and the voided one carries the rest
    assert _parts(bill) == [
        ("latte", 2, "active", 675, 4725, None),
        ("latte", 1, "voided", 338, 2362, None),
    ]
    assert bill["total_amount"] == 4725
    kept, voided = bill["lines"]
    assert voided["modifiers"] == kept["modifiers"] != []
    assert voided["discount_reason"] == "regular"


async def test_a_fixed_discount_is_shared_by_quantity(shop: Shop, session: AsyncSession) -> None:
    # Given three cakes (84.00) with 10.00 off
    bill = await shop.add(await shop.open_takeaway(), "cake", 3)
    line_id = bill["lines"][0]["id"]
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines/{line_id}/discount",
        {"version": bill["version"], "fixed_amount": 1000, "reason": "birthday"},
    )

    # When two are voided
    bill = await _void(shop, bill, line_id, quantity=2)

    # Then the discount is shared 1 : 2 by largest remainder, and the cake left keeps its share
    assert _parts(bill) == [
        ("cake", 1, "active", 333, 2467, None),
        ("cake", 2, "voided", 667, 4933, None),
    ]
    assert bill["total_amount"] == 2467
    stored = (
        await session.scalars(
            select(BillLine.discount_fixed_amount)
            .where(BillLine.bill_id == bill["id"])
            .order_by(BillLine.id)
            .execution_options(populate_existing=True)
        )
    ).all()
    assert list(stored) == [333, 667]


async def test_voiding_the_whole_quantity_is_a_whole_void(shop: Shop, session: AsyncSession) -> None:
    bill = await shop.add(await shop.open_takeaway(), "tart", 2)
    line_id = bill["lines"][0]["id"]
    bill = await _void(shop, bill, line_id, quantity=2)
    assert _parts(bill) == [("tart", 2, "voided", 0, 1600, None)]
    assert bill["lines"][0]["id"] == line_id
    assert (bill["total_amount"], await stock_of(session, shop, "tart")) == (0, 3)


async def test_a_quantity_out_of_range_is_refused_naming_it(shop: Shop) -> None:
    bill = await shop.add(await shop.open_takeaway(), "americano", 2)
    line_id = bill["lines"][0]["id"]
    for quantity in (0, 3, 1000, -1):
        refused = await _void(shop, bill, line_id, expect=422, quantity=quantity)
        assert [error["field"] for error in refused["errors"]] == ["quantity"], quantity
    unchanged = await shop.call("GET", f"/bills/{bill['id']}")
    assert (unchanged["version"], _parts(unchanged)) == (
        bill["version"],
        [("americano", 2, "active", 0, 3600, None)],
    )


async def test_a_partial_void_with_a_stale_version_is_a_conflict(shop: Shop) -> None:
    bill = await shop.add(await shop.open_takeaway(), "americano", 2)
    line_id = bill["lines"][0]["id"]
    await shop.add(bill, "cake")  # the bill moves on elsewhere
    stale = await _void(shop, bill, line_id, expect=409, quantity=1)
    assert (stale["code"], stale["current_version"]) == ("stale_version", bill["version"] + 1)
    current = await shop.call("GET", f"/bills/{bill['id']}")
    assert [(line["name"], line["quantity"], line["status"]) for line in current["lines"]] == [
        ("americano", 2, "active"),
        ("cake", 1, "active"),
    ]
