"""E-mail through any SMTP server, with aiosmtplib.

The message carries ``Message-ID: <kassa-{message_id}@{domain}>``, so a mail sent twice (the
outbox delivers at least once) is recognisably the same mail. SMTP reply codes say how to go
on: 4xx is temporary (greylisting, a full queue), 5xx is final.
"""

from __future__ import annotations

import email.utils
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

import aiosmtplib

from kassa.notifications.providers.base import (
    Channel,
    MessageRejected,
    NotificationProvider,
    OutgoingMessage,
    ProviderUnavailable,
    SendResult,
)


def _is_temporary(code: int) -> bool:
    return 400 <= code < 500


class SmtpEmailProvider(NotificationProvider):
    def __init__(
        self,
        *,
        host: str,
        from_address: str,
        port: int | None = None,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        use_tls: bool = False,
        timeout_seconds: float = 30.0,
        message_id_domain: str | None = None,
        name: str = "smtp",
    ) -> None:
        """``port`` defaults to 465 with ``use_tls`` (implicit TLS), else 587 with
        ``starttls``, else 25. ``from_address`` may carry a display name
        ("Kassa Café <no-reply@example.com>"). ``starttls`` requires the upgrade (no
        plain-text fallback); with ``use_tls`` the connection is encrypted from the start."""
        self.name = name
        self.channels = frozenset({Channel.EMAIL})
        self.host = host
        self.port = port or (465 if use_tls else 587 if starttls else 25)
        self.username = username
        self._password = password
        self.starttls = starttls and not use_tls
        self.use_tls = use_tls
        self.from_address = from_address
        self._timeout_seconds = timeout_seconds
        sender = email.utils.parseaddr(from_address)[1]
        self.message_id_domain = message_id_domain or sender.rpartition("@")[2] or "kassa.invalid"

    def build_email(self, message: OutgoingMessage) -> EmailMessage:
        """The e-mail as it goes on the wire: UTF-8 text, headers encoded where needed."""
        try:
            recipient = Address(addr_spec=message.to)
        except (ValueError, IndexError) as error:
            raise MessageRejected(
                self.name, f"{message.to!r} is not an e-mail address", permanent=True
            ) from error
        if not recipient.domain:
            raise MessageRejected(self.name, f"{message.to!r} is not an e-mail address", permanent=True)
        mail = EmailMessage(policy=SMTP_POLICY)
        # A line break in a header would start a new header: fold it to a space instead.
        mail["Subject"] = " ".join((message.subject or "").split())
        mail["From"] = self.from_address
        mail["To"] = recipient
        mail["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = f"<kassa-{message.message_id}@{self.message_id_domain}>"
        mail.set_content(message.body, charset="utf-8")
        return mail

    async def send(self, message: OutgoingMessage) -> SendResult:
        self._require_channel(message)
        mail = self.build_email(message)
        try:
            responses, answer = await aiosmtplib.send(
                mail,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self._password,
                start_tls=self.starttls,
                use_tls=self.use_tls,
                timeout=self._timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refusal.code for refusal in error.recipients]
            text = "; ".join(f"{refusal.code} {refusal.message}" for refusal in error.recipients)
            if any(_is_temporary(code) for code in codes):
                raise ProviderUnavailable(self.name, f"recipient refused for now: {text}") from error
            raise MessageRejected(self.name, f"recipient refused: {text}", permanent=True) from error
        except aiosmtplib.SMTPResponseException as error:
            text = f"{error.code} {error.message}"
            if _is_temporary(error.code):
                raise ProviderUnavailable(self.name, text) from error
            # Sender refused, authentication failed, content refused: this server will not
            # take it; another route may.
            raise MessageRejected(self.name, text, permanent=False, code=str(error.code)) from error
        except aiosmtplib.SMTPNotSupported as error:
            raise MessageRejected(self.name, str(error), permanent=False) from error
        except aiosmtplib.SMTPException as error:
            # aiosmtplib has no error class of its own for a server that offers no STARTTLS.
            if type(error) is aiosmtplib.SMTPException and "STARTTLS" in str(error):
                raise MessageRejected(self.name, str(error), permanent=False) from error
            # Connection lost, timeout: the outcome is unknown.
            raise ProviderUnavailable(self.name, f"{type(error).__name__}: {error}") from error
        except OSError as error:
            raise ProviderUnavailable(self.name, f"{type(error).__name__}: {error}") from error
        raw = {
            "message_id_header": mail["Message-ID"],
            "answer": answer,
            "recipients": {address: str(response) for address, response in responses.items()},
        }
        return SendResult(self.name, mail["Message-ID"], raw)
