"""Categories and products."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.models import Category, Product
from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.errors import NotFound, ValidationFailed
from kassa.core.money import Money


async def create_category(
    session: AsyncSession,
    actor: Actor,
    name: str,
    *,
    translations: dict[str, str] | None = None,
    sort_order: int = 0,
) -> Category:
    actor.require(Permission.CATALOG_MANAGE)
    if not name.strip():
        raise ValidationFailed("a category needs a name", field="name")
    category = Category(
        organization_id=actor.organization_id,
        name=name.strip(),
        name_translations=translations or {},
        sort_order=sort_order,
    )
    session.add(category)
    await session.flush()
    audit.record(session, actor, "category.create", "category", category.id, after={"name": name})
    return category


async def create_product(
    session: AsyncSession,
    actor: Actor,
    *,
    category_id: int,
    name: str,
    sku: str,
    price: Money,
    vat_rate_code: str,
    translations: dict[str, str] | None = None,
    sort_order: int = 0,
) -> Product:
    """A product has a non-negative price and a SKU unique in the organization."""
    actor.require(Permission.CATALOG_MANAGE)
    category = await session.get(Category, category_id)
    if category is None or category.organization_id != actor.organization_id:
        raise NotFound(f"no category {category_id}", field="category_id")
    if price.is_negative:
        raise ValidationFailed("a price cannot be negative", field="price_amount")
    taken = await session.scalar(
        select(Product.id).where(Product.organization_id == actor.organization_id, Product.sku == sku)
    )
    if taken is not None:
        raise ValidationFailed(f"SKU {sku!r} is in use", field="sku")
    product = Product(
        organization_id=actor.organization_id,
        category_id=category.id,
        name=name.strip(),
        name_translations=translations or {},
        sku=sku,
        price_amount=price.amount,
        currency=price.currency,
        vat_rate_code=vat_rate_code,
        sort_order=sort_order,
    )
    session.add(product)
    await session.flush()
    audit.record(
        session,
        actor,
        "product.create",
        "product",
        product.id,
        after={"name": name, "sku": sku, "price": str(price)},
    )
    return product


async def list_menu(session: AsyncSession, actor: Actor) -> Sequence[tuple[Category, Product]]:
    query = (
        select(Category, Product)
        .join(Product, Product.category_id == Category.id)
        .where(Category.organization_id == actor.organization_id, Product.is_active)
        .order_by(Category.sort_order, Category.id, Product.sort_order, Product.id)
    )
    return [(category, product) for category, product in (await session.execute(query)).all()]


def localized_name(name: str, translations: dict[str, str], locale: str) -> str:
    """The name in ``locale`` (``en_US`` falls back to ``en``), else the default name."""
    return translations.get(locale) or translations.get(locale.split("_")[0]) or name
