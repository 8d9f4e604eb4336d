"""The menu a register shows for one store: categories, products with the store's price,
modifier groups, sold-out flags and stock, in a handful of queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.models import (
    Category,
    ModifierGroup,
    ModifierOption,
    Product,
    ProductKind,
    ProductModifierGroup,
    StoreProduct,
)
from kassa.catalog.products import localized_name
from kassa.core.auth import Actor
from kassa.core.money import Money
from kassa.stores import service as store_service


@dataclass(frozen=True)
class MenuOption:
    id: int
    name: str
    display_name: str
    name_translations: dict[str, str]
    price_delta: Money
    product_id: int | None
    is_sold_out: bool


@dataclass(frozen=True)
class MenuModifierGroup:
    id: int
    name: str
    display_name: str
    name_translations: dict[str, str]
    is_required: bool
    min_choices: int
    max_choices: int
    options: tuple[MenuOption, ...]


@dataclass(frozen=True)
class MenuProduct:
    id: int
    name: str
    display_name: str
    name_translations: dict[str, str]
    sku: str
    barcode: str | None
    kind: ProductKind
    unit: str
    image_url: str
    price: Money  # the store's own price, else the catalog price (an open price's default)
    min_price: Money | None
    max_price: Money | None
    duration_minutes: int | None
    vat_rate_code: str
    is_sold_out: bool
    stock_quantity: int | None  # None: the store does not count this product's stock
    modifier_groups: tuple[MenuModifierGroup, ...]


@dataclass(frozen=True)
class MenuCategory:
    id: int
    name: str
    display_name: str
    name_translations: dict[str, str]
    kitchen_station: str | None
    products: tuple[MenuProduct, ...]


@dataclass(frozen=True)
class StoreMenu:
    store_id: int
    currency: str
    locale: str
    categories: tuple[MenuCategory, ...]


def _money(amount: int | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount, currency)


async def get_store_menu(
    session: AsyncSession, actor: Actor, store_id: int, *, locale: str | None = None
) -> StoreMenu:
    """What the store sells now: active products not switched off there, priced in the
    store's currency, by category (empty categories left out). Sold-out products stay on
    the menu, flagged, so the register can show them greyed out."""
    store = await store_service.get_store(session, actor, store_id)
    locale = locale or store.locale
    categories = (
        await session.scalars(
            select(Category)
            .where(Category.organization_id == actor.organization_id)
            .order_by(Category.sort_order, Category.id)
        )
    ).all()
    products = (
        await session.scalars(
            select(Product)
            .where(Product.organization_id == actor.organization_id, Product.is_active)
            .order_by(Product.sort_order, Product.id)
        )
    ).all()
    rows = {
        row.product_id: row
        for row in (
            await session.scalars(select(StoreProduct).where(StoreProduct.store_id == store.id))
        ).all()
    }
    product_by_id = {product.id: product for product in products}

    def is_sellable(product_id: int) -> bool:
        product = product_by_id.get(product_id)
        row = rows.get(product_id)
        return (
            product is not None and product.currency == store.currency and (row is None or row.is_available)
        )

    def is_sold_out(product_id: int) -> bool:
        row = rows.get(product_id)
        return row is not None and row.is_sold_out

    groups = await _modifier_groups(session, [product.id for product in products])
    menu_groups: dict[int, tuple[MenuModifierGroup, ...]] = {}
    for product_id, product_groups in groups.items():
        menu_groups[product_id] = tuple(
            MenuModifierGroup(
                id=group.id,
                name=group.name,
                display_name=localized_name(group.name, group.name_translations, locale),
                name_translations=dict(group.name_translations),
                is_required=group.is_required,
                min_choices=group.min_choices,
                max_choices=group.max_choices,
                options=tuple(
                    MenuOption(
                        id=option.id,
                        name=option.name,
                        display_name=localized_name(option.name, option.name_translations, locale),
                        name_translations=dict(option.name_translations),
                        price_delta=Money(option.price_delta_amount, option.currency),
                        product_id=option.product_id,
                        is_sold_out=option.product_id is not None and is_sold_out(option.product_id),
                    )
                    for option in options
                    # A component the store does not sell cannot be chosen there.
                    if option.product_id is None or is_sellable(option.product_id)
                ),
            )
            for group, options in product_groups
        )

    by_category: dict[int, list[MenuProduct]] = {}
    for product in products:
        if not is_sellable(product.id):
            continue
        row = rows.get(product.id)
        price_amount = row.price_amount if row is not None and row.price_amount is not None else None
        by_category.setdefault(product.category_id, []).append(
            MenuProduct(
                id=product.id,
                name=product.name,
                display_name=localized_name(product.name, product.name_translations, locale),
                name_translations=dict(product.name_translations),
                sku=product.sku,
                barcode=product.barcode,
                kind=product.kind,
                unit=product.unit,
                image_url=product.image_url,
                price=Money(
                    price_amount if price_amount is not None else product.price_amount, product.currency
                ),
                min_price=_money(product.min_price_amount, product.currency),
                max_price=_money(product.max_price_amount, product.currency),
                duration_minutes=product.duration_minutes,
                vat_rate_code=product.vat_rate_code,
                is_sold_out=is_sold_out(product.id),
                stock_quantity=row.stock_quantity if row is not None and row.is_stock_tracked else None,
                modifier_groups=menu_groups.get(product.id, ()),
            )
        )
    return StoreMenu(
        store_id=store.id,
        currency=store.currency,
        locale=locale,
        categories=tuple(
            MenuCategory(
                id=category.id,
                name=category.name,
                display_name=localized_name(category.name, category.name_translations, locale),
                name_translations=dict(category.name_translations),
                kitchen_station=category.kitchen_station,
                products=tuple(by_category[category.id]),
            )
            for category in categories
            if by_category.get(category.id)
        ),
    )


async def _modifier_groups(
    session: AsyncSession, product_ids: Sequence[int]
) -> dict[int, list[tuple[ModifierGroup, list[ModifierOption]]]]:
    """Each product's active groups in order, each with its active options in order."""
    if not product_ids:
        return {}
    links = (
        await session.execute(
            select(ProductModifierGroup.product_id, ModifierGroup)
            .join(ModifierGroup, ModifierGroup.id == ProductModifierGroup.group_id)
            .where(ProductModifierGroup.product_id.in_(product_ids), ModifierGroup.is_active)
            .order_by(ProductModifierGroup.product_id, ProductModifierGroup.sort_order, ModifierGroup.id)
        )
    ).all()
    group_ids = {group.id for _product_id, group in links}
    options: dict[int, list[ModifierOption]] = {group_id: [] for group_id in group_ids}
    if group_ids:
        query = (
            select(ModifierOption)
            .where(ModifierOption.group_id.in_(group_ids), ModifierOption.is_active)
            .order_by(ModifierOption.sort_order, ModifierOption.id)
        )
        for option in (await session.scalars(query)).all():
            options[option.group_id].append(option)
    result: dict[int, list[tuple[ModifierGroup, list[ModifierOption]]]] = {}
    for product_id, group in links:
        result.setdefault(product_id, []).append((group, options[group.id]))
    return result
