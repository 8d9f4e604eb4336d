"""The offline default provider: logs, remembers, and simulates outages and webhooks."""

from __future__ import annotations

import json
import logging

import pytest

from kassa.notifications.providers.base import (
    Channel,
    DeliveryReport,
    DeliveryStatus,
    InvalidWebhookPayload,
    MessageRejected,
    OutgoingMessage,
    ProviderUnavailable,
)
from kassa.notifications.providers.log import LogProvider

from .conftest import sms


async def test_it_logs_and_keeps_the_message(caplog: pytest.LogCaptureFixture) -> None:
    provider = LogProvider()
    message = sms(message_id=7)

    with caplog.at_level(logging.INFO, logger="kassa.notifications.providers.log"):
        result = await provider.send(message)

    assert result.provider == "log"
    assert result.provider_message_id == "log-7"
    assert result.raw["segments"] == 1
    assert provider.sent == [message]
    assert "+8613800138000" in caplog.text
    assert message.body in caplog.text


async def test_it_sends_e_mail_too() -> None:
    provider = LogProvider()
    message = OutgoingMessage(
        message_id=8, channel=Channel.EMAIL, to="a@example.com", body="hi", subject="Hi"
    )

    result = await provider.send(message)

    assert result.provider_message_id == "log-8"
    assert provider.sent == [message]


async def test_it_keeps_only_the_last_messages() -> None:
    provider = LogProvider(keep_last=3)

    for message_id in range(1, 6):
        await provider.send(sms(message_id=message_id))

    assert [message.message_id for message in provider.sent] == [3, 4, 5]


async def test_it_can_simulate_an_outage_and_a_refusal() -> None:
    provider = LogProvider(fail_with="unavailable")
    with pytest.raises(ProviderUnavailable):
        await provider.send(sms())

    provider.fail_with = "rejected"
    with pytest.raises(MessageRejected) as caught:
        await provider.send(sms())
    assert caught.value.permanent is False

    provider.fail_with = None
    await provider.send(sms())
    assert len(provider.sent) == 1


async def test_an_sms_number_must_be_e164_even_offline() -> None:
    with pytest.raises(MessageRejected) as caught:
        await LogProvider().send(sms(to="138 0013 8000"))

    assert caught.value.permanent is True


def test_a_simulated_reply_is_read() -> None:
    body = json.dumps({"from": "+8613800138000", "body": "好的 1234"}, ensure_ascii=False).encode()

    [reply] = LogProvider().parse_inbound(url="http://localhost/hook", headers={}, body=body)

    assert (reply.provider, reply.from_number, reply.to_number, reply.body) == (
        "log",
        "+8613800138000",
        None,
        "好的 1234",
    )
    assert reply.received_at.tzinfo is not None


def test_a_simulated_delivery_report_is_read() -> None:
    body = b'{"message_id": 42, "status": "failed", "error": "phone switched off"}'

    reports = LogProvider().parse_delivery_reports(url="http://localhost/hook", headers={}, body=body)

    assert reports == [
        DeliveryReport(
            provider="log",
            provider_message_id="log-42",
            our_message_id=42,
            status=DeliveryStatus.FAILED,
            error="phone switched off",
            raw={"message_id": 42, "status": "failed", "error": "phone switched off"},
        )
    ]


@pytest.mark.parametrize(
    "body",
    [b"", b"{}", b'{"message_id": "x", "status": "delivered"}', b'{"message_id": 1, "status": "lost"}'],
)
def test_an_unreadable_simulated_report_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidWebhookPayload):
        LogProvider().parse_delivery_reports(url="http://localhost/hook", headers={}, body=body)


@pytest.mark.parametrize("body", [b"[]x", b'{"body": "no sender"}', b'{"from": "+8613800138000"}'])
def test_an_unreadable_simulated_reply_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidWebhookPayload):
        LogProvider().parse_inbound(url="http://localhost/hook", headers={}, body=body)
