"""WeChat Pay (微信支付) API v3 through the ``wechatpayv3`` SDK.

* QR charge: Native pay (``/v3/pay/transactions/native``), the customer scans ``code_url``.
* Payment code (付款码): API v3 has it since 2024 (``POST /v3/pay/transactions/codepay``,
  undo with ``.../out-trade-no/{out_trade_no}/reverse``); wechatpayv3 2.0.4 sends it through
  ``pay(pay_type=WeChatPayType.CODEPAY)`` and ``codepay_reverse``, signed by the SDK.
* Query, close, refund (``/v3/refund/domestic/refunds``) and notifications (signature
  verified, resource decrypted with AES-256-GCM) also go through the SDK.

Only the "WeChat Pay public key" mode (微信支付公钥, ``public_key`` + ``public_key_id``) is
supported: it verifies responses without downloading platform certificates, which WeChat
recommends for new merchants and for the move away from certificates. In certificate mode
the SDK would download certificates from the hard-wired production gateway while it is
being constructed, before a configured gateway could take effect.

The SDK is synchronous (``requests``); every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from wechatpayv3 import WeChatPay, WeChatPayType

from kassa.core.money import Money
from kassa.payments.providers.base import (
    ChargeNotFound,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    InvalidSignature,
    PaymentNotification,
    PaymentProvider,
    ProviderError,
    ProviderUnavailable,
    RefundRequest,
    RefundResult,
    RefundStatus,
)

PRODUCTION_GATEWAY_URL = "https://api.mch.weixin.qq.com"
# Merchants in mainland China settle in yuan only; WeChat states the currency in its answers.
DOMESTIC_CURRENCY = "CNY"
# WeChat asks merchants to reject notifications whose timestamp is far off, against replays.
NOTIFICATION_MAX_AGE_SECONDS = 300
# The SDK raises bare Exceptions; this is its message for a response signature that fails.
_SDK_BAD_RESPONSE_SIGNATURE = "failed to verify the signature"

_CHARGE_STATUS_BY_TRADE_STATE = {
    "SUCCESS": ChargeStatus.SUCCEEDED,
    # Paid, then (partly) refunded: the charge itself happened; refunds are tracked apart.
    "REFUND": ChargeStatus.SUCCEEDED,
    "NOTPAY": ChargeStatus.PENDING,
    "USERPAYING": ChargeStatus.PENDING,
    "ACCEPTED": ChargeStatus.PENDING,
    "CLOSED": ChargeStatus.CLOSED,
    "REVOKED": ChargeStatus.CLOSED,
    "PAYERROR": ChargeStatus.FAILED,
}
_REFUND_STATUS_BY_STATE = {
    "SUCCESS": RefundStatus.SUCCEEDED,
    "PROCESSING": RefundStatus.PENDING,
    "CLOSED": RefundStatus.FAILED,
    "ABNORMAL": RefundStatus.FAILED,
}
_PAYMENT_CODE_TRADE_TYPES = {"MICROPAY", "FACEPAY"}


class WeChatPayProvider(PaymentProvider):
    """WeChat Pay API v3 for a directly connected merchant (直连商户), public-key mode.

    ``gateway_url`` defaults to production; tests point it at a local server.
    ``notify_url`` receives payment notifications unless a request brings its own;
    ``refund_notify_url`` (optional) receives refund notifications, kept apart so they never
    arrive at the payment notification endpoint. ``store_id`` is sent as the store's code
    (``scene_info.store_info.out_id``) with payment-code charges.
    """

    def __init__(
        self,
        *,
        merchant_id: str,
        app_id: str,
        merchant_private_key: str,
        merchant_certificate_serial: str,
        api_v3_key: str,
        platform_public_key: str,
        platform_public_key_id: str,
        notify_url: str | None = None,
        refund_notify_url: str | None = None,
        store_id: str | None = None,
        gateway_url: str = PRODUCTION_GATEWAY_URL,
        timeout_seconds: float = 15.0,
        name: str = "wechat_pay",
    ) -> None:
        self.name = name
        self._notify_url = notify_url
        self._refund_notify_url = refund_notify_url
        self._store_id = store_id
        self._platform_public_key_id = platform_public_key_id
        try:
            # No notify_url here: the SDK would also send it with refunds.
            self._client = WeChatPay(
                wechatpay_type=WeChatPayType.NATIVE,
                mchid=merchant_id,
                private_key=merchant_private_key,
                cert_serial_no=merchant_certificate_serial,
                appid=app_id,
                apiv3_key=api_v3_key,
                timeout=timeout_seconds,
                public_key=platform_public_key,
                public_key_id=platform_public_key_id,
            )
        except Exception as error:
            raise ProviderError(self.name, f"invalid configuration: {error}") from error
        # The SDK builds every URL from this attribute and offers no parameter for it.
        self._client._core._gate_way = gateway_url.rstrip("/")

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> WeChatPayProvider:
        """Build from string settings; keys are the constructor's parameter names."""
        required = (
            "merchant_id",
            "app_id",
            "merchant_private_key",
            "merchant_certificate_serial",
            "api_v3_key",
            "platform_public_key",
            "platform_public_key_id",
        )
        missing = [key for key in required if not config.get(key)]
        if missing:
            raise ProviderError("wechat_pay", f"missing configuration: {', '.join(missing)}")
        return cls(
            merchant_id=config["merchant_id"],
            app_id=config["app_id"],
            merchant_private_key=config["merchant_private_key"],
            merchant_certificate_serial=config["merchant_certificate_serial"],
            api_v3_key=config["api_v3_key"],
            platform_public_key=config["platform_public_key"],
            platform_public_key_id=config["platform_public_key_id"],
            notify_url=config.get("notify_url") or None,
            refund_notify_url=config.get("refund_notify_url") or None,
            store_id=config.get("store_id") or None,
            gateway_url=config.get("gateway_url") or PRODUCTION_GATEWAY_URL,
            timeout_seconds=float(config.get("timeout_seconds") or 15.0),
        )

    async def charge_with_payment_code(self, request: ChargeRequest) -> ChargeResult:
        """付款码支付 (``/v3/pay/transactions/codepay``).

        200 carries the transaction (``trade_state`` SUCCESS, or USERPAYING while the customer
        enters the password); 202 USERPAYING also means PENDING; a declined code is a 4xx with
        WeChat's error code, which becomes FAILED. A repeated ``out_trade_no`` that WeChat
        refuses as used is answered by querying that charge, so a retry never charges twice.
        """
        if not request.payment_code:
            raise ProviderError(self.name, "a payment code is required")
        scene_info = {"store_info": {"out_id": self._store_id}} if self._store_id else None
        status_code, payload = await self._call(
            self._client.pay,
            description=request.description,
            out_trade_no=request.out_trade_no,
            amount=_amount_field(request.amount),
            payer={"auth_code": request.payment_code},
            scene_info=scene_info,
            pay_type=WeChatPayType.CODEPAY,
        )
        if status_code == 200:
            return _charge_from_transaction(payload, request.out_trade_no, request.amount.currency)
        if status_code == 202:
            return ChargeResult(ChargeStatus.PENDING, request.out_trade_no, raw=payload)
        if payload.get("code") == "OUT_TRADE_NO_USED":
            return await self.query(request.out_trade_no, request.amount.currency)
        return self._declined_charge(status_code, payload, request.out_trade_no)

    async def create_qr_charge(self, request: ChargeRequest) -> ChargeResult:
        """Native下单: PENDING with ``qr_code`` set to WeChat's ``code_url``."""
        notify_url = request.notify_url or self._notify_url
        if not notify_url:
            raise ProviderError(self.name, "a notify_url is required for QR charges")
        status_code, payload = await self._call(
            self._client.pay,
            description=request.description,
            out_trade_no=request.out_trade_no,
            amount=_amount_field(request.amount),
            notify_url=notify_url,
            pay_type=WeChatPayType.NATIVE,
        )
        if status_code == 200 and payload.get("code_url"):
            return ChargeResult(
                ChargeStatus.PENDING,
                request.out_trade_no,
                qr_code=payload["code_url"],
                amount=request.amount,
                raw=payload,
            )
        if payload.get("code") in {"OUT_TRADE_NO_USED", "ORDERPAID"}:
            return await self.query(request.out_trade_no, request.amount.currency)
        return self._declined_charge(status_code, payload, request.out_trade_no)

    async def query(self, out_trade_no: str, amount_currency: str) -> ChargeResult:
        """商户订单号查询订单; ``trade_state`` maps to our status, REFUND counting as paid."""
        status_code, payload = await self._call(self._client.query, out_trade_no=out_trade_no)
        if status_code == 200:
            return _charge_from_transaction(payload, out_trade_no, amount_currency)
        if status_code == 404:
            raise ChargeNotFound(self.name, _describe_error(status_code, payload))
        raise ProviderError(self.name, _describe_error(status_code, payload))

    async def cancel(self, out_trade_no: str) -> None:
        """Reverse (撤销) a payment-code charge, which returns money already taken; close an
        unpaid QR charge. The charge's type comes from a query first, because WeChat offers
        reverse only for payment-code charges and close only for unpaid ones."""
        charge = await self.query(out_trade_no, DOMESTIC_CURRENCY)
        if charge.status is ChargeStatus.CLOSED:
            return
        if charge.raw.get("trade_type") in _PAYMENT_CODE_TRADE_TYPES:
            operation: Callable[..., Any] = self._client.codepay_reverse
        elif charge.status is ChargeStatus.SUCCEEDED:
            raise ProviderError(self.name, f"{out_trade_no} is already paid; refund it instead")
        else:
            operation = self._client.close
        status_code, payload = await self._call(operation, out_trade_no=out_trade_no)
        if not 200 <= status_code < 300:
            raise ProviderError(self.name, _describe_error(status_code, payload))

    async def refund(self, request: RefundRequest) -> RefundResult:
        """申请退款 (``/v3/refund/domestic/refunds``), amounts in fen; ``out_refund_no`` is the
        idempotency key WeChat honours. A refused refund comes back FAILED with WeChat's code."""
        if request.refund_amount.currency != request.total_amount.currency:
            raise ProviderError(self.name, "refund and total amount must be in one currency")
        status_code, payload = await self._call(
            self._client.refund,
            out_refund_no=request.out_refund_no,
            out_trade_no=request.out_trade_no,
            amount={
                "refund": request.refund_amount.amount,
                "total": request.total_amount.amount,
                "currency": request.total_amount.currency,
            },
            reason=request.reason or None,
            notify_url=self._refund_notify_url,
        )
        if status_code != 200:
            return RefundResult(
                RefundStatus.FAILED,
                request.out_refund_no,
                failure_reason=_describe_error(status_code, payload),
                raw=payload,
            )
        state = payload.get("status", "")
        status = _REFUND_STATUS_BY_STATE.get(state, RefundStatus.PENDING)
        return RefundResult(
            status,
            request.out_refund_no,
            provider_reference=payload.get("refund_id"),
            failure_reason=f"refund {state}" if status is RefundStatus.FAILED else None,
            raw=payload,
        )

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> PaymentNotification:
        """Verify a payment notification (RSA signature with the WeChat Pay public key, fresh
        timestamp), decrypt its resource (AES-256-GCM with the APIv3 key) and read it."""
        # Lower-case names: the SDK looks for exactly these spellings, whatever the web stack sent.
        lower_headers = {key.lower(): value for key, value in headers.items()}
        # Checked before the SDK, which would otherwise go online to fetch certificates.
        if lower_headers.get("wechatpay-serial") != self._platform_public_key_id:
            raise InvalidSignature(self.name, "notification is signed with an unknown key")
        try:
            sent_at = int(lower_headers.get("wechatpay-timestamp", ""))
        except ValueError:
            raise InvalidSignature(self.name, "notification has no valid timestamp") from None
        if abs(time.time() - sent_at) > NOTIFICATION_MAX_AGE_SECONDS:
            raise InvalidSignature(self.name, "notification timestamp is too far from now")
        try:
            notification = self._client.callback(lower_headers, body)
        except Exception as error:
            raise InvalidSignature(self.name, f"notification rejected: {error}") from error
        if not notification:
            raise InvalidSignature(self.name, "notification signature or resource encryption does not verify")
        event_type = notification.get("event_type", "")
        if not event_type.startswith("TRANSACTION."):
            raise ProviderError(self.name, f"not a payment notification: {event_type}")
        transaction: dict[str, Any] = notification["resource"]
        amount = transaction.get("amount") or {}
        if "total" not in amount:
            raise ProviderError(self.name, "payment notification carries no amount")
        return PaymentNotification(
            out_trade_no=transaction["out_trade_no"],
            provider_reference=transaction.get("transaction_id"),
            status=_CHARGE_STATUS_BY_TRADE_STATE.get(
                transaction.get("trade_state", ""), ChargeStatus.PENDING
            ),
            amount=Money(int(amount["total"]), amount.get("currency") or DOMESTIC_CURRENCY),
            raw=notification,
        )

    async def _call(self, operation: Callable[..., Any], /, **arguments: Any) -> tuple[int, dict[str, Any]]:
        """Run one SDK call in a thread and sort its failures into our errors."""
        try:
            status_code, text = await asyncio.to_thread(functools.partial(operation, **arguments))
        except requests.RequestException as error:
            raise ProviderUnavailable(self.name, f"network error: {error}") from error
        except Exception as error:
            if str(error) == _SDK_BAD_RESPONSE_SIGNATURE:
                raise InvalidSignature(self.name, "response signature does not verify") from error
            raise ProviderError(self.name, str(error)) from error
        payload = _json_object(text)
        if status_code >= 500 or status_code == 429:
            raise ProviderUnavailable(self.name, _describe_error(status_code, payload))
        if status_code == 401:
            # WeChat rejected our own signature: a configuration problem, not a declined charge.
            raise ProviderError(self.name, _describe_error(status_code, payload))
        return status_code, payload

    def _declined_charge(self, status_code: int, payload: dict[str, Any], out_trade_no: str) -> ChargeResult:
        return ChargeResult(
            ChargeStatus.FAILED,
            out_trade_no,
            failure_reason=_describe_error(status_code, payload),
            raw=payload,
        )


def _amount_field(amount: Money) -> dict[str, Any]:
    return {"total": amount.amount, "currency": amount.currency}


def _charge_from_transaction(
    transaction: dict[str, Any], out_trade_no: str, fallback_currency: str
) -> ChargeResult:
    trade_state = transaction.get("trade_state", "")
    # An unknown state is treated as not settled yet: never claim money we cannot confirm.
    status = _CHARGE_STATUS_BY_TRADE_STATE.get(trade_state, ChargeStatus.PENDING)
    amount_field = transaction.get("amount") or {}
    amount = (
        Money(int(amount_field["total"]), amount_field.get("currency") or fallback_currency)
        if "total" in amount_field
        else None
    )
    is_settled_badly = status in {ChargeStatus.FAILED, ChargeStatus.CLOSED}
    return ChargeResult(
        status=status,
        out_trade_no=transaction.get("out_trade_no", out_trade_no),
        provider_reference=transaction.get("transaction_id") or None,
        amount=amount,
        failure_reason=(transaction.get("trade_state_desc") or trade_state) if is_settled_badly else None,
        raw=transaction,
    )


def _json_object(text: str | bytes) -> dict[str, Any]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"body": text}
    return value if isinstance(value, dict) else {"body": value}


def _describe_error(status_code: int, payload: dict[str, Any]) -> str:
    code = payload.get("code")
    message = payload.get("message") or payload.get("body") or ""
    return f"HTTP {status_code} {code}: {message}" if code else f"HTTP {status_code} {message}".rstrip()
