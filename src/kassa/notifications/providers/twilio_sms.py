"""Twilio Programmable Messaging through the official ``twilio`` package (its async client).

Twilio sends the rendered text as it is (no templates) from our number or a messaging
service. It has no client reference, so our message id rides in the status callback URL
(``kassa_message_id``) and comes back with each status report. The callback is the
organization's delivery webhook (``OutgoingMessage.delivery_webhook_url``), else
``status_callback_url``.

Webhooks are form-encoded and signed: ``X-Twilio-Signature`` is an HMAC of the full URL
Twilio called and the form fields, keyed with the auth token. The ``url`` given to the
parse methods must be that URL exactly as Twilio saw it (scheme, host, query), not the
address behind a proxy: the webhook builds it from ``KASSA_PUBLIC_URL`` when that is set.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
from twilio.base.exceptions import (  # type: ignore[import-untyped]
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.async_http_client import AsyncTwilioHttpClient  # type: ignore[import-untyped]
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from kassa.notifications.providers.base import (
    Channel,
    DeliveryReport,
    DeliveryStatus,
    InboundSms,
    InvalidWebhookPayload,
    InvalidWebhookSignature,
    MessageRejected,
    NotificationProvider,
    OutgoingMessage,
    ProviderUnavailable,
    SendResult,
    WebhookAcknowledgement,
    header,
    optional_int,
    require_e164,
    utc_now,
)

DEFAULT_BASE_URL = "https://api.twilio.com"
MESSAGE_ID_PARAMETER = "kassa_message_id"

# 21211 invalid "To" number, 21614 not a mobile number, 21610 the recipient replied STOP.
PERMANENT_ERROR_CODES = frozenset({21211, 21614, 21610})
_FINAL_STATUSES = {
    "delivered": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
}
_EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class _TimedAsyncHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Twilio's async HTTP client keeps ``timeout`` but never applies it, and sends basic
    auth through aiohttp's deprecated ``BasicAuth``; this one applies the timeout and sends
    the Authorization header itself."""

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the signature Twilio calls)
        allow_redirects: bool = False,
    ) -> Any:
        if auth is not None:
            credentials = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            headers = {**(headers or {}), "Authorization": f"Basic {credentials}"}
        return await super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout if timeout is not None else self.timeout,
            allow_redirects=allow_redirects,
        )


class _FormFields(dict[str, list[str]]):
    """Form fields with repeats, in the shape ``RequestValidator`` reads (``getall``)."""

    def getall(self, name: str) -> list[str]:
        return self[name]


class TwilioSmsProvider(NotificationProvider):
    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback_url: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout_seconds: float = 10.0,
        name: str = "twilio",
    ) -> None:
        if not from_number and not messaging_service_sid:
            raise ValueError("Twilio needs a from number or a messaging service sid")
        self.name = name
        self.channels = frozenset({Channel.SMS})
        self.account_sid = account_sid
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback_url = status_callback_url
        self.base_url = base_url.rstrip("/")
        self._auth_token = auth_token
        self._timeout_seconds = timeout_seconds

    async def send(self, message: OutgoingMessage) -> SendResult:
        self._require_channel(message)
        arguments: dict[str, Any] = {"to": require_e164(self.name, message.to), "body": message.body}
        if self.from_number:
            arguments["from_"] = self.from_number
        if self.messaging_service_sid:
            arguments["messaging_service_sid"] = self.messaging_service_sid
        # The organization's own delivery URL when Kassa knows its public address; else the
        # one configured for the installation.
        callback = message.delivery_webhook_url or self.status_callback_url
        if callback:
            arguments["status_callback"] = _with_query(
                callback, {MESSAGE_ID_PARAMETER: str(message.message_id)}
            )
        try:
            # One HTTP client per send: its aiohttp session belongs to the running event loop.
            async with _TimedAsyncHttpClient(timeout=self._timeout_seconds) as http_client:
                # An explicit environment, so TWILIO_EDGE/TWILIO_REGION cannot redirect requests.
                client = Client(
                    self.account_sid,
                    self._auth_token,
                    http_client=http_client,
                    environment={"TWILIO_ACCOUNT_SID": self.account_sid},
                )
                client.api.base_url = self.base_url
                created = await client.messages.create_async(**arguments)
        except (TwilioRestException, TwilioServiceException) as error:
            raise self._error(error) from error
        except (aiohttp.ClientError, TwilioException, OSError, ValueError) as error:
            # Connection refused, timeout, an unreadable answer: the outcome is unknown.
            raise ProviderUnavailable(self.name, f"{type(error).__name__}: {error}") from error
        raw = {
            "sid": created.sid,
            "status": created.status,
            "to": created.to,
            "from": created.from_,
            "messaging_service_sid": created.messaging_service_sid,
            "num_segments": created.num_segments,
            "error_code": created.error_code,
            "error_message": created.error_message,
        }
        return SendResult(self.name, created.sid, raw)

    def _error(self, error: Any) -> ProviderUnavailable | MessageRejected:
        status = int(getattr(error, "status", 0) or 0)
        code = getattr(error, "code", None)
        detail = getattr(error, "msg", None) or getattr(error, "detail", None) or error
        text = f"HTTP {status} error {code}: {detail}"
        if status == 429 or status >= 500:
            return ProviderUnavailable(self.name, text)
        return MessageRejected(
            self.name, text, permanent=code in PERMANENT_ERROR_CODES, code=str(code) if code else None
        )

    def parse_inbound(self, *, url: str, headers: Mapping[str, str], body: bytes) -> list[InboundSms]:
        """An incoming message webhook: ``From``, ``To``, ``Body``, ``MessageSid``."""
        form = self._verified_form(url, headers, body)
        sender = form.get("From")
        if not sender:
            raise InvalidWebhookPayload(self.name, "'From' is missing")
        return [
            InboundSms(
                provider=self.name,
                from_number=sender,
                to_number=form.get("To") or None,
                body=form.get("Body", ""),
                received_at=utc_now(),  # Twilio's webhook carries no time of its own
                provider_message_id=form.get("MessageSid") or form.get("SmsSid") or None,
                raw=dict(form),
            )
        ]

    def parse_delivery_reports(
        self, *, url: str, headers: Mapping[str, str], body: bytes
    ) -> list[DeliveryReport]:
        """A status callback: ``MessageSid``, ``MessageStatus``, ``ErrorCode``. Only the final
        statuses (delivered, undelivered, failed) become reports."""
        form = self._verified_form(url, headers, body)
        status = _FINAL_STATUSES.get(form.get("MessageStatus") or form.get("SmsStatus") or "")
        if status is None:
            return []
        error = None
        if status == DeliveryStatus.FAILED:
            parts = (form.get("ErrorCode"), form.get("ErrorMessage"))
            error = ": ".join(part for part in parts if part) or form.get("MessageStatus")
        echoed = parse_qs(urlsplit(url).query).get(MESSAGE_ID_PARAMETER, [None])[0]
        return [
            DeliveryReport(
                provider=self.name,
                provider_message_id=form.get("MessageSid") or form.get("SmsSid") or None,
                our_message_id=optional_int(echoed),
                status=status,
                error=error,
                raw=dict(form),
            )
        ]

    def webhook_acknowledgement(self) -> WebhookAcknowledgement:
        # An empty TwiML answer: take the message, send no automatic reply.
        return WebhookAcknowledgement(200, "text/xml", _EMPTY_TWIML)

    def _verified_form(self, url: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
        signature = header(headers, "X-Twilio-Signature")
        if not signature:
            raise InvalidWebhookSignature(self.name, "X-Twilio-Signature is missing")
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError as error:
            raise InvalidWebhookPayload(self.name, "body is not UTF-8") from error
        fields = _FormFields()
        for key, value in pairs:
            fields.setdefault(key, []).append(value)
        if not RequestValidator(self._auth_token).validate(url, fields, signature):
            raise InvalidWebhookSignature(self.name, "X-Twilio-Signature does not match")
        return {key: values[0] for key, values in fields.items()}


def _with_query(url: str, extra: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *extra.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))
