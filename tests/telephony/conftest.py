"""A shop with a phone paired to its first register, and members made through the API."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from kassa.core.auth import Role
from kassa.telephony.api import pairing_throttle
from tests.shop import Shop

MEMBER_PHONE = "13800138000"  # stored as +8613800138000
_phones = itertools.count(1)


def new_phone() -> str:
    """A valid Chinese mobile number no other test member has."""
    return f"137{next(_phones):08d}"


@pytest.fixture(autouse=True)
def fresh_throttle() -> Iterator[None]:
    pairing_throttle.clear()
    yield
    pairing_throttle.clear()


async def pairing_code(shop: Shop, register_index: int = 0) -> str:
    issued = await shop.call(
        "POST",
        f"/registers/{shop.register_ids[register_index]}/phone-pairing-codes",
        role=Role.MANAGER,
        register_index=register_index,
        expect=201,
    )
    return str(issued["code"])


async def pair(shop: Shop, code: str, name: str = "Front phone") -> httpx.Response:
    return await shop.client.post("/api/v1/telephony/pair", json={"code": code, "device_name": name})


async def pair_phone(shop: Shop, register_index: int = 0, name: str = "Front phone") -> str:
    """A phone paired with the register: its device token."""
    response = await pair(shop, await pairing_code(shop, register_index), name)
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


async def ring(
    shop: Shop, token: str, number: str, *, key: str | None = None, external_call_id: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    body: dict[str, Any] = {"number": number}
    if external_call_id is not None:
        body["external_call_id"] = external_call_id
    return await shop.client.post("/api/v1/telephony/calls", json=body, headers=headers)


async def call_in(shop: Shop, token: str, number: str) -> dict[str, Any]:
    response = await ring(shop, token, number)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def make_member(shop: Shop, phone: str = MEMBER_PHONE, name: str = "Li Na") -> dict[str, Any]:
    return await shop.call(
        "POST",
        "/members",
        {"phone": phone, "name": name, "privacy_policy_accepted": True, "privacy_policy_version": "2026-11"},
        expect=201,
    )


async def act(
    shop: Shop, call_id: int, action: str, *, expect: int = 200, register_index: int = 0, **fields: Any
) -> dict[str, Any]:
    return await shop.call(
        "POST",
        f"/telephony/calls/{call_id}/actions",
        {"action": action, **fields},
        expect=expect,
        register_index=register_index,
    )


async def get_list(shop: Shop, path: str, role: Role = Role.CASHIER) -> list[dict[str, Any]]:
    """A GET that answers a list (``Shop.call`` is typed for objects)."""
    response = await shop.client.get(f"/api/v1{path}", headers=await shop.login(role))
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


@dataclass
class PairedShop:
    shop: Shop
    token: str  # the phone paired with register 0
    member: dict[str, Any]  # stored as 13800138000


@pytest.fixture
async def paired(shop: Shop) -> PairedShop:
    return PairedShop(shop, await pair_phone(shop), await make_member(shop))
