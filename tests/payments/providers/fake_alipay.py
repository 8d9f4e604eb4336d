"""A local stand-in for the Alipay open API gateway that checks what the SDK really sends.

Every request must carry an RSA2 ``sign`` over its sorted parameters (all but ``sign``) that
verifies with the app's public key; ``biz_content`` is checked per method. Answers are
``{"<method>_response": {...}, "sign": "..."}`` with the sign over the inner JSON text, made
with the Alipay key, as Alipay does. Payment codes: ``28…`` pays, ``29…`` is declined,
``25…`` waits for the customer to confirm.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric import rsa

from .keys import is_valid_signature, sign
from .local_server import Answer, LocalServer, ReceivedRequest

GATEWAY_PATH = "/gateway.do"
BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass
class AlipayAccount:
    app_id: str
    app_key: rsa.RSAPrivateKey
    alipay_key: rsa.RSAPrivateKey


@dataclass
class FakeTrade:
    out_trade_no: str
    total_fen: int
    trade_status: str | None  # None: precreated, not scanned yet, so no trade for Alipay
    subject: str
    trade_no: str | None = None
    qr_code: str | None = None
    refunded_fen: int = 0
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeAlipay:
    """Plays the Alipay gateway; ``problems`` lists every request the real one would reject."""

    def __init__(self, account: AlipayAccount) -> None:
        self.account = account
        self.trades: dict[str, FakeTrade] = {}
        self.problems: list[str] = []
        self.answer_every_request_with: int | None = None
        self.is_corrupting_signatures = False
        self.server = LocalServer(self._answer)

    @property
    def gateway_url(self) -> str:
        return self.server.base_url + GATEWAY_PATH

    @property
    def received(self) -> list[ReceivedRequest]:
        return self.server.received

    def calls(self, method: str) -> list[dict[str, Any]]:
        """The biz_content of every request for ``method``, in order."""
        found = []
        for request in self.received:
            parameters = _parameters(request)
            if parameters.get("method") == method:
                found.append(json.loads(parameters["biz_content"]))
        return found

    def parameters_of_last(self, method: str) -> dict[str, str]:
        matching = [
            _parameters(request) for request in self.received if _parameters(request).get("method") == method
        ]
        return matching[-1]

    def mark_paid(self, out_trade_no: str) -> None:
        trade = self.trades[out_trade_no]
        trade.trade_status = "TRADE_SUCCESS"
        trade.trade_no = trade.trade_no or _new_trade_no()

    def signed_notification(self, out_trade_no: str) -> bytes:
        """The form Alipay posts to notify_url once ``out_trade_no`` is paid."""
        trade = self.trades[out_trade_no]
        fields = {
            "notify_time": "2026-05-01 12:00:05",
            "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(16),
            "app_id": self.account.app_id,
            "charset": "utf-8",
            "version": "1.0",
            "trade_no": trade.trade_no or "",
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.trade_status or "WAIT_BUYER_PAY",
            "total_amount": _yuan(trade.total_fen),
            "receipt_amount": _yuan(trade.total_fen),
            "buyer_pay_amount": _yuan(trade.total_fen),
            "subject": trade.subject,
            "gmt_payment": "2026-05-01 12:00:04",
        }
        return self.signed_fields_notification(fields)

    def signed_fields_notification(self, fields: dict[str, str]) -> bytes:
        """A form notification with any ``fields``, signed as Alipay signs them (over all
        fields except sign and sign_type, sorted): correctly signed, whatever it says."""
        fields = dict(fields)
        # Notifications are signed over everything except sign and sign_type.
        fields["sign"] = sign(
            self.account.alipay_key, _signing_text(fields, excluded={"sign", "sign_type"}).encode()
        )
        fields["sign_type"] = "RSA2"
        return urlencode(fields).encode()

    def _answer(self, request: ReceivedRequest) -> Answer:
        if self.answer_every_request_with is not None:
            return Answer(self.answer_every_request_with, b"<html>Service Unavailable</html>")
        if urlsplit(request.path).path != GATEWAY_PATH:
            self.problems.append(f"unexpected path {request.path}")
            return Answer(404)
        parameters = _parameters(request)
        method = parameters.get("method", "")
        problem = self._request_problem(parameters)
        if problem:
            self.problems.append(problem)
            # Alipay answers a bad signature without signing the answer.
            error = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"}
            return _json_answer({"error_response": error})
        biz = json.loads(parameters["biz_content"])
        handlers = {
            "alipay.trade.pay": self._pay,
            "alipay.trade.precreate": self._precreate,
            "alipay.trade.query": self._query,
            "alipay.trade.cancel": self._cancel,
            "alipay.trade.refund": self._refund,
        }
        handler = handlers.get(method)
        if handler is None:
            self.problems.append(f"unexpected method {method}")
            inner: dict[str, Any] = {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "isv.invalid-method",
            }
        else:
            inner = handler(biz, parameters)
        return self._signed_answer(method, inner)

    def _request_problem(self, parameters: dict[str, str]) -> str | None:
        signature = parameters.get("sign", "")
        # Requests are signed over every parameter except sign (sign_type included).
        signed_text = _signing_text(parameters, excluded={"sign"})
        if not is_valid_signature(self.account.app_key.public_key(), signed_text.encode(), signature):
            return "request sign does not verify with the app public key"
        expected = {"app_id": self.account.app_id, "sign_type": "RSA2", "charset": "utf-8", "version": "1.0"}
        for key, value in expected.items():
            if parameters.get(key) != value:
                return f"{key} is {parameters.get(key)!r}, expected {value!r}"
        if not parameters.get("timestamp") or not parameters.get("biz_content"):
            return "timestamp and biz_content are required"
        # Alipay reads the timestamp as Beijing time and refuses one far from its clock.
        try:
            sent_at = datetime.strptime(parameters["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
        except ValueError:
            return f"timestamp {parameters['timestamp']!r} is not yyyy-MM-dd HH:mm:ss"
        if abs((datetime.now(BEIJING) - sent_at).total_seconds()) > 600:
            return f"timestamp {parameters['timestamp']} is not Beijing time now"
        return None

    def _pay(self, biz: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
        if biz.get("scene") != "bar_code" or not biz.get("auth_code") or not biz.get("subject"):
            self.problems.append(f"bad alipay.trade.pay biz_content {biz}")
        out_trade_no = biz["out_trade_no"]
        existing = self.trades.get(out_trade_no)
        if existing is not None and existing.trade_status == "TRADE_SUCCESS":
            return _business_failure("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
        auth_code: str = biz["auth_code"]
        if auth_code.startswith("29"):
            return _business_failure("ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，获取顾客账户信息失败")
        trade = FakeTrade(out_trade_no, _fen(biz["total_amount"]), "WAIT_BUYER_PAY", biz["subject"])
        trade.trade_no = _new_trade_no()
        self.trades[out_trade_no] = trade
        if auth_code.startswith("25"):
            return {"code": "10003", "msg": "order success pay inprocess", **self._trade_fields(trade)}
        trade.trade_status = "TRADE_SUCCESS"
        return {
            "code": "10000",
            "msg": "Success",
            "gmt_payment": "2026-05-01 12:00:04",
            **self._trade_fields(trade),
        }

    def _precreate(self, biz: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
        if not parameters.get("notify_url"):
            self.problems.append("precreate without notify_url")
        out_trade_no = biz["out_trade_no"]
        trade = self.trades.get(out_trade_no)
        if trade is None:
            trade = FakeTrade(out_trade_no, _fen(biz["total_amount"]), None, biz["subject"])
            trade.qr_code = f"https://qr.alipay.com/bax{secrets.token_hex(10)}"
            self.trades[out_trade_no] = trade
        return {"code": "10000", "msg": "Success", "out_trade_no": out_trade_no, "qr_code": trade.qr_code}

    def _query(self, biz: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None or trade.trade_status is None:
            return _business_failure("ACQ.TRADE_NOT_EXIST", "交易不存在")
        fields = {"code": "10000", "msg": "Success", **self._trade_fields(trade)}
        fields["trade_status"] = trade.trade_status
        if trade.trade_status in {"TRADE_SUCCESS", "TRADE_FINISHED"} or trade.refunded_fen:
            fields["send_pay_date"] = "2026-05-01 12:00:04"
        return fields

    def _cancel(self, biz: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None:
            return {**_business_failure("ACQ.TRADE_NOT_EXIST", "交易不存在"), "retry_flag": "N"}
        action = "refund" if trade.trade_status == "TRADE_SUCCESS" else "close"
        trade.trade_status = "TRADE_CLOSED"
        return {
            "code": "10000",
            "msg": "Success",
            "retry_flag": "N",
            "action": action,
            **self._trade_fields(trade),
        }

    def _refund(self, biz: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None or trade.trade_status is None:
            return _business_failure("ACQ.TRADE_NOT_EXIST", "交易不存在")
        request_number = biz.get("out_request_no", "")
        if request_number in trade.refunds:
            return {**trade.refunds[request_number], "fund_change": "N"}
        if trade.trade_status not in {"TRADE_SUCCESS", "TRADE_FINISHED"}:
            return _business_failure("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        refund_fen = _fen(biz["refund_amount"])
        if refund_fen > trade.total_fen - trade.refunded_fen:
            return _business_failure("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
        trade.refunded_fen += refund_fen
        if trade.refunded_fen == trade.total_fen:
            trade.trade_status = "TRADE_CLOSED"  # Alipay closes a fully refunded trade
        answer = {
            "code": "10000",
            "msg": "Success",
            **self._trade_fields(trade),
            "fund_change": "Y",
            "refund_fee": _yuan(trade.refunded_fen),
        }
        trade.refunds[request_number] = answer
        return answer

    def _trade_fields(self, trade: FakeTrade) -> dict[str, Any]:
        return {
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": "159****5620",
            "total_amount": _yuan(trade.total_fen),
        }

    def _signed_answer(self, method: str, inner: dict[str, Any]) -> Answer:
        inner_text = json.dumps(inner, ensure_ascii=False, separators=(",", ":"))
        signed_text = inner_text + (" tampered" if self.is_corrupting_signatures else "")
        signature = sign(self.account.alipay_key, signed_text.encode())
        response_key = method.replace(".", "_") + "_response"
        text = f'{{"{response_key}":{inner_text},"sign":"{signature}"}}'
        return Answer(200, text.encode(), {"Content-Type": "text/html;charset=utf-8"})


def _parameters(request: ReceivedRequest) -> dict[str, str]:
    query = urlsplit(request.path).query
    if request.method == "POST" and request.body:
        query = request.body.decode()
    return dict(parse_qsl(query, keep_blank_values=True))


def _signing_text(fields: dict[str, str], *, excluded: set[str]) -> str:
    return "&".join(f"{key}={value}" for key, value in sorted(fields.items()) if key not in excluded)


def _business_failure(sub_code: str, sub_message: str) -> dict[str, Any]:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_message}


def _json_answer(payload: dict[str, Any]) -> Answer:
    return Answer(200, json.dumps(payload).encode(), {"Content-Type": "text/html;charset=utf-8"})


def _fen(yuan: str) -> int:
    # Alipay wants yuan with exactly two decimals, e.g. "12.34".
    if not re.fullmatch(r"\d+\.\d{2}", yuan):
        raise ValueError(f"amount {yuan!r} is not yuan with two decimals")
    return int(Decimal(yuan) * 100)


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


def _new_trade_no() -> str:
    return f"2026050122001{secrets.randbelow(10**15):015d}"
