from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from kassa.core.database import utc_now
from kassa.core.settings import get_settings
from kassa.staff.models import StaffMember
from tests.factories import (
    device_headers,
    make_device,
    make_organization,
    make_register,
    make_staff,
    make_store,
)


async def _pin(client: httpx.AsyncClient, counter: dict[str, Any], staff_id: int, pin: str) -> httpx.Response:
    """A PIN login at the counter's register, from the device set up as it."""
    return await client.post(
        "/api/v1/auth/pin",
        json={"register_id": counter["register"], "staff_id": staff_id, "pin": pin},
        headers=device_headers(counter["device"]),
    )


@pytest.fixture
async def counter(session: AsyncSession) -> dict[str, Any]:
    organization = await make_organization(session)
    store = await make_store(session, organization)
    register = await make_register(session, store)
    cashier = await make_staff(session, store, role=Role.CASHIER, pin="2468")
    device = await make_device(session, register)
    await session.commit()
    return {"store": store.id, "register": register.id, "cashier": cashier.id, "device": device}


async def test_right_pin_opens_a_session_that_the_api_accepts(
    client: httpx.AsyncClient, counter: dict[str, Any]
) -> None:
    # given a cashier at a register, when they type the right PIN
    response = await _pin(client, counter, counter["cashier"], "2468")
    # then a session token comes back and /me knows who they are
    assert response.status_code == 200
    body = response.json()
    assert (body["role"], body["register_id"], body["store_id"]) == (
        "cashier",
        counter["register"],
        counter["store"],
    )
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["staff_id"] == counter["cashier"]
    assert "payment.take" in me.json()["permissions"]


async def test_wrong_pin_says_how_many_tries_are_left(
    client: httpx.AsyncClient, counter: dict[str, Any]
) -> None:
    response = await _pin(client, counter, counter["cashier"], "0000")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [{"field": "pin", "reason": "wrong PIN (4 tries left)"}]
    assert response.json()["remaining"] == 4


async def test_five_wrong_pins_lock_the_staff_member_even_for_the_right_pin(
    client: httpx.AsyncClient, counter: dict[str, Any], session: AsyncSession
) -> None:
    # given four wrong PINs
    for remaining in (4, 3, 2, 1):
        response = await _pin(client, counter, counter["cashier"], "1111")
        assert response.json()["remaining"] == remaining
    # when the fifth is wrong too
    fifth = await _pin(client, counter, counter["cashier"], "1111")
    # then the staff member is locked, and the right PIN is refused while locked
    assert fifth.status_code == 423
    assert fifth.json()["code"] == "locked"
    lockout_seconds = get_settings().pin_lockout_minutes * 60
    assert lockout_seconds - 5 <= fifth.json()["retry_after"] <= lockout_seconds + 1
    assert fifth.headers["retry-after"] == str(fifth.json()["retry_after"])
    right = await _pin(client, counter, counter["cashier"], "2468")
    assert right.status_code == 423
    staff = await session.scalar(select(StaffMember).where(StaffMember.id == counter["cashier"]))
    assert staff is not None
    await session.refresh(staff)
    assert staff.locked_until is not None
    expected = utc_now() + timedelta(minutes=get_settings().pin_lockout_minutes)
    assert abs((staff.locked_until - expected).total_seconds()) < 60


async def test_the_lock_ends_after_the_lockout_period(
    client: httpx.AsyncClient, counter: dict[str, Any], session: AsyncSession
) -> None:
    for _ in range(5):
        await _pin(client, counter, counter["cashier"], "1111")
    staff = await session.get(StaffMember, counter["cashier"])
    assert staff is not None
    await session.refresh(staff)
    # the lockout period passes
    staff.locked_until = utc_now() - timedelta(seconds=1)
    await session.commit()
    response = await _pin(client, counter, counter["cashier"], "2468")
    assert response.status_code == 200


async def test_a_manager_can_lift_a_lock_and_a_cashier_cannot(
    client: httpx.AsyncClient, counter: dict[str, Any], session: AsyncSession
) -> None:
    store_id = counter["store"]
    from kassa.stores.models import Store

    store = await session.get(Store, store_id)
    assert store is not None
    manager = await make_staff(session, store, role=Role.MANAGER, pin="9999")
    other_cashier = await make_staff(session, store, role=Role.CASHIER, pin="8888")
    await session.commit()
    for _ in range(5):
        await _pin(client, counter, counter["cashier"], "1111")
    cashier_token = (await _pin(client, counter, other_cashier.id, "8888")).json()["token"]
    refused = await client.post(
        f"/api/v1/staff/{counter['cashier']}/unlock", headers={"Authorization": f"Bearer {cashier_token}"}
    )
    assert refused.status_code == 403
    manager_token = (await _pin(client, counter, manager.id, "9999")).json()["token"]
    unlocked = await client.post(
        f"/api/v1/staff/{counter['cashier']}/unlock", headers={"Authorization": f"Bearer {manager_token}"}
    )
    assert unlocked.status_code == 200
    assert unlocked.json()["locked_until"] is None
    assert (await _pin(client, counter, counter["cashier"], "2468")).status_code == 200


async def test_a_right_pin_resets_the_count_of_wrong_ones(
    client: httpx.AsyncClient, counter: dict[str, Any]
) -> None:
    for _ in range(4):
        await _pin(client, counter, counter["cashier"], "1111")
    assert (await _pin(client, counter, counter["cashier"], "2468")).status_code == 200
    response = await _pin(client, counter, counter["cashier"], "1111")
    assert response.json()["remaining"] == 4


async def test_staff_of_another_store_cannot_log_in_on_this_register(
    client: httpx.AsyncClient, counter: dict[str, Any], session: AsyncSession
) -> None:
    from kassa.stores.models import Store

    store = await session.get(Store, counter["store"])
    assert store is not None
    organization_id = store.organization_id
    from kassa.stores.models import Organization

    organization = await session.get(Organization, organization_id)
    assert organization is not None
    other_store = await make_store(session, organization)
    stranger = await make_staff(session, other_store, pin="2468")
    await session.commit()
    response = await _pin(client, counter, stranger.id, "2468")
    assert response.status_code == 401
    assert response.json()["errors"][0]["field"] == "staff_id"


async def test_logout_revokes_the_token(client: httpx.AsyncClient, counter: dict[str, Any]) -> None:
    token = (await _pin(client, counter, counter["cashier"], "2468")).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    after = await client.get("/api/v1/auth/me", headers=headers)
    assert after.status_code == 401
    assert after.json()["code"] == "not_authenticated"


async def test_expired_sessions_are_refused(
    client: httpx.AsyncClient, counter: dict[str, Any], session: AsyncSession
) -> None:
    from kassa.core.auth import token_digest
    from kassa.staff.models import StaffSession

    token = (await _pin(client, counter, counter["cashier"], "2468")).json()["token"]
    staff_session = await session.scalar(
        select(StaffSession).where(StaffSession.token_digest == token_digest(token))
    )
    assert staff_session is not None
    staff_session.expires_at = utc_now() - timedelta(seconds=1)
    await session.commit()
    assert (
        await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 401


async def test_owner_logs_in_to_the_back_office_with_email_and_password(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    organization = await make_organization(session)
    store = await make_store(session, organization)
    await make_staff(
        session, store, role=Role.OWNER, email="Boss@Example.com", password="correct horse battery"
    )
    await session.commit()
    ok = await client.post(
        "/api/v1/auth/password", json={"email": "boss@example.com", "password": "correct horse battery"}
    )
    assert ok.status_code == 200
    assert ok.json()["role"] == "owner"
    wrong = await client.post("/api/v1/auth/password", json={"email": "boss@example.com", "password": "nope"})
    assert wrong.status_code == 401
    unknown = await client.post(
        "/api/v1/auth/password", json={"email": "who@example.com", "password": "nope"}
    )
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == wrong.json()["detail"]


async def test_pins_and_passwords_are_stored_as_argon2_hashes(session: AsyncSession) -> None:
    organization = await make_organization(session)
    store = await make_store(session, organization)
    staff = await make_staff(
        session, store, role=Role.MANAGER, pin="5678", email="m@example.com", password="x" * 12
    )
    assert staff.pin_hash.startswith("$argon2id$")
    assert staff.password_hash is not None
    assert staff.password_hash.startswith("$argon2id$")
    assert "5678" not in staff.pin_hash


async def test_a_pin_lockout_ends_the_staff_members_open_sessions(
    client: httpx.AsyncClient, counter: dict[str, Any]
) -> None:
    # given a cashier logged in (and maybe at a second register too)
    first = (await _pin(client, counter, counter["cashier"], "2468")).json()["token"]
    second = (await _pin(client, counter, counter["cashier"], "2468")).json()["token"]
    # when someone types five wrong PINs for them
    for _ in range(5):
        await _pin(client, counter, counter["cashier"], "1111")
    # then both sessions have ended
    for token in (first, second):
        response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json()["detail"] == "session ended; log in again"


async def test_a_lockout_by_wrong_approver_pins_ends_the_approvers_sessions(
    client: httpx.AsyncClient, counter: dict[str, Any], session: AsyncSession
) -> None:
    from kassa.staff import service as staff_service
    from kassa.stores.models import Store

    store = await session.get(Store, counter["store"])
    assert store is not None
    manager = await make_staff(session, store, role=Role.MANAGER, pin="9999")
    await session.commit()
    token = (await _pin(client, counter, manager.id, "9999")).json()["token"]
    for _ in range(5):
        result = await staff_service.verify_approver_pin(session, store.id, manager.id, "0000")
        assert result.error is not None
        await session.commit()
    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
