"""The phone's side of the API, as a phone app or a PBX bridge speaks it: trade a pairing
code for a token, report an incoming call. ``kassa phone`` plays the phone with these;
tests drive them through ``httpx.ASGITransport``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

API = "/api/v1/telephony"
TIMEOUT_SECONDS = 10.0


@dataclass
class PhoneApiError(Exception):
    """Kassa refused the request (its problem+json), or could not be reached (status 0)."""

    status: int
    detail: str
    problem: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.status}: {self.detail}" if self.status else self.detail


def new_client(base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=TIMEOUT_SECONDS)


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    try:
        response = await client.post(path, json=body, headers=headers)
    except httpx.HTTPError as error:
        raise PhoneApiError(0, f"cannot reach Kassa at {client.base_url}: {error}", {}) from error
    if response.status_code >= 400:
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        detail = problem.get("detail") if isinstance(problem, dict) else None
        raise PhoneApiError(response.status_code, str(detail or response.text), problem)
    return response.json()


async def pair(client: httpx.AsyncClient, code: str, device_name: str) -> dict[str, Any]:
    """The phone's token (``token``) and the register it is paired with."""
    answer: dict[str, Any] = await _post(
        client, f"{API}/pair", {"code": code, "device_name": device_name}, {}
    )
    return answer


async def report_call(
    client: httpx.AsyncClient, token: str, number: str, *, external_call_id: str | None = None
) -> dict[str, Any]:
    """Tell Kassa a call comes in from ``number``; what Kassa found (the member, if any)."""
    body: dict[str, Any] = {"number": number}
    if external_call_id is not None:
        body["external_call_id"] = external_call_id
    answer: dict[str, Any] = await _post(client, f"{API}/calls", body, {"Authorization": f"Bearer {token}"})
    return answer


def describe_pairing(answer: dict[str, Any]) -> str:
    return (
        f"paired with {answer['register_name']} (register {answer['register_id']}) "
        f"of {answer['store_name']}; phone {answer['assistant_id']}"
    )


def describe_call(answer: dict[str, Any]) -> str:
    """One line for people: the call, the register it pops up on, who is calling."""
    member = answer.get("member")
    if member:
        caller = (
            f"{member['name']} (member {member['id']}, card {member['card_number']}) {answer['phone_e164']}"
        )
    elif answer.get("phone_e164"):
        caller = f"unknown caller {answer['phone_e164']}"
    else:
        caller = f"unknown caller, no valid number: {answer['number']!r}"
    repeat = " (a repeated notification: the same call)" if answer.get("is_repeat") else ""
    where = f"{answer['register_name']} (register {answer['register_id']})"
    return f"call {answer['call_id']} on {where}: {caller}{repeat}"
