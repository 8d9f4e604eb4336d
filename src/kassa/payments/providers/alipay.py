"""Alipay (支付宝) face-to-face payment (当面付) through ``python-alipay-sdk``.

* Payment code: ``alipay.trade.pay`` with ``scene=bar_code``.
* QR charge: ``alipay.trade.precreate``; the customer scans ``qr_code``.
* ``alipay.trade.query``, ``alipay.trade.cancel``, ``alipay.trade.refund``.
* Notifications: form-encoded, RSA2-signed over the sorted fields, checked with ``verify``.

Amounts travel as yuan strings such as ``"12.34"``, made from :meth:`Money.to_decimal`; the
SDK signs each request with the app's private key and verifies every answer with Alipay's
public key before we read it. The SDK is synchronous (``urllib``); calls run in a thread.
"""

from __future__ import annotations

import asyncio
import functools
import http.client
import urllib.error
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig

from kassa.core.money import Money
from kassa.payments.providers.base import (
    ChargeNotFound,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    InvalidSignature,
    MalformedNotification,
    PaymentNotification,
    PaymentProvider,
    ProviderError,
    ProviderUnavailable,
    RefundRequest,
    RefundResult,
    RefundStatus,
)

PRODUCTION_GATEWAY_URL = "https://openapi.alipay.com/gateway.do"
SANDBOX_GATEWAY_URL = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
# Alipay reads a request's ``timestamp`` as Beijing time, whatever the caller's zone.
ALIPAY_TIME_ZONE = ZoneInfo("Asia/Shanghai")
MAXIMUM_TRADE_YUAN = Decimal(100_000_000)
# Face-to-face payment settles in yuan; cross-border currencies are another product.
ALIPAY_CURRENCY = "CNY"

SUCCESS_CODE = "10000"
WAITING_FOR_BUYER_CODE = "10003"
BUSINESS_FAILURE_CODE = "40004"
# "Service unavailable": Alipay does not know the outcome yet; retry or query.
UNKNOWN_OUTCOME_CODE = "20000"
UNKNOWN_OUTCOME_SUB_CODES = {"ACQ.SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR"}
TRADE_NOT_FOUND_SUB_CODE = "ACQ.TRADE_NOT_EXIST"
ALREADY_PAID_SUB_CODE = "ACQ.TRADE_HAS_SUCCESS"

_CHARGE_STATUS_BY_TRADE_STATUS = {
    "WAIT_BUYER_PAY": ChargeStatus.PENDING,
    "TRADE_SUCCESS": ChargeStatus.SUCCEEDED,
    "TRADE_FINISHED": ChargeStatus.SUCCEEDED,
    "TRADE_CLOSED": ChargeStatus.CLOSED,
}


class _BeijingTimeAliPay(AliPay):  # type: ignore[misc]  # the SDK has no type hints
    """The SDK stamps requests with the server's local time; Alipay wants Beijing time (and
    refuses requests whose timestamp is too far off), so a server in UTC or abroad would be
    refused or hours off."""

    def build_body(self, method: str, biz_content: Any = None, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = super().build_body(method, biz_content, **kwargs)
        data["timestamp"] = beijing_timestamp()
        return data


def beijing_timestamp(now: datetime | None = None) -> str:
    """``now`` (default: this moment) as Alipay's ``yyyy-MM-dd HH:mm:ss`` in Beijing time."""
    moment = now if now is not None else datetime.now(ALIPAY_TIME_ZONE)
    return moment.astimezone(ALIPAY_TIME_ZONE).strftime("%Y-%m-%d %H:%M:%S")


class AlipayProvider(PaymentProvider):
    """Alipay face-to-face payment with RSA2 keys (public-key mode, not certificate mode).

    ``app_private_key`` signs our requests; ``alipay_public_key`` verifies Alipay's answers
    and notifications. ``gateway_url`` defaults to production; tests point it at a local
    server.
    """

    def __init__(
        self,
        *,
        app_id: str,
        app_private_key: str,
        alipay_public_key: str,
        notify_url: str | None = None,
        gateway_url: str = PRODUCTION_GATEWAY_URL,
        timeout_seconds: float = 15.0,
        name: str = "alipay",
    ) -> None:
        self.name = name
        self._app_id = app_id
        try:
            self._client = _BeijingTimeAliPay(
                appid=app_id,
                app_notify_url=notify_url,
                app_private_key_string=_as_pem(app_private_key, "PRIVATE KEY"),
                alipay_public_key_string=_as_pem(alipay_public_key, "PUBLIC KEY"),
                sign_type="RSA2",
                config=AliPayConfig(timeout=timeout_seconds),
            )
        except (ValueError, IndexError, TypeError, AliPayException) as error:
            raise ProviderError(self.name, f"invalid configuration: {error}") from error
        # The SDK builds every request URL from this attribute; it only offers production and
        # sandbox as constructor choices.
        self._client._gateway = gateway_url

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> AlipayProvider:
        """Build from string settings; keys are the constructor's parameter names."""
        missing = [key for key in ("app_id", "app_private_key", "alipay_public_key") if not config.get(key)]
        if missing:
            raise ProviderError("alipay", f"missing configuration: {', '.join(missing)}")
        return cls(
            app_id=config["app_id"],
            app_private_key=config["app_private_key"],
            alipay_public_key=config["alipay_public_key"],
            notify_url=config.get("notify_url") or None,
            gateway_url=config.get("gateway_url")
            or (SANDBOX_GATEWAY_URL if config.get("is_sandbox") == "true" else PRODUCTION_GATEWAY_URL),
            timeout_seconds=float(config.get("timeout_seconds") or 15.0),
        )

    async def charge_with_payment_code(self, request: ChargeRequest) -> ChargeResult:
        """统一收单交易支付 (``alipay.trade.pay``, ``scene=bar_code``).

        10000 is paid, 10003 waits for the customer to confirm (PENDING), 40004 is declined
        (FAILED, with Alipay's sub code). A repeat of a charge Alipay already took is answered
        by querying it, so a retry never charges twice.
        """
        if not request.payment_code:
            raise ProviderError(self.name, "a payment code is required")
        response = await self._call(
            self._client.api_alipay_trade_pay,
            out_trade_no=request.out_trade_no,
            scene="bar_code",
            auth_code=request.payment_code,
            subject=request.description,
            notify_url=request.notify_url,
            total_amount=self._yuan(request.amount),
        )
        code = response.get("code")
        if code == SUCCESS_CODE:
            return self._charge(
                ChargeStatus.SUCCEEDED, request.out_trade_no, response, request.amount.currency
            )
        if code == WAITING_FOR_BUYER_CODE:
            return self._charge(ChargeStatus.PENDING, request.out_trade_no, response, request.amount.currency)
        if response.get("sub_code") == ALREADY_PAID_SUB_CODE:
            return await self.query(request.out_trade_no, request.amount.currency)
        return ChargeResult(
            ChargeStatus.FAILED, request.out_trade_no, failure_reason=_describe(response), raw=response
        )

    async def create_qr_charge(self, request: ChargeRequest) -> ChargeResult:
        """统一收单线下交易预创建 (``alipay.trade.precreate``): PENDING with ``qr_code``."""
        response = await self._call(
            self._client.api_alipay_trade_precreate,
            subject=request.description,
            out_trade_no=request.out_trade_no,
            total_amount=self._yuan(request.amount),
            notify_url=request.notify_url,
        )
        if response.get("code") == SUCCESS_CODE and response.get("qr_code"):
            return ChargeResult(
                ChargeStatus.PENDING,
                request.out_trade_no,
                qr_code=response["qr_code"],
                amount=request.amount,
                raw=response,
            )
        return ChargeResult(
            ChargeStatus.FAILED, request.out_trade_no, failure_reason=_describe(response), raw=response
        )

    async def query(self, out_trade_no: str, amount_currency: str) -> ChargeResult:
        """统一收单交易查询; an unscanned QR charge is not a trade yet (:class:`ChargeNotFound`)."""
        response = await self._call(self._client.api_alipay_trade_query, out_trade_no=out_trade_no)
        if response.get("code") != SUCCESS_CODE:
            if response.get("sub_code") == TRADE_NOT_FOUND_SUB_CODE:
                raise ChargeNotFound(self.name, _describe(response))
            raise ProviderError(self.name, _describe(response))
        trade_status = response.get("trade_status", "")
        # Unknown statuses count as unsettled: never claim money we cannot confirm.
        status = _CHARGE_STATUS_BY_TRADE_STATUS.get(trade_status, ChargeStatus.PENDING)
        if status is ChargeStatus.CLOSED and response.get("send_pay_date"):
            # Alipay also closes a trade once it is fully refunded; it was paid all the same.
            status = ChargeStatus.SUCCEEDED
        return self._charge(status, out_trade_no, response, amount_currency)

    async def cancel(self, out_trade_no: str) -> None:
        """统一收单交易撤销: closes an unpaid charge, or refunds a paid one in full."""
        response = await self._call(self._client.api_alipay_trade_cancel, out_trade_no=out_trade_no)
        if response.get("code") == SUCCESS_CODE:
            return
        if response.get("sub_code") == TRADE_NOT_FOUND_SUB_CODE:
            raise ChargeNotFound(self.name, _describe(response))
        if response.get("retry_flag") == "Y":
            raise ProviderUnavailable(self.name, f"cancel should be retried: {_describe(response)}")
        raise ProviderError(self.name, _describe(response))

    async def refund(self, request: RefundRequest) -> RefundResult:
        """统一收单交易退款, with ``out_refund_no`` as ``out_request_no`` so partial refunds and
        retries are told apart. A refused refund comes back FAILED with Alipay's sub code."""
        response = await self._call(
            self._client.api_alipay_trade_refund,
            refund_amount=self._yuan(request.refund_amount),
            out_trade_no=request.out_trade_no,
            out_request_no=request.out_refund_no,
            refund_reason=request.reason,
        )
        if response.get("code") == SUCCESS_CODE:
            return RefundResult(
                RefundStatus.SUCCEEDED,
                request.out_refund_no,
                provider_reference=response.get("trade_no"),
                raw=response,
            )
        return RefundResult(
            RefundStatus.FAILED, request.out_refund_no, failure_reason=_describe(response), raw=response
        )

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> PaymentNotification:
        """Verify an asynchronous notification (form fields, RSA2 over all fields except
        ``sign`` and ``sign_type``, sorted) and read it; it must be addressed to our app."""
        # Our requests ask for utf-8, so Alipay notifies in utf-8.
        fields = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        signature = fields.pop("sign", "")
        if not signature:
            raise InvalidSignature(self.name, "notification is not signed")
        try:
            # verify() pops sign_type and rewrites values, so it gets a copy.
            is_verified = self._client.verify(dict(fields), signature)
        except (AliPayException, ValueError, TypeError) as error:
            raise InvalidSignature(self.name, f"notification rejected: {error}") from error
        if not is_verified:
            raise InvalidSignature(self.name, "notification signature does not verify")
        if fields.get("app_id") != self._app_id:
            raise MalformedNotification(self.name, f"notification is for another app: {fields.get('app_id')}")
        out_trade_no = fields.get("out_trade_no")
        if not out_trade_no:
            raise MalformedNotification(self.name, "payment notification names no out_trade_no")
        amount = _money(fields.get("total_amount"), ALIPAY_CURRENCY)
        if amount is None:
            raise MalformedNotification(self.name, "payment notification carries no amount in yuan")
        trade_status = fields.get("trade_status", "")
        if trade_status not in _CHARGE_STATUS_BY_TRADE_STATUS:
            raise MalformedNotification(self.name, f"unknown trade_status {trade_status!r}")
        return PaymentNotification(
            out_trade_no=out_trade_no,
            provider_reference=fields.get("trade_no") or None,
            status=_CHARGE_STATUS_BY_TRADE_STATUS[trade_status],
            amount=amount,
            raw=fields,
        )

    def acknowledgement(self) -> tuple[str, bytes]:
        """Alipay stops re-sending a notification (for up to a day) only when the answer is
        the plain text ``success``."""
        return "text/plain; charset=utf-8", b"success"

    async def _call(self, operation: Callable[..., Any], /, **arguments: Any) -> dict[str, Any]:
        """Run one SDK call in a thread; answer only with verified responses we can act on."""
        try:
            response = await asyncio.to_thread(functools.partial(operation, **arguments))
        except urllib.error.HTTPError as error:
            if error.code >= 500:
                raise ProviderUnavailable(self.name, f"HTTP {error.code}") from error
            raise ProviderError(self.name, f"HTTP {error.code}") from error
        except (OSError, http.client.HTTPException) as error:
            # URLError, refused connections and timeouts are all OSErrors.
            raise ProviderUnavailable(self.name, f"network error: {error}") from error
        except AliPayValidationError as error:
            raise InvalidSignature(self.name, "response signature does not verify") from error
        except AliPayException as error:
            # The SDK raises this for unsigned answers: Alipay rejected the request itself.
            raise ProviderError(self.name, str(error)) from error
        except ValueError as error:
            raise ProviderError(self.name, f"unreadable response: {error}") from error
        if not isinstance(response, dict):
            raise ProviderError(self.name, f"unexpected response: {response!r}")
        code = response.get("code")
        if code == UNKNOWN_OUTCOME_CODE or response.get("sub_code") in UNKNOWN_OUTCOME_SUB_CODES:
            raise ProviderUnavailable(self.name, _describe(response))
        if code not in {SUCCESS_CODE, WAITING_FOR_BUYER_CODE, BUSINESS_FAILURE_CODE}:
            # 40001/40002/40006, 20001: our request or app configuration is wrong.
            raise ProviderError(self.name, _describe(response))
        return response

    def _yuan(self, amount: Money) -> str:
        if amount.currency != ALIPAY_CURRENCY:
            raise ProviderError(self.name, f"Alipay face-to-face payment takes CNY, not {amount.currency}")
        return str(amount.to_decimal())

    def _charge(
        self, status: ChargeStatus, out_trade_no: str, response: dict[str, Any], currency: str
    ) -> ChargeResult:
        return ChargeResult(
            status=status,
            out_trade_no=response.get("out_trade_no") or out_trade_no,
            provider_reference=response.get("trade_no") or None,
            amount=_money(response.get("total_amount"), currency),
            failure_reason=response.get("trade_status") if status is ChargeStatus.CLOSED else None,
            raw=response,
        )


def _as_pem(key: str, label: str) -> str:
    """Alipay's console shows keys as bare base64; the SDK's key loader needs PEM armour.
    (The loader reads PKCS#1 and PKCS#8 alike inside it, whatever the label says.)"""
    key = key.strip()
    if key.startswith("-----BEGIN"):
        return key
    body = "".join(key.split())
    lines = [body[start : start + 64] for start in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])


def _money(yuan: str | None, currency: str) -> Money | None:
    """Alipay's yuan text (``"12.34"``) as money; None for anything else (absent, not a
    number, negative, more than two decimals, beyond Alipay's 100 million yuan per trade)."""
    if not yuan:
        return None
    try:
        value = Decimal(yuan)
        if not value.is_finite() or not 0 <= value <= MAXIMUM_TRADE_YUAN:
            return None
        if value != value.quantize(Decimal("0.01")):
            return None
    except InvalidOperation:
        return None
    return Money.from_decimal(value, currency)


def _describe(response: dict[str, Any]) -> str:
    code = response.get("sub_code") or response.get("code") or "?"
    message = response.get("sub_msg") or response.get("msg") or ""
    return f"{code}: {message}"
