"""Tencent Cloud SMS (腾讯云短信, API 2021-01-11) through the official SDK's async client.

Like Aliyun, Tencent sends only registered templates: a template id, a registered sign name
(签名) and the SDK app id; the variables go by position (``OutgoingMessage.numbered_params``:
each Kassa template states which variable each number {1}, {2}, ... receives). Each number
gets its own status in ``SendStatusSet`` (``Code`` "Ok" or an error code); a whole request
can also fail with an ``Error`` (credentials, throttling, Tencent's internal errors).

Status reports and replies arrive as JSON callbacks, unsigned: the webhook URL must carry a
secret. The status report does not echo ``SessionContext``; match it by ``sid`` (SerialNo).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from tencentcloud.common.credential import Credential  # type: ignore[import-untyped]
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (  # type: ignore[import-untyped]
    TencentCloudSDKException,
)
from tencentcloud.common.profile.client_profile import ClientProfile  # type: ignore[import-untyped]
from tencentcloud.common.profile.http_profile import HttpProfile  # type: ignore[import-untyped]
from tencentcloud.sms.v20210111 import models as sms_models  # type: ignore[import-untyped]
from tencentcloud.sms.v20210111.sms_client_async import SmsClient  # type: ignore[import-untyped]

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
    optional_text,
    require_e164,
    required_text,
)

DEFAULT_ENDPOINT = "sms.tencentcloudapi.com"
DEFAULT_REGION = "ap-guangzhou"

# The number is wrong, or its owner unsubscribed (replied TD): nobody may send to it.
PERMANENT_CODES = frozenset(
    {
        "InvalidParameterValue.IncorrectPhoneNumber",
        "FailedOperation.PhoneNumberParseFail",
        "FailedOperation.PhoneNumberInBlacklist",
        "MissingParameter.EmptyPhoneNumberSet",
    }
)
# LimitExceeded.* are frequency limits, except this one: a region this app may not send to.
_NOT_A_LIMIT = frozenset({"LimitExceeded.AppCountryOrRegionInBlacklist"})
_WAIT_SECONDS = {
    "LimitExceeded.PhoneNumberThirtySecondLimit": 30.0,
    "LimitExceeded.PhoneNumberOneHourLimit": 3600.0,
}


class TencentSmsProvider(NotificationProvider):
    def __init__(
        self,
        *,
        secret_id: str,
        secret_key: str,
        sms_app_id: str,
        sign_name: str,
        region: str = DEFAULT_REGION,
        endpoint: str = DEFAULT_ENDPOINT,
        scheme: str = "https",
        timeout_seconds: float = 10.0,
        name: str = "tencent",
    ) -> None:
        self.name = name
        self.channels = frozenset({Channel.SMS})
        self.sms_app_id = sms_app_id
        self.sign_name = sign_name
        self._credential = Credential(secret_id, secret_key)
        self._region = region
        self._endpoint = endpoint
        self._scheme = scheme
        self._timeout_seconds = timeout_seconds

    def _client(self) -> Any:
        # One client per send: its httpx client belongs to the running event loop.
        # ClientProfile has no retryer by default: the outbox retries instead.
        http_profile = HttpProfile(
            protocol=self._scheme, endpoint=self._endpoint, reqMethod="POST", reqTimeout=self._timeout_seconds
        )
        return SmsClient(self._credential, self._region, ClientProfile(httpProfile=http_profile))

    async def send(self, message: OutgoingMessage) -> SendResult:
        self._require_channel(message)
        require_e164(self.name, message.to)
        if not message.provider_template_code:
            raise MessageRejected(
                self.name, f"no Tencent template id for {message.event or 'this message'}", permanent=False
            )
        request = sms_models.SendSmsRequest()
        request.PhoneNumberSet = [message.to]
        request.SmsSdkAppId = self.sms_app_id
        request.SignName = self.sign_name
        request.TemplateId = message.provider_template_code
        # {1}, {2}, ... of the registered template, in the order the Kassa template states.
        request.TemplateParamSet = list(message.numbered_params)
        request.SessionContext = str(message.message_id)
        try:
            async with self._client() as client:
                response = await client.SendSms(request)
        except TencentCloudSDKException as error:
            raise self._error(str(error.code or ""), str(error.message or "")) from error
        except (httpx.TransportError, OSError) as error:
            raise ProviderUnavailable(self.name, f"{type(error).__name__}: {error}") from error
        raw: dict[str, Any] = json.loads(response.to_json_string())
        statuses = raw.get("SendStatusSet") or []
        if not statuses:
            raise ProviderUnavailable(self.name, "the answer carried no send status")
        status = statuses[0]
        code = str(status.get("Code") or "")
        if code == "Ok":
            return SendResult(self.name, status.get("SerialNo"), raw)
        raise self._error(code, str(status.get("Message") or ""))

    def _error(self, code: str, message: str) -> ProviderUnavailable | MessageRejected:
        text = f"{code}: {message}"
        if (code.startswith("LimitExceeded") and code not in _NOT_A_LIMIT) or code in {
            "RequestLimitExceeded",
            "ServerNetworkError",  # the SDK's name for a non-200 answer
            "ClientNetworkError",
        }:
            return ProviderUnavailable(self.name, text, retry_after_seconds=_WAIT_SECONDS.get(code))
        if code.startswith("InternalError"):
            return ProviderUnavailable(self.name, text)
        # Templates, sign names, app ids, credit, credentials: this account cannot send it.
        return MessageRejected(self.name, text, permanent=code in PERMANENT_CODES, code=code)

    def parse_delivery_reports(
        self, *, url: str, headers: Mapping[str, str], body: bytes
    ) -> list[DeliveryReport]:
        """A status callback: ``[{user_receive_time, nationcode, mobile, report_status
        "SUCCESS"|"FAIL", errmsg, description, sid}]``; ``sid`` is the SerialNo."""
        reports = []
        for item in json_objects(self.name, body):
            report_status = required_text(self.name, item, "report_status").upper()
            if report_status not in {"SUCCESS", "FAIL"}:
                raise InvalidWebhookPayload(self.name, f"unknown report_status {report_status!r}")
            delivered = report_status == "SUCCESS"
            error = None
            if not delivered:
                parts = (optional_text(item, "errmsg"), optional_text(item, "description"))
                error = ": ".join(part for part in parts if part) or "FAIL"
            reports.append(
                DeliveryReport(
                    provider=self.name,
                    provider_message_id=optional_text(item, "sid"),
                    our_message_id=None,
                    status=DeliveryStatus.DELIVERED if delivered else DeliveryStatus.FAILED,
                    error=error,
                    raw=item,
                )
            )
        return reports

    def parse_inbound(self, *, url: str, headers: Mapping[str, str], body: bytes) -> list[InboundSms]:
        """A reply callback: ``{extend, mobile, nationcode, sign, text, time}`` (or an array);
        the sender becomes "+" nationcode mobile."""
        replies = []
        for item in json_objects(self.name, body):
            nationcode = required_text(self.name, item, "nationcode").lstrip("+")
            try:
                received_at = datetime.fromtimestamp(int(item["time"]), UTC)
            except (KeyError, TypeError, ValueError, OverflowError) as error:
                raise InvalidWebhookPayload(self.name, "'time' must be Unix seconds") from error
            replies.append(
                InboundSms(
                    provider=self.name,
                    from_number=f"+{nationcode}{required_text(self.name, item, 'mobile')}",
                    to_number=None,
                    body=required_text(self.name, item, "text"),
                    received_at=received_at,
                    provider_message_id=None,
                    raw=item,
                )
            )
        return replies

    def webhook_acknowledgement(self) -> WebhookAcknowledgement:
        return WebhookAcknowledgement(200, "application/json", b'{"result": 0, "errmsg": "OK"}')
