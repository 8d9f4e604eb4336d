"""Register devices: only an owner or manager sets a device up as a register; the register's
staff picker and PIN logins answer only to that device (or, for the picker, a logged-in
session of the store); revoked devices are refused; the last-seen time is kept cheaply."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role, token_digest
from kassa.core.database import utc_now
from kassa.staff.models import StaffMember
from kassa.stores.models import Organization, RegisterDevice, Store
from tests.factories import device_headers, make_organization, make_register, make_staff, make_store
from tests.shop import PINS, Shop


async def _pin(
    shop: Shop, role: Role, headers: dict[str, str], register_index: int = 0, pin: str | None = None
) -> httpx.Response:
    return await shop.client.post(
        "/api/v1/auth/pin",
        json={
            "register_id": shop.register_ids[register_index],
            "staff_id": shop.staff_ids[role],
            "pin": pin or PINS[role],
        },
        headers=headers,
    )


@pytest.mark.parametrize(
    ("role", "expected"), [(Role.OWNER, 201), (Role.MANAGER, 201), (Role.CASHIER, 403), (Role.WAITER, 403)]
)
async def test_who_may_set_a_device_up(shop: Shop, role: Role, expected: int) -> None:
    body = await shop.call(
        "POST",
        f"/registers/{shop.register_ids[1]}/devices",
        {"name": "Bar tablet"},
        role=role,
        expect=expected,
    )
    if expected == 201:
        assert (body["register_id"], body["name"], body["last_seen_at"]) == (
            shop.register_ids[1],
            "Bar tablet",
            None,
        )
        # the new token works for that register at once
        response = await _pin(shop, Role.CASHIER, device_headers(body["token"]), register_index=1)
        assert response.status_code == 200, response.text
    else:
        assert body["code"] == "permission_denied"


async def test_the_device_token_is_stored_as_its_digest_only(shop: Shop, session: AsyncSession) -> None:
    body = await shop.call(
        "POST", f"/registers/{shop.register_ids[0]}/devices", {"name": "PC"}, role=Role.OWNER
    )
    device = await session.get(RegisterDevice, body["id"])
    assert device is not None
    assert device.token_digest == token_digest(body["token"])
    assert body["token"] not in device.token_digest
    listed = await shop.call("GET", "/register-devices", role=Role.OWNER)
    assert all("token" not in row for row in listed)


async def test_a_manager_of_another_organization_cannot_set_up_this_register(
    shop: Shop, session: AsyncSession
) -> None:
    other = await make_store(session, await make_organization(session, name="Rival"))
    rival_register = await make_register(session, other)
    await session.commit()
    refused = await shop.call(
        "POST", f"/registers/{rival_register.id}/devices", {"name": "sneaky"}, role=Role.OWNER, expect=404
    )
    assert refused["errors"] == [{"field": "register_id", "reason": f"no register {rival_register.id}"}]


async def test_the_staff_picker_answers_only_a_device_of_that_register_or_a_session(shop: Shop) -> None:
    path = f"/api/v1/registers/{shop.register_ids[0]}/staff"
    anonymous = await shop.client.get(path)
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["field"] == "X-Kassa-Device"
    forged = await shop.client.get(path, headers=device_headers("not-a-device"))
    assert forged.status_code == 401
    other_register = await shop.client.get(path, headers=shop.device(1))
    assert other_register.status_code == 403
    assert other_register.json()["errors"][0]["field"] == "register_id"
    by_device = await shop.client.get(path, headers=shop.device(0))
    assert by_device.status_code == 200
    assert {tile["id"] for tile in by_device.json()} == set(shop.staff_ids.values())
    by_session = await shop.client.get(path, headers=await shop.login(Role.WAITER))
    assert by_session.json() == by_device.json()


async def test_a_session_of_another_organization_gets_no_staff_picker(
    shop: Shop, session: AsyncSession
) -> None:
    rival = await make_store(session, await make_organization(session, name="Rival"))
    rival_register = await make_register(session, rival)
    owner = await make_staff(
        session, rival, role=Role.OWNER, email="rival@example.com", password="rival-password"
    )
    await session.commit()
    login = await shop.client.post(
        "/api/v1/auth/password", json={"email": owner.email, "password": "rival-password"}
    )
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    refused = await shop.client.get(f"/api/v1/registers/{shop.register_ids[0]}/staff", headers=headers)
    assert refused.status_code == 404
    assert rival_register.id != shop.register_ids[0]


async def test_pins_without_the_device_are_refused_and_lock_nobody(shop: Shop, session: AsyncSession) -> None:
    # Given an attacker guessing PINs without a device token, ten times
    for _ in range(10):
        response = await _pin(shop, Role.CASHIER, {}, pin="0000")
        assert response.status_code == 401
        assert response.json()["errors"][0]["field"] == "X-Kassa-Device"
    # Then nothing was counted against the cashier, who logs in at the register as usual
    cashier = await session.get(StaffMember, shop.staff_ids[Role.CASHIER])
    assert cashier is not None
    await session.refresh(cashier)
    assert (cashier.failed_pin_attempts, cashier.locked_until) == (0, None)
    assert (await _pin(shop, Role.CASHIER, shop.device(0))).status_code == 200


async def test_a_device_logs_staff_in_only_on_its_own_register(shop: Shop) -> None:
    refused = await _pin(shop, Role.CASHIER, shop.device(1), register_index=0)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["field"] == "register_id"


async def test_a_revoked_device_is_refused(shop: Shop) -> None:
    listed = await shop.call("GET", "/register-devices", role=Role.MANAGER)
    device_id = next(row["id"] for row in listed if row["register_id"] == shop.register_ids[0])
    cashier_refused = await shop.call(
        "POST", f"/register-devices/{device_id}/revoke", role=Role.CASHIER, expect=403
    )
    assert cashier_refused["code"] == "permission_denied"
    revoked = await shop.call("POST", f"/register-devices/{device_id}/revoke", role=Role.MANAGER)
    assert revoked["revoked_at"] is not None
    again = await shop.call("POST", f"/register-devices/{device_id}/revoke", role=Role.MANAGER)
    assert again["revoked_at"] == revoked["revoked_at"]
    response = await _pin(shop, Role.WAITER, shop.device(0))
    assert response.status_code == 401
    assert response.json()["detail"] == "this device is no longer set up as a register"
    picker = await shop.client.get(f"/api/v1/registers/{shop.register_ids[0]}/staff", headers=shop.device(0))
    assert picker.status_code == 401
    assert [row["id"] for row in await shop.call("GET", "/register-devices", role=Role.MANAGER)] == [
        row["id"] for row in listed if row["id"] != device_id
    ]


async def test_a_manager_of_another_store_neither_lists_nor_revokes_this_stores_devices(
    shop: Shop, session: AsyncSession
) -> None:
    store = await session.get(Store, shop.store_id)
    assert store is not None
    organization = await session.get(Organization, store.organization_id)
    assert organization is not None
    other_store = await make_store(session, organization)
    await make_staff(
        session, other_store, role=Role.MANAGER, email="other@example.com", password="other-manager-pw"
    )
    await session.commit()
    login = await shop.client.post(
        "/api/v1/auth/password", json={"email": "other@example.com", "password": "other-manager-pw"}
    )
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    listed = await shop.client.get("/api/v1/register-devices", headers=headers)
    assert listed.json() == []
    own = await shop.call("GET", "/register-devices", role=Role.OWNER)
    assert {row["store_id"] for row in own} == {shop.store_id}
    refused = await shop.client.post(f"/api/v1/register-devices/{own[0]['id']}/revoke", headers=headers)
    assert refused.status_code == 403


async def test_the_last_seen_time_is_written_at_most_once_a_minute(shop: Shop, session: AsyncSession) -> None:
    digest = token_digest(shop.device_tokens[0])
    device = await session.scalar(select(RegisterDevice).where(RegisterDevice.token_digest == digest))
    assert device is not None
    assert device.last_seen_at is None
    await _pin(shop, Role.CASHIER, shop.device(0))
    await session.refresh(device)
    first_seen = device.last_seen_at
    assert first_seen is not None
    assert abs((first_seen - utc_now()).total_seconds()) < 30
    await _pin(shop, Role.WAITER, shop.device(0))
    await session.refresh(device)
    assert device.last_seen_at == first_seen  # a moment later: not written again
    device.last_seen_at = first_seen - timedelta(minutes=2)
    await session.commit()
    await shop.client.get(f"/api/v1/registers/{shop.register_ids[0]}/staff", headers=shop.device(0))
    await session.refresh(device)
    assert device.last_seen_at is not None
    assert device.last_seen_at > first_seen - timedelta(minutes=2)
    assert await session.scalar(select(func.count(RegisterDevice.id))) == 2
