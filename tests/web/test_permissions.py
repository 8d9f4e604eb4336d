"""The role matrix, checked through the API: the service layer refuses, not only the UI."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from tests.factories import (
    device_headers,
    make_device,
    make_organization,
    make_register,
    make_staff,
    make_store,
)
from tests.fingerprint import unchanged

PINS = {Role.OWNER: "1111", Role.MANAGER: "2222", Role.CASHIER: "3333", Role.WAITER: "4444"}


@pytest.fixture
async def tokens(session: AsyncSession, client: httpx.AsyncClient) -> dict[str, object]:
    organization = await make_organization(session)
    store = await make_store(session, organization)
    register = await make_register(session, store)
    staff = {role: await make_staff(session, store, role=role, pin=pin) for role, pin in PINS.items()}
    device = device_headers(await make_device(session, register))
    await session.commit()
    result: dict[str, object] = {"store_id": store.id}
    for role, member in staff.items():
        response = await client.post(
            "/api/v1/auth/pin",
            json={"register_id": register.id, "staff_id": member.id, "pin": PINS[role]},
            headers=device,
        )
        result[role.value] = {"Authorization": f"Bearer {response.json()['token']}"}
    return result


@pytest.mark.parametrize(
    ("acting_role", "new_role", "expected"),
    [
        (Role.WAITER, Role.WAITER, 403),
        (Role.CASHIER, Role.WAITER, 403),
        (Role.MANAGER, Role.CASHIER, 201),
        (Role.MANAGER, Role.WAITER, 201),
        (Role.MANAGER, Role.MANAGER, 403),
        (Role.OWNER, Role.MANAGER, 201),
        (Role.OWNER, Role.CASHIER, 201),
    ],
)
async def test_who_may_hire_whom(
    client: httpx.AsyncClient,
    session: AsyncSession,
    tokens: dict[str, object],
    acting_role: Role,
    new_role: Role,
    expected: int,
) -> None:
    async with unchanged(session, when=expected == 403):
        response = await client.post(
            "/api/v1/staff",
            json={
                "display_name": "New",
                "role": new_role.value,
                "pin": "5555",
                "store_id": tokens["store_id"],
            },
            headers=tokens[acting_role.value],  # type: ignore[arg-type]
        )
    assert response.status_code == expected, response.text
    if expected == 403:
        assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("acting_role", "expected"),
    [(Role.WAITER, 403), (Role.CASHIER, 403), (Role.MANAGER, 200), (Role.OWNER, 200)],
)
async def test_who_may_see_the_staff_list(
    client: httpx.AsyncClient, tokens: dict[str, object], acting_role: Role, expected: int
) -> None:
    response = await client.get("/api/v1/staff", headers=tokens[acting_role.value])  # type: ignore[arg-type]
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("acting_role", "expected"),
    [(Role.WAITER, 403), (Role.CASHIER, 403), (Role.MANAGER, 403), (Role.OWNER, 200)],
)
async def test_only_owners_change_store_settings(
    client: httpx.AsyncClient,
    session: AsyncSession,
    tokens: dict[str, object],
    acting_role: Role,
    expected: int,
) -> None:
    async with unchanged(session, when=expected == 403):
        response = await client.patch(
            f"/api/v1/stores/{tokens['store_id']}",
            json={"name": "Renamed"},
            headers=tokens[acting_role.value],  # type: ignore[arg-type]
        )
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["name"] == "Renamed"


async def test_a_refused_call_changes_nothing(client: httpx.AsyncClient, tokens: dict[str, object]) -> None:
    before = await client.get("/api/v1/staff", headers=tokens["owner"])  # type: ignore[arg-type]
    await client.post(
        "/api/v1/staff",
        json={"display_name": "Sneaky", "role": "owner", "pin": "5555", "store_id": None},
        headers=tokens["manager"],  # type: ignore[arg-type]
    )
    after = await client.get("/api/v1/staff", headers=tokens["owner"])  # type: ignore[arg-type]
    assert [row["id"] for row in after.json()] == [row["id"] for row in before.json()]


async def test_manager_cannot_act_in_another_store(
    client: httpx.AsyncClient, tokens: dict[str, object], session: AsyncSession
) -> None:
    from kassa.stores.models import Organization, Store

    store = await session.get(Store, tokens["store_id"])
    assert store is not None
    organization = await session.get(Organization, store.organization_id)
    assert organization is not None
    other = await make_store(session, organization)
    await session.commit()
    response = await client.post(
        "/api/v1/staff",
        json={"display_name": "Elsewhere", "role": "cashier", "pin": "5555", "store_id": other.id},
        headers=tokens["manager"],  # type: ignore[arg-type]
    )
    assert response.status_code == 403


async def test_owner_opens_a_store_with_registers(
    client: httpx.AsyncClient, tokens: dict[str, object]
) -> None:
    created = await client.post(
        "/api/v1/stores",
        json={
            "name": "Second café",
            "currency": "CNY",
            "timezone": "Asia/Shanghai",
            "phone_region": "CN",
            "locale": "zh_CN",
            "vat_rates": [{"code": "standard", "label": "6%", "rate_basis_points": 600, "is_default": True}],
        },
        headers=tokens["owner"],  # type: ignore[arg-type]
    )
    assert created.status_code == 201, created.text
    assert created.json()["vat_rates"][0]["rate_basis_points"] == 600
    register = await client.post(
        f"/api/v1/stores/{created.json()['id']}/registers",
        json={"name": "Counter 1"},
        headers=tokens["owner"],  # type: ignore[arg-type]
    )
    assert register.status_code == 201
