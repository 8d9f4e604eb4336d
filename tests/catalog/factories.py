"""Typed factories for catalog test data, built through the services so the rules apply."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog import service as catalog
from kassa.catalog.models import Category, ModifierGroup, ModifierOption, Product, ProductKind
from kassa.core.auth import Actor, Role
from kassa.core.money import Money
from kassa.stores.models import Organization, Store
from tests.factories import actor_of, make_organization, make_staff, make_store

_counter = itertools.count(1)


def yuan(amount: int) -> Money:
    """Whole fen in CNY: ``yuan(1800)`` is ¥18.00."""
    return Money(amount, "CNY")


async def make_category(
    session: AsyncSession,
    actor: Actor,
    *,
    name: str | None = None,
    kitchen_station: str | None = None,
    translations: dict[str, str] | None = None,
) -> Category:
    return await catalog.create_category(
        session,
        actor,
        name or f"Category {next(_counter)}",
        translations=translations,
        kitchen_station=kitchen_station,
    )


async def make_product(
    session: AsyncSession,
    actor: Actor,
    category: Category,
    *,
    name: str | None = None,
    sku: str | None = None,
    price: int = 1800,
    kind: ProductKind = ProductKind.STANDARD,
    barcode: str | None = None,
    translations: dict[str, str] | None = None,
    min_price: int | None = None,
    max_price: int | None = None,
    duration_minutes: int | None = None,
    vat_rate_code: str = "standard",
    unit: str = "piece",
) -> Product:
    number = next(_counter)
    return await catalog.create_product(
        session,
        actor,
        category_id=category.id,
        name=name or f"Product {number}",
        sku=sku or f"SKU-{number}",
        price=yuan(price),
        vat_rate_code=vat_rate_code,
        translations=translations,
        barcode=barcode,
        kind=kind,
        min_price=yuan(min_price) if min_price is not None else None,
        max_price=yuan(max_price) if max_price is not None else None,
        duration_minutes=duration_minutes,
        unit=unit,
    )


async def make_group(
    session: AsyncSession,
    actor: Actor,
    *,
    name: str | None = None,
    is_required: bool = False,
    min_choices: int | None = None,
    max_choices: int = 1,
    options: list[tuple[str, int]] | None = None,
    components: list[Product] | None = None,
) -> tuple[ModifierGroup, list[ModifierOption]]:
    """A group with ``options`` as (name, price delta in fen), or one free option per
    component product (a combo's choice)."""
    group = await catalog.create_modifier_group(
        session,
        actor,
        catalog.ModifierGroupInput(
            name=name or f"Group {next(_counter)}",
            is_required=is_required,
            min_choices=min_choices,
            max_choices=max_choices,
        ),
    )
    created = []
    for position, (option_name, delta) in enumerate(options or []):
        created.append(
            await catalog.create_modifier_option(
                session,
                actor,
                group.id,
                catalog.ModifierOptionInput(name=option_name, price_delta=yuan(delta), sort_order=position),
            )
        )
    for position, component in enumerate(components or []):
        created.append(
            await catalog.create_modifier_option(
                session,
                actor,
                group.id,
                catalog.ModifierOptionInput(
                    name=component.name, price_delta=yuan(0), product_id=component.id, sort_order=position
                ),
            )
        )
    return group, created


@dataclass
class Shop:
    """An organization with one store (CNY, VAT "standard" 6 %), a manager and a cashier."""

    organization: Organization
    store: Store
    manager: Actor
    cashier: Actor
    waiter: Actor


async def make_shop(session: AsyncSession) -> Shop:
    organization = await make_organization(session)
    store = await make_store(session, organization)
    manager = await make_staff(session, store, role=Role.MANAGER)
    cashier = await make_staff(session, store, role=Role.CASHIER)
    waiter = await make_staff(session, store, role=Role.WAITER)
    return Shop(
        organization=organization,
        store=store,
        manager=actor_of(manager, store),
        cashier=actor_of(cashier, store),
        waiter=actor_of(waiter, store),
    )
