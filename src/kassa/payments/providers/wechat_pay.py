"""WeChat Pay (微信支付) API v3 through the ``wechatpayv3`` SDK.

* QR charge: Native pay (``/v3/pay/transactions/native``), the customer scans ``code_url``.
* Payment code (付款码): API v3 has it since 2024 (``POST /v3/pay/transactions/codepay``,
  undo with ``.../out-trade-no/{out_trade_no}/reverse``); wechatpayv3 2.0.4 sends it through
  ``pay(pay_type=WeChatPayType.CODEPAY)`` and ``codepay_reverse``, signed by the SDK.
* Query, close, refund (``/v3/refund/domestic/refunds``) and notifications (signature
  verified, resource decrypted with AES-256-GCM) also go through the SDK.

WeChat's answers and notifications are verified in one of two ways, as the merchant's
account offers: the "WeChat Pay public key" (微信支付公钥, ``platform_public_key`` +
``platform_public_key_id``), which WeChat gives new merchants, or the platform certificates
(平台证书, ``platform_certificates``: the PEM certificates downloaded from WeChat, one or
more). Certificates are handed to the SDK from memory (through a private temporary folder
that is removed at once), never fetched while the provider is built; a certificate WeChat
rotates in later is fetched by the SDK from the configured gateway when an answer is signed
with it.

The SDK is synchronous (``requests``); every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from wechatpayv3 import WeChatPay, WeChatPayType

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
    arrive at the payment notification endpoint. ``store_id`` (required: WeChat requires
    ``scene_info`` on payment-code charges) is sent as the store's code
    (``scene_info.store_info.out_id``). Give either ``platform_public_key`` with
    ``platform_public_key_id``, or ``platform_certificates``.
    """

    def __init__(
        self,
        *,
        merchant_id: str,
        app_id: str,
        merchant_private_key: str,
        merchant_certificate_serial: str,
        api_v3_key: str,
        store_id: str,
        platform_public_key: str | None = None,
        platform_public_key_id: str | None = None,
        platform_certificates: str | None = None,
        notify_url: str | None = None,
        refund_notify_url: str | None = None,
        gateway_url: str = PRODUCTION_GATEWAY_URL,
        timeout_seconds: float = 15.0,
        name: str = "wechat_pay",
    ) -> None:
        self.name = name
        if not store_id:
            raise ProviderError(self.name, "a store id is required (scene_info of payment-code charges)")
        self._notify_url = notify_url
        self._refund_notify_url = refund_notify_url
        self._store_id = store_id
        self._platform_public_key_id = platform_public_key_id
        self._platform_certificate_serials: frozenset[str] = frozenset()
        if platform_public_key and platform_public_key_id:
            # No notify_url here: the SDK would also send it with refunds.
            self._client = self._build_client(
                merchant_id,
                app_id,
                merchant_private_key,
                merchant_certificate_serial,
                api_v3_key,
                timeout_seconds,
                public_key=platform_public_key,
                public_key_id=platform_public_key_id,
            )
        elif platform_certificates:
            certificates = usable_platform_certificates(platform_certificates, self.name)
            self._platform_certificate_serials = frozenset(
                certificate_serial(certificate) for certificate in certificates
            )
            with tempfile.TemporaryDirectory(prefix="kassa-wechatpay-") as folder:
                for index, certificate in enumerate(certificates):
                    path = os.path.join(folder, f"{index}.pem")
                    with open(path, "wb") as file:
                        file.write(certificate.public_bytes(Encoding.PEM))
                self._client = self._build_client(
                    merchant_id,
                    app_id,
                    merchant_private_key,
                    merchant_certificate_serial,
                    api_v3_key,
                    timeout_seconds,
                    cert_dir=folder,
                )
            # The folder is gone: certificates rotated in later stay in memory only.
            self._client._core._cert_dir = None
        else:
            raise ProviderError(
                self.name, "give the WeChat Pay public key and its id, or the platform certificates"
            )
        # The SDK builds every URL from this attribute and offers no parameter for it.
        self._client._core._gate_way = gateway_url.rstrip("/")

    def _build_client(
        self,
        merchant_id: str,
        app_id: str,
        merchant_private_key: str,
        merchant_certificate_serial: str,
        api_v3_key: str,
        timeout_seconds: float,
        **verification: Any,
    ) -> WeChatPay:
        try:
            return WeChatPay(
                wechatpay_type=WeChatPayType.NATIVE,
                mchid=merchant_id,
                private_key=merchant_private_key,
                cert_serial_no=merchant_certificate_serial,
                appid=app_id,
                apiv3_key=api_v3_key,
                timeout=timeout_seconds,
                **verification,
            )
        except Exception as error:
            # The SDK's messages name what is wrong, never a key's content.
            raise ProviderError(self.name, f"invalid configuration: {error}") from error

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> WeChatPayProvider:
        """Build from string settings; keys are the constructor's parameter names."""
        required = (
            "merchant_id",
            "app_id",
            "merchant_private_key",
            "merchant_certificate_serial",
            "api_v3_key",
            "store_id",
        )
        missing = [key for key in required if not config.get(key)]
        has_public_key = bool(config.get("platform_public_key") and config.get("platform_public_key_id"))
        if not has_public_key and not config.get("platform_certificates"):
            missing.append("platform_public_key and platform_public_key_id, or platform_certificates")
        if missing:
            raise ProviderError("wechat_pay", f"missing configuration: {', '.join(missing)}")
        return cls(
            merchant_id=config["merchant_id"],
            app_id=config["app_id"],
            merchant_private_key=config["merchant_private_key"],
            merchant_certificate_serial=config["merchant_certificate_serial"],
            api_v3_key=config["api_v3_key"],
            platform_public_key=config.get("platform_public_key") or None,
            platform_public_key_id=config.get("platform_public_key_id") or None,
            platform_certificates=config.get("platform_certificates") or None,
            notify_url=config.get("notify_url") or None,
            refund_notify_url=config.get("refund_notify_url") or None,
            store_id=config["store_id"],
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
        # Required by WeChat for payment-code charges: the merchant's own code of the store.
        scene_info = {"store_info": {"out_id": self._store_id}}
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
        serial = lower_headers.get("wechatpay-serial", "")
        is_known_key = (
            serial == self._platform_public_key_id
            if self._platform_public_key_id
            else serial.upper() in self._platform_certificate_serials
        )
        if not serial or not is_known_key:
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
        event_type = notification.get("event_type")
        if not isinstance(event_type, str) or not event_type.startswith("TRANSACTION."):
            raise MalformedNotification(self.name, f"not a payment notification: {event_type!r}")
        transaction = notification.get("resource")
        if not isinstance(transaction, dict):
            raise MalformedNotification(self.name, "payment notification carries no transaction")
        out_trade_no = transaction.get("out_trade_no")
        if not isinstance(out_trade_no, str) or not out_trade_no:
            raise MalformedNotification(self.name, "payment notification names no out_trade_no")
        amount = transaction.get("amount")
        total = amount.get("total") if isinstance(amount, dict) else None
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            raise MalformedNotification(self.name, "payment notification carries no amount in fen")
        currency = amount.get("currency") if isinstance(amount, dict) else None
        if currency is not None and (
            not isinstance(currency, str) or len(currency) != 3 or not currency.isupper()
        ):
            raise MalformedNotification(self.name, "payment notification has no valid currency")
        trade_state = transaction.get("trade_state")
        if trade_state not in _CHARGE_STATUS_BY_TRADE_STATE:
            raise MalformedNotification(self.name, f"unknown trade_state {trade_state!r}")
        reference = transaction.get("transaction_id")
        if reference is not None and not isinstance(reference, str):
            raise MalformedNotification(self.name, "transaction_id is not text")
        return PaymentNotification(
            out_trade_no=out_trade_no,
            provider_reference=reference,
            status=_CHARGE_STATUS_BY_TRADE_STATE[trade_state],
            amount=Money(total, currency or DOMESTIC_CURRENCY),
            raw=notification,
        )

    def acknowledgement(self) -> tuple[str, bytes]:
        """WeChat Pay v3 takes any 2xx as handled; this is the body its documents show."""
        return "application/json", json.dumps({"code": "SUCCESS", "message": "成功"}).encode()

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


def certificate_serial(certificate: x509.Certificate) -> str:
    """A certificate's serial number as WeChat writes it (upper-case hex)."""
    return f"{certificate.serial_number:X}"


def usable_platform_certificates(pem: str, provider_name: str = "wechat_pay") -> list[x509.Certificate]:
    """The platform certificates in ``pem`` that are valid now; at least one must be, else the
    SDK would go online for new ones while it is built."""
    try:
        certificates = x509.load_pem_x509_certificates(pem.strip().encode())
    except ValueError:
        raise ProviderError(provider_name, "the platform certificates are not PEM certificates") from None
    now = datetime.now(UTC)
    valid = [
        certificate
        for certificate in certificates
        if certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc
    ]
    if not valid:
        raise ProviderError(provider_name, "none of the platform certificates is valid today")
    return valid
