"""API keys: made by an owner, limited to chosen stores and permissions, shown once, stored
as a SHA-256, revocable, with a last-used time written at most once a minute."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.api_keys.models import ApiKey
from kassa.core.auth import Role, token_digest
from kassa.core.database import utc_now
from kassa.stores.models import Organization, Store
from tests.factories import make_organization, make_store
from tests.shop import Shop


async def _second_store(shop: Shop, session: AsyncSession) -> int:
    store = await session.get(Store, shop.store_id)
    assert store is not None
    organization = await session.get(Organization, store.organization_id)
    assert organization is not None
    second = await make_store(session, organization, name="Second store")
    await session.commit()
    return second.id


async def _make_key(
    shop: Shop, permissions: list[str], store_ids: list[int], name: str = "Shop"
) -> dict[str, Any]:
    return await shop.call(
        "POST",
        "/api-keys",
        {"name": name, "permissions": permissions, "store_ids": store_ids},
        role=Role.OWNER,
        expect=201,
    )


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    ("role", "expected"), [(Role.OWNER, 201), (Role.MANAGER, 403), (Role.CASHIER, 403), (Role.WAITER, 403)]
)
async def test_only_an_owner_makes_keys(shop: Shop, role: Role, expected: int) -> None:
    await shop.call(
        "POST",
        "/api-keys",
        {"name": "Online shop", "permissions": ["catalog.manage"], "store_ids": [shop.store_id]},
        role=role,
        expect=expected,
    )
    listed = await shop.client.get("/api/v1/api-keys", headers=await shop.login(role))
    assert listed.status_code == (200 if role == Role.OWNER else 403)


async def test_the_key_is_shown_once_and_stored_as_its_digest(shop: Shop, session: AsyncSession) -> None:
    created = await _make_key(
        shop, ["staff.view", "catalog.manage"], [shop.store_id], name="  Accounting  export "
    )
    key = created["key"]
    assert key.startswith("kassa_")
    assert len(key) == len("kassa_") + 43
    assert created["display_prefix"] == key[:12]
    assert (created["name"], created["permissions"], created["store_ids"]) == (
        "Accounting export",
        ["catalog.manage", "staff.view"],
        [shop.store_id],
    )
    row = await session.get(ApiKey, created["id"])
    assert row is not None
    assert row.key_digest == token_digest(key)
    listed = await shop.call("GET", "/api-keys", role=Role.OWNER)
    assert [item["id"] for item in listed] == [created["id"]]
    assert "key" not in listed[0]


async def test_a_key_acts_with_its_permissions_and_no_staff_id(shop: Shop) -> None:
    key = (await _make_key(shop, ["staff.view"], [shop.store_id]))["key"]
    me = await shop.client.get("/api/v1/auth/me", headers=_bearer(key))
    assert me.status_code == 200
    assert me.json() == {
        "staff_id": None,
        "display_name": "API key: Shop",
        "role": None,
        "organization_id": me.json()["organization_id"],
        "store_id": shop.store_id,
        "register_id": None,
        "permissions": ["staff.view"],
    }
    staff = await shop.client.get("/api/v1/staff", headers=_bearer(key))
    assert staff.status_code == 200
    # like a manager of the store: its staff (the owner belongs to no store)
    assert {row["id"] for row in staff.json()} == {
        staff_id for role, staff_id in shop.staff_ids.items() if role != Role.OWNER
    }
    # a permission it was not given is refused
    refused = await shop.client.post(
        "/api/v1/staff",
        json={"display_name": "X", "role": "cashier", "pin": "5555", "store_id": shop.store_id},
        headers=_bearer(key),
    )
    assert refused.status_code == 403
    assert refused.json()["permission"] == "staff.manage"
    # a key is not logged out: it is revoked
    assert (await shop.client.post("/api/v1/auth/logout", headers=_bearer(key))).status_code == 422


async def test_a_key_for_one_store_is_refused_in_another(shop: Shop, session: AsyncSession) -> None:
    second = await _second_store(shop, session)
    key = (await _make_key(shop, ["store.manage"], [shop.store_id]))["key"]
    own = await shop.client.get(f"/api/v1/stores/{shop.store_id}", headers=_bearer(key))
    assert own.status_code == 200
    other = await shop.client.get(f"/api/v1/stores/{second}", headers=_bearer(key))
    assert other.status_code == 403
    renamed = await shop.client.patch(
        f"/api/v1/stores/{second}", json={"name": "Hacked"}, headers=_bearer(key)
    )
    assert renamed.status_code == 403
    stores = await shop.client.get("/api/v1/stores", headers=_bearer(key))
    assert [store["id"] for store in stores.json()] == [shop.store_id]


async def test_a_key_for_two_stores_acts_in_both_and_no_third(shop: Shop, session: AsyncSession) -> None:
    second = await _second_store(shop, session)
    third = await _second_store(shop, session)
    key = (await _make_key(shop, ["store.manage"], [shop.store_id, second]))["key"]
    for store_id, expected in ((shop.store_id, 200), (second, 200), (third, 403)):
        response = await shop.client.get(f"/api/v1/stores/{store_id}", headers=_bearer(key))
        assert response.status_code == expected, store_id
    stores = await shop.client.get("/api/v1/stores", headers=_bearer(key))
    assert [store["id"] for store in stores.json()] == [shop.store_id, second]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "permissions": ["api_key.manage"], "store_ids": []}, "store_ids"),
        ({"name": " ", "permissions": ["staff.view"], "store_ids": ["STORE"]}, "name"),
        ({"name": "x", "permissions": [], "store_ids": ["STORE"]}, "permissions"),
        ({"name": "x", "permissions": ["root"], "store_ids": ["STORE"]}, "permissions.0"),
        ({"name": "x", "permissions": ["api_key.manage"], "store_ids": ["STORE"]}, "permissions"),
        ({"name": "x", "permissions": ["staff.view"], "store_ids": [2**63]}, "store_ids.0"),
        ({"name": "x", "permissions": ["staff.view"], "store_ids": ["STORE"], "role": "owner"}, "role"),
    ],
)
async def test_a_key_request_that_does_not_fit_is_refused_naming_the_field(
    shop: Shop, body: dict[str, Any], field: str
) -> None:
    body = {**body, "store_ids": [shop.store_id if item == "STORE" else item for item in body["store_ids"]]}
    refused = await shop.call("POST", "/api-keys", body, role=Role.OWNER, expect=422)
    assert [error["field"] for error in refused["errors"]] == [field]


async def test_a_store_of_another_organization_cannot_be_given(shop: Shop, session: AsyncSession) -> None:
    rival = await make_store(session, await make_organization(session, name="Rival"))
    await session.commit()
    refused = await shop.call(
        "POST",
        "/api-keys",
        {"name": "x", "permissions": ["staff.view"], "store_ids": [rival.id]},
        role=Role.OWNER,
        expect=404,
    )
    assert refused["errors"] == [{"field": "store_ids", "reason": f"no store {rival.id}"}]


async def test_a_key_cannot_make_keys(shop: Shop) -> None:
    key = (await _make_key(shop, ["staff.view"], [shop.store_id]))["key"]
    response = await shop.client.post(
        "/api/v1/api-keys",
        json={"name": "more", "permissions": ["staff.view"], "store_ids": [shop.store_id]},
        headers=_bearer(key),
    )
    assert response.status_code == 403


async def test_a_revoked_key_is_refused(shop: Shop) -> None:
    created = await _make_key(shop, ["staff.view"], [shop.store_id])
    assert (await shop.client.get("/api/v1/staff", headers=_bearer(created["key"]))).status_code == 200
    revoked = await shop.call("POST", f"/api-keys/{created['id']}/revoke", role=Role.OWNER)
    assert revoked["revoked_at"] is not None
    refused = await shop.client.get("/api/v1/staff", headers=_bearer(created["key"]))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "unknown or revoked API key"
    assert await shop.call("GET", "/api-keys", role=Role.OWNER) == []
    everything = await shop.call("GET", "/api-keys?include_revoked=true", role=Role.OWNER)
    assert [item["id"] for item in everything] == [created["id"]]
    unknown = await shop.client.get("/api/v1/staff", headers=_bearer("kassa_" + "x" * 43))
    assert unknown.status_code == 401


async def test_an_owner_of_another_organization_cannot_revoke_the_key(
    shop: Shop, session: AsyncSession
) -> None:
    from tests.factories import make_staff

    created = await _make_key(shop, ["staff.view"], [shop.store_id])
    rival_store = await make_store(session, await make_organization(session, name="Rival"))
    await make_staff(
        session, rival_store, role=Role.OWNER, email="rival@example.com", password="rival-password"
    )
    await session.commit()
    login = await shop.client.post(
        "/api/v1/auth/password", json={"email": "rival@example.com", "password": "rival-password"}
    )
    rival = {"Authorization": f"Bearer {login.json()['token']}"}
    refused = await shop.client.post(f"/api/v1/api-keys/{created['id']}/revoke", headers=rival)
    assert refused.status_code == 404
    assert (await shop.client.get("/api/v1/api-keys", headers=rival)).json() == []
    assert (await shop.client.get("/api/v1/staff", headers=_bearer(created["key"]))).status_code == 200


async def test_the_last_use_is_written_at_most_once_a_minute(shop: Shop, session: AsyncSession) -> None:
    created = await _make_key(shop, ["staff.view"], [shop.store_id])
    assert created["last_used_at"] is None
    row = await session.get(ApiKey, created["id"])
    assert row is not None
    await shop.client.get("/api/v1/staff", headers=_bearer(created["key"]))
    await session.refresh(row)
    first_use = row.last_used_at
    assert first_use is not None
    await shop.client.get("/api/v1/staff", headers=_bearer(created["key"]))
    await session.refresh(row)
    assert row.last_used_at == first_use
    row.last_used_at = utc_now() - timedelta(minutes=2)
    await session.commit()
    await shop.client.get("/api/v1/staff", headers=_bearer(created["key"]))
    await session.refresh(row)
    assert row.last_used_at is not None
    assert row.last_used_at > utc_now() - timedelta(seconds=30)


async def test_a_session_token_and_a_key_are_told_apart_by_the_prefix(shop: Shop) -> None:
    session_headers = await shop.login(Role.OWNER)
    assert not session_headers["Authorization"].removeprefix("Bearer ").startswith("kassa_")
    response = await shop.client.get("/api/v1/auth/me", headers=session_headers)
    assert response.json()["staff_id"] == shop.staff_ids[Role.OWNER]


async def test_the_client_sees_keys_only_through_the_owner(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/api-keys")
    assert response.status_code == 401
