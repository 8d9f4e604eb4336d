"""A local stand-in for Twilio's Messages API that checks what the ``twilio`` package sends:
``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, HTTP basic auth with the account sid
and auth token, form-encoded fields. Answers are shaped like Twilio's (a Message resource, or
``{code, message, more_info, status}`` for an error)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from .local_server import Answer, LocalServer, ReceivedRequest


@dataclass(frozen=True)
class TwilioAccount:
    account_sid: str = "AC" + "0123456789abcdef" * 2
    auth_token: str = "kassa-twilio-auth-token-00000000"
    from_number: str = "+15005550006"


def twilio_error(status: int, code: int, message: str) -> Answer:
    return Answer.json(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


@dataclass
class FakeTwilio:
    account: TwilioAccount
    problems: list[str] = field(default_factory=list)
    sent: list[dict[str, list[str]]] = field(default_factory=list)  # the form fields accepted
    answer_with: Answer | None = None

    def __post_init__(self) -> None:
        self.server = LocalServer(self._answer)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def _answer(self, request: ReceivedRequest) -> Answer:
        expected_path = f"/2010-04-01/Accounts/{self.account.account_sid}/Messages.json"
        if request.method != "POST" or request.path != expected_path:
            self.problems.append(f"unexpected {request.method} {request.target}")
            return twilio_error(404, 20404, "The requested resource was not found")
        credentials = f"{self.account.account_sid}:{self.account.auth_token}".encode()
        if request.header("Authorization") != "Basic " + base64.b64encode(credentials).decode():
            self.problems.append(f"basic auth is {request.header('Authorization')!r}")
            return twilio_error(401, 20003, "Authenticate")
        if request.header("Content-Type") != "application/x-www-form-urlencoded":
            self.problems.append(f"Content-Type is {request.header('Content-Type')!r}")
        form = parse_qs(request.body.decode(), keep_blank_values=True)
        if not form.get("To") or not form.get("Body"):
            self.problems.append("To or Body is missing")
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            self.problems.append("From or MessagingServiceSid is missing")
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        if self.answer_with is not None:
            return self.answer_with
        self.sent.append(form)
        return Answer.json(201, self._message(form))

    def _message(self, form: dict[str, list[str]]) -> dict[str, Any]:
        sid = f"SM{len(self.sent):032x}"
        return {
            "account_sid": self.account.account_sid,
            "api_version": "2010-04-01",
            "body": form["Body"][0],
            "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
            "date_sent": None,
            "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From", [None])[0],
            "messaging_service_sid": form.get("MessagingServiceSid", [None])[0],
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{self.account.account_sid}/Messages/{sid}/Media.json"
            },
            "to": form["To"][0],
            "uri": f"/2010-04-01/Accounts/{self.account.account_sid}/Messages/{sid}.json",
        }
