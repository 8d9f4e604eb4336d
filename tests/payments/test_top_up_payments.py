"""Stored-value top-ups take real money: cash into an open shift's drawer, card with the
terminal's approval code, WeChat Pay / Alipay through the store's provider (credited only
when it confirms: the charge's answer, a poll or the signed notification). Any other tender,
a missing approval code, an amount above the maximum or a role without the permission is
refused and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.audit import AuditRecord
from kassa.core.auth import Role
from kassa.loyalty.models import StoredValueEntry
from kassa.payments import service as payments
from kassa.payments.models import Tender, TopUpPayment
from kassa.payments.provider_settings import forget_built_providers
from kassa.payments.providers import SimulatorProvider
from tests.fingerprint import unchanged
from tests.shop import Shop, new_key


@pytest.fixture(autouse=True)
def fresh_simulators() -> None:
    forget_built_providers()


async def _member(shop: Shop, phone: str = "13800138000") -> dict[str, Any]:
    return await shop.call(
        "POST",
        "/members",
        {
            "phone": phone,
            "name": "Li Na",
            "privacy_policy_accepted": True,
            "privacy_policy_version": "2026-11",
        },
    )


def _path(member: dict[str, Any]) -> str:
    return f"/members/{member['id']}/stored-value/top-ups"


async def _card(shop: Shop, member: dict[str, Any]) -> tuple[int, int]:
    loyalty = await shop.call("GET", f"/members/{member['id']}/loyalty")
    return loyalty["principal_amount"], loyalty["bonus_amount"]


async def _simulator(session: AsyncSession, shop: Shop, tender: Tender) -> SimulatorProvider:
    simulator = await payments.provider_for(session, shop.store_id, tender)
    assert isinstance(simulator, SimulatorProvider)
    return simulator


async def _bonus_rules(shop: Shop) -> None:
    settings = await shop.call("GET", "/loyalty/settings", role=Role.OWNER)
    settings.pop("currency")
    settings["top_up_bonus_rules"] = [{"minimum_amount": 50_000, "bonus_amount": 5_000}]
    await shop.call("PUT", "/loyalty/settings", settings, role=Role.OWNER)


async def test_cash_needs_an_open_shift_and_goes_into_its_drawer(shop: Shop, session: AsyncSession) -> None:
    member = await _member(shop)
    async with unchanged(session):
        refused = await shop.call(
            "POST", _path(member), {"amount": 5_000, "tender": "cash"}, key=new_key(), expect=409
        )
    assert refused["code"] == "shift_not_open"
    assert refused["errors"][0]["field"] == "tender"
    shift = await shop.call("POST", f"/registers/{shop.register_ids[0]}/shifts", {"amount": 10_000})
    done = await shop.call(
        "POST", _path(member), {"amount": 5_000, "tender": "cash"}, key=new_key(), expect=201
    )
    assert (done["status"], done["is_credited"], done["principal_amount"]) == ("succeeded", True, 5_000)
    stored = await session.get(TopUpPayment, done["id"])
    assert stored is not None
    assert (stored.shift_id, stored.register_id, stored.tender) == (
        shift["id"],
        shop.register_ids[0],
        Tender.CASH,
    )
    report = await shop.call("GET", f"/shifts/{shift['id']}/x-report")
    assert (report["cash_top_ups_amount"], report["expected_cash_amount"]) == (5_000, 15_000)
    assert report["top_ups"] == [{"tender": "cash", "count": 1, "amount": 5_000}]
    # audited: the money taken and the card credited, in the same unit of work
    actions = set(
        (
            await session.scalars(
                select(AuditRecord.action).where(
                    AuditRecord.action.in_(["top_up_payment.take", "loyalty.stored_value.top_up"])
                )
            )
        ).all()
    )
    assert {"top_up_payment.take", "loyalty.stored_value.top_up"} <= actions


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 5_000, "tender": "voucher"}, "tender"),
        ({"amount": 5_000, "tender": "stored_value"}, "tender"),
        ({"amount": 5_000, "tender": "points"}, "tender"),
        ({"amount": 5_000, "tender": "IOU from the manager"}, "tender"),
        ({"amount": 5_000, "tender": "card"}, "approval_code"),
        ({"amount": 5_000, "tender": "card", "approval_code": "   "}, "approval_code"),
        ({"amount": 500_001, "tender": "card", "approval_code": "1"}, "amount"),
        ({"amount": 5_000, "tender": "wechat_pay", "payment_code": "12ab"}, "payment_code"),
    ],
)
async def test_no_money_no_top_up(
    shop: Shop, session: AsyncSession, body: dict[str, Any], field: str
) -> None:
    member = await _member(shop)
    await shop.call("POST", f"/registers/{shop.register_ids[0]}/shifts", {"amount": 10_000})
    async with unchanged(session):
        refused = await shop.call("POST", _path(member), body, key=new_key(), expect=422)
    assert refused["errors"][0]["field"] == field


async def test_a_card_top_up_needs_the_approval_code_and_gets_the_bonus(shop: Shop) -> None:
    await _bonus_rules(shop)
    member = await _member(shop)
    done = await shop.call(
        "POST", _path(member), {"amount": 50_000, "tender": "card", "approval_code": "839201"}, key=new_key()
    )
    assert (done["tender"], done["approval_code"], done["bonus"]["bonus_amount"]) == ("card", "839201", 5_000)
    assert await _card(shop, member) == (50_000, 5_000)


async def test_a_qr_top_up_is_credited_only_when_the_provider_confirms(
    shop: Shop, session: AsyncSession
) -> None:
    await _bonus_rules(shop)
    member = await _member(shop)
    key = new_key()
    pending = await shop.call("POST", _path(member), {"amount": 50_000, "tender": "alipay"}, key=key)
    assert (pending["status"], pending["is_credited"], pending["top_up"]) == ("pending", False, None)
    assert pending["qr_code"]
    assert await _card(shop, member) == (0, 0)
    # polling while the customer has not paid changes nothing
    polled = await shop.call("POST", f"/stored-value/top-ups/{pending['id']}/refresh")
    assert polled["status"] == "pending"
    # the same key answers the same pending top-up
    assert (await shop.call("POST", _path(member), {"amount": 50_000, "tender": "alipay"}, key=key))[
        "id"
    ] == (pending["id"])
    stored = await session.get(TopUpPayment, pending["id"])
    assert stored is not None
    assert stored.out_trade_no is not None
    simulator = await _simulator(session, shop, Tender.ALIPAY)
    simulator.simulate_customer_paid(stored.out_trade_no)
    headers, body = simulator.signed_notification(stored.out_trade_no)
    for _ in range(2):  # the provider repeats its notification: credited once
        response = await shop.client.post(
            f"/api/v1/payments/notifications/alipay/{shop.store_id}", content=body, headers=dict(headers)
        )
        assert response.status_code == 200
    assert await _card(shop, member) == (50_000, 5_000)
    settled = await shop.call("GET", f"/stored-value/top-ups/{pending['id']}")
    assert (settled["status"], settled["is_credited"]) == ("succeeded", True)
    assert (await shop.call("POST", f"/stored-value/top-ups/{pending['id']}/refresh"))["is_credited"] is True
    entries = await session.scalar(
        select(func.count(StoredValueEntry.id)).where(StoredValueEntry.member_id == member["id"])
    )
    assert entries == 2  # principal and bonus, once


async def test_a_payment_code_top_up_is_credited_at_once_or_by_polling(shop: Shop) -> None:
    member = await _member(shop)
    at_once = await shop.call(
        "POST",
        _path(member),
        {"amount": 3_000, "tender": "wechat_pay", "payment_code": "134567890123456789"},
        key=new_key(),
    )
    assert (at_once["status"], at_once["is_credited"]) == ("succeeded", True)
    slow = await shop.call(
        "POST",
        _path(member),
        {"amount": 2_000, "tender": "wechat_pay", "payment_code": "884567890123456789"},
        key=new_key(),
    )
    assert slow["status"] == "pending"
    assert await _card(shop, member) == (3_000, 0)
    polled = await shop.call("POST", f"/stored-value/top-ups/{slow['id']}/refresh")
    if polled["status"] == "pending":
        polled = await shop.call("POST", f"/stored-value/top-ups/{slow['id']}/refresh")
    assert (polled["status"], polled["is_credited"]) == ("succeeded", True)
    assert await _card(shop, member) == (5_000, 0)
    declined = await shop.call(
        "POST",
        _path(member),
        {"amount": 2_000, "tender": "wechat_pay", "payment_code": "994567890123456789"},
        key=new_key(),
    )
    assert (declined["status"], declined["is_credited"]) == ("failed", False)
    assert await _card(shop, member) == (5_000, 0)


@pytest.mark.parametrize("tamper", ["amount", "unknown"])
async def test_a_notification_for_another_amount_or_no_top_up_is_400_and_changes_nothing(
    shop: Shop, session: AsyncSession, tamper: str
) -> None:
    member = await _member(shop)
    pending = await shop.call("POST", _path(member), {"amount": 4_000, "tender": "wechat_pay"}, key=new_key())
    stored = await session.get(TopUpPayment, pending["id"])
    assert stored is not None
    assert stored.out_trade_no is not None
    simulator = await _simulator(session, shop, Tender.WECHAT_PAY)
    simulator.simulate_customer_paid(stored.out_trade_no)
    if tamper == "amount":
        # correctly signed, for another amount: the simulator signs what it is given
        headers, body = simulator.signed_notification(stored.out_trade_no)
        body = body.replace(b"4000", b"4001")
        headers = simulator.sign(body)
    else:
        headers, body = simulator.signed_notification(stored.out_trade_no)
        body = body.replace(stored.out_trade_no.encode(), b"K" + b"0" * 30)
        headers = simulator.sign(body)
    async with unchanged(session):
        response = await shop.client.post(
            f"/api/v1/payments/notifications/wechat_pay/{shop.store_id}", content=body, headers=dict(headers)
        )
    assert response.status_code == 400
    assert response.json()["code"] == "payment_notification_malformed"
    assert await _card(shop, member) == (0, 0)


@pytest.mark.parametrize(
    ("role", "expected"),
    [(Role.WAITER, 403), (Role.CASHIER, 201), (Role.MANAGER, 201), (Role.OWNER, 201)],
)
async def test_who_may_top_up(shop: Shop, session: AsyncSession, role: Role, expected: int) -> None:
    member = await _member(shop)
    body = {"amount": 1_000, "tender": "card", "approval_code": "55"}
    await shop.login(role)
    async with unchanged(session, when=expected != 201):
        answer = await shop.call("POST", _path(member), body, role=role, key=new_key(), expect=expected)
    if expected == 403:
        assert (answer["code"], answer["permission"]) == ("permission_denied", "stored_value.top_up")
