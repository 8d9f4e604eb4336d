"""The catalog API: shapes, money as minor units, and who may change what."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from kassa.core.events import Event, InProcessEventBus
from tests.factories import (
    device_headers,
    make_device,
    make_organization,
    make_register,
    make_staff,
    make_store,
)

PINS = {Role.OWNER: "1111", Role.MANAGER: "2222", Role.CASHIER: "3333", Role.WAITER: "4444"}


@dataclass
class Logins:
    store_id: int
    headers: dict[Role, dict[str, str]]


@pytest.fixture
async def logins(session: AsyncSession, client: httpx.AsyncClient) -> Logins:
    organization = await make_organization(session)
    store = await make_store(session, organization)
    register = await make_register(session, store)
    staff = {role: await make_staff(session, store, role=role, pin=pin) for role, pin in PINS.items()}
    device = device_headers(await make_device(session, register))
    await session.commit()
    headers = {}
    for role, member in staff.items():
        response = await client.post(
            "/api/v1/auth/pin",
            json={"register_id": register.id, "staff_id": member.id, "pin": PINS[role]},
            headers=device,
        )
        headers[role] = {"Authorization": f"Bearer {response.json()['token']}"}
    return Logins(store_id=store.id, headers=headers)


async def post(
    client: httpx.AsyncClient, path: str, body: dict[str, object], headers: dict[str, str]
) -> dict:  # type: ignore[type-arg]
    response = await client.post(f"/api/v1/catalog{path}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def make_latte(client: httpx.AsyncClient, logins: Logins) -> tuple[int, int, list[int]]:
    manager = logins.headers[Role.MANAGER]
    category = await post(
        client,
        "/categories",
        {"name": "咖啡", "name_translations": {"en": "Coffee"}, "kitchen_station": "bar"},
        manager,
    )
    group = await post(
        client,
        "/modifier-groups",
        {
            "name": "杯型",
            "name_translations": {"en": "Size"},
            "is_required": True,
            "options": [
                {
                    "name": "中杯",
                    "name_translations": {"en": "Regular"},
                    "price_delta_amount": 0,
                    "currency": "CNY",
                },
                {
                    "name": "大杯",
                    "name_translations": {"en": "Large"},
                    "price_delta_amount": 300,
                    "currency": "CNY",
                },
            ],
        },
        manager,
    )
    product = await post(
        client,
        "/products",
        {
            "category_id": category["id"],
            "name": "拿铁",
            "name_translations": {"en": "Latte"},
            "sku": "COF-LAT",
            "price_amount": 2400,
            "currency": "CNY",
            "vat_rate_code": "standard",
            "unit": "cup",
            "modifier_group_ids": [group["id"]],
        },
        manager,
    )
    return product["id"], group["id"], [option["id"] for option in group["options"]]


async def test_a_manager_builds_a_product_and_the_register_sees_it_on_the_menu(
    client: httpx.AsyncClient, logins: Logins
) -> None:
    # given a latte with a size choice, priced ¥26.00 in this store
    product_id, group_id, (regular_id, large_id) = await make_latte(client, logins)
    manager, cashier = logins.headers[Role.MANAGER], logins.headers[Role.CASHIER]
    response = await client.patch(
        f"/api/v1/catalog/stores/{logins.store_id}/products/{product_id}",
        json={"price_override_amount": 2600},
        headers=manager,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "store_id": logins.store_id,
        "product_id": product_id,
        "is_available": True,
        "price_override_amount": 2600,
        "currency": "CNY",
        "is_marked_sold_out": False,
        "is_stock_tracked": False,
        "stock_quantity": None,
        "is_sold_out": False,
    }
    # when the cashier's register asks for the English menu
    response = await client.get(f"/api/v1/catalog/stores/{logins.store_id}/menu?locale=en", headers=cashier)
    # then
    assert response.status_code == 200, response.text
    menu = response.json()
    assert (menu["store_id"], menu["currency"], menu["locale"]) == (logins.store_id, "CNY", "en")
    [category] = menu["categories"]
    assert (category["display_name"], category["name"], category["kitchen_station"]) == (
        "Coffee",
        "咖啡",
        "bar",
    )
    [product] = category["products"]
    assert product == {
        "id": product_id,
        "name": "拿铁",
        "display_name": "Latte",
        "name_translations": {"en": "Latte"},
        "sku": "COF-LAT",
        "barcode": None,
        "kind": "standard",
        "unit": "cup",
        "image_url": "",
        "price_amount": 2600,
        "currency": "CNY",
        "min_price_amount": None,
        "max_price_amount": None,
        "duration_minutes": None,
        "vat_rate_code": "standard",
        "is_sold_out": False,
        "stock_quantity": None,
        "modifier_groups": [
            {
                "id": group_id,
                "name": "杯型",
                "display_name": "Size",
                "name_translations": {"en": "Size"},
                "is_required": True,
                "min_choices": 1,
                "max_choices": 1,
                "options": [
                    {
                        "id": regular_id,
                        "name": "中杯",
                        "display_name": "Regular",
                        "name_translations": {"en": "Regular"},
                        "price_delta_amount": 0,
                        "currency": "CNY",
                        "product_id": None,
                        "is_sold_out": False,
                    },
                    {
                        "id": large_id,
                        "name": "大杯",
                        "display_name": "Large",
                        "name_translations": {"en": "Large"},
                        "price_delta_amount": 300,
                        "currency": "CNY",
                        "product_id": None,
                        "is_sold_out": False,
                    },
                ],
            }
        ],
    }


async def test_editing_sends_only_what_changes(client: httpx.AsyncClient, logins: Logins) -> None:
    product_id, group_id, _options = await make_latte(client, logins)
    manager = logins.headers[Role.MANAGER]
    response = await client.patch(
        f"/api/v1/catalog/products/{product_id}",
        json={"price_amount": 2500, "barcode": "6901234567892", "modifier_group_ids": []},
        headers=manager,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["price_amount"], body["barcode"], body["unit"], body["modifier_group_ids"]) == (
        2500,
        "6901234567892",
        "cup",
        [],
    )
    response = await client.patch(
        f"/api/v1/catalog/modifier-groups/{group_id}",
        json={"is_required": False, "max_choices": 2},
        headers=manager,
    )
    assert (response.status_code, response.json()["min_choices"], response.json()["max_choices"]) == (
        200,
        0,
        2,
    )


async def test_problems_name_the_field(client: httpx.AsyncClient, logins: Logins) -> None:
    product_id, _group_id, _options = await make_latte(client, logins)
    manager = logins.headers[Role.MANAGER]
    category_id = (await client.get(f"/api/v1/catalog/products/{product_id}", headers=manager)).json()[
        "category_id"
    ]
    response = await client.post(
        "/api/v1/catalog/products",
        json={
            "category_id": category_id,
            "name": "Copy",
            "sku": "COF-LAT",
            "price_amount": 100,
            "currency": "CNY",
            "vat_rate_code": "standard",
            "kind": "service",
        },
        headers=manager,
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "duration_minutes", "reason": "a service lasts 1 to 1440 minutes"},
        {"field": "sku", "reason": "SKU 'COF-LAT' is in use"},
    ]


async def test_stock_is_counted_sold_and_refused_below_zero(
    client: httpx.AsyncClient, logins: Logins, event_bus: InProcessEventBus
) -> None:
    product_id, _group_id, _options = await make_latte(client, logins)
    manager = logins.headers[Role.MANAGER]
    base = f"/api/v1/catalog/stores/{logins.store_id}/products/{product_id}"
    received: list[Event] = []
    event_bus.subscribe(f"store:{logins.store_id}", received.append)
    response = await client.put(f"{base}/stock", json={"quantity": 2}, headers=manager)
    assert response.json() == {
        "store_id": logins.store_id,
        "product_id": product_id,
        "quantity": 2,
        "is_sold_out": False,
    }
    response = await client.post(
        f"{base}/stock-adjustments", json={"delta": -2, "reason": "spilt"}, headers=manager
    )
    assert response.json() == {
        "store_id": logins.store_id,
        "product_id": product_id,
        "quantity": 0,
        "is_sold_out": True,
    }
    response = await client.post(
        f"{base}/stock-adjustments", json={"delta": -1, "reason": "spilt"}, headers=manager
    )
    assert (response.status_code, response.json()["code"], response.json()["errors"]) == (
        409,
        "sold_out",
        [{"field": "product_id", "reason": f"only 0 left of product {product_id}"}],
    )
    assert [event.payload for event in received] == [
        {"product_id": product_id, "quantity": 2, "is_sold_out": False},
        {"product_id": product_id, "quantity": 0, "is_sold_out": True},
    ]
    response = await client.put(f"{base}/sold-out", json={"is_sold_out": True}, headers=manager)
    assert (response.json()["is_marked_sold_out"], response.json()["stock_quantity"]) == (True, 0)


async def test_export_and_import_through_the_api(client: httpx.AsyncClient, logins: Logins) -> None:
    await make_latte(client, logins)
    manager = logins.headers[Role.MANAGER]
    for file_format, media_type in (
        ("csv", "text/csv; charset=utf-8"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ):
        exported = await client.get(f"/api/v1/catalog/export?format={file_format}", headers=manager)
        assert exported.status_code == 200
        assert exported.headers["content-type"] == media_type
        assert exported.headers["content-disposition"] == f'attachment; filename="catalog.{file_format}"'
        response = await client.post(
            "/api/v1/catalog/import",
            files={"file": (f"menu.{file_format}", exported.content, media_type)},
            headers=manager,
        )
        assert response.json() == {"created": 0, "updated": 0, "unchanged": 1, "categories_created": 0}
    response = await client.post(
        "/api/v1/catalog/import",
        files={
            "file": (
                "menu.csv",
                b"sku,category,name,price,vat_rate_code\nX,Tea,Tea,abc,standard\n",
                "text/csv",
            )
        },
        headers=manager,
    )
    assert (response.status_code, response.json()["errors"]) == (
        422,
        [{"field": "rows.2.price", "reason": "'abc' is not an amount like 18.00"}],
    )
    assert response.json()["problems"] == [
        {"row": 2, "column": "price", "reason": "'abc' is not an amount like 18.00"}
    ]
    response = await client.post(
        "/api/v1/catalog/import", files={"file": ("menu.txt", b"x", "text/plain")}, headers=manager
    )
    assert (response.status_code, response.json()["errors"][0]["field"]) == (422, "format")


@pytest.mark.parametrize(
    ("role", "expected"), [(Role.WAITER, 403), (Role.CASHIER, 403), (Role.MANAGER, 201), (Role.OWNER, 201)]
)
async def test_who_may_create_categories(
    client: httpx.AsyncClient, logins: Logins, role: Role, expected: int
) -> None:
    response = await client.post(
        "/api/v1/catalog/categories", json={"name": "Tea"}, headers=logins.headers[role]
    )
    assert response.status_code == expected, response.text
    if expected == 403:
        assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/products/{product}", {"price_amount": 1}),
        ("DELETE", "/products/{product}", None),
        ("PUT", "/products/{product}/modifier-groups", {"modifier_group_ids": []}),
        ("POST", "/modifier-groups", {"name": "Sugar"}),
        ("PATCH", "/modifier-groups/{group}", {"name": "Sugar"}),
        ("POST", "/modifier-groups/{group}/options", {"name": "Half", "currency": "CNY"}),
        ("PATCH", "/stores/{store}/products/{product}", {"is_available": False}),
        ("PUT", "/stores/{store}/products/{product}/stock", {"quantity": 5}),
        ("POST", "/stores/{store}/products/{product}/stock-adjustments", {"delta": 5, "reason": "found"}),
        ("PUT", "/stores/{store}/products/{product}/sold-out", {"is_sold_out": True}),
    ],
)
async def test_a_cashier_cannot_edit_the_catalog(
    client: httpx.AsyncClient, logins: Logins, method: str, path: str, body: dict[str, object] | None
) -> None:
    product_id, group_id, _options = await make_latte(client, logins)
    url = "/api/v1/catalog" + path.format(product=product_id, group=group_id, store=logins.store_id)
    response = await client.request(method, url, json=body, headers=logins.headers[Role.CASHIER])
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


async def test_a_cashier_cannot_import_but_reads_the_catalog(
    client: httpx.AsyncClient, logins: Logins
) -> None:
    await make_latte(client, logins)
    cashier = logins.headers[Role.CASHIER]
    response = await client.post(
        "/api/v1/catalog/import", files={"file": ("menu.csv", b"sku\n", "text/csv")}, headers=cashier
    )
    assert response.status_code == 403
    for path in ("/products", "/categories", "/modifier-groups"):
        response = await client.get(f"/api/v1/catalog{path}", headers=cashier)
        assert (response.status_code, len(response.json())) == (200, 1)


async def test_the_catalog_needs_a_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/catalog/products")
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
