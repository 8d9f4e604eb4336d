"""Stored-value top-ups on the shift reports: the X report and the closing report count them
per tender, cash top-ups are in the drawer's expected cash (and stay in a closed shift's
figures), and the Z report lists the day's top-ups apart from sales."""

from __future__ import annotations

from typing import Any

from kassa.core.auth import Role
from tests.shop import Shop, new_key


async def _top_up(
    shop: Shop, member: dict[str, Any], amount: int, tender: str, **extra: str
) -> dict[str, Any]:
    return await shop.call(
        "POST",
        f"/members/{member['id']}/stored-value/top-ups",
        {"amount": amount, "tender": tender, **extra},
        key=new_key(),
        expect=201,
    )


async def test_top_ups_count_per_tender_and_cash_ones_in_the_drawer(shop: Shop) -> None:
    member = await shop.call(
        "POST",
        "/members",
        {
            "phone": "13900001111",
            "name": "Chen Jing",
            "privacy_policy_accepted": True,
            "privacy_policy_version": "1",
        },
    )
    shift = await shop.call("POST", f"/registers/{shop.register_ids[0]}/shifts", {"amount": 20_000})
    await _top_up(shop, member, 10_000, "cash")
    await _top_up(shop, member, 5_000, "cash")
    await _top_up(shop, member, 30_000, "card", approval_code="777")
    await _top_up(shop, member, 2_000, "wechat_pay")  # a QR still pending: not money yet

    report = await shop.call("GET", f"/shifts/{shift['id']}/x-report")
    assert report["top_ups"] == [
        {"tender": "cash", "count": 2, "amount": 15_000},
        {"tender": "card", "count": 1, "amount": 30_000},
    ]
    assert (report["cash_top_ups_amount"], report["expected_cash_amount"]) == (15_000, 35_000)
    assert report["tenders"] == []  # top-ups are not sales
    text = await shop.client.get(
        f"/api/v1/shifts/{shift['id']}/x-report.txt", headers=await shop.login(Role.CASHIER)
    )
    assert "储值充值" in text.text
    assert "现金储值" in text.text

    closed = await shop.call("POST", f"/shifts/{shift['id']}/close", {"amount": 35_000})
    assert (closed["expected_cash_amount"], closed["difference_amount"], closed["cash_top_ups_amount"]) == (
        35_000,
        0,
        15_000,
    )
    again = await shop.call("GET", f"/shifts/{shift['id']}/x-report")
    assert (again["expected_cash_amount"], again["top_ups"]) == (35_000, report["top_ups"])

    z = await shop.call(
        "GET", f"/stores/{shop.store_id}/z-report?business_date={shift['business_date']}", role=Role.MANAGER
    )
    assert z["top_ups"] == report["top_ups"]
    assert z["top_ups_amount"] == 45_000
    assert z["payments_amount"] == 0  # no sale
    assert z["shifts"][0]["expected_cash_amount"] == 35_000
    z_text = await shop.client.get(
        f"/api/v1/stores/{shop.store_id}/z-report.txt?business_date={shift['business_date']}",
        headers=await shop.login(Role.MANAGER),
    )
    assert "储值充值" in z_text.text
    pdf = await shop.client.get(
        f"/api/v1/stores/{shop.store_id}/z-report.pdf?business_date={shift['business_date']}",
        headers=await shop.login(Role.MANAGER),
    )
    assert pdf.status_code == 200
