"""Store settings: negative stock is the manager's call, the rest the owner's."""

from __future__ import annotations

from kassa.core.auth import Role
from tests.shop import Shop


async def test_a_manager_allows_selling_past_zero_and_the_till_follows(shop: Shop) -> None:
    bill = await shop.add(await shop.open_takeaway(), "tart", 3)  # the last three
    refused = await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines",
        {"version": bill["version"], "product_id": shop.products["tart"]},
        expect=409,
    )
    assert refused["code"] == "sold_out"
    await shop.call(
        "PATCH", f"/stores/{shop.store_id}/settings", {"allow_negative_stock": True}, role=Role.MANAGER
    )
    bill = await shop.add(bill, "tart")
    assert [line["quantity"] for line in bill["lines"]] == [3, 1]


async def test_who_may_change_what(shop: Shop) -> None:
    path = f"/stores/{shop.store_id}/settings"
    await shop.call("PATCH", path, {"allow_negative_stock": True}, role=Role.CASHIER, expect=403)
    await shop.call("PATCH", path, {"discount_limit_basis_points": 5000}, role=Role.MANAGER, expect=403)
    settings = await shop.call(
        "PATCH", path, {"discount_limit_basis_points": 5000, "business_day_start_hour": 5}, role=Role.OWNER
    )
    assert (settings["discount_limit_basis_points"], settings["business_day_start_hour"]) == (5000, 5)


async def test_printer_destinations_are_checked(shop: Shop) -> None:
    bad = await shop.call(
        "PATCH",
        f"/stores/{shop.store_id}/settings",
        {"kitchen_printers": {"bar": "lpt1"}},
        role=Role.OWNER,
        expect=422,
    )
    assert bad["errors"][0]["field"] == "kitchen_printers.bar"
    ok = await shop.call(
        "PUT",
        f"/registers/{shop.register_ids[0]}/printer",
        {"receipt_printer": "tcp://10.0.0.9:9100"},
        role=Role.OWNER,
    )
    assert ok["receipt_printer"] == "tcp://10.0.0.9:9100"
    refused = await shop.call(
        "PUT",
        f"/registers/{shop.register_ids[0]}/printer",
        {"receipt_printer": "tcp://x:1"},
        role=Role.MANAGER,
        expect=403,
    )
    assert refused["code"] == "permission_denied"


async def test_what_the_kitchen_marked_sold_out_stays_refused_with_negative_stock_allowed(shop: Shop) -> None:
    await shop.call(
        "PATCH", f"/stores/{shop.store_id}/settings", {"allow_negative_stock": True}, role=Role.MANAGER
    )
    await shop.call(
        "PUT",
        f"/catalog/stores/{shop.store_id}/products/{shop.products['cake']}/sold-out",
        {"is_sold_out": True},
        role=Role.MANAGER,
    )
    bill = await shop.open_takeaway()
    refused = await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines",
        {"version": bill["version"], "product_id": shop.products["cake"]},
        expect=409,
    )
    assert refused["code"] == "sold_out"
