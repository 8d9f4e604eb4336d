"""The return SMS and the customer's reply through the real adapters: Aliyun SMS sends the
notice to a local stand-in that checks the official SDK's signed request (and fails over to
Twilio while Aliyun throttles), and the reply arrives as a Twilio webhook whose signature
Kassa checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from kassa.core.auth import Role
from kassa.notifications import service as notifications
from kassa.notifications.providers.aliyun import AliyunSmsProvider
from kassa.notifications.providers.twilio_sms import TwilioSmsProvider
from tests.notifications.providers.conftest import _talk_to_local_servers_directly
from tests.notifications.providers.fake_aliyun import AliyunAccount, FakeAliyun
from tests.notifications.providers.fake_twilio import FakeTwilio, TwilioAccount
from tests.returns.conftest import Worker
from tests.returns.test_returns import _line, _paid_bill
from tests.shop import Shop

__all__ = ["_talk_to_local_servers_directly"]

ALIYUN = AliyunAccount()
TWILIO = TwilioAccount()


@pytest.fixture
def gateways() -> Iterator[tuple[FakeAliyun, FakeTwilio]]:
    aliyun, twilio = FakeAliyun(ALIYUN), FakeTwilio(TWILIO)
    aliyun.server.start()
    twilio.server.start()
    notifications.configure_providers(
        sms=[
            AliyunSmsProvider(
                access_key_id=ALIYUN.access_key_id,
                access_key_secret=ALIYUN.access_key_secret,
                sign_name=ALIYUN.sign_name,
                endpoint=aliyun.endpoint,
                protocol="http",
                timeout_seconds=2.0,
            ),
            TwilioSmsProvider(
                account_sid=TWILIO.account_sid,
                auth_token=TWILIO.auth_token,
                from_number=TWILIO.from_number,
                base_url=twilio.base_url,
                timeout_seconds=2.0,
            ),
        ]
    )
    yield aliyun, twilio
    notifications.configure_providers()
    aliyun.server.stop()
    twilio.server.stop()
    assert aliyun.problems == twilio.problems == []


async def _approved_return(shop: Shop) -> dict[str, object]:
    await shop.call(
        "PUT",
        "/notifications/templates",
        {
            "event": "return_notice",
            "language": "zh_CN",
            "body": "【{store_name}】退款{refund_amount}，到账：{arrival}。确认回复{confirm_word} {code}",
            "provider_template_codes": {"aliyun": "SMS_276455123"},
        },
        role=Role.OWNER,
    )
    bill = await _paid_bill(shop, phone="138 0013 8000")
    request = await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": _line(bill, "cake"), "quantity": 1}], "reason_code": "quality"},
        role=Role.WAITER,
    )
    return await shop.call("POST", f"/returns/{request['id']}/approve", {})


def _signed_reply(text: str, url: str, sid: str = "SM" + "b" * 32) -> tuple[dict[str, str], bytes]:
    fields = {
        "MessageSid": sid,
        "AccountSid": TWILIO.account_sid,
        "From": "+8613800138000",
        "To": TWILIO.from_number,
        "Body": text,
    }
    signature = RequestValidator(TWILIO.auth_token).compute_signature(url, fields)
    return {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}, urlencode(
        fields
    ).encode()


async def test_the_notice_goes_by_aliyun_and_the_signed_twilio_reply_releases_the_refund(
    shop: Shop, worker: Worker, gateways: tuple[FakeAliyun, FakeTwilio]
) -> None:
    aliyun, _twilio = gateways
    approved = await _approved_return(shop)
    await worker.run()
    [sent] = aliyun.sent
    assert (sent["PhoneNumbers"], sent["TemplateCode"], sent["SignName"]) == (
        "13800138000",
        "SMS_276455123",
        ALIYUN.sign_name,
    )
    params = json.loads(sent["TemplateParam"])
    assert (params["refund_amount"], params["code"]) == ("¥25.20", approved["reply_code"])

    token = (await shop.call("GET", "/notifications/webhooks", role=Role.OWNER))["token"]
    url = f"http://kassa.test/api/v1/notifications/webhooks/twilio/inbound?token={token}"
    forged_headers, body = _signed_reply(f"1 {approved['reply_code']}", url)
    forged_headers["X-Twilio-Signature"] = "bm90IGEgc2lnbmF0dXJl"
    forged = await shop.client.post(url, headers=forged_headers, content=body)
    assert forged.status_code == 401
    assert (await shop.call("GET", f"/returns/{approved['id']}"))["confirmation"] == "awaiting"

    headers, body = _signed_reply(f"1 {approved['reply_code']}", url)
    answer = await shop.client.post(url, headers=headers, content=body)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/xml")
    again = await shop.client.post(url, headers=headers, content=body)  # Twilio retries: recorded once
    assert again.status_code == 200
    confirmed = await shop.call("GET", f"/returns/{approved['id']}")
    assert (confirmed["confirmation"], confirmed["refund_state"]) == ("confirmed", "in_progress")
    log = await shop.call("GET", f"/stores/{shop.store_id}/messages", role=Role.MANAGER)
    [notice] = [item for item in log if item["event"] == "return_notice"]
    assert (notice["provider"], len(notice["replies"])) == ("aliyun", 1)


async def test_while_aliyun_throttles_twilio_sends_the_notice(
    shop: Shop, worker: Worker, gateways: tuple[FakeAliyun, FakeTwilio]
) -> None:
    aliyun, twilio = gateways
    aliyun.answer_with = (
        200,
        {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发流控", "RequestId": "R1"},
        {},
    )
    await _approved_return(shop)
    await worker.run()
    assert aliyun.sent == []
    [form] = twilio.sent
    assert form["To"] == ["+8613800138000"]
    assert "¥25.20" in form["Body"][0]
    log = await shop.call("GET", f"/stores/{shop.store_id}/messages", role=Role.MANAGER)
    assert [item["provider"] for item in log if item["event"] == "return_notice"] == ["twilio"]
