"""The catalog's selling rules: how each store sells a product (availability, its own
price, counted stock, sold out), and resolving a product with the chosen options into a
priced line for a bill. The bills call ``resolve_item`` and ``change_stock``.

Defining the catalog lives in ``products`` (categories, products) and ``modifiers``
(modifier groups and options); their functions are re-exported here so callers have one
place to import from. The register's menu is built in ``menu``; CSV/XLSX import and
export in ``transfer``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
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
from kassa.catalog.modifiers import (
    ModifierGroupInput,
    ModifierOptionInput,
    create_modifier_group,
    create_modifier_option,
    get_modifier_group,
    get_modifier_option,
    list_modifier_groups,
    modifier_group_input_of,
    modifier_option_input_of,
    options_by_group,
    update_modifier_group,
    update_modifier_option,
)
from kassa.catalog.products import (
    CategoryInput,
    ProductInput,
    category_input_of,
    create_category,
    create_product,
    delete_category,
    get_category,
    get_product,
    known_vat_rate_codes,
    list_categories,
    list_menu,
    list_products,
    localized_name,
    modifier_group_ids_by_product,
    product_input_of,
    raise_if_problems,
    save_product,
    set_product_modifier_groups,
    update_category,
)
from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from kassa.core.events import Event, publish_after_commit
from kassa.core.money import Money
from kassa.stores import service as store_service
from kassa.stores.models import Store, VatRate

__all__ = [
    "UNSET",
    "CategoryInput",
    "ModifierGroupInput",
    "ModifierOptionInput",
    "ProductInput",
    "ResolvedItem",
    "ResolvedModifier",
    "SoldOut",
    "Unset",
    "adjust_stock",
    "category_input_of",
    "change_stock",
    "count_stock",
    "create_category",
    "create_modifier_group",
    "create_modifier_option",
    "create_product",
    "delete_category",
    "get_category",
    "get_modifier_group",
    "get_modifier_option",
    "get_product",
    "get_store_product",
    "known_vat_rate_codes",
    "list_categories",
    "list_menu",
    "list_modifier_groups",
    "list_products",
    "localized_name",
    "modifier_group_ids_by_product",
    "modifier_group_input_of",
    "modifier_option_input_of",
    "options_by_group",
    "product_input_of",
    "resolve_item",
    "save_product",
    "set_product_modifier_groups",
    "set_sold_out",
    "store_products",
    "update_category",
    "update_modifier_group",
    "update_modifier_option",
    "update_store_product",
]


class SoldOut(Conflict):
    """Nothing (or not enough) left of a product in a store."""

    code = "sold_out"
    title = "Sold out"


class Unset(Enum):
    """Marks "not given" where None means something (back to the catalog price)."""

    UNSET = "unset"


UNSET = Unset.UNSET


async def _store_and_product(
    session: AsyncSession, actor: Actor, store_id: int, product_id: int
) -> tuple[Store, Product]:
    store = await store_service.get_store(session, actor, store_id)
    product = await get_product(session, actor, product_id)
    return store, product


async def _ensure_store_product(session: AsyncSession, store_id: int, product_id: int) -> StoreProduct:
    """The store's row for the product, made with the defaults if missing (race-free)."""
    values = {
        "store_id": store_id,
        "product_id": product_id,
        "is_available": True,
        "is_marked_sold_out": False,
        "is_stock_tracked": False,
        "stock_quantity": 0,
    }
    dialect = session.get_bind().dialect.name
    statement: Any
    if dialect == "postgresql":
        statement = postgresql.insert(StoreProduct).values(values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(StoreProduct).values(values).on_conflict_do_nothing()
    else:  # pragma: no cover - Kassa runs on the two above
        statement = insert(StoreProduct).values(values)
    await session.execute(statement)
    row = await session.get(StoreProduct, (store_id, product_id), populate_existing=True)
    assert row is not None
    return row


def _store_product_snapshot(row: StoreProduct) -> dict[str, Any]:
    return {
        "is_available": row.is_available,
        "price_amount": row.price_amount,
        "is_marked_sold_out": row.is_marked_sold_out,
        "is_stock_tracked": row.is_stock_tracked,
        "stock_quantity": row.stock_quantity,
    }


def _stock_event(store_id: int, product_id: int, row: StoreProduct | None) -> Event:
    quantity = row.stock_quantity if row is not None and row.is_stock_tracked else None
    is_sold_out = row.is_sold_out if row is not None else False
    return Event(
        store_service.store_topic(store_id),
        "product.stock_changed",
        {"product_id": product_id, "quantity": quantity, "is_sold_out": is_sold_out},
    )


async def get_store_product(
    session: AsyncSession, actor: Actor, store_id: int, product_id: int
) -> StoreProduct:
    """How the store sells the product; an unsaved row with the defaults when never set."""
    await _store_and_product(session, actor, store_id, product_id)
    row = await session.get(StoreProduct, (store_id, product_id))
    if row is None:
        return StoreProduct(
            store_id=store_id,
            product_id=product_id,
            is_available=True,
            price_amount=None,
            is_marked_sold_out=False,
            is_stock_tracked=False,
            stock_quantity=0,
        )
    return row


async def store_products(session: AsyncSession, store_id: int) -> dict[int, StoreProduct]:
    """Every saved store row of a store, by product id (missing ones are the defaults)."""
    rows = (await session.scalars(select(StoreProduct).where(StoreProduct.store_id == store_id))).all()
    return {row.product_id: row for row in rows}


async def update_store_product(
    session: AsyncSession,
    actor: Actor,
    store_id: int,
    product_id: int,
    *,
    is_available: bool | None = None,
    price: Money | Unset | None = UNSET,
    is_stock_tracked: bool | None = None,
) -> StoreProduct:
    """Switch a product off in one store, give it this store's own price (``None`` goes back
    to the catalog price), or start/stop counting its stock there."""
    actor.require(Permission.CATALOG_MANAGE)
    _store, product = await _store_and_product(session, actor, store_id, product_id)
    if isinstance(price, Money):
        if price.currency != product.currency:
            raise ValidationFailed(f"the product is priced in {product.currency}", field="currency")
        if price.is_negative:
            raise ValidationFailed("a price cannot be negative", field="price_amount")
        if product.kind == ProductKind.OPEN_PRICE:
            raise ValidationFailed(
                "the cashier types an open price; it has none to override", field="price_amount"
            )
    row = await _ensure_store_product(session, store_id, product_id)
    before = _store_product_snapshot(row)
    if is_available is not None:
        row.is_available = is_available
    if not isinstance(price, Unset):
        row.price_amount = price.amount if price is not None else None
    if is_stock_tracked is not None:
        row.is_stock_tracked = is_stock_tracked
    await session.flush()
    after = _store_product_snapshot(row)
    audit.record(
        session,
        actor,
        "store_product.update",
        "product",
        product_id,
        store_id=store_id,
        before=before,
        after=after,
    )
    publish_after_commit(
        session,
        Event(
            store_service.store_topic(store_id),
            "product.store_settings_changed",
            {"product_id": product_id, **after, "is_sold_out": row.is_sold_out},
        ),
    )
    if before["is_stock_tracked"] != after["is_stock_tracked"]:
        publish_after_commit(session, _stock_event(store_id, product_id, row))
    return row


async def set_sold_out(
    session: AsyncSession, actor: Actor, store_id: int, product_id: int, is_sold_out: bool
) -> StoreProduct:
    """Mark a product sold out in a store by hand (the kitchen ran out of something whose
    stock is not counted), or available again; every register of the store hears it."""
    actor.require(Permission.CATALOG_MANAGE)
    await _store_and_product(session, actor, store_id, product_id)
    row = await _ensure_store_product(session, store_id, product_id)
    before = {"is_marked_sold_out": row.is_marked_sold_out}
    row.is_marked_sold_out = is_sold_out
    await session.flush()
    audit.record(
        session,
        actor,
        "product.sold_out_set",
        "product",
        product_id,
        store_id=store_id,
        before=before,
        after={"is_marked_sold_out": is_sold_out},
    )
    publish_after_commit(session, _stock_event(store_id, product_id, row))
    return row


async def count_stock(
    session: AsyncSession,
    actor: Actor,
    store_id: int,
    product_id: int,
    quantity: int,
    *,
    reason: str = "count",
) -> int:
    """Set the counted stock of a product in a store (and count it from now on)."""
    actor.require(Permission.CATALOG_MANAGE)
    if quantity < 0:
        raise ValidationFailed("a counted stock is 0 or more", field="quantity")
    await _store_and_product(session, actor, store_id, product_id)
    row = await _ensure_store_product(session, store_id, product_id)
    before = {"is_stock_tracked": row.is_stock_tracked, "quantity": row.stock_quantity}
    # An absolute value from a count, not a read-modify-write: sales after the count are
    # the ones that change it next.
    row.is_stock_tracked = True
    row.stock_quantity = quantity
    await session.flush()
    audit.record(
        session,
        actor,
        "product.stock_count",
        "product",
        product_id,
        store_id=store_id,
        before=before,
        after={"is_stock_tracked": True, "quantity": quantity, "reason": reason},
    )
    publish_after_commit(session, _stock_event(store_id, product_id, row))
    return quantity


async def adjust_stock(
    session: AsyncSession, actor: Actor, store_id: int, product_id: int, delta: int, *, reason: str
) -> int:
    """A manager's stock change (a delivery +24, breakage -2); never below zero."""
    actor.require(Permission.CATALOG_MANAGE)
    if delta == 0:
        raise ValidationFailed("a change of 0 changes nothing", field="delta")
    quantity = await change_stock(session, actor, store_id, product_id, delta, reason=reason)
    if quantity is None:
        raise ValidationFailed(
            "this store does not count the product's stock; count it first", field="product_id"
        )
    return quantity


async def change_stock(
    session: AsyncSession,
    actor: Actor,
    store_id: int,
    product_id: int,
    delta: int,
    *,
    reason: str,
    allow_negative: bool = False,
) -> int | None:
    """Change a product's stock in a store by ``delta``, atomically in the database.

    Returns the new quantity, or None when the store does not count this product's stock.
    One ``UPDATE … SET stock_quantity = stock_quantity + :delta`` whose ``WHERE`` refuses to
    go below zero, so two registers selling the last piece at once cannot both succeed: the
    second gets ``SoldOut``. ``allow_negative`` (needs ``STOCK_NEGATIVE``) sells anyway. An
    increase is never refused, even while the stock is below zero. At zero the product is
    sold out; every register of the store hears the new quantity after commit.
    """
    actor.require_store(store_id)
    if allow_negative and delta < 0:
        # The store's own switch (set by a manager) authorises every sale past zero there.
        store = await session.get(Store, store_id)
        if store is None or not store.allow_negative_stock:
            actor.require(Permission.STOCK_NEGATIVE)
    organization_id = await session.scalar(select(Product.organization_id).where(Product.id == product_id))
    if organization_id != actor.organization_id:
        raise NotFound(f"no product {product_id}", field="product_id")
    conditions = [
        StoreProduct.store_id == store_id,
        StoreProduct.product_id == product_id,
        StoreProduct.is_stock_tracked.is_(True),
    ]
    if delta < 0 and not allow_negative:
        conditions.append(StoreProduct.stock_quantity + delta >= 0)
    returned = (
        await session.execute(
            update(StoreProduct)
            .where(*conditions)
            .values(stock_quantity=StoreProduct.stock_quantity + delta)
            .returning(StoreProduct.stock_quantity, StoreProduct.is_marked_sold_out)
            .execution_options(synchronize_session="fetch")
        )
    ).one_or_none()
    if returned is None:
        current = (
            await session.execute(
                select(StoreProduct.is_stock_tracked, StoreProduct.stock_quantity).where(
                    StoreProduct.store_id == store_id, StoreProduct.product_id == product_id
                )
            )
        ).one_or_none()
        if current is None or not current.is_stock_tracked:
            return None
        raise SoldOut(
            f"only {max(current.stock_quantity, 0)} left of product {product_id}",
            field="product_id",
            extra={"product_id": product_id, "quantity": current.stock_quantity},
        )
    changed: int = returned.stock_quantity
    is_marked_sold_out: bool = returned.is_marked_sold_out
    audit.record(
        session,
        actor,
        "product.stock_change",
        "product",
        product_id,
        store_id=store_id,
        before={"quantity": changed - delta},
        after={"quantity": changed, "delta": delta, "reason": reason},
    )
    publish_after_commit(
        session,
        Event(
            store_service.store_topic(store_id),
            "product.stock_changed",
            {
                "product_id": product_id,
                "quantity": changed,
                "is_sold_out": is_marked_sold_out or changed <= 0,
            },
        ),
    )
    return changed


# --- resolving a product for a bill line --------------------------------------------------


@dataclass(frozen=True)
class ResolvedModifier:
    group_id: int
    group_name: str
    option_id: int
    name: str
    price_delta: Money
    component_product_id: int | None  # combos: the component whose stock is consumed


@dataclass(frozen=True)
class ResolvedItem:
    product_id: int
    name: str  # default name
    name_translations: dict[str, str]
    sku: str
    category_id: int
    kitchen_station: str | None
    kind: ProductKind
    unit_price: Money  # base (or store override, or open price) + sum of option deltas
    vat_rate_code: str
    vat_rate_basis_points: int  # from the store's VatRate with that code
    modifiers: tuple[ResolvedModifier, ...]
    stock_product_ids: tuple[int, ...]  # products whose stock one unit consumes


def _choice_problem(group: ModifierGroup, chosen: int) -> str | None:
    if chosen > group.max_choices:
        return f"{group.name}: at most {group.max_choices} choice(s), {chosen} given"
    if chosen < group.min_choices:
        return f"{group.name}: choose at least {group.min_choices}, {chosen} given"
    return None


async def resolve_item(
    session: AsyncSession,
    actor: Actor,
    store_id: int,
    product_id: int,
    *,
    modifier_option_ids: Sequence[int] = (),
    open_price: Money | None = None,
) -> ResolvedItem:
    """A product as this store sells it with the chosen options: one bill line's price,
    VAT, kitchen station and the stock it consumes.

    Refused: products archived or switched off in the store; sold-out products and
    components (``SoldOut``) unless the actor has ``STOCK_NEGATIVE``; options of groups not
    offered with the product, chosen twice or archived; a group with too few or too many
    choices (a required group left out); an open price missing, outside the product's
    bounds, or given for a product that is not open-price; a line below zero.
    """
    store = await store_service.get_store(session, actor, store_id)
    # The product with its category, this store's row and VAT rate: one round trip.
    found = (
        await session.execute(
            select(Product, Category, StoreProduct, VatRate)
            .join(Category, Category.id == Product.category_id)
            .outerjoin(
                StoreProduct, and_(StoreProduct.store_id == store_id, StoreProduct.product_id == Product.id)
            )
            .outerjoin(VatRate, and_(VatRate.store_id == store_id, VatRate.code == Product.vat_rate_code))
            .where(Product.id == product_id)
        )
    ).first()
    if found is None:
        raise NotFound(f"no product {product_id}", field="product_id")
    product, category = found[0], found[1]
    store_row: StoreProduct | None = found[2]  # outer joins: absent rows are None
    vat_rate: VatRate | None = found[3]
    if product.organization_id != actor.organization_id or not product.is_active:
        raise NotFound(f"no product {product_id}", field="product_id")
    if store_row is not None and not store_row.is_available:
        raise ValidationFailed(f"{product.name} is not sold in this store", field="product_id")
    # A manager's store switch lets counted stock go below zero for everyone there.
    may_oversell = actor.can(Permission.STOCK_NEGATIVE)
    may_go_negative = may_oversell or store.allow_negative_stock
    if _refuses_sale(store_row, may_oversell, may_go_negative):
        raise SoldOut(f"{product.name} is sold out", field="product_id", extra={"product_id": product_id})
    if product.currency != store.currency:
        raise ValidationFailed(
            f"{product.name} is priced in {product.currency}; this store sells in {store.currency}",
            field="product_id",
        )

    if product.kind == ProductKind.OPEN_PRICE:
        if open_price is None:
            raise ValidationFailed(f"type the price of {product.name}", field="open_price_amount")
        if open_price.currency != product.currency or open_price.is_negative:
            raise ValidationFailed(f"an amount of 0 or more in {product.currency}", field="open_price_amount")
        if product.min_price_amount is not None and open_price.amount < product.min_price_amount:
            lowest = Money(product.min_price_amount, product.currency)
            raise ValidationFailed(f"{product.name} costs at least {lowest}", field="open_price_amount")
        if product.max_price_amount is not None and open_price.amount > product.max_price_amount:
            highest = Money(product.max_price_amount, product.currency)
            raise ValidationFailed(f"{product.name} costs at most {highest}", field="open_price_amount")
        base_price = open_price
    elif open_price is not None:
        raise ValidationFailed(f"{product.name} has a fixed price", field="open_price_amount")
    elif store_row is not None and store_row.price_amount is not None:
        base_price = Money(store_row.price_amount, product.currency)
    else:
        base_price = Money(product.price_amount, product.currency)

    modifiers, component_ids, tracked_components = await _resolve_modifiers(
        session,
        store_id,
        product,
        modifier_option_ids,
        may_oversell=may_oversell,
        may_go_negative=may_go_negative,
    )
    unit_price = base_price
    for modifier in modifiers:
        unit_price = unit_price + modifier.price_delta
    if unit_price.is_negative:
        raise ValidationFailed("the options take the price below zero", field="modifier_option_ids")

    if vat_rate is None:
        raise ValidationFailed(
            f"this store has no VAT rate {product.vat_rate_code!r} for {product.name}", field="product_id"
        )

    consuming = [product.id, *component_ids]
    tracked = set(tracked_components)
    if store_row is not None and store_row.is_stock_tracked:
        tracked.add(product.id)
    return ResolvedItem(
        product_id=product.id,
        name=product.name,
        name_translations=dict(product.name_translations),
        sku=product.sku,
        category_id=product.category_id,
        kitchen_station=category.kitchen_station,
        kind=product.kind,
        unit_price=unit_price,
        vat_rate_code=product.vat_rate_code,
        vat_rate_basis_points=vat_rate.rate_basis_points,
        modifiers=modifiers,
        stock_product_ids=tuple(item for item in consuming if item in tracked),
    )


def _refuses_sale(row: StoreProduct | None, may_oversell: bool, may_go_negative: bool) -> bool:
    """Sold out stops a sale, unless the actor may oversell, or counted stock may go below
    zero (never what the kitchen marked sold out by hand: it has run out)."""
    if row is None or not row.is_sold_out or may_oversell:
        return False
    return row.is_marked_sold_out or not may_go_negative


async def _resolve_modifiers(
    session: AsyncSession,
    store_id: int,
    product: Product,
    option_ids: Sequence[int],
    *,
    may_oversell: bool,
    may_go_negative: bool,
) -> tuple[tuple[ResolvedModifier, ...], list[int], set[int]]:
    """The chosen options in menu order, the component products they consume, and which of
    those components count stock in this store."""
    if len(set(option_ids)) != len(option_ids):
        raise ValidationFailed("an option is chosen twice", field="modifier_option_ids")
    groups = (
        await session.scalars(
            select(ModifierGroup)
            .join(ProductModifierGroup, ProductModifierGroup.group_id == ModifierGroup.id)
            .where(ProductModifierGroup.product_id == product.id, ModifierGroup.is_active)
            .order_by(ProductModifierGroup.sort_order, ModifierGroup.id)
        )
    ).all()
    group_by_id = {group.id: group for group in groups}
    options = (
        (await session.scalars(select(ModifierOption).where(ModifierOption.id.in_(option_ids)))).all()
        if option_ids
        else []
    )
    option_by_id = {option.id: option for option in options}
    for option_id in option_ids:
        option = option_by_id.get(option_id)
        if option is None or not option.is_active or option.group_id not in group_by_id:
            raise ValidationFailed(
                f"option {option_id} is not offered with {product.name}", field="modifier_option_ids"
            )
        if option.currency != product.currency:
            raise ValidationFailed(
                f"option {option.name} is priced in {option.currency}", field="modifier_option_ids"
            )
    chosen_by_group: dict[int, list[ModifierOption]] = {group.id: [] for group in groups}
    for option in sorted(options, key=lambda item: (item.sort_order, item.id)):
        chosen_by_group[option.group_id].append(option)
    problems = [
        FieldProblem("modifier_option_ids", problem)
        for group in groups
        if (problem := _choice_problem(group, len(chosen_by_group[group.id]))) is not None
    ]
    raise_if_problems(problems)

    component_ids = [option.product_id for option in options if option.product_id is not None]
    tracked_components: set[int] = set()
    if component_ids:
        components = {
            item.id: item
            for item in (await session.scalars(select(Product).where(Product.id.in_(component_ids)))).all()
        }
        component_rows = {
            row.product_id: row
            for row in (
                await session.scalars(
                    select(StoreProduct).where(
                        StoreProduct.store_id == store_id, StoreProduct.product_id.in_(component_ids)
                    )
                )
            ).all()
        }
        for component_id in component_ids:
            component = components[component_id]
            row = component_rows.get(component_id)
            if not component.is_active or (row is not None and not row.is_available):
                raise ValidationFailed(
                    f"{component.name} is not sold in this store", field="modifier_option_ids"
                )
            if _refuses_sale(row, may_oversell, may_go_negative):
                raise SoldOut(
                    f"{component.name} is sold out",
                    field="modifier_option_ids",
                    extra={"product_id": component_id},
                )
            if row is not None and row.is_stock_tracked:
                tracked_components.add(component_id)

    resolved: list[ResolvedModifier] = []
    ordered_components: list[int] = []
    for group in groups:
        for option in chosen_by_group[group.id]:
            resolved.append(
                ResolvedModifier(
                    group_id=group.id,
                    group_name=group.name,
                    option_id=option.id,
                    name=option.name,
                    price_delta=Money(option.price_delta_amount, option.currency),
                    component_product_id=option.product_id,
                )
            )
            if option.product_id is not None:
                ordered_components.append(option.product_id)
    return tuple(resolved), ordered_components, tracked_components
