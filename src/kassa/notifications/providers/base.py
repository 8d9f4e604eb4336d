"""The one interface every SMS and e-mail provider implements, and the values it speaks.

A provider hands one message over (``send``) and, where it calls us back, turns its webhook
requests into replies (``parse_inbound``) and delivery reports (``parse_delivery_reports``).

How to read the errors of ``send``:

* :class:`ProviderUnavailable`: network error, timeout, 5xx, throttling. Whether the message
  went out is unknown or it could not go out now; retry later or fail over to the next
  provider.
* :class:`MessageRejected` with ``permanent=True``: the message can never be delivered by
  anyone (an invalid number, a recipient who opted out); give up.
* :class:`MessageRejected` with ``permanent=False``: this provider cannot send it (no template
  registered here, sign name missing, out of credit, wrong credentials); try another one.

``OutgoingMessage.message_id`` is our idempotency key: providers that take a client reference
get it (Aliyun ``OutId``, Tencent ``SessionContext``, SMTP ``Message-ID``), so a report can be
matched to our message even before we learnt the provider's own id.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message to hand to a provider.

    ``body`` is the fully rendered text (used by the log, Twilio and SMTP); template-based
    providers send ``provider_template_code`` instead, with the variables: Aliyun
    ``template_params`` by name as JSON, Tencent ``numbered_params`` by position ({1} is the
    first), in the order the organization's template states.

    ``delivery_webhook_url`` is where a provider told per message (Twilio) reports delivery:
    the organization's own URL, when Kassa knows its public address.
    """

    message_id: int
    channel: Channel
    to: str  # E.164 ("+8613800138000") for SMS, an e-mail address for e-mail
    body: str
    subject: str | None = None  # e-mail only
    event: str = ""  # template event name, e.g. "return_notice"
    template_params: Mapping[str, str] = field(default_factory=dict)
    numbered_params: tuple[str, ...] = ()
    provider_template_code: str | None = None
    delivery_webhook_url: str | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    provider: str
    provider_message_id: str | None
    raw: dict[str, Any] = field(default_factory=dict)


class DeliveryStatus(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A final outcome the provider reported for one message.

    ``our_message_id`` is set when the provider echoes our reference back (Aliyun ``out_id``);
    otherwise match on ``provider_message_id``.
    """

    provider: str
    provider_message_id: str | None
    our_message_id: int | None
    status: DeliveryStatus
    error: str | None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InboundSms:
    """A text someone sent us. ``from_number`` is as the provider gives it (maybe national
    form, maybe without "+"), with the country code put in front where the provider gives
    that separately."""

    provider: str
    from_number: str
    to_number: str | None
    body: str
    received_at: datetime  # UTC, aware
    provider_message_id: str | None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WebhookAcknowledgement:
    """What to answer a provider's webhook request with once it was parsed, so it stops
    re-sending it."""

    status: int
    content_type: str
    body: bytes


class NotificationProviderError(Exception):
    """Something went wrong with a provider; ``str()`` reads "provider: message"."""

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.message = message


class ProviderUnavailable(NotificationProviderError):
    """Network error, timeout, 5xx or throttling: the outcome is unknown or it could not go
    out now. The caller retries later (not before ``retry_after_seconds`` when given) or
    fails over to another provider."""

    def __init__(self, provider: str, message: str, *, retry_after_seconds: float | None = None) -> None:
        super().__init__(provider, message)
        self.retry_after_seconds = retry_after_seconds


class MessageRejected(NotificationProviderError):
    """The provider refused this message.

    ``permanent=True``: it will never succeed anywhere (invalid number, recipient opted out).
    ``permanent=False``: this provider cannot send it (template not registered, sign name
    missing, account out of credit or misconfigured); another provider may.
    ``code`` is the provider's own error code, for an operator to look up.
    """

    def __init__(self, provider: str, message: str, *, permanent: bool, code: str | None = None) -> None:
        super().__init__(provider, message)
        self.permanent = permanent
        self.code = code


class InvalidWebhookSignature(NotificationProviderError):
    """A webhook request did not carry the provider's valid signature: treat it as forged."""


class InvalidWebhookPayload(NotificationProviderError, ValueError):
    """A webhook request's body is not what the provider sends."""


class WebhookNotSupported(NotificationProviderError, NotImplementedError):
    """This provider sends no such webhook."""


class NotificationProvider(ABC):
    """An SMS or e-mail gateway (Aliyun, Tencent Cloud, Twilio, SMTP, or the log)."""

    name: str
    channels: frozenset[Channel]

    @abstractmethod
    async def send(self, message: OutgoingMessage) -> SendResult:
        """Hand the message over. Raises :class:`ProviderUnavailable` or
        :class:`MessageRejected`; never returns a failed result."""

    def parse_inbound(self, *, url: str, headers: Mapping[str, str], body: bytes) -> list[InboundSms]:
        """The replies in one webhook request (``url`` as the provider called it, with its
        query). Raises :class:`InvalidWebhookSignature` where the provider signs and the
        signature is wrong, :class:`InvalidWebhookPayload` for a body it cannot read."""
        raise WebhookNotSupported(self.name, "sends no inbound messages")

    def parse_delivery_reports(
        self, *, url: str, headers: Mapping[str, str], body: bytes
    ) -> list[DeliveryReport]:
        """The final delivery reports in one webhook request; interim statuses (queued,
        sent) are left out. Raises like :meth:`parse_inbound`."""
        raise WebhookNotSupported(self.name, "sends no delivery reports")

    def webhook_acknowledgement(self) -> WebhookAcknowledgement:
        """The answer that tells the provider its webhook request was taken."""
        return WebhookAcknowledgement(200, "text/plain; charset=utf-8", b"OK")

    def _require_channel(self, message: OutgoingMessage) -> None:
        if message.channel not in self.channels:
            raise MessageRejected(self.name, f"cannot send {message.channel} messages", permanent=False)


# --- helpers for the adapters -------------------------------------------------------------

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def require_e164(provider: str, number: str) -> str:
    """``number`` if it is E.164; a malformed number never succeeds anywhere."""
    if not _E164.fullmatch(number):
        raise MessageRejected(provider, f"{number!r} is not an E.164 phone number", permanent=True)
    return number


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value whatever case the web framework gave its name."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def load_json(provider: str, body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidWebhookPayload(provider, f"body is not JSON: {error}") from error


def json_objects(provider: str, body: bytes) -> list[dict[str, Any]]:
    """A JSON body of one object or an array of them, as a list."""
    data = load_json(provider, body)
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(item, dict) for item in items):
        raise InvalidWebhookPayload(provider, "expected a JSON object or an array of objects")
    return items


def required_text(provider: str, item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if value is None or isinstance(value, dict | list):
        raise InvalidWebhookPayload(provider, f"{key!r} is missing")
    return str(value)


def optional_text(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    return None if value is None or value == "" else str(value)


def optional_int(value: object) -> int | None:
    """Our message id echoed back as text, when it is one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def utc_now() -> datetime:
    return datetime.now(UTC)
