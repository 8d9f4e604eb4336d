"""The default provider: writes messages to the log instead of sending them.

It keeps the last messages in ``sent`` (for tests and the demo), and reads the demo's
"simulate a reply" and "simulate a delivery report" webhooks as plain JSON. ``fail_with``
makes it fail like a real gateway, to rehearse an outage or failover.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Literal

from kassa.notifications.providers.base import (
    Channel,
    DeliveryReport,
    DeliveryStatus,
    InboundSms,
    InvalidWebhookPayload,
    MessageRejected,
    NotificationProvider,
    OutgoingMessage,
    ProviderUnavailable,
    SendResult,
    json_objects,
    optional_int,
    optional_text,
    require_e164,
    required_text,
    utc_now,
)
from kassa.notifications.providers.segments import count_segments

logger = logging.getLogger(__name__)

FailureMode = Literal[None, "unavailable", "rejected"]


class LogProvider(NotificationProvider):
    """Sends nothing: logs each message and keeps the last ``keep_last`` in ``sent``.

    Give it another ``name`` to stand for a second gateway in a failover demo.
    """

    def __init__(self, name: str = "log", *, fail_with: FailureMode = None, keep_last: int = 1000) -> None:
        self.name = name
        self.channels = frozenset({Channel.SMS, Channel.EMAIL})
        self.fail_with: FailureMode = fail_with
        self.keep_last = keep_last
        self.sent: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> SendResult:
        self._require_channel(message)
        if message.channel == Channel.SMS:
            require_e164(self.name, message.to)
        if self.fail_with == "unavailable":
            raise ProviderUnavailable(self.name, "simulated outage")
        if self.fail_with == "rejected":
            raise MessageRejected(self.name, "simulated refusal", permanent=False, code="simulated")
        self.sent.append(message)
        del self.sent[: -self.keep_last]
        raw: dict[str, object] = {"to": message.to}
        if message.channel == Channel.SMS:
            raw["segments"] = count_segments(message.body).segments
        logger.info(
            "%s %s to %s (message %s): %s%s",
            message.channel,
            message.event or "message",
            message.to,
            message.message_id,
            f"[{message.subject}] " if message.subject else "",
            message.body,
        )
        return SendResult(self.name, f"log-{message.message_id}", raw)

    def parse_inbound(self, *, url: str, headers: Mapping[str, str], body: bytes) -> list[InboundSms]:
        """``{"from": "+86…", "body": "…", "to": optional}``, one object or an array."""
        return [
            InboundSms(
                provider=self.name,
                from_number=required_text(self.name, item, "from"),
                to_number=optional_text(item, "to"),
                body=required_text(self.name, item, "body"),
                received_at=utc_now(),
                provider_message_id=None,
                raw=item,
            )
            for item in json_objects(self.name, body)
        ]

    def parse_delivery_reports(
        self, *, url: str, headers: Mapping[str, str], body: bytes
    ) -> list[DeliveryReport]:
        """``{"message_id": <our id>, "status": "delivered"|"failed", "error": optional}``."""
        reports = []
        for item in json_objects(self.name, body):
            message_id = optional_int(item.get("message_id"))
            if message_id is None:
                raise InvalidWebhookPayload(self.name, "'message_id' must be our message id")
            try:
                status = DeliveryStatus(str(item.get("status")))
            except ValueError as error:
                raise InvalidWebhookPayload(self.name, "'status' must be 'delivered' or 'failed'") from error
            reports.append(
                DeliveryReport(
                    provider=self.name,
                    provider_message_id=f"log-{message_id}",
                    our_message_id=message_id,
                    status=status,
                    error=optional_text(item, "error"),
                    raw=item,
                )
            )
        return reports
