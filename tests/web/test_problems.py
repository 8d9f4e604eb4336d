"""Bad input gets a 4xx problem+json naming the field; never a 500."""

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


async def test_unknown_api_route_is_a_problem_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/no/such/thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://kassa.dev/problems/not_found",
        "title": "Not found",
        "status": 404,
        "detail": "no API route /no/such/thing",
        "code": "not_found",
        "errors": [{"field": "path", "reason": "no API route /no/such/thing"}],
    }


async def test_validation_errors_name_each_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/pin", json={"register_id": "one", "pin": "12"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"register_id", "staff_id", "pin"}


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"register_id": 1e309}', b"\xff\xfe"])
async def test_garbage_bodies_are_client_errors(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post(
        "/api/v1/auth/pin", content=body, headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == "application/problem+json"


async def test_missing_token_is_401_with_a_bearer_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/staff")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["errors"] == [
        {"field": "Authorization", "reason": "log in first: send 'Authorization: Bearer <token>'"}
    ]


async def test_domain_errors_name_the_field(client: httpx.AsyncClient, session: AsyncSession) -> None:
    organization = await make_organization(session)
    store = await make_store(session, organization)
    register = await make_register(session, store)
    owner = await make_staff(session, store, role=Role.OWNER, pin="1111")
    device = device_headers(await make_device(session, register))
    await session.commit()
    token = (
        await client.post(
            "/api/v1/auth/pin",
            json={"register_id": register.id, "staff_id": owner.id, "pin": "1111"},
            headers=device,
        )
    ).json()["token"]
    response = await client.post(
        "/api/v1/stores",
        json={
            "name": "Bad zone",
            "currency": "CNY",
            "timezone": "Mars/Olympus",
            "phone_region": "CN",
            "locale": "zh_CN",
            "vat_rates": [{"code": "s", "label": "6%", "rate_basis_points": 600, "is_default": True}],
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "timezone", "reason": "unknown time zone 'Mars/Olympus'"}]


async def test_wrong_method_is_a_problem_too(client: httpx.AsyncClient) -> None:
    response = await client.delete("/healthz")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_openapi_documents_the_api(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    assert "/api/v1/auth/pin" in spec["paths"]
    assert (await client.get("/api/docs")).status_code == 200
