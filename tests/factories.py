"""Typed factories for test data, built through the services so the rules apply."""

from __future__ import annotations

import itertools

from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Role
from kassa.staff import service as staff_service
from kassa.staff.models import StaffMember
from kassa.stores import devices as device_service
from kassa.stores import service as store_service
from kassa.stores.models import Organization, Register, Store

_counter = itertools.count(1)

DEFAULT_PIN = "1234"


async def make_organization(session: AsyncSession, *, name: str = "Test Org") -> Organization:
    return await store_service.create_organization(session, name)


async def make_store(
    session: AsyncSession,
    organization: Organization,
    *,
    name: str | None = None,
    currency: str = "CNY",
    timezone: str = "Asia/Shanghai",
    phone_region: str = "CN",
    locale: str = "zh_CN",
    cash_requires_open_shift: bool = False,
) -> Store:
    """A store; unlike a real new store it takes cash without an open shift unless asked
    (``cash_requires_open_shift``), so tests that are not about shifts need not open one."""
    store = await store_service.create_store(
        session,
        Actor.system(organization.id),
        name=name or f"Store {next(_counter)}",
        currency=currency,
        timezone=timezone,
        phone_region=phone_region,
        locale=locale,
        vat_rates=[store_service.VatRateInput("standard", "6%", 600, is_default=True)],
    )
    store.cash_requires_open_shift = cash_requires_open_shift
    return store


async def make_register(session: AsyncSession, store: Store, *, name: str | None = None) -> Register:
    actor = Actor.system(store.organization_id, store_id=store.id)
    return await store_service.add_register(session, actor, store.id, name or f"Counter {next(_counter)}")


async def make_device(session: AsyncSession, register: Register, *, name: str = "Test tablet") -> str:
    """Set a device up as ``register``; its token (send it as ``X-Kassa-Device``)."""
    store = await session.get(Store, register.store_id)
    assert store is not None
    actor = Actor.system(store.organization_id, store_id=store.id)
    return (await device_service.set_up_device(session, actor, register.id, name)).token


def device_headers(token: str) -> dict[str, str]:
    return {device_service.DEVICE_HEADER: token}


async def make_staff(
    session: AsyncSession,
    store: Store,
    *,
    role: Role = Role.CASHIER,
    pin: str = DEFAULT_PIN,
    name: str | None = None,
    email: str | None = None,
    password: str | None = None,
) -> StaffMember:
    actor = Actor.system(store.organization_id, store_id=store.id)
    return await staff_service.create_staff(
        session,
        actor,
        display_name=name or f"{role.value} {next(_counter)}",
        role=role,
        pin=pin,
        store_id=None if role == Role.OWNER else store.id,
        email=email,
        password=password,
    )


def actor_of(staff: StaffMember, store: Store, register: Register | None = None) -> Actor:
    return Actor(
        organization_id=staff.organization_id,
        staff_id=staff.id,
        role=staff.role,
        store_id=store.id,
        register_id=register.id if register else None,
        display_name=staff.display_name,
    )
