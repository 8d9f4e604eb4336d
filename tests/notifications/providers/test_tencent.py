"""The Tencent Cloud adapter against a local SMS API that verifies the SDK's TC3 signature."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from kassa.notifications.providers.base import (
    DeliveryStatus,
    InboundSms,
    InvalidWebhookPayload,
    MessageRejected,
    ProviderUnavailable,
)
from kassa.notifications.providers.tencent import TencentSmsProvider

from .conftest import TIMEOUT_SECONDS, sms
from .fake_tencent import FakeTencent, TencentAccount
from .local_server import unused_port


async def test_send_signs_the_request_and_passes_every_field(
    tencent: TencentSmsProvider, fake_tencent: FakeTencent, tencent_account: TencentAccount
) -> None:
    result = await tencent.send(
        sms(message_id=42, params={"amount": "12.50", "name": "王小明"}, numbered=("王小明", "12.50"))
    )

    assert result.provider == "tencent"
    assert result.provider_message_id == "5000:1045710669157053657800001"
    assert result.raw["SendStatusSet"][0]["Code"] == "Ok"
    assert fake_tencent.sent == [
        {
            "PhoneNumberSet": ["+8613800138000"],
            "SmsSdkAppId": tencent_account.sms_app_id,
            "SignName": "卡萨咖啡",
            "TemplateId": "SMS_276455123",
            "TemplateParamSet": ["王小明", "12.50"],  # by position: the numbered parameters
            "SessionContext": "42",
        }
    ]
    request = fake_tencent.server.received[0]
    assert request.header("X-TC-Action") == "SendSms"
    authorization = request.header("Authorization") or ""
    assert authorization.startswith(f"TC3-HMAC-SHA256 Credential={tencent_account.secret_id}/")
    # The fake recomputed the signature with the secret key; the fixture fails on any problem.


async def test_a_wrong_secret_key_is_caught_by_the_signature_check(
    fake_tencent: FakeTencent, tencent_account: TencentAccount
) -> None:
    provider = TencentSmsProvider(
        secret_id=tencent_account.secret_id,
        secret_key="not-the-secret-key",
        sms_app_id=tencent_account.sms_app_id,
        sign_name=tencent_account.sign_name,
        endpoint=fake_tencent.endpoint,
        scheme="http",
        timeout_seconds=TIMEOUT_SECONDS,
    )

    with pytest.raises(MessageRejected) as caught:
        await provider.send(sms())

    assert caught.value.permanent is False
    assert caught.value.code == "AuthFailure.SignatureFailure"
    assert fake_tencent.problems == ["signature does not match"]
    fake_tencent.problems.clear()


@pytest.mark.parametrize(
    ("code", "is_permanent"),
    [
        ("InvalidParameterValue.IncorrectPhoneNumber", True),
        ("FailedOperation.PhoneNumberInBlacklist", True),
        ("FailedOperation.TemplateIncorrectOrUnapproved", False),
        ("FailedOperation.SignatureIncorrectOrUnapproved", False),
        ("FailedOperation.InsufficientBalanceInSmsPackage", False),
        ("LimitExceeded.AppCountryOrRegionInBlacklist", False),
    ],
)
async def test_a_refusal_says_whether_another_provider_may_succeed(
    tencent: TencentSmsProvider, fake_tencent: FakeTencent, code: str, is_permanent: bool
) -> None:
    fake_tencent.status_code = code

    with pytest.raises(MessageRejected) as caught:
        await tencent.send(sms())

    assert caught.value.permanent is is_permanent
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("code", "retry_after_seconds"),
    [
        ("LimitExceeded.PhoneNumberThirtySecondLimit", 30.0),
        ("LimitExceeded.PhoneNumberDailyLimit", None),
        ("LimitExceeded.DeliveryFrequencyLimit", None),
    ],
)
async def test_frequency_limits_are_unavailable(
    tencent: TencentSmsProvider, fake_tencent: FakeTencent, code: str, retry_after_seconds: float | None
) -> None:
    fake_tencent.status_code = code

    with pytest.raises(ProviderUnavailable) as caught:
        await tencent.send(sms())

    assert caught.value.retry_after_seconds == retry_after_seconds


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"Response": {"Error": {"Code": "InternalError.Timeout", "Message": "t"}, "RequestId": "r"}}),
        (200, {"Response": {"Error": {"Code": "RequestLimitExceeded", "Message": "r"}, "RequestId": "r"}}),
        (500, {"message": "internal server error"}),
        (502, "<html>Bad Gateway</html>"),
    ],
    ids=["internal-error", "request-limit", "500", "502-html"],
)
async def test_tencent_faults_and_outages_are_unavailable(
    tencent: TencentSmsProvider, fake_tencent: FakeTencent, status: int, body: object
) -> None:
    fake_tencent.answer_with = (status, body.encode() if isinstance(body, str) else json.dumps(body).encode())

    with pytest.raises(ProviderUnavailable):
        await tencent.send(sms())


async def test_a_gateway_that_does_not_answer_in_time_is_unavailable(
    fake_tencent: FakeTencent, tencent_account: TencentAccount
) -> None:
    fake_tencent.server.delay_seconds = 5.0
    provider = TencentSmsProvider(
        secret_id=tencent_account.secret_id,
        secret_key=tencent_account.secret_key,
        sms_app_id=tencent_account.sms_app_id,
        sign_name=tencent_account.sign_name,
        endpoint=fake_tencent.endpoint,
        scheme="http",
        timeout_seconds=0.3,
    )
    started = time.monotonic()

    with pytest.raises(ProviderUnavailable):
        await provider.send(sms())

    assert time.monotonic() - started < 2.5  # well before the gateway would answer


async def test_a_gateway_that_is_down_is_unavailable(tencent_account: TencentAccount) -> None:
    provider = TencentSmsProvider(
        secret_id=tencent_account.secret_id,
        secret_key=tencent_account.secret_key,
        sms_app_id=tencent_account.sms_app_id,
        sign_name=tencent_account.sign_name,
        endpoint=f"127.0.0.1:{unused_port()}",
        scheme="http",
        timeout_seconds=TIMEOUT_SECONDS,
    )

    with pytest.raises(ProviderUnavailable):
        await provider.send(sms())


async def test_a_message_without_a_template_id_is_left_for_another_provider(
    tencent: TencentSmsProvider, fake_tencent: FakeTencent
) -> None:
    with pytest.raises(MessageRejected) as caught:
        await tencent.send(sms(template_code=None))

    assert caught.value.permanent is False
    assert fake_tencent.server.received == []


def test_status_reports_are_matched_by_serial_number(tencent: TencentSmsProvider) -> None:
    body = json.dumps(
        [
            {
                "user_receive_time": "2026-11-30 20:03:04",
                "nationcode": "86",
                "mobile": "13800138000",
                "report_status": "SUCCESS",
                "errmsg": "DELIVRD",
                "description": "用户短信送达成功",
                "sid": "5000:1045710669157053657800001",
            },
            {
                "user_receive_time": "2026-11-30 20:03:05",
                "nationcode": "86",
                "mobile": "13900139000",
                "report_status": "FAIL",
                "errmsg": "MK:0001",
                "description": "空号",
                "sid": "5000:1045710669157053657800002",
            },
        ],
        ensure_ascii=False,
    ).encode()

    reports = tencent.parse_delivery_reports(url="https://kassa.example.com/hook", headers={}, body=body)

    assert [(r.provider_message_id, r.our_message_id, r.status, r.error) for r in reports] == [
        ("5000:1045710669157053657800001", None, DeliveryStatus.DELIVERED, None),
        ("5000:1045710669157053657800002", None, DeliveryStatus.FAILED, "MK:0001: 空号"),
    ]


@pytest.mark.parametrize("as_array", [False, True])
def test_a_reply_gets_the_country_code_in_front_of_the_number(
    tencent: TencentSmsProvider, as_array: bool
) -> None:
    reply = {
        "extend": "",
        "mobile": "13800138000",
        "nationcode": "86",
        "sign": "卡萨咖啡",
        "text": "好的",
        "time": 1796040000,
    }
    body = json.dumps([reply] if as_array else reply, ensure_ascii=False).encode()

    replies = tencent.parse_inbound(url="https://kassa.example.com/hook", headers={}, body=body)

    assert replies == [
        InboundSms(
            provider="tencent",
            from_number="+8613800138000",
            to_number=None,
            body="好的",
            received_at=datetime.fromtimestamp(1796040000, UTC),
            provider_message_id=None,
            raw=reply,
        )
    ]


@pytest.mark.parametrize(
    "body",
    [b"[", b'{"mobile": "13800138000", "nationcode": "86", "text": "x", "time": "soon"}', b'{"text": "x"}'],
)
def test_unreadable_replies_are_refused(tencent: TencentSmsProvider, body: bytes) -> None:
    with pytest.raises(InvalidWebhookPayload):
        tencent.parse_inbound(url="https://kassa.example.com/hook", headers={}, body=body)


def test_an_unknown_report_status_is_refused(tencent: TencentSmsProvider) -> None:
    body = b'[{"report_status": "PENDING", "sid": "1"}]'

    with pytest.raises(InvalidWebhookPayload):
        tencent.parse_delivery_reports(url="https://kassa.example.com/hook", headers={}, body=body)
