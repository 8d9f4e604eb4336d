"""A small shop for bill tests: a store with two registers, staff of each role, tables,
a bar and a kitchen category, products (one stock-tracked), a size modifier."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog import service as catalog
from kassa.catalog.modifiers import ModifierGroupInput, ModifierOptionInput, create_modifier_group
from kassa.catalog.products import set_product_modifier_groups
from kassa.core.auth import Actor, Role
from kassa.core.database import Database, set_database
from kassa.core.money import Money
from kassa.core.settings import Settings
from kassa.floor import service as floor
from kassa.models import Base
from kassa.payments import provider_settings
from kassa.payments.models import ProviderKind
from kassa.web.app import create_app
from tests.factories import (
    device_headers,
    make_device,
    make_organization,
    make_register,
    make_staff,
    make_store,
)

PINS = {Role.OWNER: "1111", Role.MANAGER: "2222", Role.CASHIER: "3333", Role.WAITER: "4444"}
_keys = itertools.count(1)


def new_key() -> str:
    return f"test-key-{next(_keys):06d}"


@dataclass
class Shop:
    client: httpx.AsyncClient
    store_id: int
    register_ids: list[int]
    staff_ids: dict[Role, int]
    table_ids: list[int]
    products: dict[str, int]
    size_options: dict[str, int]
    # The token of the device set up as each register (same order as ``register_ids``).
    device_tokens: list[str]
    tokens: dict[tuple[Role, int], str] = field(default_factory=dict)

    def device(self, register_index: int = 0) -> dict[str, str]:
        """The headers of the device set up as that register (``X-Kassa-Device``)."""
        return device_headers(self.device_tokens[register_index])

    async def login(self, role: Role = Role.CASHIER, register_index: int = 0) -> dict[str, str]:
        key = (role, register_index)
        if key not in self.tokens:
            response = await self.client.post(
                "/api/v1/auth/pin",
                json={
                    "register_id": self.register_ids[register_index],
                    "staff_id": self.staff_ids[role],
                    "pin": PINS[role],
                },
                headers=self.device(register_index),
            )
            assert response.status_code == 200, response.text
            self.tokens[key] = response.json()["token"]
        return {"Authorization": f"Bearer {self.tokens[key]}"}

    async def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        role: Role = Role.CASHIER,
        register_index: int = 0,
        key: str | None = None,
        expect: int | None = None,
    ) -> dict[str, Any]:
        headers = await self.login(role, register_index)
        if key:
            headers["Idempotency-Key"] = key
        response = await self.client.request(method, f"/api/v1{path}", json=body, headers=headers)
        if expect is not None:
            assert response.status_code == expect, response.text
        elif response.status_code >= 400:
            raise AssertionError(f"{method} {path} -> {response.status_code}: {response.text}")
        return response.json() if response.content else {}

    async def open_takeaway(self, **extra: Any) -> dict[str, Any]:
        return await self.call("POST", "/bills", {"order_type": "takeaway", **extra})

    async def add(
        self, bill: dict[str, Any], product: str, quantity: int = 1, **extra: Any
    ) -> dict[str, Any]:
        return await self.call(
            "POST",
            f"/bills/{bill['id']}/lines",
            {"version": bill["version"], "product_id": self.products[product], "quantity": quantity, **extra},
        )

    async def pay(
        self, bill: dict[str, Any], tender: str, expect: int | None = None, **fields: Any
    ) -> dict[str, Any]:
        key = fields.pop("key", None) or new_key()
        return await self.call(
            "POST",
            f"/bills/{bill['id']}/payments",
            {"version": bill["version"], "tender": tender, **fields},
            key=key,
            expect=expect,
        )


async def build_shop(session: AsyncSession, *, label: str = "") -> dict[str, Any]:
    organization = await make_organization(session, name=f"{label or 'Test'} Org")
    store = await make_store(session, organization, name=f"{label} Store" if label else None)
    registers = [await make_register(session, store), await make_register(session, store)]
    device_tokens = [await make_device(session, register) for register in registers]
    staff = {role: (await make_staff(session, store, role=role, pin=pin)).id for role, pin in PINS.items()}
    actor = Actor.system(organization.id, store_id=store.id)
    area = await floor.create_area(session, actor, store.id, "Hall")
    tables = [
        (await floor.create_table(session, actor, area.id, f"T{index}", seats=4)).id for index in range(1, 5)
    ]
    bar = await catalog.create_category(session, actor, "Coffee", kitchen_station="bar")
    kitchen = await catalog.create_category(session, actor, "Food", kitchen_station="kitchen")
    prices = {"latte": (bar, 2400), "americano": (bar, 1800), "cake": (kitchen, 2800), "tart": (kitchen, 800)}
    products = {}
    for name, (category, price) in prices.items():
        product = await catalog.create_product(
            session,
            actor,
            category_id=category.id,
            name=name,
            sku=name.upper(),
            price=Money(price, "CNY"),
            vat_rate_code="standard",
        )
        products[name] = product.id
    size = await create_modifier_group(
        session,
        actor,
        ModifierGroupInput(name="Size", is_required=True),
        [ModifierOptionInput("Regular", Money(0, "CNY")), ModifierOptionInput("Large", Money(300, "CNY"))],
    )
    from kassa.catalog.modifiers import options_by_group

    options = (await options_by_group(session, [size.id]))[size.id]
    await set_product_modifier_groups(session, actor, products["latte"], [size.id])
    await catalog.count_stock(session, actor, store.id, products["tart"], 3)
    # WeChat Pay and Alipay through the simulator, as in the demo (a new store takes neither).
    for tender in provider_settings.WALLET_TENDERS:
        await provider_settings.update_provider_settings(
            session, actor, store.id, tender, provider_settings.ProviderSettingsChange(ProviderKind.SIMULATOR)
        )
    await session.commit()
    return {
        "store_id": store.id,
        "register_ids": [register.id for register in registers],
        "device_tokens": device_tokens,
        "staff_ids": staff,
        "table_ids": tables,
        "products": products,
        "size_options": {option.name: option.id for option in options},
    }


@pytest.fixture
async def shop(session: AsyncSession, client: httpx.AsyncClient) -> Shop:
    return Shop(client=client, **await build_shop(session))


@pytest.fixture
async def other_shop(session: AsyncSession, client: httpx.AsyncClient, shop: Shop) -> Shop:
    """A second organization with its own store, owner, manager, cashier and waiter: the
    one that must never reach ``shop``'s data."""
    return Shop(client=client, **await build_shop(session, label="Other"))


ShopFactory = Callable[[], Awaitable[Shop]]


@pytest.fixture
async def committed_shop(migrated_database: Database, database_url: str) -> AsyncIterator[Shop]:
    """The shop on a database whose units of work really commit, for tests of concurrent
    requests (several connections); every table is emptied afterwards."""
    database = Database(database_url, engine=migrated_database.engine)
    set_database(database)
    async with database.unit_of_work() as session:
        data = await build_shop(session)
    app = create_app(Settings(database_url=database_url, enable_ui=False, secret_key="test"), database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://kassa.test"
    ) as client:
        yield Shop(client=client, **data)
    set_database(None)
    await database.dispose_sequence_engine()  # the engine itself is the session's
    async with migrated_database.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(delete(table))
