"""The Aliyun adapter against a local Dysmsapi that verifies the SDK's signed requests."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from kassa.notifications.providers.aliyun import AliyunSmsProvider
from kassa.notifications.providers.base import (
    Channel,
    DeliveryReport,
    DeliveryStatus,
    InboundSms,
    InvalidWebhookPayload,
    MessageRejected,
    OutgoingMessage,
    ProviderUnavailable,
)

from .conftest import TIMEOUT_SECONDS, sms
from .fake_aliyun import AliyunAccount, FakeAliyun
from .local_server import unused_port


async def test_send_signs_the_request_and_passes_every_parameter(
    aliyun: AliyunSmsProvider, fake_aliyun: FakeAliyun, aliyun_account: AliyunAccount
) -> None:
    result = await aliyun.send(sms(message_id=42))

    assert result.provider == "aliyun"
    assert result.provider_message_id == "900619740001^0"
    assert result.raw["Code"] == "OK"
    assert fake_aliyun.sent == [
        {
            "OutId": "42",
            "PhoneNumbers": "13800138000",  # mainland: 11 digits, no country code
            "SignName": "卡萨咖啡",
            "TemplateCode": "SMS_276455123",
            "TemplateParam": '{"name":"王小明","amount":"12.50"}',
        }
    ]
    request = fake_aliyun.server.received[0]
    assert request.header("x-acs-action") == "SendSms"
    authorization = request.header("Authorization") or ""
    assert authorization.startswith(
        f"ACS3-HMAC-SHA256 Credential={aliyun_account.access_key_id},SignedHeaders="
    )
    # The fake recomputed the signature with the secret; the fixture fails on any problem.


async def test_an_international_number_keeps_its_country_code_without_plus(
    aliyun: AliyunSmsProvider, fake_aliyun: FakeAliyun
) -> None:
    await aliyun.send(sms(to="+85291234567"))

    assert fake_aliyun.sent[0]["PhoneNumbers"] == "85291234567"


async def test_a_template_without_variables_sends_no_template_param(
    aliyun: AliyunSmsProvider, fake_aliyun: FakeAliyun
) -> None:
    await aliyun.send(sms(params={}))

    assert "TemplateParam" not in fake_aliyun.sent[0]


async def test_a_wrong_secret_is_caught_by_the_signature_check(
    fake_aliyun: FakeAliyun, aliyun_account: AliyunAccount
) -> None:
    provider = AliyunSmsProvider(
        access_key_id=aliyun_account.access_key_id,
        access_key_secret="not-the-secret",
        sign_name=aliyun_account.sign_name,
        endpoint=fake_aliyun.endpoint,
        protocol="http",
        timeout_seconds=TIMEOUT_SECONDS,
    )

    with pytest.raises(MessageRejected) as caught:
        await provider.send(sms())

    assert caught.value.permanent is False
    assert caught.value.code == "SignatureDoesNotMatch"
    assert fake_aliyun.problems == ["signature does not match"]
    fake_aliyun.problems.clear()


@pytest.mark.parametrize(
    ("code", "is_permanent"),
    [
        ("isv.MOBILE_NUMBER_ILLEGAL", True),
        ("isv.SMS_TEMPLATE_ILLEGAL", False),
        ("isv.SMS_SIGNATURE_ILLEGAL", False),
        ("isv.AMOUNT_NOT_ENOUGH", False),
        ("isv.TEMPLATE_MISSING_PARAMETERS", False),
    ],
)
async def test_a_refusal_says_whether_another_provider_may_succeed(
    aliyun: AliyunSmsProvider, fake_aliyun: FakeAliyun, code: str, is_permanent: bool
) -> None:
    fake_aliyun.answer_with = (200, {"Code": code, "Message": "refused", "RequestId": "R-2"}, {})

    with pytest.raises(MessageRejected) as caught:
        await aliyun.send(sms())

    assert caught.value.permanent is is_permanent
    assert caught.value.code == code
    assert code in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控", "RequestId": "R"}, {}),
        (200, {"Code": "isp.SYSTEM_ERROR", "Message": "system error", "RequestId": "R"}, {}),
        (400, {"Code": "Throttling.User", "Message": "Request was denied due to user flow control."}, {}),
        (
            500,
            {"Code": "InternalError", "Message": "The request processing has failed", "RequestId": "R"},
            {},
        ),
        (502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"}),
    ],
    ids=["business-limit", "isp-system-error", "throttling", "500-json", "502-html"],
)
async def test_throttling_and_outages_are_unavailable(
    aliyun: AliyunSmsProvider,
    fake_aliyun: FakeAliyun,
    status: int,
    body: object,
    headers: dict[str, str],
) -> None:
    fake_aliyun.answer_with = (status, body, headers)

    with pytest.raises(ProviderUnavailable):
        await aliyun.send(sms())


async def test_throttling_passes_on_the_wait_aliyun_asks_for(
    aliyun: AliyunSmsProvider, fake_aliyun: FakeAliyun
) -> None:
    fake_aliyun.answer_with = (
        429,
        {"Code": "Throttling.Api", "Message": "slow down", "RequestId": "R"},
        {"x-acs-retry-after": "5000"},
    )

    with pytest.raises(ProviderUnavailable) as caught:
        await aliyun.send(sms())

    assert caught.value.retry_after_seconds == 5.0


async def test_a_gateway_that_does_not_answer_in_time_is_unavailable(
    fake_aliyun: FakeAliyun, aliyun_account: AliyunAccount
) -> None:
    fake_aliyun.server.delay_seconds = 5.0
    provider = AliyunSmsProvider(
        access_key_id=aliyun_account.access_key_id,
        access_key_secret=aliyun_account.access_key_secret,
        sign_name=aliyun_account.sign_name,
        endpoint=fake_aliyun.endpoint,
        protocol="http",
        timeout_seconds=0.3,
    )
    started = time.monotonic()

    with pytest.raises(ProviderUnavailable):
        await provider.send(sms())

    assert time.monotonic() - started < 2.5  # well before the gateway would answer


async def test_a_gateway_that_is_down_is_unavailable(aliyun_account: AliyunAccount) -> None:
    provider = AliyunSmsProvider(
        access_key_id=aliyun_account.access_key_id,
        access_key_secret=aliyun_account.access_key_secret,
        sign_name=aliyun_account.sign_name,
        endpoint=f"127.0.0.1:{unused_port()}",
        protocol="http",
        timeout_seconds=TIMEOUT_SECONDS,
    )

    with pytest.raises(ProviderUnavailable):
        await provider.send(sms())


@pytest.mark.parametrize(
    ("message", "is_permanent"),
    [
        (sms(template_code=None), False),  # no template registered at Aliyun: try another
        (sms(to="13800138000"), True),  # not E.164: no gateway will take it
        (OutgoingMessage(message_id=1, channel=Channel.EMAIL, to="a@example.com", body="x"), False),
    ],
    ids=["no-template", "not-e164", "e-mail"],
)
async def test_messages_it_cannot_send_are_refused_before_calling_aliyun(
    aliyun: AliyunSmsProvider, fake_aliyun: FakeAliyun, message: OutgoingMessage, is_permanent: bool
) -> None:
    with pytest.raises(MessageRejected) as caught:
        await aliyun.send(message)

    assert caught.value.permanent is is_permanent
    assert fake_aliyun.server.received == []


def test_delivery_reports_carry_our_message_id_from_out_id(aliyun: AliyunSmsProvider) -> None:
    body = json.dumps(
        [
            {
                "phone_number": "13800138000",
                "send_time": "2026-11-30 20:01:02",
                "report_time": "2026-11-30 20:01:09",
                "success": True,
                "err_code": "DELIVERED",
                "err_msg": "用户接收成功",
                "sms_size": "1",
                "biz_id": "900619740001^0",
                "out_id": "42",
            },
            {
                "phone_number": "13900139000",
                "send_time": "2026-11-30 20:01:02",
                "report_time": "2026-11-30 20:02:00",
                "success": False,
                "err_code": "MK:0001",
                "err_msg": "空号",
                "sms_size": "1",
                "biz_id": "900619740002^0",
                "out_id": "43",
            },
        ],
        ensure_ascii=False,
    ).encode()

    reports = aliyun.parse_delivery_reports(url="https://kassa.example.com/hook", headers={}, body=body)

    assert [(r.provider_message_id, r.our_message_id, r.status, r.error) for r in reports] == [
        ("900619740001^0", 42, DeliveryStatus.DELIVERED, None),
        ("900619740002^0", 43, DeliveryStatus.FAILED, "MK:0001: 空号"),
    ]
    assert all(isinstance(report, DeliveryReport) and report.provider == "aliyun" for report in reports)


def test_replies_are_read_with_beijing_time_turned_into_utc(aliyun: AliyunSmsProvider) -> None:
    body = json.dumps(
        [
            {
                "phone_number": "13800138000",
                "send_time": "2026-11-30 08:15:00",
                "content": "1 确认",
                "sign_name": "卡萨咖啡",
                "dest_code": "1234",
                "sequence_id": 1234567890,
            }
        ],
        ensure_ascii=False,
    ).encode()

    replies = aliyun.parse_inbound(url="https://kassa.example.com/hook", headers={}, body=body)

    assert replies == [
        InboundSms(
            provider="aliyun",
            from_number="13800138000",
            to_number=None,
            body="1 确认",
            received_at=datetime(2026, 11, 30, 0, 15, tzinfo=UTC),
            provider_message_id="1234567890",
            raw=json.loads(body)[0],
        )
    ]


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'[{"success": "maybe", "out_id": "1"}]'])
def test_unreadable_reports_are_refused(aliyun: AliyunSmsProvider, body: bytes) -> None:
    with pytest.raises(InvalidWebhookPayload):
        aliyun.parse_delivery_reports(url="https://kassa.example.com/hook", headers={}, body=body)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'[{"phone_number": "13800138000", "send_time": "2026-11-30 08:15:00"}]',
        b'[{"phone_number": "13800138000", "content": "x", "send_time": "yesterday"}]',
    ],
)
def test_unreadable_replies_are_refused(aliyun: AliyunSmsProvider, body: bytes) -> None:
    with pytest.raises(InvalidWebhookPayload):
        aliyun.parse_inbound(url="https://kassa.example.com/hook", headers={}, body=body)
