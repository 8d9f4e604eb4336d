"""The catalog: categories, products, modifier groups, each store's menu, stock, and
import/export. Reading is open to the organization's staff; the services check every
change (``catalog.manage``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from kassa.catalog import service
from kassa.catalog.menu import MenuProduct, get_store_menu
from kassa.catalog.models import Category, ModifierGroup, ModifierOption, Product, StoreProduct
from kassa.catalog.schemas import (
    CategoryIn,
    CategoryOut,
    CategoryUpdate,
    ImportResultOut,
    MenuCategoryOut,
    MenuModifierGroupOut,
    MenuOptionOut,
    MenuProductOut,
    ModifierGroupIn,
    ModifierGroupOut,
    ModifierGroupsIn,
    ModifierGroupUpdate,
    ModifierOptionIn,
    ModifierOptionOut,
    ModifierOptionUpdate,
    ProductIn,
    ProductOut,
    ProductUpdate,
    SoldOutIn,
    StockAdjustmentIn,
    StockCountIn,
    StockOut,
    StoreMenuOut,
    StoreProductOut,
    StoreProductUpdate,
)
from kassa.catalog.transfer import MEDIA_TYPES, CatalogFormat, export_catalog, import_catalog
from kassa.core.errors import ValidationFailed
from kassa.core.money import Money
from kassa.core.schemas import Id, Line, refuse_nulls
from kassa.web.dependencies import CurrentActor, Session

router = APIRouter(prefix="/catalog", tags=["catalog"])

MAX_IMPORT_BYTES = 5 * 1024 * 1024


def _category_out(category: Category) -> CategoryOut:
    return CategoryOut(
        id=category.id,
        name=category.name,
        name_translations=category.name_translations,
        sort_order=category.sort_order,
        kitchen_station=category.kitchen_station,
    )


def _product_out(product: Product, group_ids: list[int]) -> ProductOut:
    return ProductOut(
        id=product.id,
        category_id=product.category_id,
        name=product.name,
        name_translations=product.name_translations,
        sku=product.sku,
        barcode=product.barcode,
        price_amount=product.price_amount,
        currency=product.currency,
        vat_rate_code=product.vat_rate_code,
        unit=product.unit,
        image_url=product.image_url,
        kind=product.kind,
        duration_minutes=product.duration_minutes,
        min_price_amount=product.min_price_amount,
        max_price_amount=product.max_price_amount,
        sort_order=product.sort_order,
        is_active=product.is_active,
        modifier_group_ids=group_ids,
    )


def _group_out(group: ModifierGroup, options: list[ModifierOption]) -> ModifierGroupOut:
    return ModifierGroupOut(
        id=group.id,
        name=group.name,
        name_translations=group.name_translations,
        is_required=group.is_required,
        min_choices=group.min_choices,
        max_choices=group.max_choices,
        is_active=group.is_active,
        options=[ModifierOptionOut.model_validate(option) for option in options],
    )


def _store_product_out(row: StoreProduct, currency: str) -> StoreProductOut:
    return StoreProductOut(
        store_id=row.store_id,
        product_id=row.product_id,
        is_available=row.is_available,
        price_override_amount=row.price_amount,
        currency=currency,
        is_marked_sold_out=row.is_marked_sold_out,
        is_stock_tracked=row.is_stock_tracked,
        stock_quantity=row.stock_quantity if row.is_stock_tracked else None,
        is_sold_out=row.is_sold_out,
    )


def _option_input(body: ModifierOptionIn) -> service.ModifierOptionInput:
    return service.ModifierOptionInput(
        name=body.name,
        translations=body.name_translations,
        price_delta=Money(body.price_delta_amount, body.currency),
        product_id=body.product_id,
        sort_order=body.sort_order,
        is_active=body.is_active,
    )


# What a product may be without: a null for any other field of a PATCH is a 422.
PRODUCT_CLEARABLE = frozenset(
    {"barcode", "duration_minutes", "min_price_amount", "max_price_amount", "modifier_group_ids"}
)


def _product_input(current: service.ProductInput, changes: dict[str, Any]) -> service.ProductInput:
    """The current definition with the sent fields replaced (amounts become Money)."""
    currency = changes.pop("currency", current.price.currency)

    def money(key: str, value: Money | None) -> Money | None:
        if key in changes:
            amount = changes.pop(key)
            return None if amount is None else Money(amount, currency)
        return None if value is None else Money(value.amount, currency)

    price = money("price_amount", current.price)
    min_price = money("min_price_amount", current.min_price)
    max_price = money("max_price_amount", current.max_price)
    if "name_translations" in changes:
        changes["translations"] = changes.pop("name_translations")
    changes.pop("modifier_group_ids", None)
    assert price is not None
    return replace(current, **changes, price=price, min_price=min_price, max_price=max_price)


# --- categories ---------------------------------------------------------------------------


@router.get("/categories", response_model=list[CategoryOut])
async def list_categories(actor: CurrentActor, session: Session) -> list[CategoryOut]:
    return [_category_out(category) for category in await service.list_categories(session, actor)]


@router.post("/categories", response_model=CategoryOut, status_code=status.HTTP_201_CREATED)
async def create_category(body: CategoryIn, actor: CurrentActor, session: Session) -> CategoryOut:
    category = await service.create_category(
        session,
        actor,
        body.name,
        translations=body.name_translations,
        sort_order=body.sort_order,
        kitchen_station=body.kitchen_station,
    )
    return _category_out(category)


@router.patch("/categories/{category_id}", response_model=CategoryOut)
async def update_category(
    category_id: Id, body: CategoryUpdate, actor: CurrentActor, session: Session
) -> CategoryOut:
    current = service.category_input_of(await service.get_category(session, actor, category_id))
    changes = body.model_dump(exclude_unset=True)
    if "name_translations" in changes:
        changes["translations"] = changes.pop("name_translations") or {}
    category = await service.update_category(session, actor, category_id, replace(current, **changes))
    return _category_out(category)


@router.delete("/categories/{category_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_category(category_id: Id, actor: CurrentActor, session: Session) -> None:
    await service.delete_category(session, actor, category_id)


# --- products -----------------------------------------------------------------------------


@router.get("/products", response_model=list[ProductOut])
async def list_products(
    actor: CurrentActor,
    session: Session,
    category_id: Id | None = None,
    include_archived: bool = False,
) -> list[ProductOut]:
    products = await service.list_products(
        session, actor, category_id=category_id, include_archived=include_archived
    )
    groups = await service.modifier_group_ids_by_product(session, [product.id for product in products])
    return [_product_out(product, groups[product.id]) for product in products]


@router.get("/products/{product_id}", response_model=ProductOut)
async def get_product(product_id: Id, actor: CurrentActor, session: Session) -> ProductOut:
    product = await service.get_product(session, actor, product_id)
    groups = await service.modifier_group_ids_by_product(session, [product.id])
    return _product_out(product, groups[product.id])


@router.post("/products", response_model=ProductOut, status_code=status.HTTP_201_CREATED)
async def create_product(body: ProductIn, actor: CurrentActor, session: Session) -> ProductOut:
    blank = service.ProductInput(
        category_id=body.category_id,
        name=body.name,
        sku=body.sku,
        price=Money(body.price_amount, body.currency),
        vat_rate_code=body.vat_rate_code,
    )
    data = _product_input(blank, body.model_dump())
    product = await service.save_product(session, actor, data)
    if body.modifier_group_ids:
        await service.set_product_modifier_groups(session, actor, product.id, body.modifier_group_ids)
    return _product_out(product, body.modifier_group_ids or [])


@router.patch("/products/{product_id}", response_model=ProductOut)
async def update_product(
    product_id: Id, body: ProductUpdate, actor: CurrentActor, session: Session
) -> ProductOut:
    refuse_nulls(body, PRODUCT_CLEARABLE)
    current = service.product_input_of(await service.get_product(session, actor, product_id))
    changes = body.model_dump(exclude_unset=True)
    product = await service.save_product(
        session, actor, _product_input(current, dict(changes)), product_id=product_id
    )
    if "modifier_group_ids" in changes:
        await service.set_product_modifier_groups(
            session, actor, product.id, changes["modifier_group_ids"] or []
        )
    return await get_product(product.id, actor, session)


@router.delete("/products/{product_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Archive a product")
async def archive_product(product_id: Id, actor: CurrentActor, session: Session) -> None:
    """Products stay for the bills that sold them; an archived one leaves every menu."""
    current = service.product_input_of(await service.get_product(session, actor, product_id))
    await service.save_product(session, actor, replace(current, is_active=False), product_id=product_id)


@router.put("/products/{product_id}/modifier-groups", response_model=ProductOut)
async def set_modifier_groups(
    product_id: Id, body: ModifierGroupsIn, actor: CurrentActor, session: Session
) -> ProductOut:
    await service.set_product_modifier_groups(session, actor, product_id, body.modifier_group_ids)
    return await get_product(product_id, actor, session)


# --- modifier groups and options ----------------------------------------------------------


@router.get("/modifier-groups", response_model=list[ModifierGroupOut])
async def list_modifier_groups(
    actor: CurrentActor, session: Session, include_archived: bool = False
) -> list[ModifierGroupOut]:
    groups = await service.list_modifier_groups(session, actor, include_archived=include_archived)
    return [_group_out(group, options) for group, options in groups]


async def _group_detail(session: Session, actor: CurrentActor, group_id: Id) -> ModifierGroupOut:
    group = await service.get_modifier_group(session, actor, group_id)
    options = await service.options_by_group(session, [group.id], include_archived=True)
    return _group_out(group, options[group.id])


@router.get("/modifier-groups/{group_id}", response_model=ModifierGroupOut)
async def get_modifier_group(group_id: Id, actor: CurrentActor, session: Session) -> ModifierGroupOut:
    return await _group_detail(session, actor, group_id)


@router.post("/modifier-groups", response_model=ModifierGroupOut, status_code=status.HTTP_201_CREATED)
async def create_modifier_group(
    body: ModifierGroupIn, actor: CurrentActor, session: Session
) -> ModifierGroupOut:
    group = await service.create_modifier_group(
        session,
        actor,
        service.ModifierGroupInput(
            name=body.name,
            translations=body.name_translations,
            is_required=body.is_required,
            min_choices=body.min_choices,
            max_choices=body.max_choices,
            is_active=body.is_active,
        ),
        [_option_input(option) for option in body.options],
    )
    return await _group_detail(session, actor, group.id)


@router.patch("/modifier-groups/{group_id}", response_model=ModifierGroupOut)
async def update_modifier_group(
    group_id: Id, body: ModifierGroupUpdate, actor: CurrentActor, session: Session
) -> ModifierGroupOut:
    current = service.modifier_group_input_of(await service.get_modifier_group(session, actor, group_id))
    changes = body.model_dump(exclude_unset=True)
    if "name_translations" in changes:
        changes["translations"] = changes.pop("name_translations") or {}
    if "is_required" in changes and "min_choices" not in changes:
        changes["min_choices"] = None  # back to the default of the new kind
    await service.update_modifier_group(session, actor, group_id, replace(current, **changes))
    return await _group_detail(session, actor, group_id)


@router.delete(
    "/modifier-groups/{group_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Archive a group"
)
async def archive_modifier_group(group_id: Id, actor: CurrentActor, session: Session) -> None:
    current = service.modifier_group_input_of(await service.get_modifier_group(session, actor, group_id))
    await service.update_modifier_group(session, actor, group_id, replace(current, is_active=False))


@router.post(
    "/modifier-groups/{group_id}/options",
    response_model=ModifierOptionOut,
    status_code=status.HTTP_201_CREATED,
)
async def create_modifier_option(
    group_id: Id, body: ModifierOptionIn, actor: CurrentActor, session: Session
) -> ModifierOptionOut:
    option = await service.create_modifier_option(session, actor, group_id, _option_input(body))
    return ModifierOptionOut.model_validate(option)


@router.patch("/modifier-options/{option_id}", response_model=ModifierOptionOut)
async def update_modifier_option(
    option_id: Id, body: ModifierOptionUpdate, actor: CurrentActor, session: Session
) -> ModifierOptionOut:
    current = service.modifier_option_input_of(await service.get_modifier_option(session, actor, option_id))
    changes = body.model_dump(exclude_unset=True)
    currency = changes.pop("currency", current.price_delta.currency)
    amount = changes.pop("price_delta_amount", None)
    changes["price_delta"] = Money(amount if amount is not None else current.price_delta.amount, currency)
    if "name_translations" in changes:
        changes["translations"] = changes.pop("name_translations") or {}
    option = await service.update_modifier_option(session, actor, option_id, replace(current, **changes))
    return ModifierOptionOut.model_validate(option)


@router.delete(
    "/modifier-options/{option_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Archive an option"
)
async def archive_modifier_option(option_id: Id, actor: CurrentActor, session: Session) -> None:
    current = service.modifier_option_input_of(await service.get_modifier_option(session, actor, option_id))
    await service.update_modifier_option(session, actor, option_id, replace(current, is_active=False))


# --- a store's menu, availability, price and stock ----------------------------------------


def _menu_product_out(product: MenuProduct) -> MenuProductOut:
    return MenuProductOut(
        id=product.id,
        name=product.name,
        display_name=product.display_name,
        name_translations=product.name_translations,
        sku=product.sku,
        barcode=product.barcode,
        kind=product.kind,
        unit=product.unit,
        image_url=product.image_url,
        price_amount=product.price.amount,
        currency=product.price.currency,
        min_price_amount=product.min_price.amount if product.min_price is not None else None,
        max_price_amount=product.max_price.amount if product.max_price is not None else None,
        duration_minutes=product.duration_minutes,
        vat_rate_code=product.vat_rate_code,
        is_sold_out=product.is_sold_out,
        stock_quantity=product.stock_quantity,
        modifier_groups=[
            MenuModifierGroupOut(
                id=group.id,
                name=group.name,
                display_name=group.display_name,
                name_translations=group.name_translations,
                is_required=group.is_required,
                min_choices=group.min_choices,
                max_choices=group.max_choices,
                options=[
                    MenuOptionOut(
                        id=option.id,
                        name=option.name,
                        display_name=option.display_name,
                        name_translations=option.name_translations,
                        price_delta_amount=option.price_delta.amount,
                        currency=option.price_delta.currency,
                        product_id=option.product_id,
                        is_sold_out=option.is_sold_out,
                    )
                    for option in group.options
                ],
            )
            for group in product.modifier_groups
        ],
    )


@router.get("/stores/{store_id}/menu", response_model=StoreMenuOut, summary="The register's menu of a store")
async def store_menu(
    store_id: Id,
    actor: CurrentActor,
    session: Session,
    locale: Annotated[Line | None, Query(max_length=16, description="Default: the store's locale")] = None,
) -> StoreMenuOut:
    menu = await get_store_menu(session, actor, store_id, locale=locale)
    return StoreMenuOut(
        store_id=menu.store_id,
        currency=menu.currency,
        locale=menu.locale,
        categories=[
            MenuCategoryOut(
                id=category.id,
                name=category.name,
                display_name=category.display_name,
                name_translations=category.name_translations,
                kitchen_station=category.kitchen_station,
                products=[_menu_product_out(product) for product in category.products],
            )
            for category in menu.categories
        ],
    )


@router.get("/stores/{store_id}/products/{product_id}", response_model=StoreProductOut)
async def get_store_product(
    store_id: Id, product_id: Id, actor: CurrentActor, session: Session
) -> StoreProductOut:
    product = await service.get_product(session, actor, product_id)
    row = await service.get_store_product(session, actor, store_id, product_id)
    return _store_product_out(row, product.currency)


@router.patch("/stores/{store_id}/products/{product_id}", response_model=StoreProductOut)
async def update_store_product(
    store_id: Id, product_id: Id, body: StoreProductUpdate, actor: CurrentActor, session: Session
) -> StoreProductOut:
    product = await service.get_product(session, actor, product_id)
    changes = body.model_dump(exclude_unset=True)
    price: Money | service.Unset | None = service.UNSET
    if "price_override_amount" in changes:
        amount = changes["price_override_amount"]
        price = None if amount is None else Money(amount, product.currency)
    row = await service.update_store_product(
        session,
        actor,
        store_id,
        product_id,
        is_available=changes.get("is_available"),
        price=price,
        is_stock_tracked=changes.get("is_stock_tracked"),
    )
    return _store_product_out(row, product.currency)


@router.post("/stores/{store_id}/products/{product_id}/stock-adjustments", response_model=StockOut)
async def adjust_stock(
    store_id: Id, product_id: Id, body: StockAdjustmentIn, actor: CurrentActor, session: Session
) -> StockOut:
    """A delivery or a loss: the stock changes by ``delta`` and never goes below zero."""
    quantity = await service.adjust_stock(
        session, actor, store_id, product_id, body.delta, reason=body.reason
    )
    row = await service.get_store_product(session, actor, store_id, product_id)
    return StockOut(store_id=store_id, product_id=product_id, quantity=quantity, is_sold_out=row.is_sold_out)


@router.put("/stores/{store_id}/products/{product_id}/stock", response_model=StockOut)
async def count_stock(
    store_id: Id, product_id: Id, body: StockCountIn, actor: CurrentActor, session: Session
) -> StockOut:
    """A stock count: sets the quantity, and counts the product's stock from now on."""
    quantity = await service.count_stock(
        session, actor, store_id, product_id, body.quantity, reason=body.reason
    )
    row = await service.get_store_product(session, actor, store_id, product_id)
    return StockOut(store_id=store_id, product_id=product_id, quantity=quantity, is_sold_out=row.is_sold_out)


@router.put("/stores/{store_id}/products/{product_id}/sold-out", response_model=StoreProductOut)
async def set_sold_out(
    store_id: Id, product_id: Id, body: SoldOutIn, actor: CurrentActor, session: Session
) -> StoreProductOut:
    product = await service.get_product(session, actor, product_id)
    row = await service.set_sold_out(session, actor, store_id, product_id, body.is_sold_out)
    return _store_product_out(row, product.currency)


# --- import and export --------------------------------------------------------------------


@router.get(
    "/export",
    summary="The catalog as CSV or XLSX, one row per product",
    response_class=Response,
    responses={200: {"content": {media_type: {} for media_type in MEDIA_TYPES.values()}}},
)
async def export(
    actor: CurrentActor, session: Session, format: CatalogFormat = CatalogFormat.CSV
) -> Response:
    content = await export_catalog(session, actor, format)
    return Response(
        content,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="catalog.{format.value}"'},
    )


@router.post(
    "/import", response_model=ImportResultOut, summary="Create or update products by SKU from CSV or XLSX"
)
async def import_file(
    actor: CurrentActor,
    session: Session,
    file: Annotated[UploadFile, File(description="A sheet as exported by /catalog/export")],
    format: CatalogFormat | None = None,
) -> ImportResultOut:
    """All rows or none: a problem in any row imports nothing and names every row and
    column at fault (``errors[].field`` is ``rows.<row>.<column>``)."""
    if format is None:
        suffix = PurePath(file.filename or "").suffix.lower().lstrip(".")
        if suffix not in {item.value for item in CatalogFormat}:
            raise ValidationFailed(
                "name the format (?format=csv or xlsx) or upload a .csv/.xlsx", field="format"
            )
        format = CatalogFormat(suffix)
    content = await file.read(MAX_IMPORT_BYTES + 1)
    if len(content) > MAX_IMPORT_BYTES:
        raise ValidationFailed("the file is larger than 5 MB", field="file")
    result = await import_catalog(session, actor, content, format)
    return ImportResultOut(
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        categories_created=result.categories_created,
    )
