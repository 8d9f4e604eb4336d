"""The SMTP adapter against a local aiosmtpd server that records what it receives."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from kassa.notifications.providers.base import (
    Channel,
    MessageRejected,
    OutgoingMessage,
    ProviderUnavailable,
)
from kassa.notifications.providers.smtp import SmtpEmailProvider

from .conftest import TIMEOUT_SECONDS
from .local_server import unused_port

FROM = "Kassa 卡萨咖啡 <no-reply@cafe.example.com>"
USERNAME, PASSWORD = "kassa", "mail-password"


@dataclass
class RecordingHandler:
    """Takes mail like a relay would; ``refuse`` answers chosen recipients or the data."""

    received: list[Envelope] = field(default_factory=list)
    refuse_recipients: dict[str, str] = field(default_factory=dict)  # address -> SMTP answer
    refuse_data_with: str | None = None

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.refuse_data_with:
            return self.refuse_data_with
        self.received.append(envelope)
        return "250 Message accepted for delivery"


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    accepted = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USERNAME.encode(),
        PASSWORD.encode(),
    )
    # handled=False: aiosmtpd then answers 535 itself (with the default it answers nothing).
    return AuthResult(success=accepted, handled=False)


@pytest.fixture
def handler() -> RecordingHandler:
    return RecordingHandler()


@pytest.fixture
def smtp_port(handler: RecordingHandler) -> Iterator[int]:
    port = unused_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticate,
        auth_require_tls=False,  # a local test server has no certificate
    )
    controller.start()
    yield port
    controller.stop()


def provider(port: int, **options: Any) -> SmtpEmailProvider:
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "from_address": FROM,
        "starttls": False,
        "timeout_seconds": TIMEOUT_SECONDS,
        **options,
    }
    return SmtpEmailProvider(**settings)


def mail(
    *, to: str = "wang.xiaoming@example.com", message_id: int = 42, subject: str = "退货受理通知"
) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=message_id,
        channel=Channel.EMAIL,
        to=to,
        subject=subject,
        body="王小明您好：\n\n您的退货已受理，退款 ¥12.50 将在 3 个工作日内原路退回。\n\n卡萨咖啡",
        event="return_notice",
    )


def parsed(envelope: Envelope) -> EmailMessage:
    content = envelope.content
    assert isinstance(content, bytes)
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


async def test_the_mail_arrives_with_its_headers_and_chinese_text(
    smtp_port: int, handler: RecordingHandler
) -> None:
    result = await provider(smtp_port).send(mail(message_id=42))

    assert result.provider == "smtp"
    assert result.provider_message_id == "<kassa-42@cafe.example.com>"
    [envelope] = handler.received
    assert envelope.mail_from == "no-reply@cafe.example.com"
    assert envelope.rcpt_tos == ["wang.xiaoming@example.com"]
    received = parsed(envelope)
    assert received["Subject"] == "退货受理通知"
    assert received["From"] == FROM
    assert received["To"] == "wang.xiaoming@example.com"
    assert received["Message-ID"] == "<kassa-42@cafe.example.com>"
    assert received["Date"]
    assert received.get_content_type() == "text/plain"
    assert received.get_content_charset() == "utf-8"
    # SMTP carries CRLF line ends; the text itself arrives unchanged.
    assert received.get_content().replace("\r\n", "\n") == mail().body + "\n"


async def test_a_line_break_in_the_subject_cannot_add_a_header(
    smtp_port: int, handler: RecordingHandler
) -> None:
    await provider(smtp_port).send(mail(subject="Hello\r\nBcc: victim@example.com"))

    received = parsed(handler.received[0])
    assert received["Subject"] == "Hello Bcc: victim@example.com"
    assert received["Bcc"] is None


async def test_it_logs_in_when_given_a_username(smtp_port: int, handler: RecordingHandler) -> None:
    await provider(smtp_port, username=USERNAME, password=PASSWORD).send(mail())

    assert len(handler.received) == 1


async def test_a_wrong_password_is_this_servers_problem_only(
    smtp_port: int, handler: RecordingHandler
) -> None:
    with pytest.raises(MessageRejected) as caught:
        await provider(smtp_port, username=USERNAME, password="wrong").send(mail())

    assert caught.value.permanent is False
    assert caught.value.code == "535"
    assert handler.received == []


async def test_an_unknown_recipient_is_refused_for_good(smtp_port: int, handler: RecordingHandler) -> None:
    handler.refuse_recipients["nobody@example.com"] = "550 5.1.1 <nobody@example.com>: user unknown"

    with pytest.raises(MessageRejected) as caught:
        await provider(smtp_port).send(mail(to="nobody@example.com"))

    assert caught.value.permanent is True
    assert "user unknown" in str(caught.value)


async def test_a_greylisted_recipient_is_tried_again_later(smtp_port: int, handler: RecordingHandler) -> None:
    handler.refuse_recipients["busy@example.com"] = "450 4.2.0 greylisted, try again later"

    with pytest.raises(ProviderUnavailable):
        await provider(smtp_port).send(mail(to="busy@example.com"))


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("451 4.3.0 queue full, try later", ProviderUnavailable),
        ("554 5.7.1 message refused", MessageRejected),
    ],
)
async def test_a_refused_message_is_temporary_or_not_by_its_code(
    smtp_port: int, handler: RecordingHandler, answer: str, expected: type[Exception]
) -> None:
    handler.refuse_data_with = answer

    with pytest.raises(expected) as caught:
        await provider(smtp_port).send(mail())

    if isinstance(caught.value, MessageRejected):
        assert caught.value.permanent is False


async def test_a_server_that_is_down_is_unavailable() -> None:
    with pytest.raises(ProviderUnavailable):
        await provider(unused_port()).send(mail())


async def test_starttls_is_required_when_asked_for(smtp_port: int, handler: RecordingHandler) -> None:
    # The local server offers no STARTTLS: sending in plain text instead would leak the mail.
    with pytest.raises(MessageRejected) as caught:
        await provider(smtp_port, starttls=True).send(mail())

    assert caught.value.permanent is False
    assert handler.received == []


@pytest.mark.parametrize("address", ["not an address", "wang@", "", "a@b.c\r\nBcc: x@y.z"])
async def test_a_malformed_address_is_refused_for_good(smtp_port: int, address: str) -> None:
    with pytest.raises(MessageRejected) as caught:
        await provider(smtp_port).send(mail(to=address))

    assert caught.value.permanent is True
