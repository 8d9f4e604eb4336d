"""Aliyun SMS (阿里云短信服务, Dysmsapi 2017-05-25) through the official SDK.

Aliyun sends only registered templates: each message needs the template code Aliyun gave our
text (``SMS_…``) and a registered sign name (签名); the variables go as JSON by name. Business
errors come back as HTTP 200 with a ``Code`` other than ``OK``; gateway errors (signature,
throttling) as 4xx, outages as 5xx.

Delivery reports (``SmsReport``) and replies (``SmsUp``) arrive as HTTP pushes of JSON arrays.
Aliyun does not sign them: the webhook URL must carry a secret (the API layer's job).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from alibabacloud_dysmsapi20170525 import models as dysms_models  # type: ignore[import-untyped]
from alibabacloud_dysmsapi20170525.client import Client  # type: ignore[import-untyped]
from alibabacloud_tea_openapi.models import Config  # type: ignore[import-untyped]
from darabonba.exceptions import ResponseException  # type: ignore[import-untyped]
from darabonba.runtime import RuntimeOptions  # type: ignore[import-untyped]
from Tea.exceptions import TeaException  # type: ignore[import-untyped]

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
    WebhookAcknowledgement,
    json_objects,
    optional_int,
    optional_text,
    require_e164,
    required_text,
)

DEFAULT_ENDPOINT = "dysmsapi.aliyuncs.com"

# Frequency limits (per number and per account) and Aliyun's own faults: try again later.
UNAVAILABLE_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",
        "isv.DAY_LIMIT_CONTROL",
        "isv.BUSINESS_LIMIT_HOUR",
        "isv.BUSINESS_LIMIT_DAY",
        "BUSINESS_LIMIT_CONTROL_MINUTE",
        "BUSINESS_LIMIT_CONTROL_PHONE",
        "isp.SYSTEM_ERROR",
        "isp.GATEWAY_ERROR",
        "isp.UNKNOWN",
        "ServiceUnavailable",
        "InternalError",
    }
)
# The number itself is wrong: no gateway will deliver to it.
PERMANENT_CODES = frozenset({"isv.MOBILE_NUMBER_ILLEGAL"})

# Aliyun's push times are Beijing time without a zone; China keeps no daylight saving.
_BEIJING = timezone(timedelta(hours=8))


def aliyun_phone_number(provider: str, e164: str) -> str:
    """Aliyun wants mainland numbers as 11 digits, others as country code + number, no "+"."""
    digits = require_e164(provider, e164)[1:]
    return digits[2:] if digits.startswith("86") else digits


class AliyunSmsProvider(NotificationProvider):
    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        endpoint: str = DEFAULT_ENDPOINT,
        protocol: str = "https",
        timeout_seconds: float = 10.0,
        name: str = "aliyun",
    ) -> None:
        self.name = name
        self.channels = frozenset({Channel.SMS})
        self.sign_name = sign_name
        milliseconds = int(timeout_seconds * 1000)
        # No retry_options: the SDK retries with a blocking sleep; the outbox retries instead.
        self._client = Client(
            Config(
                access_key_id=access_key_id,
                access_key_secret=access_key_secret,
                endpoint=endpoint,
                protocol=protocol,
                connect_timeout=milliseconds,
                read_timeout=milliseconds,
            )
        )

    async def send(self, message: OutgoingMessage) -> SendResult:
        self._require_channel(message)
        phone_number = aliyun_phone_number(self.name, message.to)
        if not message.provider_template_code:
            raise MessageRejected(
                self.name, f"no Aliyun template code for {message.event or 'this message'}", permanent=False
            )
        request = dysms_models.SendSmsRequest(
            phone_numbers=phone_number,
            sign_name=self.sign_name,
            template_code=message.provider_template_code,
            template_param=(
                json.dumps(dict(message.template_params), ensure_ascii=False, separators=(",", ":"))
                if message.template_params
                else None
            ),
            out_id=str(message.message_id),
        )
        try:
            response = await self._client.send_sms_with_options_async(request, RuntimeOptions())
        except ResponseException as error:
            raise self._error_from_response(error) from error
        except (TeaException, OSError) as error:
            # Connection refused, timeout, an answer that is not JSON: the outcome is unknown.
            inner = getattr(error, "inner_exception", None) or error
            raise ProviderUnavailable(self.name, f"{type(inner).__name__}: {inner}") from error
        raw: dict[str, Any] = response.body.to_map()
        code = raw.get("Code")
        if code == "OK":
            return SendResult(self.name, raw.get("BizId"), raw)
        raise self._error_from_code(str(code), str(raw.get("Message") or ""))

    def _error_from_response(self, error: Any) -> ProviderUnavailable | MessageRejected:
        status = getattr(error, "status_code", None) or 0
        code = str(getattr(error, "code", None) or "")
        message = str(getattr(error, "message", None) or error)
        # The SDK reads x-acs-retry-after in milliseconds (it sleeps that long when it retries).
        retry_after = getattr(error, "retry_after", None)
        if status >= 500 or status == 429 or code.startswith("Throttling") or retry_after is not None:
            return ProviderUnavailable(
                self.name,
                f"HTTP {status} {code}: {message}",
                retry_after_seconds=retry_after / 1000 if retry_after else None,
            )
        return self._error_from_code(code, message)

    def _error_from_code(self, code: str, message: str) -> ProviderUnavailable | MessageRejected:
        text = f"{code}: {message}"
        if code in UNAVAILABLE_CODES or code.startswith("Throttling"):
            return ProviderUnavailable(self.name, text)
        # Anything else (template, sign name, credit, credentials) is this account's problem.
        return MessageRejected(self.name, text, permanent=code in PERMANENT_CODES, code=code)

    def parse_delivery_reports(
        self, *, url: str, headers: Mapping[str, str], body: bytes
    ) -> list[DeliveryReport]:
        """An ``SmsReport`` push: ``[{phone_number, send_time, report_time, success, err_code,
        err_msg, sms_size, biz_id, out_id}]``; ``out_id`` is our message id."""
        reports = []
        for item in json_objects(self.name, body):
            success = item.get("success")
            if isinstance(success, str):
                success = {"true": True, "false": False}.get(success.strip().lower())
            if not isinstance(success, bool):
                raise InvalidWebhookPayload(self.name, "'success' must be true or false")
            error = None
            if not success:
                error = ": ".join(
                    part for part in (optional_text(item, "err_code"), optional_text(item, "err_msg")) if part
                )
            reports.append(
                DeliveryReport(
                    provider=self.name,
                    provider_message_id=optional_text(item, "biz_id"),
                    our_message_id=optional_int(item.get("out_id")),
                    status=DeliveryStatus.DELIVERED if success else DeliveryStatus.FAILED,
                    error=error or None,
                    raw=item,
                )
            )
        return reports

    def parse_inbound(self, *, url: str, headers: Mapping[str, str], body: bytes) -> list[InboundSms]:
        """An ``SmsUp`` push: ``[{phone_number, send_time, content, sign_name, dest_code,
        sequence_id}]``; the number is as Aliyun gives it (11 digits for the mainland)."""
        return [
            InboundSms(
                provider=self.name,
                from_number=required_text(self.name, item, "phone_number"),
                to_number=None,
                body=required_text(self.name, item, "content"),
                received_at=self._beijing_time(required_text(self.name, item, "send_time")),
                provider_message_id=optional_text(item, "sequence_id"),
                raw=item,
            )
            for item in json_objects(self.name, body)
        ]

    def webhook_acknowledgement(self) -> WebhookAcknowledgement:
        body = json.dumps({"code": 0, "msg": "接收成功"}, ensure_ascii=False).encode()
        return WebhookAcknowledgement(200, "application/json; charset=utf-8", body)

    def _beijing_time(self, text: str) -> datetime:
        try:
            local = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=_BEIJING)
        except ValueError as error:
            raise InvalidWebhookPayload(self.name, f"unreadable time {text!r}") from error
        return local.astimezone(UTC)
