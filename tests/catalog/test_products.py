"""Defining the catalog: the rules of categories, products, modifier groups and options."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog import service as catalog
from kassa.catalog.models import ProductKind
from kassa.core.audit import AuditRecord
from kassa.core.auth import Actor
from kassa.core.database import Database
from kassa.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kassa.core.money import Money
from tests.catalog.factories import Shop, make_category, make_group, make_product, make_shop, yuan


def problems_of(error: pytest.ExceptionInfo[ValidationFailed]) -> list[tuple[str, str]]:
    return [(item.field, item.reason) for item in error.value.errors]


async def test_a_sku_is_unique_in_the_organization_only(session: AsyncSession, shop: Shop) -> None:
    category = await make_category(session, shop.manager)
    await make_product(session, shop.manager, category, sku="COF-LAT")
    with pytest.raises(ValidationFailed) as error:
        await make_product(session, shop.manager, category, sku="COF-LAT")
    assert problems_of(error) == [("sku", "SKU 'COF-LAT' is in use")]
    other = await make_shop(session)
    other_category = await make_category(session, other.manager)
    assert (await make_product(session, other.manager, other_category, sku="COF-LAT")).sku == "COF-LAT"


async def test_a_barcode_is_unique_when_set_and_many_products_have_none(
    session: AsyncSession, shop: Shop
) -> None:
    category = await make_category(session, shop.manager)
    await make_product(session, shop.manager, category, barcode="6901234567892")
    await make_product(session, shop.manager, category)
    blank = await make_product(session, shop.manager, category, barcode="  ")
    assert blank.barcode is None
    with pytest.raises(ValidationFailed) as error:
        await make_product(session, shop.manager, category, barcode="6901234567892")
    assert problems_of(error) == [("barcode", "barcode '6901234567892' is in use")]


async def test_every_broken_rule_of_a_product_is_named_at_once(session: AsyncSession, shop: Shop) -> None:
    category = await make_category(session, shop.manager)
    data = catalog.ProductInput(
        category_id=category.id + 1000,
        name=" ",
        sku="HAS SPACE",
        price=Money(-1, "CNY"),
        vat_rate_code="luxury",
        unit="",
        image_url="ftp://example.com/a.png",
        kind=ProductKind.STANDARD,
        duration_minutes=30,
        min_price=yuan(100),
    )
    with pytest.raises(ValidationFailed) as error:
        await catalog.save_product(session, shop.manager, data)
    assert problems_of(error) == [
        ("name", "a name is needed"),
        ("sku", "at most 40 characters, no spaces"),
        ("price_amount", "a price cannot be negative"),
        ("unit", "a unit of at most 20 characters is needed (cup, piece, kg)"),
        ("image_url", "an http(s) address or a path starting with /"),
        ("duration_minutes", "only a service has a duration"),
        ("min_price_amount", "only an open-price product has bounds"),
        ("category_id", f"no category {category.id + 1000}"),
        ("vat_rate_code", "no store has VAT rate 'luxury'"),
    ]


async def test_a_service_has_a_duration_and_an_open_price_sane_bounds(
    session: AsyncSession, shop: Shop
) -> None:
    category = await make_category(session, shop.manager)
    with pytest.raises(ValidationFailed) as error:
        await make_product(session, shop.manager, category, kind=ProductKind.SERVICE)
    assert problems_of(error) == [("duration_minutes", "a service lasts 1 to 1440 minutes")]
    massage = await make_product(
        session, shop.manager, category, kind=ProductKind.SERVICE, duration_minutes=45
    )
    assert (massage.kind, massage.duration_minutes) == (ProductKind.SERVICE, 45)
    with pytest.raises(ValidationFailed) as error:
        await make_product(
            session, shop.manager, category, kind=ProductKind.OPEN_PRICE, min_price=500, max_price=100
        )
    assert problems_of(error) == [("max_price_amount", "the highest price is below the lowest")]
    unbounded = await make_product(session, shop.manager, category, kind=ProductKind.OPEN_PRICE, price=0)
    assert (unbounded.min_price_amount, unbounded.max_price_amount) == (None, None)


async def test_editing_a_product_replaces_its_definition_and_is_audited(
    database: Database, session: AsyncSession, shop: Shop
) -> None:
    category = await make_category(session, shop.manager)
    latte = await make_product(session, shop.manager, category, name="Latte", sku="LAT", price=2400)
    await session.commit()
    data = replace(catalog.product_input_of(latte), price=yuan(2600), unit="cup", barcode="123")
    async with database.unit_of_work() as edit:
        edited = await catalog.save_product(edit, shop.manager, data, product_id=latte.id)
        # saving the same definition again passes the SKU check: it ignores the product itself
        await catalog.save_product(edit, shop.manager, data, product_id=latte.id)
    assert (edited.price_amount, edited.unit, edited.barcode, edited.sku) == (2600, "cup", "123", "LAT")
    record = await session.scalar(
        select(AuditRecord)
        .where(AuditRecord.action == "product.update", AuditRecord.entity_id == str(latte.id))
        .order_by(AuditRecord.sequence)
    )
    assert record is not None
    assert (record.before["price_amount"], record.after["price_amount"], record.after["unit"]) == (
        2400,
        2600,
        "cup",
    )
    assert record.staff_id == shop.manager.staff_id


async def test_cashiers_and_waiters_cannot_change_the_catalog(session: AsyncSession, shop: Shop) -> None:
    category = await make_category(session, shop.manager)
    product = await make_product(session, shop.manager, category)
    for actor in (shop.cashier, shop.waiter):
        with pytest.raises(PermissionDenied):
            await catalog.create_category(session, actor, "Nope")
        with pytest.raises(PermissionDenied):
            await catalog.save_product(
                session, actor, catalog.product_input_of(product), product_id=product.id
            )
        with pytest.raises(PermissionDenied):
            await catalog.create_modifier_group(session, actor, catalog.ModifierGroupInput(name="Size"))
        with pytest.raises(PermissionDenied):
            await catalog.update_store_product(session, actor, shop.store.id, product.id, is_available=False)


async def test_a_category_goes_only_when_empty(session: AsyncSession, shop: Shop) -> None:
    full = await make_category(session, shop.manager, kitchen_station=" bar ")
    empty = await make_category(session, shop.manager)
    await make_product(session, shop.manager, full)
    assert full.kitchen_station == "bar"
    with pytest.raises(Conflict, match="the category still has products"):
        await catalog.delete_category(session, shop.manager, full.id)
    await catalog.delete_category(session, shop.manager, empty.id)
    with pytest.raises(NotFound):
        await catalog.get_category(session, shop.manager, empty.id)
    # and another organization's category is not found
    with pytest.raises(NotFound):
        await catalog.get_category(session, Actor.system(shop.organization.id + 1000), full.id)


@pytest.mark.parametrize(
    ("group", "problem"),
    [
        (
            catalog.ModifierGroupInput("Size", is_required=True, min_choices=0),
            ("min_choices", "a required group needs at least 1 choice"),
        ),
        (
            catalog.ModifierGroupInput("Add-ons", min_choices=1),
            ("min_choices", "an optional group has no minimum; make it required"),
        ),
        (
            catalog.ModifierGroupInput("Toppings", is_required=True, min_choices=3, max_choices=2),
            ("max_choices", "between 3 and 50"),
        ),
        (catalog.ModifierGroupInput("Add-ons", max_choices=51), ("max_choices", "between 1 and 50")),
        (catalog.ModifierGroupInput("", max_choices=1), ("name", "a name is needed")),
    ],
)
async def test_modifier_group_choice_rules(
    session: AsyncSession, shop: Shop, group: catalog.ModifierGroupInput, problem: tuple[str, str]
) -> None:
    with pytest.raises(ValidationFailed) as error:
        await catalog.create_modifier_group(session, shop.manager, group)
    assert problems_of(error) == [problem]


async def test_a_required_group_defaults_to_one_choice(session: AsyncSession, shop: Shop) -> None:
    size, _ = await make_group(session, shop.manager, is_required=True)
    add_ons, _ = await make_group(session, shop.manager, max_choices=3)
    assert (size.min_choices, size.max_choices, add_ons.min_choices, add_ons.max_choices) == (1, 1, 0, 3)


async def test_a_combo_component_is_a_product_of_the_organization_and_not_a_combo(
    session: AsyncSession, shop: Shop
) -> None:
    category = await make_category(session, shop.manager)
    combo = await make_product(session, shop.manager, category, kind=ProductKind.COMBO)
    group, _ = await make_group(session, shop.manager)
    for product_id, problem in (
        (combo.id, ("product_id", "a combo cannot be a component of another combo")),
        (combo.id + 1000, ("product_id", f"no product {combo.id + 1000}")),
    ):
        with pytest.raises(ValidationFailed) as error:
            await catalog.create_modifier_option(
                session,
                shop.manager,
                group.id,
                catalog.ModifierOptionInput("Bad", price_delta=yuan(0), product_id=product_id),
            )
        assert problems_of(error) == [problem]


async def test_attaching_groups_keeps_their_order_and_refuses_unknown_or_repeated_ones(
    session: AsyncSession, shop: Shop
) -> None:
    category = await make_category(session, shop.manager)
    latte = await make_product(session, shop.manager, category)
    size, _ = await make_group(session, shop.manager)
    milk, _ = await make_group(session, shop.manager)
    await catalog.set_product_modifier_groups(session, shop.manager, latte.id, [milk.id, size.id])
    assert (await catalog.modifier_group_ids_by_product(session, [latte.id])) == {
        latte.id: [milk.id, size.id]
    }
    await catalog.set_product_modifier_groups(session, shop.manager, latte.id, [size.id])
    assert (await catalog.modifier_group_ids_by_product(session, [latte.id])) == {latte.id: [size.id]}
    with pytest.raises(ValidationFailed, match="a group is listed twice"):
        await catalog.set_product_modifier_groups(session, shop.manager, latte.id, [size.id, size.id])
    with pytest.raises(NotFound) as error:
        await catalog.set_product_modifier_groups(session, shop.manager, latte.id, [size.id + 1000])
    assert error.value.field == "modifier_group_ids"


async def test_a_store_price_is_in_the_products_currency_and_not_for_open_prices(
    session: AsyncSession, shop: Shop
) -> None:
    category = await make_category(session, shop.manager)
    latte = await make_product(session, shop.manager, category)
    open_price = await make_product(session, shop.manager, category, kind=ProductKind.OPEN_PRICE, price=0)
    owner = Actor.system(shop.organization.id)
    with pytest.raises(ValidationFailed, match="the product is priced in CNY"):
        await catalog.update_store_product(session, owner, shop.store.id, latte.id, price=Money(300, "EUR"))
    with pytest.raises(ValidationFailed, match="it has none to override"):
        await catalog.update_store_product(session, owner, shop.store.id, open_price.id, price=yuan(100))
    row = await catalog.update_store_product(session, owner, shop.store.id, latte.id, price=yuan(2000))
    # leaving the price out keeps it
    row = await catalog.update_store_product(session, owner, shop.store.id, latte.id, is_available=False)
    assert (row.price_amount, row.is_available) == (2000, False)


async def test_list_menu_keeps_working_for_the_register(session: AsyncSession, shop: Shop) -> None:
    coffee = await make_category(session, shop.manager, name="Coffee")
    latte = await make_product(session, shop.manager, coffee, name="Latte")
    old = await make_product(session, shop.manager, coffee, name="Old")
    await catalog.save_product(
        session, shop.manager, replace(catalog.product_input_of(old), is_active=False), product_id=old.id
    )
    assert [
        (category.name, product.name) for category, product in await catalog.list_menu(session, shop.cashier)
    ] == [("Coffee", "Latte")]
    assert latte.unit == "piece"
    assert catalog.localized_name("拿铁", {"en": "Latte"}, "en_US") == "Latte"
    assert catalog.localized_name("拿铁", {"en": "Latte"}, "zh_CN") == "拿铁"
