"""A local stand-in for Tencent Cloud SMS (API 2021-01-11) that checks what the SDK sends.

Tencent's API 3.0 signs with ``TC3-HMAC-SHA256``; the signature is recomputed here from
Tencent's published algorithm, independently of the SDK:

    canonical request = method \\n path \\n query \\n "content-type:…\\nhost:…\\n" \\n
                        "content-type;host" \\n hex(sha256(body))
    string to sign    = "TC3-HMAC-SHA256\\n" timestamp \\n date/sms/tc3_request \\n
                        hex(sha256(canonical request))
    key               = hmac(hmac(hmac("TC3" + secret key, date), "sms"), "tc3_request")

Requests Tencent would refuse are noted in ``problems`` and answered with Tencent's error.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .local_server import Answer, LocalServer, ReceivedRequest

AUTHORIZATION = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<secret_id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/"
    r"(?P<service>[a-z]+)/tc3_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class TencentAccount:
    secret_id: str = "AKIDkassaTestSecretId0000000000000"
    secret_key: str = "kassaTestSecretKey0000000000000"
    sms_app_id: str = "1400787878"
    sign_name: str = "卡萨咖啡"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def tc3_signature(
    request: ReceivedRequest, signed_headers: list[str], secret_key: str, date: str, service: str
) -> str:
    """Tencent's TC3-HMAC-SHA256 signature of ``request``, as the server computes it."""
    path, _, query = request.target.partition("?")
    canonical_headers = "".join(
        f"{name}:{(request.header(name) or '').strip().lower()}\n" for name in signed_headers
    )
    canonical_request = "\n".join(
        [
            request.method,
            path,
            query,
            canonical_headers,
            ";".join(signed_headers),
            hashlib.sha256(request.body).hexdigest(),
        ]
    )
    string_to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            request.header("X-TC-Timestamp") or "",
            f"{date}/{service}/tc3_request",
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass
class FakeTencent:
    account: TencentAccount
    region: str = "ap-guangzhou"
    problems: list[str] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)  # the SendSms bodies accepted
    # Instead of success: a SendStatus code for the number, or a whole answer (status, body).
    status_code: str = "Ok"
    answer_with: tuple[int, bytes] | None = None

    def __post_init__(self) -> None:
        self.server = LocalServer(self._answer)

    @property
    def endpoint(self) -> str:
        return self.server.host_port

    def _answer(self, request: ReceivedRequest) -> Answer:
        problems = self._check(request)
        if problems:
            self.problems.extend(problems)
            code = (
                "AuthFailure.SignatureFailure"
                if any("signature" in p for p in problems)
                else "InvalidParameter"
            )
            return self._error(code, "; ".join(problems))
        if self.answer_with is not None:
            status, body = self.answer_with
            return Answer(status, body, {"Content-Type": "application/json"})
        data = json.loads(request.body)
        self.sent.append(data)
        number = data["PhoneNumberSet"][0]
        ok = self.status_code == "Ok"
        status = {
            "SerialNo": f"5000:10457106691570536578{len(self.sent):05d}" if ok else "",
            "PhoneNumber": number,
            "Fee": 1 if ok else 0,
            "SessionContext": data.get("SessionContext", ""),
            "Code": self.status_code,
            "Message": "send success" if ok else f"{self.status_code} (fake)",
            "IsoCode": "CN" if number.startswith("+86") else "",
        }
        return Answer.json(200, {"Response": {"SendStatusSet": [status], "RequestId": "req-1"}})

    @staticmethod
    def _error(code: str, message: str) -> Answer:
        return Answer.json(
            200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "req-e"}}
        )

    def _check(self, request: ReceivedRequest) -> list[str]:
        problems = []
        if request.method != "POST" or request.target.partition("?")[0] != "/":
            problems.append(f"unexpected {request.method} {request.target}")
        expected_headers = {
            "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11",
            "X-TC-Region": self.region,
            "Content-Type": "application/json",
        }
        for name, value in expected_headers.items():
            if request.header(name) != value:
                problems.append(f"{name} is {request.header(name)!r}, not {value!r}")
        timestamp = request.header("X-TC-Timestamp") or ""
        if not timestamp.isdigit() or abs(int(timestamp) - time.time()) > 300:
            problems.append(f"X-TC-Timestamp {timestamp!r} is not within 5 minutes of now")

        match = AUTHORIZATION.match(request.header("Authorization") or "")
        if match is None:
            return [
                *problems,
                f"Authorization signature header malformed: {request.header('Authorization')!r}",
            ]
        if match["secret_id"] != self.account.secret_id:
            problems.append(f"signature credential {match['secret_id']!r} is not our SecretId")
        if match["service"] != "sms":
            problems.append(f"signature credential scope names service {match['service']!r}")
        if timestamp.isdigit():
            utc_date = datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d")
            if match["date"] != utc_date:
                problems.append("signature credential date is not the UTC date of X-TC-Timestamp")
        signed = match["signed"].split(";")
        if not {"content-type", "host"} <= set(signed):
            problems.append("signature must cover content-type and host")
        expected = tc3_signature(request, signed, self.account.secret_key, match["date"], match["service"])
        if not hmac.compare_digest(expected, match["signature"]):
            problems.append("signature does not match")

        try:
            data = json.loads(request.body)
        except ValueError:
            return [*problems, "body is not JSON"]
        numbers = data.get("PhoneNumberSet")
        if not isinstance(numbers, list) or len(numbers) != 1 or not str(numbers[0]).startswith("+"):
            problems.append(f"PhoneNumberSet {numbers!r} is not one E.164 number")
        for required in ("SmsSdkAppId", "SignName", "TemplateId"):
            if not data.get(required):
                problems.append(f"{required} is missing")
        parameters = data.get("TemplateParamSet", [])
        if not isinstance(parameters, list) or not all(isinstance(value, str) for value in parameters):
            problems.append("TemplateParamSet must be a list of strings")
        return problems
