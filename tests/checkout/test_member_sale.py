"""The members issue end to end through the API: a cashier finds a member by a phone number
typed any way, sells with the member's tier discount, takes part of the payment from the
stored value and part in points, the sale earns points, a return takes them back, and the
member sees it all on the portal."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Role
from kassa.loyalty import service as loyalty
from kassa.notifications.providers.log import LogProvider
from kassa.stores.models import Store
from tests.portal.conftest import Portal, bearer, portal, sms
from tests.shop import Shop, new_key

__all__ = ["portal", "sms"]


async def test_a_member_found_by_phone_pays_with_stored_value_and_points_and_sees_it_on_the_portal(
    shop: Shop, session: AsyncSession, portal: Portal, sms: LogProvider
) -> None:
    await shop.call(
        "PUT",
        "/loyalty/tiers",
        [{"name": "Silver", "rank": 1, "spend_threshold_amount": 0, "discount_basis_points": 500}],
        role=Role.OWNER,
    )
    member = await shop.call(
        "POST",
        "/members",
        {
            "phone": "13800138000",
            "name": "Li Na",
            "privacy_policy_accepted": True,
            "privacy_policy_version": "2026-11",
        },
    )
    await shop.call(
        "POST",
        f"/members/{member['id']}/stored-value/top-ups",
        {"amount": 4000, "tender": "card", "approval_code": "839201"},
        key=new_key(),
    )
    await shop.call("POST", f"/members/{member['id']}/tier/evaluate", {})
    store = await session.get(Store, shop.store_id)
    assert store is not None
    owner = Actor(organization_id=store.organization_id, staff_id=shop.staff_ids[Role.OWNER], role=Role.OWNER)
    await loyalty.adjust_points(
        session, owner, member["id"], 500, reason="welcome gift", idempotency_key=new_key()
    )
    await session.commit()

    # the cashier types the number another way and finds her
    [found] = await shop.call("GET", "/members?q=%2B86%20138-0013-8000")
    assert found["id"] == member["id"]
    bill = await shop.add(await shop.open_takeaway(), "cake")
    bill = await shop.add(bill, "americano")  # 28.00 + 18.00
    bill = await shop.call(
        "POST", f"/bills/{bill['id']}/member", {"version": bill["version"], "member_id": found["id"]}
    )
    assert (bill["member_discount_label"], bill["member_discount_amount"], bill["total_amount"]) == (
        "Silver",
        230,
        4370,
    )

    bill = await shop.pay(bill, "stored_value", amount=4000)
    bill = await shop.pay(bill, "points", amount=370)
    assert bill["status"] == "closed"
    account = await shop.call("GET", f"/members/{member['id']}/loyalty")
    # 500 - 370 redeemed + 40 earned on the 40.00 paid in money (points earn nothing)
    assert account["points_balance"] == 500 - 370 + 40
    assert (account["principal_amount"], account["bonus_amount"]) == (0, 0)

    # a return gives the stored value and the points back, and takes the earned points back
    await shop.call(
        "PATCH",
        f"/stores/{shop.store_id}/return-settings",
        {"confirmation_mode": "after_refund"},
        role=Role.OWNER,
    )
    cake = next(line["id"] for line in bill["lines"] if line["name"] == "cake")
    request = await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": cake, "quantity": 1}], "reason_code": "quality"},
    )
    approved = await shop.call("POST", f"/returns/{request['id']}/approve", {})
    assert approved["amount"] == 2660  # 28.00 less 5 %
    refunds = {refund["tender"]: (refund["amount"], refund["status"]) for refund in approved["refunds"]}
    assert refunds == {"stored_value": (2435, "succeeded"), "points": (225, "succeeded")}
    account = await shop.call("GET", f"/members/{member['id']}/loyalty")
    assert account["principal_amount"] == 2435
    # the cake's 24.35 of the 40.00 paid in money earned 24 of the 40 points
    assert account["points_balance"] == 500 - 370 + 40 + 225 - 24

    # the member logs in on the portal with an SMS code and sees it all
    headers = bearer((await portal.verify("13800138000", await portal.request_code("13800138000")))["token"])
    me = await portal.me(headers)
    me_json = me.json()
    assert me_json["loyalty"]["points"] == account["points_balance"]
    assert me_json["loyalty"]["tier_name"] == "Silver"
    orders = (await portal.me(headers, path="/orders")).json()
    assert [order["total_amount"] for order in orders] == [4370]


async def test_a_coupon_is_the_bill_discount_once_and_a_cash_top_up_lands_in_the_drawer(shop: Shop) -> None:
    member = await shop.call(
        "POST",
        "/members",
        {
            "phone": "13900001234",
            "name": "Wang",
            "privacy_policy_accepted": True,
            "privacy_policy_version": "2026-11",
        },
    )
    definition = await shop.call(
        "POST",
        "/loyalty/coupon-definitions",
        {
            "name": "¥10 off",
            "discount_kind": "amount",
            "discount_amount": 1000,
            "minimum_spend_amount": 3000,
            "valid_days": 30,
        },
        role=Role.OWNER,
    )
    coupon = await shop.call("POST", f"/members/{member['id']}/coupons", {"definition_id": definition["id"]})

    bill = await shop.add(await shop.open_takeaway(), "cake")  # 28.00: below the minimum spend
    bill = await shop.call(
        "POST", f"/bills/{bill['id']}/member", {"version": bill["version"], "member_id": member["id"]}
    )
    too_little = await shop.call(
        "POST",
        f"/bills/{bill['id']}/coupon",
        {"version": bill["version"], "code": coupon["code"]},
        expect=409,
    )
    assert too_little["status"] == 409
    bill = await shop.add(await shop.call("GET", f"/bills/{bill['id']}"), "americano")  # 46.00
    applied = await shop.call(
        "POST", f"/bills/{bill['id']}/coupon", {"version": bill["version"], "code": coupon["code"]}
    )
    bill = await shop.call("GET", f"/bills/{bill['id']}")
    assert (applied["discount_amount"], bill["total_amount"]) == (1000, 3600)
    assert bill["discount_reason"].startswith("coupon ")
    # taken off, the coupon is usable again; put back on, it counts once
    bill = await shop.call("POST", f"/bills/{bill['id']}/discount/remove", {"version": bill["version"]})
    assert [item["status"] for item in await shop.call("GET", f"/members/{member['id']}/coupons")] == [
        "issued"
    ]
    await shop.call(
        "POST", f"/bills/{bill['id']}/coupon", {"version": bill["version"], "code": coupon["code"]}
    )
    bill = await shop.call("GET", f"/bills/{bill['id']}")
    bill = await shop.pay(bill, "card", approval_code="C1")
    other = await shop.add(await shop.open_takeaway(), "cake", 2)
    other = await shop.call(
        "POST", f"/bills/{other['id']}/member", {"version": other["version"], "member_id": member["id"]}
    )
    used = await shop.call(
        "POST",
        f"/bills/{other['id']}/coupon",
        {"version": other["version"], "code": coupon["code"]},
        expect=409,
    )
    assert "redeemed" in used["detail"]

    # a cash top-up at the register goes into the drawer's expected cash
    shift = await shop.call("POST", f"/registers/{shop.register_ids[0]}/shifts", {"amount": 10000})
    key = new_key()
    for _ in range(2):  # a repeated request tops up once
        await shop.call(
            "POST",
            f"/members/{member['id']}/stored-value/top-ups",
            {"amount": 5000, "tender": "cash"},
            key=key,
        )
    account = await shop.call("GET", f"/members/{member['id']}/loyalty")
    assert account["principal_amount"] == 5000
    x_report = await shop.call("GET", f"/shifts/{shift['id']}/x-report")
    assert x_report["expected_cash_amount"] == 10000 + 5000
