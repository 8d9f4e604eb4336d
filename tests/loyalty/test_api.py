"""The loyalty API: owners set the rules, staff see a member's loyalty, top up their card
(with an Idempotency-Key), read statements and give coupons; errors are problem+json."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from tests.shop import Shop, build_shop, new_key

SETTINGS = {
    "tier_basis": "spend",
    "points_per_currency_unit": 1,
    "excluded_category_ids": [],
    "bonus_products": [],
    "redeem_points": 100,
    "redeem_value_amount": 100,
    "points_expiry_months": 24,
    "top_up_bonus_rules": [{"minimum_amount": 50_000, "bonus_amount": 5_000}],
    "birthday_coupon_definition_id": None,
    "birthday_days_before": 3,
}


@pytest.fixture
async def api_shop(session: AsyncSession, client: httpx.AsyncClient) -> Shop:
    return Shop(client=client, **await build_shop(session))


async def _member(shop: Shop) -> dict[str, Any]:
    return await shop.call(
        "POST",
        "/members",
        {
            "phone": "138 0013 8000",
            "name": "Chen Jing",
            "privacy_policy_accepted": True,
            "privacy_policy_version": "2026-11",
            "marketing_sms_opt_in": True,
        },
    )


async def test_owners_set_the_rules_and_staff_read_them(api_shop: Shop) -> None:
    shop = api_shop
    defaults = await shop.call("GET", "/loyalty/settings", role=Role.WAITER)
    assert (defaults["currency"], defaults["tier_basis"], defaults["points_expiry_months"]) == (
        "CNY",
        "spend",
        None,
    )
    refused = await shop.client.put(
        "/api/v1/loyalty/settings", json=SETTINGS, headers=await shop.login(Role.MANAGER)
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "permission_denied"

    saved = await shop.call("PUT", "/loyalty/settings", SETTINGS, role=Role.OWNER)
    assert saved == {**SETTINGS, "currency": "CNY", "top_up_presets": None, "maximum_top_up_amount": None}
    assert await shop.call("GET", "/loyalty/settings") == saved

    bad = await shop.call(
        "PUT",
        "/loyalty/settings",
        {**SETTINGS, "excluded_category_ids": [10**9]},
        role=Role.OWNER,
        expect=404,
    )
    assert bad["errors"][0]["field"] == "excluded_category_ids"

    tiers = await shop.call(
        "PUT",
        "/loyalty/tiers",
        [
            {
                "name": "Silver",
                "name_translations": {"zh_CN": "银卡"},
                "rank": 1,
                "spend_threshold_amount": 100_000,
            },
            {"name": "Gold", "rank": 2, "spend_threshold_amount": 300_000, "discount_basis_points": 800},
        ],
        role=Role.OWNER,
    )
    assert [(tier["name"], tier["rank"]) for tier in tiers] == [("Silver", 1), ("Gold", 2)]
    renamed = await shop.call("PUT", "/loyalty/tiers", [{**tiers[0], "name": "Silver card"}], role=Role.OWNER)
    assert [(tier["id"], tier["name"]) for tier in renamed] == [(tiers[0]["id"], "Silver card")]
    assert await shop.call("GET", "/loyalty/tiers", role=Role.CASHIER) == renamed


async def test_a_member_is_topped_up_once_per_key_and_sees_it_all(api_shop: Shop) -> None:
    shop = api_shop
    await shop.call("PUT", "/loyalty/settings", SETTINGS, role=Role.OWNER)
    member = await _member(shop)
    path = f"/members/{member['id']}/stored-value/top-ups"
    key = new_key()
    body = {"amount": 50_000, "tender": "card", "approval_code": "839201"}
    first = await shop.call("POST", path, body, key=key, expect=201)
    assert (first["principal_amount"], first["bonus_amount"]) == (50_000, 5_000)
    assert (first["status"], first["is_credited"], first["approval_code"]) == ("succeeded", True, "839201")
    assert first["top_up"]["tender"] == "card"
    again = await shop.call("POST", path, body, key=key, expect=201)
    assert (again["id"], again["top_up"]["id"]) == (first["id"], first["top_up"]["id"])
    other = await shop.call(
        "POST", path, {"amount": 1, "tender": "card", "approval_code": "1"}, key=key, expect=422
    )
    assert other["errors"][0]["field"] == "idempotency_key"
    missing = await shop.call("POST", path, {"amount": 100, "tender": "card"}, expect=422)
    assert missing["code"] == "validation_failed"
    waiter = await shop.call(
        "POST", path, {"amount": 100, "tender": "cash"}, role=Role.WAITER, key=new_key(), expect=403
    )
    assert waiter["code"] == "permission_denied"
    assert (await shop.call("GET", f"/stored-value/top-ups/{first['id']}"))["principal_amount"] == 50_000

    loyalty = await shop.call("GET", f"/members/{member['id']}/loyalty", role=Role.WAITER)
    assert loyalty == {
        "member_id": member["id"],
        "currency": "CNY",
        "tier": {
            "basis": "spend",
            "qualifying_value": 0,
            "tier": None,
            "next_tier": None,
            "remaining_to_next_tier": None,
        },
        "points_balance": 0,
        "points_value_amount": 0,
        "principal_amount": 50_000,
        "bonus_amount": 5_000,
        "stored_value_amount": 55_000,
        "usable_coupons": [],
    }
    statement = await shop.call("GET", f"/members/{member['id']}/stored-value/statement")
    assert [
        (entry["kind"], entry["principal_amount"], entry["bonus_amount"]) for entry in statement["entries"]
    ] == [
        ("bonus", 0, 5_000),
        ("top_up", 50_000, 0),
    ]
    points = await shop.call("GET", f"/members/{member['id']}/points/statement")
    assert points == {"member_id": member["id"], "balance": 0, "entries": []}
    assert await shop.call("POST", f"/members/{member['id']}/tier/evaluate", {}) is None
    assert (await shop.call("GET", "/members/999999999/loyalty", expect=404))["code"] == "not_found"


async def test_coupons_are_defined_by_owners_and_given_by_staff(api_shop: Shop) -> None:
    shop = api_shop
    member = await _member(shop)
    body = {
        "name": "Welcome",
        "name_translations": {"zh_CN": "新人券", "en": "Welcome"},
        "discount_kind": "amount",
        "discount_amount": 1_000,
        "minimum_spend_amount": 3_000,
        "valid_days": 14,
    }
    await shop.call("POST", "/loyalty/coupon-definitions", body, role=Role.MANAGER, expect=403)
    definition = await shop.call("POST", "/loyalty/coupon-definitions", body, role=Role.OWNER, expect=201)
    assert definition["currency"] == "CNY"
    invalid = await shop.call(
        "POST", "/loyalty/coupon-definitions", {**body, "valid_days": None}, role=Role.OWNER, expect=422
    )
    assert invalid["errors"][0]["field"] == "valid_days"

    coupon = await shop.call(
        "POST", f"/members/{member['id']}/coupons", {"definition_id": definition["id"]}, expect=201
    )
    assert (coupon["status"], coupon["source"], coupon["minimum_spend_amount"]) == ("issued", "staff", 3_000)
    found = await shop.call("GET", f"/loyalty/coupons/{coupon['code']}")
    assert found["id"] == coupon["id"]
    usable = await shop.call("GET", f"/members/{member['id']}/coupons?usable_on={coupon['valid_from']}")
    assert [item["id"] for item in usable] == [coupon["id"]]
    summary = await shop.call("GET", f"/members/{member['id']}/loyalty")
    assert [item["id"] for item in summary["usable_coupons"]] == [coupon["id"]]

    campaign = await shop.call(
        "POST",
        "/loyalty/coupons",
        {"definition_id": definition["id"], "member_ids": [member["id"]], "source": "campaign"},
        role=Role.OWNER,
        expect=201,
    )
    assert [item["source"] for item in campaign] == ["campaign"]
    await shop.call(
        "POST",
        "/loyalty/coupons",
        {"definition_id": definition["id"], "member_ids": [member["id"]], "source": "campaign"},
        role=Role.CASHIER,
        expect=403,
    )
    changed = await shop.call(
        "PUT",
        f"/loyalty/coupon-definitions/{definition['id']}",
        {**body, "discount_amount": 500, "is_active": False},
        role=Role.OWNER,
    )
    assert (changed["discount_amount"], changed["is_active"]) == (500, False)
    assert await shop.call("GET", "/loyalty/coupon-definitions") == []
    assert len(await shop.call("GET", "/loyalty/coupon-definitions?include_inactive=true")) == 1
    # coupons already given keep their terms
    kept = await shop.call("GET", f"/members/{member['id']}/coupons")
    assert {item["discount_amount"] for item in kept} == {1_000}
