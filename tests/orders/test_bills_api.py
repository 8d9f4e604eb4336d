"""Bills through the API, as a register uses them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.models import StoreProduct
from kassa.core import audit
from kassa.core.auth import Role
from tests.shop import Shop


async def stock_of(session: AsyncSession, shop: Shop, product: str) -> int:
    quantity = await session.scalar(
        select(StoreProduct.stock_quantity)
        .where(StoreProduct.store_id == shop.store_id, StoreProduct.product_id == shop.products[product])
        .execution_options(populate_existing=True)
    )
    assert quantity is not None
    return quantity


async def test_open_a_dine_in_bill_at_a_table(shop: Shop) -> None:
    bill = await shop.call(
        "POST",
        "/bills",
        {"order_type": "dine_in", "table_id": shop.table_ids[0], "guest_count": 3},
        expect=201,
    )
    assert (bill["status"], bill["version"], bill["number"], bill["guest_count"]) == ("open", 1, 1, 3)
    assert bill["pickup_code"] is None
    assert bill["receipt_url"].startswith("http://kassa.test/r/")


async def test_takeaway_gets_a_pickup_code_and_numbers_count_up(shop: Shop) -> None:
    first = await shop.open_takeaway()
    second = await shop.open_takeaway()
    assert (first["number"], first["pickup_code"]) == (1, "001")
    assert (second["number"], second["pickup_code"]) == (2, "002")


async def test_dine_in_needs_a_free_table_and_guests(shop: Shop) -> None:
    no_table = await shop.call("POST", "/bills", {"order_type": "dine_in", "guest_count": 2}, expect=422)
    assert no_table["errors"] == [{"field": "table_id", "reason": "a dine-in bill needs a table"}]
    await shop.call(
        "POST", "/bills", {"order_type": "dine_in", "table_id": shop.table_ids[0], "guest_count": 2}
    )
    taken = await shop.call(
        "POST",
        "/bills",
        {"order_type": "dine_in", "table_id": shop.table_ids[0], "guest_count": 2},
        expect=409,
    )
    assert taken["errors"][0]["field"] == "table_id"


async def test_delivery_needs_address_and_phone(shop: Shop) -> None:
    response = await shop.call(
        "POST", "/bills", {"order_type": "delivery", "delivery_phone": "13800138000"}, expect=422
    )
    assert response["errors"][0]["field"] == "delivery_address"


async def test_a_line_copies_price_and_modifiers_and_totals_follow(shop: Shop) -> None:
    bill = await shop.open_takeaway()
    bill = await shop.add(bill, "latte", 2, modifier_option_ids=[shop.size_options["Large"]], note="oat milk")
    line = bill["lines"][0]
    assert (line["unit_price_amount"], line["quantity"], line["total_amount"]) == (2700, 2, 5400)
    assert [(modifier["name"], modifier["price_delta_amount"]) for modifier in line["modifiers"]] == [
        ("Large", 300)
    ]
    assert (bill["subtotal_amount"], bill["total_amount"], bill["amount_due"], bill["version"]) == (
        5400,
        5400,
        5400,
        2,
    )
    # prices include VAT at 6 %: 5400 x 6/106 = 305.66 -> 306
    assert bill["vat"] == [
        {
            "code": "standard",
            "rate_basis_points": 600,
            "gross_amount": 5400,
            "vat_amount": 306,
            "net_amount": 5094,
        }
    ]


async def test_a_required_modifier_must_be_chosen(shop: Shop) -> None:
    bill = await shop.open_takeaway()
    response = await shop.call(
        "POST", f"/bills/{bill['id']}/lines", {"version": 1, "product_id": shop.products["latte"]}, expect=422
    )
    assert response["errors"][0]["field"] == "modifier_option_ids"


async def test_a_stale_version_is_a_conflict_not_a_lost_change(shop: Shop) -> None:
    bill = await shop.open_takeaway()
    await shop.add(bill, "cake")  # version 1 -> 2 on one register
    stale = await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines",
        {"version": 1, "product_id": shop.products["americano"]},
        register_index=1,
        expect=409,
    )
    assert stale["code"] == "stale_version"
    assert stale["current_version"] == 2
    current = await shop.call("GET", f"/bills/{bill['id']}")
    assert [line["name"] for line in current["lines"]] == ["cake"]


async def test_stock_goes_down_with_sales_and_a_sold_out_product_is_refused(
    shop: Shop, session: AsyncSession
) -> None:
    bill = await shop.open_takeaway()
    bill = await shop.add(bill, "tart", 3)
    assert await stock_of(session, shop, "tart") == 0
    refused = await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines",
        {"version": bill["version"], "product_id": shop.products["tart"]},
        expect=409,
    )
    assert (refused["code"], refused["errors"][0]["field"]) == ("sold_out", "product_id")
    # voiding gives the stock back
    line_id = bill["lines"][0]["id"]
    bill = await shop.call("POST", f"/bills/{bill['id']}/lines/{line_id}/void", {"version": bill["version"]})
    assert await stock_of(session, shop, "tart") == 3
    assert bill["lines"][0]["status"] == "voided"
    assert bill["total_amount"] == 0


async def test_quantity_changes_move_stock_by_the_difference(shop: Shop, session: AsyncSession) -> None:
    bill = await shop.open_takeaway()
    bill = await shop.add(bill, "tart", 1)
    bill = await shop.call(
        "PATCH",
        f"/bills/{bill['id']}/lines/{bill['lines'][0]['id']}",
        {"version": bill["version"], "quantity": 3},
    )
    assert (await stock_of(session, shop, "tart"), bill["total_amount"]) == (0, 2400)


async def test_kitchen_gets_one_ticket_per_station_and_only_new_lines(shop: Shop) -> None:
    bill = await shop.open_takeaway()
    bill = await shop.add(bill, "americano")
    bill = await shop.add(bill, "cake")
    tickets = await shop.call("POST", f"/bills/{bill['id']}/kitchen", {"version": bill["version"]})
    assert sorted(ticket["station"] for ticket in tickets) == ["bar", "kitchen"]
    bill = await shop.call("GET", f"/bills/{bill['id']}")
    assert all(line["sent_to_kitchen_at"] for line in bill["lines"])
    again = await shop.call("POST", f"/bills/{bill['id']}/kitchen", {"version": bill["version"]}, expect=409)
    assert again["detail"] == "nothing new to send to the kitchen"
    bill = await shop.add(bill, "tart")
    tickets = await shop.call("POST", f"/bills/{bill['id']}/kitchen", {"version": bill["version"]})
    assert [(ticket["station"], len(ticket["line_ids"])) for ticket in tickets] == [("kitchen", 1)]


async def test_a_line_the_kitchen_has_needs_a_reason_to_void(shop: Shop) -> None:
    bill = await shop.open_takeaway()
    bill = await shop.add(bill, "cake")
    await shop.call("POST", f"/bills/{bill['id']}/kitchen", {"version": bill["version"]})
    bill = await shop.call("GET", f"/bills/{bill['id']}")
    line_id = bill["lines"][0]["id"]
    refused = await shop.call(
        "POST", f"/bills/{bill['id']}/lines/{line_id}/void", {"version": bill["version"]}, expect=422
    )
    assert refused["errors"][0]["field"] == "reason"
    changed = await shop.call(
        "PATCH",
        f"/bills/{bill['id']}/lines/{line_id}",
        {"version": bill["version"], "quantity": 2},
        expect=409,
    )
    assert "kitchen" in changed["detail"]


async def test_park_on_one_register_and_resume_on_another(shop: Shop) -> None:
    bill = await shop.open_takeaway()
    bill = await shop.add(bill, "cake")
    bill = await shop.call("POST", f"/bills/{bill['id']}/park", {"version": bill["version"]})
    assert bill["is_parked"] is True
    listed = await shop.call("GET", f"/stores/{shop.store_id}/bills/open", register_index=1)
    assert [(row["id"], row["is_parked"], row["total_amount"]) for row in listed] == [
        (bill["id"], True, 2800)
    ]
    resumed = await shop.call(
        "POST", f"/bills/{bill['id']}/resume", {"version": bill["version"]}, register_index=1
    )
    assert (resumed["is_parked"], resumed["register_id"]) == (False, shop.register_ids[1])


async def test_move_a_bill_to_a_free_table(shop: Shop) -> None:
    first = await shop.call(
        "POST", "/bills", {"order_type": "dine_in", "table_id": shop.table_ids[0], "guest_count": 2}
    )
    await shop.call(
        "POST", "/bills", {"order_type": "dine_in", "table_id": shop.table_ids[1], "guest_count": 2}
    )
    occupied = await shop.call(
        "POST", f"/bills/{first['id']}/move", {"version": 1, "table_id": shop.table_ids[1]}, expect=409
    )
    assert occupied["errors"][0]["field"] == "table_id"
    moved = await shop.call(
        "POST", f"/bills/{first['id']}/move", {"version": 1, "table_id": shop.table_ids[2]}
    )
    assert moved["table_id"] == shop.table_ids[2]


async def test_merge_moves_the_lines_and_closes_the_source(shop: Shop) -> None:
    target = await shop.add(await shop.open_takeaway(), "cake")
    source = await shop.add(await shop.open_takeaway(), "americano", 2)
    merged = await shop.call(
        "POST",
        f"/bills/{target['id']}/merge",
        {"version": target["version"], "source_bill_id": source["id"], "source_version": source["version"]},
    )
    assert sorted(line["name"] for line in merged["lines"]) == ["americano", "cake"]
    assert merged["total_amount"] == 2800 + 3600
    source_after = await shop.call("GET", f"/bills/{source['id']}")
    assert (source_after["status"], source_after["total_amount"]) == ("merged", 0)


async def test_split_by_lines_and_part_quantities_sum_to_the_old_total(shop: Shop) -> None:
    bill = await shop.add(await shop.open_takeaway(), "americano", 3)
    bill = await shop.add(bill, "cake")
    americano = bill["lines"][0]["id"]
    new_bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/split",
        {"version": bill["version"], "lines": [{"line_id": americano, "quantity": 1}]},
    )
    old_bill = await shop.call("GET", f"/bills/{bill['id']}")
    assert new_bill["total_amount"] == 1800
    assert old_bill["total_amount"] == 2 * 1800 + 2800
    assert new_bill["total_amount"] + old_bill["total_amount"] == 3 * 1800 + 2800


async def test_splitting_part_of_a_discounted_line_shares_its_discount_exactly(shop: Shop) -> None:
    """10.00 off three americanos (54.00): one moves to a new bill with its share (3.33),
    the two left keep 6.67, and the bills add up to the line as it was (44.00)."""
    bill = await shop.add(await shop.open_takeaway(), "americano", 3)
    bill = await shop.add(bill, "cake")
    americano = bill["lines"][0]["id"]
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines/{americano}/discount",
        {"version": bill["version"], "fixed_amount": 1000, "reason": "regular"},
        role=Role.MANAGER,
    )
    new_bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/split",
        {"version": bill["version"], "lines": [{"line_id": americano, "quantity": 1}]},
    )
    old_bill = await shop.call("GET", f"/bills/{bill['id']}")
    kept = next(line for line in old_bill["lines"] if line["id"] == americano)
    assert (kept["quantity"], kept["discount_amount"], kept["total_amount"]) == (2, 667, 2933)
    assert (new_bill["lines"][0]["discount_amount"], new_bill["total_amount"]) == (333, 1467)
    assert new_bill["total_amount"] + old_bill["total_amount"] == 3 * 1800 - 1000 + 2800


async def test_split_evenly_gives_shares_that_sum_to_the_total(shop: Shop) -> None:
    bill = await shop.add(
        await shop.open_takeaway(), "latte", 1, modifier_option_ids=[shop.size_options["Regular"]]
    )
    bill = await shop.add(bill, "tart")  # 2400 + 800 = 3200
    bill = await shop.call(
        "POST", f"/bills/{bill['id']}/split-evenly", {"version": bill["version"], "parts": 3}
    )
    assert bill["split_shares"] == [1067, 1067, 1066]
    assert sum(bill["split_shares"]) == bill["total_amount"]


async def test_discounts_need_a_reason_and_above_the_limit_a_manager_pin(shop: Shop) -> None:
    bill = await shop.add(await shop.open_takeaway(), "cake")  # 2800
    line_id = bill["lines"][0]["id"]
    small = await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines/{line_id}/discount",
        {"version": bill["version"], "basis_points": 1000, "reason": "regular"},
    )
    assert (small["lines"][0]["discount_amount"], small["total_amount"]) == (280, 2520)
    big = await shop.call(
        "POST",
        f"/bills/{bill['id']}/discount",
        {"version": small["version"], "basis_points": 5000, "reason": "complaint"},
        expect=403,
    )
    assert big["errors"][0]["field"] == "approver_pin"
    wrong_pin = await shop.call(
        "POST",
        f"/bills/{bill['id']}/discount",
        {
            "version": small["version"],
            "basis_points": 5000,
            "reason": "complaint",
            "approval": {"approver_staff_id": shop.staff_ids[Role.MANAGER], "approver_pin": "9999"},
        },
        expect=401,
    )
    assert wrong_pin["errors"][0]["field"] == "approver_pin"
    approved = await shop.call(
        "POST",
        f"/bills/{bill['id']}/discount",
        {
            "version": small["version"],
            "basis_points": 5000,
            "reason": "complaint",
            "approval": {"approver_staff_id": shop.staff_ids[Role.MANAGER], "approver_pin": "2222"},
        },
    )
    assert (approved["discount_amount"], approved["total_amount"]) == (1260, 1260)
    cashier_approving = await shop.call(
        "POST",
        f"/bills/{bill['id']}/discount",
        {
            "version": approved["version"],
            "basis_points": 6000,
            "reason": "x",
            "approval": {"approver_staff_id": shop.staff_ids[Role.CASHIER], "approver_pin": "3333"},
        },
        expect=403,
    )
    assert cashier_approving["code"] == "permission_denied"


async def test_waiters_may_not_discount(shop: Shop) -> None:
    bill = await shop.add(await shop.open_takeaway(), "cake")
    response = await shop.call(
        "POST",
        f"/bills/{bill['id']}/discount",
        {"version": bill["version"], "fixed_amount": 100, "reason": "x"},
        role=Role.WAITER,
        expect=403,
    )
    assert response["code"] == "permission_denied"


async def test_order_queue_puts_urgent_first_and_groups_by_type(shop: Shop) -> None:
    first = await shop.open_takeaway()
    second = await shop.open_takeaway()
    await shop.call(
        "POST", "/bills", {"order_type": "dine_in", "table_id": shop.table_ids[0], "guest_count": 2}
    )
    await shop.call("POST", f"/bills/{second['id']}/urgent", {"version": 1, "is_urgent": True})
    queue = await shop.call("GET", f"/stores/{shop.store_id}/order-queue")
    assert [row["id"] for row in queue["takeaway"]] == [second["id"], first["id"]]
    assert len(queue["dine_in"]) == 1
    assert queue["delivery"] == []


async def test_every_change_is_audited_in_an_intact_chain(shop: Shop, session: AsyncSession) -> None:
    bill = await shop.add(await shop.open_takeaway(), "cake")
    await shop.pay(bill, "card", approval_code="A1B2C3")
    checked, problems = await audit.verify_chains(session)
    assert problems == []
    assert checked > 10


async def test_a_bill_discount_can_be_removed_and_then_the_bill_split(shop: Shop) -> None:
    bill = await shop.add(await shop.open_takeaway(), "cake")
    bill = await shop.add(bill, "tart")
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/discount",
        {"version": bill["version"], "basis_points": 1000, "reason": "x"},
    )
    refused = await shop.call(
        "POST",
        f"/bills/{bill['id']}/split",
        {"version": bill["version"], "lines": [{"line_id": bill["lines"][1]["id"], "quantity": 1}]},
        expect=409,
    )
    assert "discount" in refused["detail"]
    bill = await shop.call("POST", f"/bills/{bill['id']}/discount/remove", {"version": bill["version"]})
    assert (bill["discount_amount"], bill["total_amount"]) == (0, 3600)
    split = await shop.call(
        "POST",
        f"/bills/{bill['id']}/split",
        {"version": bill["version"], "lines": [{"line_id": bill["lines"][1]["id"], "quantity": 1}]},
    )
    assert split["total_amount"] == 800


async def test_a_line_note_changes_until_the_kitchen_has_it(shop: Shop) -> None:
    bill = await shop.add(await shop.open_takeaway(), "americano")
    line_id = bill["lines"][0]["id"]
    bill = await shop.call(
        "POST", f"/bills/{bill['id']}/lines/{line_id}/note", {"version": bill["version"], "note": "no ice"}
    )
    assert bill["lines"][0]["note"] == "no ice"
    await shop.call("POST", f"/bills/{bill['id']}/kitchen", {"version": bill["version"]})
    bill = await shop.call("GET", f"/bills/{bill['id']}")
    late = await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines/{line_id}/note",
        {"version": bill["version"], "note": "hot"},
        expect=409,
    )
    assert late["errors"][0]["field"] == "line_id"
