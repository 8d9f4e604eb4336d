"""Back-office password logins are rate limited per e-mail address and per client address,
in the database, with lockouts that double (1, 2, 4, ... minutes, capped); a lockout answers
423/429 with until when; a staff member whose account is locked is logged out everywhere."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from kassa.core.database import get_database, utc_now
from kassa.core.settings import Settings, get_settings
from kassa.staff import service as staff_service
from kassa.staff.models import LoginThrottle
from kassa.staff.throttle import ThrottleScope, lockout_duration
from tests.factories import make_organization, make_staff, make_store
from tests.shop import Shop

EMAIL = "boss@example.com"
PASSWORD = "correct horse battery"


@pytest.fixture
def limits() -> Iterator[Settings]:
    """The process's settings, put back after the test changes them."""
    settings = get_settings()
    saved = settings.model_dump()
    yield settings
    for name, value in saved.items():
        setattr(settings, name, value)


@pytest.fixture
async def owner_id(session: AsyncSession) -> int:
    organization = await make_organization(session)
    store = await make_store(session, organization)
    owner = await make_staff(session, store, role=Role.OWNER, email=EMAIL, password=PASSWORD)
    await session.commit()
    return owner.id


async def _login(client: httpx.AsyncClient, password: str, email: str = EMAIL) -> httpx.Response:
    return await client.post("/api/v1/auth/password", json={"email": email, "password": password})


async def _throttle(session: AsyncSession, scope: ThrottleScope, subject: str) -> LoginThrottle:
    row = await session.scalar(
        select(LoginThrottle).where(LoginThrottle.scope == scope.value, LoginThrottle.subject == subject)
    )
    assert row is not None
    await session.refresh(row)
    return row


async def _let_lock_run_out(session: AsyncSession, scope: ThrottleScope, subject: str) -> None:
    row = await _throttle(session, scope, subject)
    row.locked_until = utc_now() - timedelta(seconds=1)
    await session.commit()


async def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(
    client: httpx.AsyncClient, owner_id: int
) -> None:
    for _ in range(4):
        wrong = await _login(client, "wrong password")
        assert wrong.status_code == 401
        assert wrong.json()["detail"] == "wrong e-mail or password"
    fifth = await _login(client, "wrong password")
    assert fifth.status_code == 423
    assert fifth.headers["content-type"] == "application/problem+json"
    body = fifth.json()
    assert (body["code"], body["retry_after"]) == ("locked", 60)
    assert fifth.headers["retry-after"] == "60"
    assert body["errors"] == [
        {"field": "email", "reason": "too many failed logins for this e-mail address; try again later"}
    ]
    right = await _login(client, PASSWORD)
    assert right.status_code == 423
    assert right.json()["locked_until"] == body["locked_until"]
    assert 1 <= right.json()["retry_after"] <= 60


async def test_each_lockout_lasts_twice_as_long_up_to_the_cap(
    client: httpx.AsyncClient, owner_id: int, session: AsyncSession, limits: Settings
) -> None:
    limits.password_lockout_max_minutes = 6
    limits.password_max_attempts_per_address = 100  # this test is about the account
    durations = []
    for _round in range(5):
        for _ in range(5):
            response = await _login(client, "wrong password")
        assert response.status_code == 423
        durations.append(response.json()["retry_after"])
        row = await _throttle(session, ThrottleScope.ACCOUNT, EMAIL)
        assert row.failed_attempts == 0
        await _let_lock_run_out(session, ThrottleScope.ACCOUNT, EMAIL)
    assert durations == [60, 120, 240, 360, 360]
    # A right password after the lock ran out logs in and forgets the lockouts.
    assert (await _login(client, PASSWORD)).status_code == 200
    assert (
        await session.scalar(select(LoginThrottle).where(LoginThrottle.scope == ThrottleScope.ACCOUNT.value))
    ) is None


@pytest.mark.parametrize(("lockouts", "minutes"), [(0, 1), (1, 2), (2, 4), (5, 32), (6, 60), (40, 60)])
def test_the_lockout_duration_doubles_and_is_capped(lockouts: int, minutes: int) -> None:
    assert lockout_duration(lockouts) == timedelta(minutes=minutes)


async def test_lockouts_are_forgotten_after_a_day_without_failures(
    client: httpx.AsyncClient, owner_id: int, session: AsyncSession
) -> None:
    for _ in range(5):
        await _login(client, "wrong password")
    row = await _throttle(session, ThrottleScope.ACCOUNT, EMAIL)
    assert row.lockouts == 1
    row.locked_until = utc_now() - timedelta(days=1, minutes=1)
    row.last_failure_at = utc_now() - timedelta(days=1, minutes=1)
    await session.commit()
    for _ in range(5):
        response = await _login(client, "wrong password")
    assert response.json()["retry_after"] == 60  # the first lockout's length again


async def test_failures_an_hour_apart_do_not_add_up(
    client: httpx.AsyncClient, owner_id: int, session: AsyncSession
) -> None:
    for _ in range(4):
        await _login(client, "wrong password")
    row = await _throttle(session, ThrottleScope.ACCOUNT, EMAIL)
    row.last_failure_at = utc_now() - timedelta(hours=1, seconds=1)
    await session.commit()
    assert (await _login(client, "wrong password")).status_code == 401
    assert (await _throttle(session, ThrottleScope.ACCOUNT, EMAIL)).failed_attempts == 1


async def test_an_unknown_address_is_locked_the_same_way(client: httpx.AsyncClient, owner_id: int) -> None:
    answers = [(await _login(client, "x", email="Nobody@Example.com")).status_code for _ in range(6)]
    assert answers == [401, 401, 401, 401, 423, 423]


async def test_too_many_failures_from_one_address_answer_429(
    client: httpx.AsyncClient, owner_id: int, limits: Settings
) -> None:
    # Given guesses at many e-mail addresses from one client
    limits.password_max_attempts_per_address = 3
    answers = [(await _login(client, "x", email=f"user{number}@example.com")) for number in range(3)]
    assert [answer.status_code for answer in answers] == [401, 401, 429]
    body = answers[-1].json()
    assert (body["code"], body["retry_after"], body["errors"]) == ("too_many_requests", 60, [])
    assert "locked_until" in body
    # Then even the owner's right password from that address waits
    blocked = await _login(client, PASSWORD)
    assert blocked.status_code == 429
    assert blocked.headers["retry-after"] in {"59", "60"}


async def test_a_right_password_does_not_reset_the_address_counter(
    client: httpx.AsyncClient, owner_id: int, session: AsyncSession, limits: Settings
) -> None:
    limits.password_max_attempts_per_address = 3
    await _login(client, "x", email="a@example.com")
    await _login(client, "x", email="b@example.com")
    assert (await _login(client, PASSWORD)).status_code == 200  # an attacker's own account
    assert (await _login(client, "x", email="c@example.com")).status_code == 429


async def test_an_account_lockout_ends_the_staff_members_sessions(
    client: httpx.AsyncClient, owner_id: int
) -> None:
    token = (await _login(client, PASSWORD)).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    for _ in range(5):
        await _login(client, "wrong password")
    ended = await client.get("/api/v1/auth/me", headers=headers)
    assert ended.status_code == 401
    assert ended.json()["detail"] == "session ended; log in again"


async def test_a_manager_unlock_lifts_the_password_lockout_too(shop: Shop, session: AsyncSession) -> None:
    from kassa.stores.models import Store

    store = await session.get(Store, shop.store_id)
    assert store is not None
    manager = await make_staff(
        session, store, role=Role.MANAGER, email="m@example.com", password="manager-password"
    )
    await session.commit()
    for _ in range(5):
        await _login(shop.client, "wrong", email="m@example.com")
    assert (await _login(shop.client, "manager-password", email="m@example.com")).status_code == 423
    await shop.call("POST", f"/staff/{manager.id}/unlock", role=Role.OWNER)
    assert (await _login(shop.client, "manager-password", email="m@example.com")).status_code == 200


async def test_the_counters_hold_when_guesses_arrive_at_once(committed_shop: Shop, limits: Settings) -> None:
    """Separate units of work (as separate server processes would) all count: of 8
    concurrent wrong passwords none is lost."""
    limits.password_max_attempts_per_account = 100
    database = get_database()
    async with database.unit_of_work() as session:
        from kassa.stores.models import Store

        store = await session.get(Store, committed_shop.store_id)
        assert store is not None
        await make_staff(session, store, role=Role.OWNER, email=EMAIL, password=PASSWORD)

    async def guess() -> None:
        async with database.unit_of_work() as session:
            result = await staff_service.login_with_password(session, EMAIL, "wrong", "192.0.2.7")
            assert result.error is not None

    await asyncio.gather(*(guess() for _ in range(8)))
    async with database.read_only() as session:
        rows = {
            row.scope: row.failed_attempts for row in (await session.scalars(select(LoginThrottle))).all()
        }
    assert rows == {"account": 8, "address": 8}


async def test_the_failure_that_locks_the_account_counts_for_the_address_too(
    client: httpx.AsyncClient, owner_id: int, limits: Settings
) -> None:
    limits.password_max_attempts_per_address = 5
    answers = [(await _login(client, "wrong password")).status_code for _ in range(5)]
    assert answers == [401, 401, 401, 401, 423]  # the account's lock is named first
    other = await _login(client, "x", email="someone@example.com")
    assert other.status_code == 429
