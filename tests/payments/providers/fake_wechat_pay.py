"""A local stand-in for WeChat Pay API v3 that checks what the SDK really sends.

Every request must carry a ``WECHATPAY2-SHA256-RSA2048`` Authorization header whose signature
over ``method\\npath\\ntimestamp\\nnonce\\nbody\\n`` verifies with the merchant's public key,
and the ``Wechatpay-Serial`` of the WeChat Pay public key. Every answer is signed with the
platform key over ``timestamp\\nnonce\\nbody\\n`` as WeChat does. Payment codes: ``13…`` pays,
``99…`` is declined, ``88…`` waits for the customer's password.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .keys import is_valid_signature, sign
from .local_server import Answer, LocalServer, ReceivedRequest

AUTHORIZATION_FIELD = re.compile(r'(\w+)="([^"]*)"')
ORDER_PATH = re.compile(
    r"^/v3/pay/transactions/out-trade-no/(?P<out_trade_no>[^/]+)(?P<action>/close|/reverse)?$"
)


@dataclass
class WeChatPayAccount:
    merchant_id: str
    app_id: str
    merchant_key: rsa.RSAPrivateKey
    merchant_certificate_serial: str
    platform_key: rsa.RSAPrivateKey
    platform_public_key_id: str
    api_v3_key: str


@dataclass
class FakeOrder:
    out_trade_no: str
    trade_type: str
    total: int
    currency: str
    trade_state: str
    transaction_id: str | None = None
    code_url: str | None = None
    refunded: int = 0
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeWeChatPay:
    """Plays WeChat Pay; ``problems`` lists every request the real WeChat Pay would reject."""

    def __init__(self, account: WeChatPayAccount) -> None:
        self.account = account
        self.orders: dict[str, FakeOrder] = {}
        self.problems: list[str] = []
        self.answer_every_request_with: int | None = None  # e.g. 500: WeChat is having a bad day
        self.is_corrupting_signatures = False
        self.refund_state = "SUCCESS"
        # Certificate mode: answers name this platform certificate serial instead of the
        # public key id, and requests need no Wechatpay-Serial header.
        self.platform_certificate_serial: str | None = None
        self.server = LocalServer(self._answer)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def received(self) -> list[ReceivedRequest]:
        return self.server.received

    def mark_paid(self, out_trade_no: str) -> None:
        """The customer scanned the QR code / entered the password, and paid."""
        order = self.orders[out_trade_no]
        order.trade_state = "SUCCESS"
        order.transaction_id = order.transaction_id or _new_transaction_id()

    def signed_notification(
        self, out_trade_no: str, *, api_v3_key: str | None = None, sent_at: int | None = None
    ) -> tuple[dict[str, str], bytes]:
        """The notification WeChat posts when ``out_trade_no`` is paid: resource encrypted with
        AES-256-GCM under the APIv3 key, the whole body signed with the platform key."""
        return self.signed_resource_notification(
            self._transaction(self.orders[out_trade_no]), api_v3_key=api_v3_key, sent_at=sent_at
        )

    def signed_resource_notification(
        self, resource: Any, *, api_v3_key: str | None = None, sent_at: int | None = None
    ) -> tuple[dict[str, str], bytes]:
        """A notification carrying any ``resource``, encrypted and signed exactly as WeChat
        does: correctly signed, whatever it says (for malformed-content tests)."""
        plaintext = json.dumps(resource, ensure_ascii=False).encode()
        nonce = secrets.token_hex(6)  # WeChat uses 12-character nonces
        associated_data = "transaction"
        key = (api_v3_key or self.account.api_v3_key).encode()
        ciphertext = AESGCM(key).encrypt(nonce.encode(), plaintext, associated_data.encode())
        body = json.dumps(
            {
                "id": str(uuid.uuid4()),
                "create_time": "2026-05-01T12:00:00+08:00",
                "resource_type": "encrypt-resource",
                "event_type": "TRANSACTION.SUCCESS",
                "summary": "支付成功",
                "resource": {
                    "original_type": "transaction",
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": base64.b64encode(ciphertext).decode(),
                    "associated_data": associated_data,
                    "nonce": nonce,
                },
            },
            ensure_ascii=False,
        ).encode()
        return self._signature_headers(body, sent_at=sent_at), body

    def requests_to(self, path: str) -> list[ReceivedRequest]:
        return [request for request in self.received if request.path_without_query == path]

    def _answer(self, request: ReceivedRequest) -> Answer:
        problem = self._authorization_problem(request)
        if problem:
            self.problems.append(problem)
            return self._json(401, {"code": "SIGN_ERROR", "message": problem})
        if self.answer_every_request_with is not None:
            return self._json(self.answer_every_request_with, {"code": "SYSTEM_ERROR", "message": "系统错误"})
        path = request.path_without_query
        if request.method == "POST" and path == "/v3/pay/transactions/native":
            return self._native(_json_body(request))
        if request.method == "POST" and path == "/v3/pay/transactions/codepay":
            return self._codepay(_json_body(request))
        if request.method == "POST" and path == "/v3/refund/domestic/refunds":
            return self._refund(_json_body(request))
        match = ORDER_PATH.match(path)
        if match:
            return self._order(request, match["out_trade_no"], match["action"])
        self.problems.append(f"unexpected {request.method} {request.path}")
        return self._json(404, {"code": "NOT_FOUND", "message": "no such API"})

    def _authorization_problem(self, request: ReceivedRequest) -> str | None:
        scheme, _, parameters = request.headers.get("Authorization", "").partition(" ")
        if scheme != "WECHATPAY2-SHA256-RSA2048":
            return f"wrong authorization scheme {scheme!r}"
        fields = dict(AUTHORIZATION_FIELD.findall(parameters))
        if fields.get("mchid") != self.account.merchant_id:
            return f"wrong mchid {fields.get('mchid')!r}"
        if fields.get("serial_no") != self.account.merchant_certificate_serial:
            return f"wrong merchant certificate serial {fields.get('serial_no')!r}"
        if abs(time.time() - int(fields.get("timestamp", "0"))) > 300:
            return "stale request timestamp"
        message = (
            f"{request.method}\n{request.path}\n{fields.get('timestamp')}\n{fields.get('nonce_str')}\n".encode()
            + request.body
            + b"\n"
        )
        if not is_valid_signature(
            self.account.merchant_key.public_key(), message, fields.get("signature", "")
        ):
            return "request signature does not verify with the merchant public key"
        if self.platform_certificate_serial is None and (
            request.headers.get("Wechatpay-Serial") != self.account.platform_public_key_id
        ):
            return "Wechatpay-Serial is not the WeChat Pay public key id"
        return None

    def _check_merchant(self, body: dict[str, Any]) -> str | None:
        if body.get("mchid") != self.account.merchant_id or body.get("appid") != self.account.app_id:
            return "mchid/appid do not match"
        amount = body.get("amount") or {}
        if not isinstance(amount.get("total"), int) or amount.get("currency") != "CNY":
            return "amount must be whole fen in CNY"
        if not body.get("description") or not body.get("out_trade_no"):
            return "description and out_trade_no are required"
        return None

    def _native(self, body: dict[str, Any]) -> Answer:
        problem = self._check_merchant(body) or (None if body.get("notify_url") else "notify_url missing")
        if problem:
            self.problems.append(problem)
            return self._json(400, {"code": "PARAM_ERROR", "message": problem})
        out_trade_no = body["out_trade_no"]
        order = self.orders.get(out_trade_no)
        if order is None:
            order = FakeOrder(
                out_trade_no=out_trade_no,
                trade_type="NATIVE",
                total=body["amount"]["total"],
                currency=body["amount"]["currency"],
                trade_state="NOTPAY",
                code_url=f"weixin://wxpay/bizpayurl?pr={secrets.token_urlsafe(8)}",
            )
            self.orders[out_trade_no] = order
        return self._json(200, {"code_url": order.code_url})

    def _codepay(self, body: dict[str, Any]) -> Answer:
        problem = self._check_merchant(body) or (
            None if (body.get("payer") or {}).get("auth_code") else "payer.auth_code missing"
        )
        if problem:
            self.problems.append(problem)
            return self._json(400, {"code": "PARAM_ERROR", "message": problem})
        out_trade_no = body["out_trade_no"]
        if out_trade_no in self.orders:
            return self._json(403, {"code": "OUT_TRADE_NO_USED", "message": "商户订单号重复"})
        auth_code = body["payer"]["auth_code"]
        order = FakeOrder(
            out_trade_no=out_trade_no,
            trade_type="MICROPAY",
            total=body["amount"]["total"],
            currency=body["amount"]["currency"],
            trade_state="USERPAYING",
        )
        self.orders[out_trade_no] = order
        if auth_code.startswith("13"):
            self.mark_paid(out_trade_no)
            return self._json(200, self._transaction(order))
        if auth_code.startswith("88"):
            return self._json(202, {"code": "USERPAYING", "message": "用户支付中，需要输入密码"})
        order.trade_state = "PAYERROR"
        return self._json(403, {"code": "TRADE_ERROR", "message": "用户余额不足"})

    def _order(self, request: ReceivedRequest, out_trade_no: str, action: str | None) -> Answer:
        order = self.orders.get(out_trade_no)
        if order is None:
            return self._json(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
        if action is None:
            if request.method != "GET" or parse_qs(urlsplit(request.path).query).get("mchid") != [
                self.account.merchant_id
            ]:
                self.problems.append(f"query must be GET with ?mchid=: {request.method} {request.path}")
            return self._json(200, self._transaction(order))
        body = _json_body(request)
        if body.get("mchid") != self.account.merchant_id:
            self.problems.append(f"{action} without our mchid")
        if action == "/close":
            if order.trade_state == "SUCCESS":
                return self._json(400, {"code": "ORDERPAID", "message": "订单已支付"})
            order.trade_state = "CLOSED"
            return self._json(204, None)
        if order.trade_type != "MICROPAY" or body.get("appid") != self.account.app_id:
            self.problems.append("reverse is for payment-code orders, with our appid")
        order.trade_state = "REVOKED"
        return self._json(204, None)

    def _refund(self, body: dict[str, Any]) -> Answer:
        order = self.orders.get(body.get("out_trade_no", ""))
        if order is None:
            return self._json(404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"})
        earlier = order.refunds.get(body.get("out_refund_no", ""))
        if earlier is not None:
            return self._json(200, earlier)
        amount = body.get("amount") or {}
        if order.trade_state not in {"SUCCESS", "REFUND"}:
            return self._json(400, {"code": "INVALID_REQUEST", "message": "订单未支付"})
        if amount.get("total") != order.total or amount.get("currency") != order.currency:
            return self._json(400, {"code": "PARAM_ERROR", "message": "订单金额与退款请求不一致"})
        if not isinstance(amount.get("refund"), int) or amount["refund"] > order.total - order.refunded:
            return self._json(400, {"code": "INVALID_REQUEST", "message": "申请退款金额超过订单可退金额"})
        order.refunded += amount["refund"]
        order.trade_state = "REFUND"
        refund = {
            "refund_id": f"50{secrets.randbelow(10**26):026d}",
            "out_refund_no": body["out_refund_no"],
            "transaction_id": order.transaction_id,
            "out_trade_no": order.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": "2026-05-01T12:05:00+08:00",
            "status": self.refund_state,
            "amount": {
                "total": order.total,
                "refund": amount["refund"],
                "payer_total": order.total,
                "payer_refund": amount["refund"],
                "currency": order.currency,
            },
        }
        order.refunds[body["out_refund_no"]] = refund
        return self._json(200, refund)

    def _transaction(self, order: FakeOrder) -> dict[str, Any]:
        transaction: dict[str, Any] = {
            "appid": self.account.app_id,
            "mchid": self.account.merchant_id,
            "out_trade_no": order.out_trade_no,
            "trade_type": order.trade_type,
            "trade_state": order.trade_state,
            "trade_state_desc": {"PAYERROR": "支付失败", "CLOSED": "订单已关闭"}.get(
                order.trade_state, "支付成功"
            ),
            "amount": {
                "total": order.total,
                "payer_total": order.total,
                "currency": order.currency,
                "payer_currency": order.currency,
            },
        }
        if order.transaction_id:
            transaction["transaction_id"] = order.transaction_id
            transaction["success_time"] = "2026-05-01T12:00:00+08:00"
        return transaction

    def _json(self, status: int, payload: dict[str, Any] | None) -> Answer:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        headers = self._signature_headers(body)
        headers["Content-Type"] = "application/json; charset=utf-8"
        return Answer(status, body, headers)

    def _signature_headers(self, body: bytes, *, sent_at: int | None = None) -> dict[str, str]:
        timestamp = str(sent_at if sent_at is not None else int(time.time()))
        nonce = secrets.token_hex(16)
        signed = body + (b" tampered" if self.is_corrupting_signatures else b"")
        return {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": sign(
                self.account.platform_key, f"{timestamp}\n{nonce}\n".encode() + signed + b"\n"
            ),
            "Wechatpay-Serial": self.platform_certificate_serial or self.account.platform_public_key_id,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }


def _json_body(request: ReceivedRequest) -> dict[str, Any]:
    value = json.loads(request.body or b"{}")
    assert isinstance(value, dict)
    return value


def _new_transaction_id() -> str:
    return f"42{secrets.randbelow(10**26):026d}"
