"""Helpers for tests against a running `kassa run` / `kassa api` with the demo store: the
demo owner sets a device up as a register (as /setup does), and staff log in on it by PIN."""

from __future__ import annotations

import httpx

from kassa.demo import DEMO_STAFF
from kassa.stores.devices import DEVICE_HEADER

OWNER = DEMO_STAFF[0]
OWNER_LOGIN = {"email": OWNER.email, "password": OWNER.password}


def owner_headers(base_url: str) -> dict[str, str]:
    """A back-office session of the demo owner (e-mail and password)."""
    login = httpx.post(f"{base_url}/api/v1/auth/password", json=OWNER_LOGIN, timeout=30)
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['token']}"}


def device_headers(base_url: str, register_id: int = 1, name: str = "test device") -> dict[str, str]:
    """Set a device up as ``register_id`` (the demo owner does it); its header."""
    response = httpx.post(
        f"{base_url}/api/v1/registers/{register_id}/devices",
        json={"name": name},
        headers=owner_headers(base_url),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return {DEVICE_HEADER: response.json()["token"]}


def pin_login(base_url: str, staff_id: int, pin: str, register_id: int = 1) -> dict[str, str]:
    """A register session of ``staff_id`` on ``register_id``, from a device set up as it."""
    response = httpx.post(
        f"{base_url}/api/v1/auth/pin",
        json={"register_id": register_id, "staff_id": staff_id, "pin": pin},
        headers=device_headers(base_url, register_id),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def async_device_headers(client: httpx.AsyncClient, register_id: int = 1) -> dict[str, str]:
    """``device_headers`` with an async client whose base URL is the server."""
    login = await client.post("/api/v1/auth/password", json=OWNER_LOGIN)
    assert login.status_code == 200, login.text
    response = await client.post(
        f"/api/v1/registers/{register_id}/devices",
        json={"name": "test device"},
        headers={"Authorization": f"Bearer {login.json()['token']}"},
    )
    assert response.status_code == 201, response.text
    return {DEVICE_HEADER: response.json()["token"]}
