"""Categories and products: what the organization sells, defined once for all its stores.

Also the small validation helpers the other catalog modules share.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.models import Category, ModifierGroup, Product, ProductKind, ProductModifierGroup
from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from kassa.core.money import Money
from kassa.core.scope import load_scoped
from kassa.stores.models import Store, VatRate

LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}(_[A-Z]{2}|_[A-Z][a-z]{3})?$")


def localized_name(name: str, translations: dict[str, str], locale: str) -> str:
    """The name in ``locale`` (``en_US`` falls back to ``en``), else the default name."""
    return translations.get(locale) or translations.get(locale.split("_")[0]) or name


def raise_if_problems(problems: Sequence[FieldProblem]) -> None:
    if problems:
        raise ValidationFailed(
            "; ".join(f"{item.field}: {item.reason}" for item in problems), errors=list(problems)
        )


def translation_problems(
    translations: Mapping[str, str], field_name: str, max_length: int
) -> list[FieldProblem]:
    problems = []
    for locale, text in translations.items():
        if not LOCALE_PATTERN.match(locale):
            problems.append(FieldProblem(field_name, f"{locale!r} is not a locale like 'en' or 'zh_CN'"))
        elif not isinstance(text, str) or len(text.strip()) > max_length:
            problems.append(
                FieldProblem(field_name, f"the {locale} name is longer than {max_length} characters")
            )
    return problems


def clean_translations(translations: Mapping[str, str] | None) -> dict[str, str]:
    return {locale: text.strip() for locale, text in (translations or {}).items() if text and text.strip()}


def name_problems(name: str, max_length: int) -> list[FieldProblem]:
    if not name.strip():
        return [FieldProblem("name", "a name is needed")]
    if len(name.strip()) > max_length:
        return [FieldProblem("name", f"at most {max_length} characters")]
    return []


# --- categories ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryInput:
    name: str
    translations: Mapping[str, str] = field(default_factory=dict)
    sort_order: int = 0
    kitchen_station: str | None = None


def category_input_of(category: Category) -> CategoryInput:
    return CategoryInput(
        name=category.name,
        translations=dict(category.name_translations),
        sort_order=category.sort_order,
        kitchen_station=category.kitchen_station,
    )


def _category_problems(data: CategoryInput) -> list[FieldProblem]:
    problems = name_problems(data.name, 80) + translation_problems(data.translations, "translations", 80)
    if data.kitchen_station is not None and len(data.kitchen_station.strip()) > 40:
        problems.append(FieldProblem("kitchen_station", "at most 40 characters"))
    return problems


def _category_snapshot(category: Category) -> dict[str, Any]:
    return {
        "name": category.name,
        "translations": category.name_translations,
        "sort_order": category.sort_order,
        "kitchen_station": category.kitchen_station,
    }


async def create_category(
    session: AsyncSession,
    actor: Actor,
    name: str,
    *,
    translations: dict[str, str] | None = None,
    sort_order: int = 0,
    kitchen_station: str | None = None,
) -> Category:
    """A category groups products on the register; its kitchen station (``"bar"``,
    ``"kitchen"``) decides which kitchen ticket its lines go to."""
    actor.require(Permission.CATALOG_MANAGE)
    data = CategoryInput(name, translations or {}, sort_order, kitchen_station)
    raise_if_problems(_category_problems(data))
    category = Category(organization_id=actor.organization_id)
    _apply_category(category, data)
    session.add(category)
    await session.flush()
    audit.record(
        session, actor, "category.create", "category", category.id, after=_category_snapshot(category)
    )
    return category


def _apply_category(category: Category, data: CategoryInput) -> None:
    category.name = data.name.strip()
    category.name_translations = clean_translations(data.translations)
    category.sort_order = data.sort_order
    station = (data.kitchen_station or "").strip()
    category.kitchen_station = station or None


async def get_category(session: AsyncSession, actor: Actor, category_id: int) -> Category:
    category = await load_scoped(session, actor, Category, category_id, field="category_id", what="category")
    return category


async def list_categories(session: AsyncSession, actor: Actor) -> Sequence[Category]:
    query = (
        select(Category)
        .where(Category.organization_id == actor.organization_id)
        .order_by(Category.sort_order, Category.id)
    )
    return (await session.scalars(query)).all()


async def update_category(
    session: AsyncSession, actor: Actor, category_id: int, data: CategoryInput
) -> Category:
    actor.require(Permission.CATALOG_MANAGE)
    category = await get_category(session, actor, category_id)
    raise_if_problems(_category_problems(data))
    before = _category_snapshot(category)
    _apply_category(category, data)
    await session.flush()
    audit.record(
        session,
        actor,
        "category.update",
        "category",
        category.id,
        before=before,
        after=_category_snapshot(category),
    )
    return category


async def delete_category(session: AsyncSession, actor: Actor, category_id: int) -> None:
    """Only an empty category can go; products (also archived ones) keep theirs."""
    actor.require(Permission.CATALOG_MANAGE)
    category = await get_category(session, actor, category_id)
    if (
        await session.scalar(select(Product.id).where(Product.category_id == category.id).limit(1))
        is not None
    ):
        raise Conflict("the category still has products; move them first", field="category_id")
    before = _category_snapshot(category)
    await session.delete(category)
    await session.flush()
    audit.record(session, actor, "category.delete", "category", category_id, before=before)


# --- products -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductInput:
    """Everything that defines a product; creating and editing both take the whole of it."""

    category_id: int
    name: str
    sku: str
    price: Money
    vat_rate_code: str
    translations: Mapping[str, str] = field(default_factory=dict)
    barcode: str | None = None
    unit: str = "piece"
    image_url: str = ""
    kind: ProductKind = ProductKind.STANDARD
    duration_minutes: int | None = None
    min_price: Money | None = None
    max_price: Money | None = None
    sort_order: int = 0
    is_active: bool = True


def product_input_of(product: Product) -> ProductInput:
    def money(amount: int | None) -> Money | None:
        return None if amount is None else Money(amount, product.currency)

    return ProductInput(
        category_id=product.category_id,
        name=product.name,
        sku=product.sku,
        price=Money(product.price_amount, product.currency),
        vat_rate_code=product.vat_rate_code,
        translations=dict(product.name_translations),
        barcode=product.barcode,
        unit=product.unit,
        image_url=product.image_url,
        kind=product.kind,
        duration_minutes=product.duration_minutes,
        min_price=money(product.min_price_amount),
        max_price=money(product.max_price_amount),
        sort_order=product.sort_order,
        is_active=product.is_active,
    )


def product_input_problems(data: ProductInput) -> list[FieldProblem]:
    """The rules of one product that need no database; the field names are the API's."""
    problems = name_problems(data.name, 120) + translation_problems(data.translations, "translations", 120)
    sku = data.sku.strip()
    if not sku:
        problems.append(FieldProblem("sku", "a SKU is needed"))
    elif len(sku) > 40 or any(character.isspace() for character in sku):
        problems.append(FieldProblem("sku", "at most 40 characters, no spaces"))
    if data.barcode is not None and (len(data.barcode.strip()) > 64 or " " in data.barcode.strip()):
        problems.append(FieldProblem("barcode", "at most 64 characters, no spaces"))
    if data.price.is_negative:
        problems.append(FieldProblem("price_amount", "a price cannot be negative"))
    if not data.vat_rate_code.strip() or len(data.vat_rate_code.strip()) > 20:
        problems.append(FieldProblem("vat_rate_code", "a VAT rate code of at most 20 characters is needed"))
    if not data.unit.strip() or len(data.unit.strip()) > 20:
        problems.append(FieldProblem("unit", "a unit of at most 20 characters is needed (cup, piece, kg)"))
    image_url = data.image_url.strip()
    if image_url and (len(image_url) > 500 or not image_url.startswith(("https://", "http://", "/"))):
        problems.append(FieldProblem("image_url", "an http(s) address or a path starting with /"))
    if data.kind == ProductKind.SERVICE:
        if data.duration_minutes is None or not 1 <= data.duration_minutes <= 24 * 60:
            problems.append(FieldProblem("duration_minutes", "a service lasts 1 to 1440 minutes"))
    elif data.duration_minutes is not None:
        problems.append(FieldProblem("duration_minutes", "only a service has a duration"))
    if data.kind == ProductKind.OPEN_PRICE:
        for name, bound in (("min_price_amount", data.min_price), ("max_price_amount", data.max_price)):
            if bound is not None and (bound.is_negative or bound.currency != data.price.currency):
                problems.append(FieldProblem(name, f"a non-negative amount in {data.price.currency}"))
        if (
            data.min_price is not None
            and data.max_price is not None
            and data.min_price.currency == data.max_price.currency
            and data.min_price > data.max_price
        ):
            problems.append(FieldProblem("max_price_amount", "the highest price is below the lowest"))
    else:
        if data.min_price is not None:
            problems.append(FieldProblem("min_price_amount", "only an open-price product has bounds"))
        if data.max_price is not None:
            problems.append(FieldProblem("max_price_amount", "only an open-price product has bounds"))
    return problems


async def known_vat_rate_codes(session: AsyncSession, organization_id: int) -> set[str]:
    """The VAT rate codes of the organization's stores (a product's code must be one)."""
    query = (
        select(VatRate.code)
        .join(Store, Store.id == VatRate.store_id)
        .where(Store.organization_id == organization_id)
    )
    return set((await session.scalars(query)).all())


async def _product_reference_problems(
    session: AsyncSession, actor: Actor, data: ProductInput, product_id: int | None
) -> list[FieldProblem]:
    problems = []
    category = await session.get(Category, data.category_id)
    if category is None or category.organization_id != actor.organization_id:
        problems.append(FieldProblem("category_id", f"no category {data.category_id}"))
    same_organization = [Product.organization_id == actor.organization_id]
    if product_id is not None:
        same_organization.append(Product.id != product_id)
    if await session.scalar(select(Product.id).where(*same_organization, Product.sku == data.sku.strip())):
        problems.append(FieldProblem("sku", f"SKU {data.sku.strip()!r} is in use"))
    barcode = (data.barcode or "").strip()
    if barcode and await session.scalar(
        select(Product.id).where(*same_organization, Product.barcode == barcode)
    ):
        problems.append(FieldProblem("barcode", f"barcode {barcode!r} is in use"))
    codes = await known_vat_rate_codes(session, actor.organization_id)
    if codes and data.vat_rate_code.strip() not in codes:
        problems.append(FieldProblem("vat_rate_code", f"no store has VAT rate {data.vat_rate_code!r}"))
    return problems


def apply_product(product: Product, data: ProductInput) -> None:
    """Copy a validated input onto a product row (the import validates in bulk first)."""
    product.category_id = data.category_id
    product.name = data.name.strip()
    product.name_translations = clean_translations(data.translations)
    product.sku = data.sku.strip()
    product.barcode = (data.barcode or "").strip() or None
    product.price_amount = data.price.amount
    product.currency = data.price.currency
    product.vat_rate_code = data.vat_rate_code.strip()
    product.unit = data.unit.strip()
    product.image_url = data.image_url.strip()
    product.kind = data.kind
    product.duration_minutes = data.duration_minutes
    product.min_price_amount = data.min_price.amount if data.min_price is not None else None
    product.max_price_amount = data.max_price.amount if data.max_price is not None else None
    product.sort_order = data.sort_order
    product.is_active = data.is_active


def product_snapshot(product: Product) -> dict[str, Any]:
    return {
        "category_id": product.category_id,
        "name": product.name,
        "translations": product.name_translations,
        "sku": product.sku,
        "barcode": product.barcode,
        "price_amount": product.price_amount,
        "currency": product.currency,
        "vat_rate_code": product.vat_rate_code,
        "unit": product.unit,
        "image_url": product.image_url,
        "kind": product.kind,
        "duration_minutes": product.duration_minutes,
        "min_price_amount": product.min_price_amount,
        "max_price_amount": product.max_price_amount,
        "sort_order": product.sort_order,
        "is_active": product.is_active,
    }


async def save_product(
    session: AsyncSession, actor: Actor, data: ProductInput, *, product_id: int | None = None
) -> Product:
    """Create a product, or replace one's definition. A SKU is unique in the organization,
    and so is a barcode when set; the VAT code is one of the stores' codes; a service has a
    duration; only an open-price product has (optional) price bounds."""
    actor.require(Permission.CATALOG_MANAGE)
    product = await get_product(session, actor, product_id) if product_id is not None else None
    problems = product_input_problems(data)
    problems += await _product_reference_problems(session, actor, data, product_id)
    raise_if_problems(problems)
    if product is None:
        product = Product(organization_id=actor.organization_id)
        apply_product(product, data)
        session.add(product)
        await session.flush()
        audit.record(session, actor, "product.create", "product", product.id, after=product_snapshot(product))
        return product
    before = product_snapshot(product)
    apply_product(product, data)
    await session.flush()
    audit.record(
        session,
        actor,
        "product.update",
        "product",
        product.id,
        before=before,
        after=product_snapshot(product),
    )
    return product


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
    barcode: str | None = None,
    unit: str = "piece",
    image_url: str = "",
    kind: ProductKind = ProductKind.STANDARD,
    duration_minutes: int | None = None,
    min_price: Money | None = None,
    max_price: Money | None = None,
) -> Product:
    """A product has a non-negative price and a SKU unique in the organization."""
    data = ProductInput(
        category_id=category_id,
        name=name,
        sku=sku,
        price=price,
        vat_rate_code=vat_rate_code,
        translations=translations or {},
        barcode=barcode,
        unit=unit,
        image_url=image_url,
        kind=kind,
        duration_minutes=duration_minutes,
        min_price=min_price,
        max_price=max_price,
        sort_order=sort_order,
    )
    return await save_product(session, actor, data)


async def get_product(session: AsyncSession, actor: Actor, product_id: int) -> Product:
    product = await load_scoped(session, actor, Product, product_id, field="product_id", what="product")
    return product


async def list_products(
    session: AsyncSession, actor: Actor, *, category_id: int | None = None, include_archived: bool = False
) -> Sequence[Product]:
    query = select(Product).where(Product.organization_id == actor.organization_id)
    if category_id is not None:
        await get_category(session, actor, category_id)
        query = query.where(Product.category_id == category_id)
    if not include_archived:
        query = query.where(Product.is_active)
    query = query.join(Category, Category.id == Product.category_id).order_by(
        Category.sort_order, Category.id, Product.sort_order, Product.id
    )
    return (await session.scalars(query)).all()


async def list_menu(session: AsyncSession, actor: Actor) -> Sequence[tuple[Category, Product]]:
    query = (
        select(Category, Product)
        .join(Product, Product.category_id == Category.id)
        .where(Category.organization_id == actor.organization_id, Product.is_active)
        .order_by(Category.sort_order, Category.id, Product.sort_order, Product.id)
    )
    return [(category, product) for category, product in (await session.execute(query)).all()]


async def modifier_group_ids_by_product(
    session: AsyncSession, product_ids: Sequence[int]
) -> dict[int, list[int]]:
    """The attached groups of each product, in the order the register shows them."""
    result: dict[int, list[int]] = {product_id: [] for product_id in product_ids}
    if not product_ids:
        return result
    query = (
        select(ProductModifierGroup.product_id, ProductModifierGroup.group_id)
        .where(ProductModifierGroup.product_id.in_(product_ids))
        .order_by(
            ProductModifierGroup.product_id, ProductModifierGroup.sort_order, ProductModifierGroup.group_id
        )
    )
    for product_id, group_id in (await session.execute(query)).all():
        result[product_id].append(group_id)
    return result


async def set_product_modifier_groups(
    session: AsyncSession, actor: Actor, product_id: int, group_ids: Sequence[int]
) -> list[int]:
    """Offer these modifier groups with a product, in this order (replacing the old list)."""
    actor.require(Permission.CATALOG_MANAGE)
    product = await get_product(session, actor, product_id)
    if len(set(group_ids)) != len(group_ids):
        raise ValidationFailed("a group is listed twice", field="modifier_group_ids")
    if group_ids:
        found = set(
            (
                await session.scalars(
                    select(ModifierGroup.id).where(
                        ModifierGroup.id.in_(group_ids),
                        ModifierGroup.organization_id == actor.organization_id,
                    )
                )
            ).all()
        )
        missing = [group_id for group_id in group_ids if group_id not in found]
        if missing:
            raise NotFound(f"no modifier group {missing[0]}", field="modifier_group_ids")
    before = (await modifier_group_ids_by_product(session, [product.id]))[product.id]
    await session.execute(delete(ProductModifierGroup).where(ProductModifierGroup.product_id == product.id))
    session.add_all(
        ProductModifierGroup(product_id=product.id, group_id=group_id, sort_order=position)
        for position, group_id in enumerate(group_ids)
    )
    await session.flush()
    audit.record(
        session,
        actor,
        "product.modifier_groups_set",
        "product",
        product.id,
        before={"modifier_group_ids": before},
        after={"modifier_group_ids": list(group_ids)},
    )
    return list(group_ids)
