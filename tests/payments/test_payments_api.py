"""Taking payments through the API: cash, card, WeChat Pay and Alipay, mixed, voids."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from kassa.payments import service as payments
from kassa.payments.models import Payment, Tender
from kassa.payments.provider_settings import forget_built_providers
from kassa.payments.providers import SimulatorProvider
from tests.shop import Shop, new_key


@pytest.fixture(autouse=True)
def fresh_simulators() -> None:
    forget_built_providers()


async def _simulator(session: AsyncSession, shop: Shop, tender: Tender) -> SimulatorProvider:
    simulator = await payments.provider_for(session, shop.store_id, tender)
    assert isinstance(simulator, SimulatorProvider)
    return simulator


async def _bill_of(shop: Shop, *products: str) -> dict[str, Any]:
    bill = await shop.open_takeaway()
    for product in products:
        bill = await shop.add(bill, product)
    return bill


async def test_cash_gives_change_and_closes_the_bill(shop: Shop) -> None:
    bill = await _bill_of(shop, "cake")  # 28.00
    paid = await shop.pay(bill, "cash", tendered_amount=5000)
    payment = paid["payments"][0]
    assert (payment["amount"], payment["tendered_amount"], payment["change_amount"]) == (2800, 5000, 2200)
    assert (paid["status"], paid["amount_due"], paid["paid_amount"]) == ("closed", 0, 2800)


async def test_cash_rounds_down_to_the_jiao_when_it_settles_the_bill(shop: Shop) -> None:
    bill = await _bill_of(shop, "cake")
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/discount",
        {"version": bill["version"], "fixed_amount": 3, "reason": "抹零 test"},
    )
    assert bill["total_amount"] == 2797
    paid = await shop.pay(bill, "cash", tendered_amount=3000)
    assert paid["payments"][0]["amount"] == 2790
    assert paid["payments"][0]["change_amount"] == 210
    assert (paid["rounding_amount"], paid["status"]) == (-7, "closed")
    assert paid["total_amount"] + paid["rounding_amount"] == paid["paid_amount"]


async def test_not_enough_cash_is_refused_naming_the_field(shop: Shop) -> None:
    bill = await _bill_of(shop, "cake")
    refused = await shop.pay(bill, "cash", tendered_amount=2000, expect=422)
    assert refused["errors"][0]["field"] == "tendered"
    assert refused["payable"] == 2800


async def test_mixed_cash_and_card_close_the_bill_only_when_paid_in_full(shop: Shop) -> None:
    bill = await _bill_of(shop, "cake", "americano")  # 28 + 18 = 46.00
    bill = await shop.pay(bill, "cash", amount=2000, tendered_amount=2000)
    assert (bill["status"], bill["amount_due"]) == ("open", 2600)
    early = await shop.call("POST", f"/bills/{bill['id']}/close", {"version": bill["version"]}, expect=409)
    assert early["amount_due"] == 2600
    bill = await shop.pay(bill, "card", approval_code="839201")
    assert (bill["status"], bill["paid_amount"]) == ("closed", 4600)
    assert [(payment["tender"], payment["amount"]) for payment in bill["payments"]] == [
        ("cash", 2000),
        ("card", 2600),
    ]


async def test_a_payment_cannot_exceed_what_is_due(shop: Shop) -> None:
    bill = await _bill_of(shop, "tart")
    refused = await shop.pay(bill, "card", amount=900, approval_code="1", expect=422)
    assert refused["amount_due"] == 800


async def test_the_same_idempotency_key_never_charges_twice(shop: Shop, session: AsyncSession) -> None:
    bill = await _bill_of(shop, "cake", "americano")
    key = new_key()
    first = await shop.pay(bill, "card", amount=1000, approval_code="111", close_when_paid=False, key=key)
    repeat = await shop.pay(bill, "card", amount=1000, approval_code="111", close_when_paid=False, key=key)
    assert len(first["payments"]) == len(repeat["payments"]) == 1
    assert repeat["paid_amount"] == 1000
    count = await session.scalar(select(func.count(Payment.id)).where(Payment.bill_id == bill["id"]))
    assert count == 1


async def test_an_idempotency_key_is_required_for_payments(shop: Shop) -> None:
    bill = await _bill_of(shop, "cake")
    headers = await shop.login()
    response = await shop.client.post(
        f"/api/v1/bills/{bill['id']}/payments",
        json={"version": bill["version"], "tender": "card", "approval_code": "1"},
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_wechat_payment_code_charges_at_once(shop: Shop) -> None:
    bill = await _bill_of(shop, "cake")
    paid = await shop.pay(bill, "wechat_pay", payment_code="134567890123456789")
    payment = paid["payments"][0]
    assert (payment["status"], payment["provider"], paid["status"]) == (
        "succeeded",
        "simulator-wechat_pay",
        "closed",
    )
    assert re.fullmatch(r"K[0-9A-F]{30}", payment["out_trade_no"])


async def test_a_declined_payment_code_leaves_the_bill_due(shop: Shop) -> None:
    bill = await _bill_of(shop, "cake")
    paid = await shop.pay(bill, "alipay", payment_code="994567890123456789")
    assert paid["payments"][0]["status"] == "failed"
    assert (paid["status"], paid["amount_due"]) == ("open", 2800)


async def test_qr_code_payment_settles_by_the_signed_notification(shop: Shop, session: AsyncSession) -> None:
    bill = await _bill_of(shop, "cake")
    pending = await shop.pay(bill, "alipay")
    payment = pending["payments"][0]
    assert payment["status"] == "pending"
    assert payment["qr_code"]
    simulator = await _simulator(session, shop, Tender.ALIPAY)
    simulator.simulate_customer_paid(payment["out_trade_no"])
    headers, body = simulator.signed_notification(payment["out_trade_no"])
    response = await shop.client.post(
        f"/api/v1/payments/notifications/alipay/{shop.store_id}", content=body, headers=dict(headers)
    )
    assert response.status_code == 200
    settled = await shop.call("GET", f"/bills/{bill['id']}")
    assert (settled["payments"][0]["status"], settled["status"]) == ("succeeded", "closed")
    # the provider repeating its notification changes nothing
    again = await shop.client.post(
        f"/api/v1/payments/notifications/alipay/{shop.store_id}", content=body, headers=dict(headers)
    )
    assert again.status_code == 200
    assert (await shop.call("GET", f"/bills/{bill['id']}"))["paid_amount"] == 2800


async def test_a_tampered_notification_is_refused(shop: Shop, session: AsyncSession) -> None:
    bill = await _bill_of(shop, "cake")
    pending = await shop.pay(bill, "wechat_pay")
    simulator = await _simulator(session, shop, Tender.WECHAT_PAY)
    simulator.simulate_customer_paid(pending["payments"][0]["out_trade_no"])
    headers, body = simulator.signed_notification(pending["payments"][0]["out_trade_no"])
    response = await shop.client.post(
        f"/api/v1/payments/notifications/wechat_pay/{shop.store_id}",
        content=body.replace(b"2800", b"1"),
        headers=dict(headers),
    )
    assert response.status_code in (400, 401)
    assert (await shop.call("GET", f"/bills/{bill['id']}"))["paid_amount"] == 0


async def test_refresh_settles_a_payment_the_customer_finished_later(shop: Shop) -> None:
    bill = await _bill_of(shop, "cake")
    pending = await shop.pay(bill, "wechat_pay", payment_code="884567890123456789")
    payment_id = pending["payments"][0]["id"]
    assert pending["payments"][0]["status"] == "pending"
    first = await shop.call("POST", f"/payments/{payment_id}/refresh")
    second = (
        first
        if first["status"] == "succeeded"
        else await shop.call("POST", f"/payments/{payment_id}/refresh")
    )
    assert second["status"] == "succeeded"
    assert (await shop.call("GET", f"/bills/{bill['id']}"))["status"] == "closed"


async def test_void_a_payment_before_the_bill_closes(shop: Shop) -> None:
    bill = await _bill_of(shop, "cake", "americano")
    bill = await shop.pay(
        bill, "wechat_pay", amount=1000, payment_code="134567890123456789", close_when_paid=False
    )
    payment_id = bill["payments"][0]["id"]
    voided = await shop.call(
        "POST",
        f"/bills/{bill['id']}/payments/{payment_id}/void",
        {"version": bill["version"], "reason": "wrong amount"},
    )
    assert voided["payments"][0]["status"] == "voided"
    assert (voided["paid_amount"], voided["amount_due"]) == (0, 4600)


async def test_a_waiter_cannot_take_money(shop: Shop) -> None:
    bill = await _bill_of(shop, "cake")
    headers = await shop.login(Role.WAITER)
    response = await shop.client.post(
        f"/api/v1/bills/{bill['id']}/payments",
        json={"version": bill["version"], "tender": "cash", "tendered_amount": 5000},
        headers={**headers, "Idempotency-Key": new_key()},
    )
    assert response.status_code == 403


async def test_a_closed_bill_cannot_be_edited(shop: Shop) -> None:
    bill = await _bill_of(shop, "cake")
    closed = await shop.pay(bill, "card", approval_code="1")
    response = await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines",
        {"version": closed["version"], "product_id": shop.products["tart"]},
        expect=409,
    )
    assert response["code"] == "bill_closed"


async def test_even_split_shares_are_paid_one_by_one(shop: Shop) -> None:
    bill = await _bill_of(shop, "cake", "tart")  # 3600
    bill = await shop.call(
        "POST", f"/bills/{bill['id']}/split-evenly", {"version": bill["version"], "parts": 3}
    )
    for index in range(3):
        bill = await shop.pay(bill, "card", split_share_index=index, approval_code=f"S{index}")
    assert [payment["amount"] for payment in bill["payments"]] == [1200, 1200, 1200]
    assert bill["status"] == "closed"


async def test_repeating_a_payment_that_closed_the_bill_returns_the_first_payment(
    shop: Shop, session: AsyncSession
) -> None:
    # Given a payment that settled and closed the bill
    bill = await _bill_of(shop, "cake")
    key = new_key()
    first = await shop.pay(bill, "card", approval_code="111", key=key)
    assert first["status"] == "closed"

    # When the register repeats the same request (its answer was lost)
    repeat = await shop.pay(bill, "card", approval_code="111", key=key)

    # Then it gets the first payment back, not a conflict, and nothing is charged twice
    assert repeat["payments"] == first["payments"]
    assert (repeat["status"], repeat["paid_amount"]) == ("closed", 2800)
    count = await session.scalar(select(func.count(Payment.id)).where(Payment.bill_id == bill["id"]))
    assert count == 1


async def _post_payment(shop: Shop, bill_id: int, body: dict[str, Any], key: str) -> httpx.Response:
    headers = await shop.login()
    return await shop.client.post(
        f"/api/v1/bills/{bill_id}/payments", json=body, headers={**headers, "Idempotency-Key": key}
    )


async def test_the_same_payment_sent_at_once_that_closes_the_bill_answers_every_copy_with_it(
    committed_shop: Shop,
) -> None:
    # Given one payment request sent four times at once (a register retrying on a bad line)
    shop = committed_shop
    bill = await shop.add(await shop.open_takeaway(), "cake")
    await shop.login()
    key = new_key()
    body = {"version": bill["version"], "tender": "card", "approval_code": "X1"}

    responses = await asyncio.gather(*(_post_payment(shop, bill["id"], body, key) for _ in range(4)))

    # Then every copy is answered with the one payment that closed the bill (on PostgreSQL
    # the later ones waited for the bill's row lock and used to get 409 bill_closed)
    assert [response.status_code for response in responses] == [201] * 4, [r.text for r in responses]
    payment_ids = {tuple(p["id"] for p in response.json()["payments"]) for response in responses}
    assert len(payment_ids) == 1
    assert {response.json()["status"] for response in responses} == {"closed"}
    final = await shop.call("GET", f"/bills/{bill['id']}")
    assert [payment["amount"] for payment in final["payments"]] == [2800]
