"""The Twilio adapter against a local Messages API, and its signed webhooks."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from twilio.request_validator import RequestValidator

from kassa.notifications.providers.base import (
    DeliveryReport,
    DeliveryStatus,
    InvalidWebhookSignature,
    MessageRejected,
    ProviderUnavailable,
)
from kassa.notifications.providers.twilio_sms import TwilioSmsProvider

from .conftest import STATUS_CALLBACK_URL, TIMEOUT_SECONDS, sms
from .fake_twilio import FakeTwilio, TwilioAccount, twilio_error
from .local_server import Answer, unused_port

INBOUND_URL = "https://kassa.example.com/api/v1/webhooks/sms/twilio/inbound?token=s3cret"


def signed(account: TwilioAccount, url: str, fields: dict[str, str]) -> tuple[dict[str, str], bytes]:
    """Headers and body of a webhook request as Twilio sends it."""
    signature = RequestValidator(account.auth_token).compute_signature(url, fields)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    return headers, urlencode(fields).encode()


async def test_send_posts_the_rendered_text_with_basic_auth(
    twilio: TwilioSmsProvider, fake_twilio: FakeTwilio, twilio_account: TwilioAccount
) -> None:
    message = sms(message_id=42, to="+14155550100", body="Your return is accepted: ¥12.50 — 谢谢")

    result = await twilio.send(message)

    assert result.provider == "twilio"
    assert result.provider_message_id == "SM00000000000000000000000000000001"
    assert result.raw["status"] == "queued"
    request = fake_twilio.server.received[0]
    assert request.path == f"/2010-04-01/Accounts/{twilio_account.account_sid}/Messages.json"
    form = fake_twilio.sent[0]
    assert form["To"] == ["+14155550100"]
    assert form["From"] == [twilio_account.from_number]
    assert form["Body"] == ["Your return is accepted: ¥12.50 — 谢谢"]
    callback = urlsplit(form["StatusCallback"][0])
    assert parse_qs(callback.query) == {"token": ["s3cret"], "kassa_message_id": ["42"]}
    # The fake checked HTTP basic auth with the sid and token; the fixture fails on any problem.


async def test_a_messaging_service_can_send_instead_of_a_number(
    fake_twilio: FakeTwilio, twilio_account: TwilioAccount
) -> None:
    provider = TwilioSmsProvider(
        account_sid=twilio_account.account_sid,
        auth_token=twilio_account.auth_token,
        messaging_service_sid="MG" + "0" * 32,
        base_url=fake_twilio.base_url,
        timeout_seconds=TIMEOUT_SECONDS,
    )

    await provider.send(sms())

    form = fake_twilio.sent[0]
    assert form["MessagingServiceSid"] == ["MG" + "0" * 32]
    assert "From" not in form
    assert "StatusCallback" not in form


async def test_a_wrong_auth_token_is_refused_for_this_provider_only(
    fake_twilio: FakeTwilio, twilio_account: TwilioAccount
) -> None:
    provider = TwilioSmsProvider(
        account_sid=twilio_account.account_sid,
        auth_token="wrong-token",
        from_number=twilio_account.from_number,
        base_url=fake_twilio.base_url,
        timeout_seconds=TIMEOUT_SECONDS,
    )

    with pytest.raises(MessageRejected) as caught:
        await provider.send(sms())

    assert caught.value.permanent is False
    assert caught.value.code == "20003"
    assert len(fake_twilio.problems) == 1
    assert fake_twilio.problems[0].startswith("basic auth is")
    fake_twilio.problems.clear()


@pytest.mark.parametrize(
    ("answer", "is_permanent"),
    [
        (twilio_error(400, 21211, "The 'To' number +861234 is not a valid phone number."), True),
        (twilio_error(400, 21614, "'To' number is not a valid mobile number"), True),
        (twilio_error(400, 21408, "Permission to send an SMS has not been enabled for the region"), False),
        (twilio_error(403, 20003, "Permission Denied"), False),
    ],
    ids=["21211-invalid-number", "21614-not-mobile", "21408-region", "403"],
)
async def test_a_refusal_says_whether_another_provider_may_succeed(
    twilio: TwilioSmsProvider, fake_twilio: FakeTwilio, answer: Answer, is_permanent: bool
) -> None:
    fake_twilio.answer_with = answer

    with pytest.raises(MessageRejected) as caught:
        await twilio.send(sms())

    assert caught.value.permanent is is_permanent


@pytest.mark.parametrize(
    "answer",
    [
        twilio_error(429, 20429, "Too Many Requests"),
        twilio_error(500, 20500, "Internal Server Error"),
        Answer(503, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"}),
        Answer(201, b"this is not JSON", {"Content-Type": "application/json"}),
    ],
    ids=["429", "500", "503-html", "201-garbage"],
)
async def test_throttling_outages_and_garbage_are_unavailable(
    twilio: TwilioSmsProvider, fake_twilio: FakeTwilio, answer: Answer
) -> None:
    fake_twilio.answer_with = answer

    with pytest.raises(ProviderUnavailable):
        await twilio.send(sms())


async def test_a_gateway_that_does_not_answer_in_time_is_unavailable(
    fake_twilio: FakeTwilio, twilio_account: TwilioAccount
) -> None:
    fake_twilio.server.delay_seconds = 5.0
    provider = TwilioSmsProvider(
        account_sid=twilio_account.account_sid,
        auth_token=twilio_account.auth_token,
        from_number=twilio_account.from_number,
        base_url=fake_twilio.base_url,
        timeout_seconds=0.3,
    )
    started = time.monotonic()

    with pytest.raises(ProviderUnavailable):
        await provider.send(sms())

    assert time.monotonic() - started < 2.5  # well before the gateway would answer


async def test_a_gateway_that_is_down_is_unavailable(twilio_account: TwilioAccount) -> None:
    provider = TwilioSmsProvider(
        account_sid=twilio_account.account_sid,
        auth_token=twilio_account.auth_token,
        from_number=twilio_account.from_number,
        base_url=f"http://127.0.0.1:{unused_port()}",
        timeout_seconds=TIMEOUT_SECONDS,
    )

    with pytest.raises(ProviderUnavailable):
        await provider.send(sms())


async def test_a_number_that_is_not_e164_is_refused_for_good(
    twilio: TwilioSmsProvider, fake_twilio: FakeTwilio
) -> None:
    with pytest.raises(MessageRejected) as caught:
        await twilio.send(sms(to="0155 5501 00"))

    assert caught.value.permanent is True
    assert fake_twilio.server.received == []


def test_a_signed_inbound_message_is_read(twilio: TwilioSmsProvider, twilio_account: TwilioAccount) -> None:
    fields = {
        "MessageSid": "SM" + "a" * 32,
        "AccountSid": twilio_account.account_sid,
        "From": "+14155550100",
        "To": twilio_account.from_number,
        "Body": "YES 1234 谢谢",
        "NumMedia": "0",
    }
    headers, body = signed(twilio_account, INBOUND_URL, fields)

    replies = twilio.parse_inbound(url=INBOUND_URL, headers=headers, body=body)

    assert len(replies) == 1
    reply = replies[0]
    assert (reply.provider, reply.from_number, reply.to_number, reply.body, reply.provider_message_id) == (
        "twilio",
        "+14155550100",
        twilio_account.from_number,
        "YES 1234 谢谢",
        "SM" + "a" * 32,
    )
    assert reply.received_at.tzinfo is not None


@pytest.mark.parametrize(
    "tamper",
    ["wrong-signature", "no-signature", "changed-body", "other-url", "other-token"],
)
def test_a_webhook_without_twilios_signature_is_refused(
    twilio: TwilioSmsProvider, twilio_account: TwilioAccount, tamper: str
) -> None:
    fields = {"MessageSid": "SM" + "a" * 32, "From": "+14155550100", "To": "+15005550006", "Body": "STOP"}
    headers, body = signed(twilio_account, INBOUND_URL, fields)
    url = INBOUND_URL
    if tamper == "wrong-signature":
        headers["X-Twilio-Signature"] = "bm90IHRoZSBzaWduYXR1cmU="
    elif tamper == "no-signature":
        del headers["X-Twilio-Signature"]
    elif tamper == "changed-body":
        body = urlencode({**fields, "Body": "START"}).encode()
    elif tamper == "other-url":
        url = INBOUND_URL.replace("s3cret", "guess")
    else:
        other = TwilioAccount(auth_token="someone-elses-token")
        headers, body = signed(other, INBOUND_URL, fields)

    with pytest.raises(InvalidWebhookSignature):
        twilio.parse_inbound(url=url, headers=headers, body=body)
    with pytest.raises(InvalidWebhookSignature):
        twilio.parse_delivery_reports(url=url, headers=headers, body=body)


def test_header_names_are_matched_whatever_their_case(
    twilio: TwilioSmsProvider, twilio_account: TwilioAccount
) -> None:
    fields = {"MessageSid": "SM1", "From": "+14155550100", "To": "+15005550006", "Body": "hi"}
    headers, body = signed(twilio_account, INBOUND_URL, fields)
    lower_case = {key.lower(): value for key, value in headers.items()}

    assert twilio.parse_inbound(url=INBOUND_URL, headers=lower_case, body=body)[0].body == "hi"


@pytest.mark.parametrize(
    ("status", "error_code", "expected"),
    [
        ("delivered", None, (DeliveryStatus.DELIVERED, None)),
        ("undelivered", "30003", (DeliveryStatus.FAILED, "30003")),
        ("failed", "30008", (DeliveryStatus.FAILED, "30008")),
    ],
)
def test_final_statuses_become_reports_with_our_message_id(
    twilio: TwilioSmsProvider,
    twilio_account: TwilioAccount,
    status: str,
    error_code: str | None,
    expected: tuple[DeliveryStatus, str | None],
) -> None:
    url = f"{STATUS_CALLBACK_URL}&kassa_message_id=42"
    fields = {
        "MessageSid": "SM" + "b" * 32,
        "MessageStatus": status,
        "AccountSid": twilio_account.account_sid,
        "To": "+14155550100",
        "From": twilio_account.from_number,
        **({"ErrorCode": error_code} if error_code else {}),
    }
    headers, body = signed(twilio_account, url, fields)

    reports = twilio.parse_delivery_reports(url=url, headers=headers, body=body)

    assert reports == [
        DeliveryReport(
            provider="twilio",
            provider_message_id="SM" + "b" * 32,
            our_message_id=42,
            status=expected[0],
            error=expected[1],
            raw=fields,
        )
    ]


@pytest.mark.parametrize("status", ["queued", "sending", "sent", "accepted"])
def test_interim_statuses_are_not_reports(
    twilio: TwilioSmsProvider, twilio_account: TwilioAccount, status: str
) -> None:
    fields = {"MessageSid": "SM1", "MessageStatus": status}
    headers, body = signed(twilio_account, STATUS_CALLBACK_URL, fields)

    assert twilio.parse_delivery_reports(url=STATUS_CALLBACK_URL, headers=headers, body=body) == []
