"""A local stand-in for Aliyun's Dysmsapi that checks what the official SDK really sends.

The SDK signs with Aliyun's V3 scheme (``ACS3-HMAC-SHA256``): the action and version travel in
``x-acs-action`` / ``x-acs-version`` headers, the SendSms parameters in the query string, and
``Authorization: ACS3-HMAC-SHA256 Credential=<key id>,SignedHeaders=<h1;h2…>,Signature=<hex>``.
The signature is recomputed here from Aliyun's published algorithm, independently of the SDK:

    canonical request = method \\n path \\n canonical query \\n canonical headers \\n
                        signed headers \\n hex(sha256(body))
    signature = hex(hmac_sha256(secret, "ACS3-HMAC-SHA256\\n" + hex(sha256(canonical request))))

Every request Aliyun would refuse is noted in ``problems`` and answered as Aliyun does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from .local_server import Answer, LocalServer, ReceivedRequest

AUTHORIZATION = re.compile(
    r"^ACS3-HMAC-SHA256 Credential=(?P<key_id>[^,]+),"
    r"SignedHeaders=(?P<signed>[^,]+),Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class AliyunAccount:
    access_key_id: str = "LTAI5tKassaTestKeyId"
    access_key_secret: str = "kassa-test-access-key-secret-0123"
    sign_name: str = "卡萨咖啡"


def _rfc3986(text: str) -> str:
    return quote(text, safe="-_.~")


def aliyun_v3_signature(request: ReceivedRequest, signed_headers: list[str], secret: str) -> str:
    """Aliyun's ACS3-HMAC-SHA256 signature of ``request``, as the server computes it."""
    canonical_query = "&".join(
        f"{_rfc3986(key)}={_rfc3986(value)}" for key, value in sorted(request.query_pairs)
    )
    canonical_headers = "".join(f"{name}:{(request.header(name) or '').strip()}\n" for name in signed_headers)
    canonical_request = "\n".join(
        [
            request.method,
            request.path,
            canonical_query,
            canonical_headers,
            ";".join(signed_headers),
            hashlib.sha256(request.body).hexdigest(),
        ]
    )
    string_to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical_request.encode()).hexdigest()
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass
class FakeAliyun:
    account: AliyunAccount
    problems: list[str] = field(default_factory=list)
    sent: list[dict[str, str]] = field(default_factory=list)  # the SendSms parameters accepted
    # What the next SendSms calls are answered with instead of success: (status, JSON, headers).
    answer_with: tuple[int, Any, dict[str, str]] | None = None
    _nonces: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.server = LocalServer(self._answer)

    @property
    def endpoint(self) -> str:
        return self.server.host_port

    def _answer(self, request: ReceivedRequest) -> Answer:
        problems = self._check(request)
        if problems:
            self.problems.extend(problems)
            code = "SignatureDoesNotMatch" if any("signature" in p for p in problems) else "MissingParameter"
            return Answer.json(400, {"Code": code, "Message": "; ".join(problems), "RequestId": "R-BAD"})
        parameters = dict(request.query_pairs)
        if self.answer_with is not None:
            status, data, headers = self.answer_with
            body = data if isinstance(data, bytes) else json.dumps(data).encode()
            return Answer(status, body, {"Content-Type": "application/json;charset=utf-8", **headers})
        self.sent.append(parameters)
        return Answer.json(
            200,
            {"Code": "OK", "Message": "OK", "BizId": f"90061974{len(self.sent):04d}^0", "RequestId": "R-1"},
            "application/json;charset=utf-8",
        )

    def _check(self, request: ReceivedRequest) -> list[str]:
        problems = []
        if request.method != "POST" or request.path != "/":
            problems.append(f"unexpected {request.method} {request.path}")
        if request.header("x-acs-action") != "SendSms":
            problems.append(f"x-acs-action is {request.header('x-acs-action')!r}, not SendSms")
        if request.header("x-acs-version") != "2017-05-25":
            problems.append(f"x-acs-version is {request.header('x-acs-version')!r}")
        if request.header("x-acs-content-sha256") != hashlib.sha256(request.body).hexdigest():
            problems.append("x-acs-content-sha256 does not match the body")
        date = request.header("x-acs-date") or ""
        try:
            sent_at = datetime.strptime(date, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            if abs(datetime.now(UTC) - sent_at) > timedelta(minutes=15):
                problems.append(f"x-acs-date {date} is too far from now")
        except ValueError:
            problems.append(f"x-acs-date {date!r} is not ISO 8601 UTC")
        nonce = request.header("x-acs-signature-nonce") or ""
        if not nonce or nonce in self._nonces:
            problems.append("x-acs-signature-nonce is missing or reused")
        self._nonces.add(nonce)

        match = AUTHORIZATION.match(request.header("Authorization") or "")
        if match is None:
            return [
                *problems,
                f"Authorization signature header malformed: {request.header('Authorization')!r}",
            ]
        if match["key_id"] != self.account.access_key_id:
            problems.append(f"signature credential {match['key_id']!r} is not our key id")
        signed = match["signed"].split(";")
        if signed != sorted(signed) or any(name != name.lower() for name in signed):
            problems.append("SignedHeaders are not sorted lower-case names")
        must_sign = {"host"} | {name.lower() for name in request.headers if name.lower().startswith("x-acs-")}
        if missing := must_sign - set(signed):
            problems.append(f"signature leaves out headers {sorted(missing)}")
        expected = aliyun_v3_signature(request, signed, self.account.access_key_secret)
        if not hmac.compare_digest(expected, match["signature"]):
            problems.append("signature does not match")

        parameters = dict(request.query_pairs)
        for required in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not parameters.get(required):
                problems.append(f"{required} is missing")
        if "TemplateParam" in parameters:
            try:
                json.loads(parameters["TemplateParam"])
            except ValueError:
                problems.append("TemplateParam is not JSON")
        return problems
