"""Templates, the message log, staff SMS, OTP codes and the webhooks, through the API and
the service, with the built-in log provider as the gateway."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Role
from kassa.core.errors import TooManyRequests
from kassa.notifications import service as notifications
from kassa.notifications.models import OtpCode
from kassa.notifications.providers.log import LogProvider
from kassa.stores.models import Store
from tests.returns.conftest import Worker, worker
from tests.shop import Shop

__all__ = ["worker"]


@pytest.fixture
def sms() -> Iterator[LogProvider]:
    provider = LogProvider()
    notifications.configure_providers(sms=[provider], email=LogProvider("log-email"))
    yield provider
    notifications.configure_providers()


async def test_templates_are_listed_edited_previewed_and_checked(shop: Shop, sms: LogProvider) -> None:
    listed = await shop.call("GET", "/notifications/templates", role=Role.OWNER)
    events = {item["event"] for item in listed}
    assert {"return_notice", "verification_code", "reservation_reminder", "birthday_coupon"} <= events
    notice = next(item for item in listed if (item["event"], item["language"]) == ("return_notice", "zh_CN"))
    assert notice["is_custom"] is False
    assert "refund_amount" in notice["variables"]
    assert notice["segments"] >= 1

    preview = await shop.call(
        "POST",
        "/notifications/templates/preview",
        {"event": "order_ready", "body": "【{store_name}】取餐号{pickup_code}好了"},
        role=Role.OWNER,
    )
    assert preview == {
        "text": "【甜心咖啡】取餐号A12好了",
        "encoding": "ucs2",
        "characters": 14,
        "segments": 1,
        # the sign 【{store_name}】 is the provider's sign name, not a numbered parameter
        "numbered_parameters": [{"number": 1, "variable": "pickup_code", "value": "A12"}],
    }
    long_text = await shop.call(
        "POST",
        "/notifications/templates/preview",
        {"event": "order_ready", "body": "Ready: {pickup_code} " + "x" * 200},
        role=Role.OWNER,
    )
    assert (long_text["encoding"], long_text["segments"]) == ("gsm7", 2)

    unknown = await shop.call(
        "PUT",
        "/notifications/templates",
        {"event": "order_ready", "language": "en", "body": "{pickup} is ready"},
        role=Role.OWNER,
        expect=422,
    )
    assert unknown["errors"][0]["field"] == "body"
    assert "unknown variable {pickup}" in unknown["detail"]
    await shop.call(
        "PUT",
        "/notifications/templates",
        {"event": "order_ready", "language": "en", "body": "x"},
        role=Role.CASHIER,
        expect=403,
    )
    saved = await shop.call(
        "PUT",
        "/notifications/templates",
        {
            "event": "free_text",
            "language": "zh_CN",
            "body": "{store_name}提醒您：{text}",
            "provider_template_codes": {"aliyun": "SMS_100"},
        },
        role=Role.OWNER,
    )
    assert (saved["is_custom"], saved["provider_template_codes"]) == (True, {"aliyun": "SMS_100"})

    # the organization's own text is what goes out
    sent = await shop.call(
        "POST",
        f"/stores/{shop.store_id}/messages",
        {"to": "138-0013-8000", "text": "外卖已出发"},
        role=Role.MANAGER,
    )
    store = await shop.call("GET", f"/stores/{shop.store_id}", role=Role.OWNER)
    assert sent["body"] == f"{store['name']}提醒您：外卖已出发"


async def test_only_roles_allowed_to_may_text_a_customer(
    shop: Shop, sms: LogProvider, database: object
) -> None:
    refused = await shop.call(
        "POST", f"/stores/{shop.store_id}/messages", {"to": "13800138000", "text": "hi"}, expect=403
    )
    assert refused["permission"] == "sms.free_text"
    invalid = await shop.call(
        "POST",
        f"/stores/{shop.store_id}/messages",
        {"to": "12345", "text": "hi"},
        role=Role.MANAGER,
        expect=422,
    )
    assert invalid["errors"][0]["field"] == "to"
    key = "free-text-1"
    first = await shop.call(
        "POST",
        f"/stores/{shop.store_id}/messages",
        {"to": "13800138000", "text": "hi"},
        role=Role.MANAGER,
        key=key,
    )
    again = await shop.call(
        "POST",
        f"/stores/{shop.store_id}/messages",
        {"to": "13800138000", "text": "hi"},
        role=Role.MANAGER,
        key=key,
    )
    assert first["id"] == again["id"]
    assert (first["caused_by"], first["caused_by_staff_id"]) == (
        "staff.free_text",
        shop.staff_ids[Role.MANAGER],
    )


async def test_delivery_reports_and_the_message_log(shop: Shop, sms: LogProvider, worker: Worker) -> None:
    sent = await shop.call(
        "POST", f"/stores/{shop.store_id}/messages", {"to": "13800138000", "text": "hi"}, role=Role.MANAGER
    )
    assert sent["status"] == "queued"
    await worker.run()
    token = (await shop.call("GET", "/notifications/webhooks", role=Role.OWNER))["token"]
    forged = await shop.client.post(
        "/api/v1/notifications/webhooks/log/delivery?token=wrong",
        json={"message_id": sent["id"], "status": "delivered"},
    )
    assert forged.status_code == 401
    response = await shop.client.post(
        f"/api/v1/notifications/webhooks/log/delivery?token={token}",
        json={"message_id": sent["id"], "status": "delivered"},
    )
    assert response.status_code == 200
    log = await shop.call("GET", f"/stores/{shop.store_id}/messages?status=delivered", role=Role.MANAGER)
    assert [(item["id"], item["provider"], item["segments"]) for item in log] == [(sent["id"], "log", 1)]
    garbage = await shop.client.post(
        f"/api/v1/notifications/webhooks/log/inbound?token={token}", content=b"{"
    )
    assert garbage.status_code == 422


async def test_one_time_codes_expire_count_attempts_and_limit_sends(
    shop: Shop, session: AsyncSession, sms: LogProvider, worker: Worker
) -> None:
    store = await session.get(Store, shop.store_id)
    assert store is not None
    cause = notifications.Cause("test")
    phone = "+8613800138000"
    otp = await notifications.issue_otp(session, store=store, phone=phone, purpose="login", cause=cause)
    await session.flush()
    await worker.run()
    [message] = sms.sent
    code = re.search(r"\d{6}", message.body)
    assert code is not None
    stored = await session.get(OtpCode, otp.id)
    assert stored is not None
    assert code.group() not in stored.code_hash  # only a keyed hash is kept

    wrong = "000000" if code.group() != "000000" else "111111"
    check = await notifications.check_otp(session, phone=phone, purpose="login", code=wrong)
    assert (check.ok, check.remaining_attempts) == (False, 4)
    assert not (await notifications.check_otp(session, phone=phone, purpose="other", code=code.group())).ok
    assert (await notifications.check_otp(session, phone=phone, purpose="login", code=code.group())).ok
    assert not (await notifications.check_otp(session, phone=phone, purpose="login", code=code.group())).ok

    second = await notifications.issue_otp(session, store=store, phone=phone, purpose="login", cause=cause)
    second.expires_at = second.created_at - timedelta(seconds=1)
    await session.flush()
    expired = await notifications.check_otp(session, phone=phone, purpose="login", code="123456")
    assert expired.problem is not None
    assert "expired" in expired.problem

    for _ in range(3):
        await notifications.issue_otp(session, store=store, phone=phone, purpose="login", cause=cause)
    with pytest.raises(TooManyRequests):
        await notifications.issue_otp(session, store=store, phone=phone, purpose="login", cause=cause)
    count = len((await session.scalars(select(OtpCode).where(OtpCode.phone == phone))).all())
    assert count == notifications.OTP_MAX_SENDS_PER_HOUR


async def test_five_wrong_codes_use_a_code_up(shop: Shop, session: AsyncSession, sms: LogProvider) -> None:
    store = await session.get(Store, shop.store_id)
    assert store is not None
    await notifications.issue_otp(
        session, store=store, phone="+8613800138001", purpose="login", cause=notifications.Cause("test")
    )
    for _ in range(notifications.OTP_MAX_ATTEMPTS):
        assert not (
            await notifications.check_otp(session, phone="+8613800138001", purpose="login", code="x")
        ).ok
    locked = await notifications.check_otp(session, phone="+8613800138001", purpose="login", code="x")
    assert locked.problem == "too many wrong codes; ask for a new one"


async def test_a_reply_nobody_waits_for_is_kept_for_a_person(
    shop: Shop, session: AsyncSession, sms: LogProvider
) -> None:
    store = await session.get(Store, shop.store_id)
    assert store is not None
    actor = Actor.system(store.organization_id, store.id)
    await shop.call(
        "POST", f"/stores/{shop.store_id}/messages", {"to": "13800138000", "text": "hi"}, role=Role.MANAGER
    )
    reply = await shop.call(
        "POST",
        f"/stores/{shop.store_id}/messages/simulated-reply",
        {"from": "138 0013 8000", "body": "谢谢"},
        role=Role.MANAGER,
    )
    assert reply["outcome"] == "unmatched"
    [unmatched] = await notifications.unmatched_replies(session, actor, store.id)
    assert (unmatched.from_address, unmatched.body) == ("+8613800138000", "谢谢")


async def test_stop_opts_the_member_out_of_marketing_sms(shop: Shop, sms: LogProvider) -> None:
    member = await shop.call(
        "POST",
        "/members",
        {
            "phone": "13800138000",
            "name": "Li Na",
            "privacy_policy_accepted": True,
            "privacy_policy_version": "2026-11",
            "marketing_sms_opt_in": True,
        },
    )
    assert member["marketing_sms_opt_in"] is True
    token = (await shop.call("GET", "/notifications/webhooks", role=Role.OWNER))["token"]
    response = await shop.client.post(
        f"/api/v1/notifications/webhooks/log/inbound?token={token}",
        json={"from": "+8613800138000", "body": "退订"},
    )
    assert response.status_code == 200
    after = await shop.call("GET", f"/members/{member['id']}")
    assert after["marketing_sms_opt_in"] is False
    consents = await shop.call("GET", f"/members/{member['id']}/consents")
    assert consents[-1]["source"] == "sms_reply" or consents[0]["source"] == "sms_reply"
