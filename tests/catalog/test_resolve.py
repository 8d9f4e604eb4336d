"""Resolving a product with its chosen options into a priced bill line."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog import service as catalog
from kassa.catalog.models import ProductKind
from kassa.core.auth import Actor
from kassa.core.errors import KassaError, NotFound, PermissionDenied, ValidationFailed
from kassa.core.money import Money
from kassa.stores import service as store_service
from tests.catalog.factories import Shop, make_category, make_group, make_product, yuan
from tests.factories import make_store


def field_of(error: pytest.ExceptionInfo[KassaError]) -> list[str]:
    return [item.field for item in error.value.errors]


async def test_a_plain_product_resolves_to_its_price_vat_and_kitchen_station(
    session: AsyncSession, shop: Shop
) -> None:
    # given an Americano at ¥18.00 in a category printed at the bar
    coffee = await make_category(session, shop.manager, name="咖啡", kitchen_station="bar")
    americano = await make_product(
        session,
        shop.manager,
        coffee,
        name="美式咖啡",
        sku="COF-AME",
        price=1800,
        translations={"en": "Americano"},
    )
    # when the cashier adds it
    item = await catalog.resolve_item(session, shop.cashier, shop.store.id, americano.id)
    # then
    assert item == catalog.ResolvedItem(
        product_id=americano.id,
        name="美式咖啡",
        name_translations={"en": "Americano"},
        sku="COF-AME",
        category_id=coffee.id,
        kitchen_station="bar",
        kind=ProductKind.STANDARD,
        unit_price=Money(1800, "CNY"),
        vat_rate_code="standard",
        vat_rate_basis_points=600,
        modifiers=(),
        stock_product_ids=(),
    )


async def test_option_deltas_add_to_the_price_in_group_order(session: AsyncSession, shop: Shop) -> None:
    # given a latte with a required size and optional add-ons (up to 2)
    category = await make_category(session, shop.manager)
    latte = await make_product(session, shop.manager, category, price=2400)
    size, (regular, large) = await make_group(
        session, shop.manager, name="Size", is_required=True, options=[("Regular", 0), ("Large", 300)]
    )
    add_ons, (extra_shot, oat_milk) = await make_group(
        session, shop.manager, name="Add-ons", max_choices=2, options=[("Extra shot", 400), ("Oat milk", 300)]
    )
    await catalog.set_product_modifier_groups(session, shop.manager, latte.id, [size.id, add_ons.id])
    # when a large latte with oat milk and an extra shot is added (ids in any order)
    item = await catalog.resolve_item(
        session,
        shop.cashier,
        shop.store.id,
        latte.id,
        modifier_option_ids=[oat_milk.id, large.id, extra_shot.id],
    )
    # then 24.00 + 3.00 + 4.00 + 3.00
    assert item.unit_price == Money(3400, "CNY")
    assert item.modifiers == (
        catalog.ResolvedModifier(size.id, "Size", large.id, "Large", yuan(300), None),
        catalog.ResolvedModifier(add_ons.id, "Add-ons", extra_shot.id, "Extra shot", yuan(400), None),
        catalog.ResolvedModifier(add_ons.id, "Add-ons", oat_milk.id, "Oat milk", yuan(300), None),
    )
    assert regular.id not in [modifier.option_id for modifier in item.modifiers]


@pytest.mark.parametrize(
    ("chosen", "reason"),
    [
        ([], "Sugar: choose at least 1, 0 given"),
        (["Full", "Half"], "Sugar: at most 1 choice(s), 2 given"),
    ],
)
async def test_a_required_single_choice_group_needs_exactly_one(
    session: AsyncSession, shop: Shop, chosen: list[str], reason: str
) -> None:
    # given a tea with a required "Sugar" group of one choice
    category = await make_category(session, shop.manager)
    tea = await make_product(session, shop.manager, category, price=1600)
    sugar, options = await make_group(
        session, shop.manager, name="Sugar", is_required=True, options=[("Full", 0), ("Half", 0), ("None", 0)]
    )
    await catalog.set_product_modifier_groups(session, shop.manager, tea.id, [sugar.id])
    ids = [option.id for option in options if option.name in chosen]
    # when / then
    with pytest.raises(ValidationFailed) as error:
        await catalog.resolve_item(session, shop.cashier, shop.store.id, tea.id, modifier_option_ids=ids)
    assert [(item.field, item.reason) for item in error.value.errors] == [("modifier_option_ids", reason)]


async def test_min_and_max_choices_bound_a_multiple_choice_group(session: AsyncSession, shop: Shop) -> None:
    # given a bowl needing 2 or 3 toppings
    category = await make_category(session, shop.manager)
    bowl = await make_product(session, shop.manager, category, price=3000)
    toppings, options = await make_group(
        session,
        shop.manager,
        name="Toppings",
        is_required=True,
        min_choices=2,
        max_choices=3,
        options=[("Egg", 200), ("Tofu", 300), ("Corn", 100), ("Kimchi", 200)],
    )
    await catalog.set_product_modifier_groups(session, shop.manager, bowl.id, [toppings.id])
    ids = [option.id for option in options]
    # when one, two, three and four are chosen
    with pytest.raises(ValidationFailed, match="Toppings: choose at least 2, 1 given"):
        await catalog.resolve_item(session, shop.cashier, shop.store.id, bowl.id, modifier_option_ids=ids[:1])
    two = await catalog.resolve_item(
        session, shop.cashier, shop.store.id, bowl.id, modifier_option_ids=ids[:2]
    )
    three = await catalog.resolve_item(
        session, shop.cashier, shop.store.id, bowl.id, modifier_option_ids=ids[:3]
    )
    with pytest.raises(ValidationFailed, match="Toppings: at most 3 choice"):
        await catalog.resolve_item(session, shop.cashier, shop.store.id, bowl.id, modifier_option_ids=ids)
    # then
    assert (two.unit_price, three.unit_price) == (yuan(3500), yuan(3600))


async def test_an_optional_group_may_be_left_out(session: AsyncSession, shop: Shop) -> None:
    category = await make_category(session, shop.manager)
    latte = await make_product(session, shop.manager, category, price=2400)
    add_ons, _options = await make_group(session, shop.manager, max_choices=2, options=[("Syrup", 200)])
    await catalog.set_product_modifier_groups(session, shop.manager, latte.id, [add_ons.id])
    item = await catalog.resolve_item(session, shop.cashier, shop.store.id, latte.id)
    assert (item.unit_price, item.modifiers) == (yuan(2400), ())


async def test_options_of_groups_not_offered_with_the_product_are_refused(
    session: AsyncSession, shop: Shop
) -> None:
    # given a size group attached to coffee only
    category = await make_category(session, shop.manager)
    coffee = await make_product(session, shop.manager, category)
    cake = await make_product(session, shop.manager, category)
    size, (_regular, large) = await make_group(
        session, shop.manager, options=[("Regular", 0), ("Large", 300)]
    )
    await catalog.set_product_modifier_groups(session, shop.manager, coffee.id, [size.id])
    # when the option is sent with the cake, or an unknown option id
    for product, option_id in ((cake, large.id), (coffee, large.id + 1000)):
        with pytest.raises(ValidationFailed) as error:
            await catalog.resolve_item(
                session, shop.cashier, shop.store.id, product.id, modifier_option_ids=[option_id]
            )
        # then
        assert field_of(error) == ["modifier_option_ids"]
        assert error.value.detail == f"option {option_id} is not offered with {product.name}"


async def test_an_option_chosen_twice_or_archived_is_refused(session: AsyncSession, shop: Shop) -> None:
    category = await make_category(session, shop.manager)
    latte = await make_product(session, shop.manager, category)
    add_ons, (syrup, cream) = await make_group(
        session, shop.manager, max_choices=3, options=[("Syrup", 200), ("Cream", 300)]
    )
    await catalog.set_product_modifier_groups(session, shop.manager, latte.id, [add_ons.id])
    with pytest.raises(ValidationFailed, match="an option is chosen twice"):
        await catalog.resolve_item(
            session, shop.cashier, shop.store.id, latte.id, modifier_option_ids=[syrup.id, syrup.id]
        )
    # when the cream option is archived
    archived = catalog.modifier_option_input_of(cream)
    await catalog.update_modifier_option(
        session,
        shop.manager,
        cream.id,
        catalog.ModifierOptionInput(**{**archived.__dict__, "is_active": False}),
    )
    with pytest.raises(ValidationFailed, match=f"option {cream.id} is not offered"):
        await catalog.resolve_item(
            session, shop.cashier, shop.store.id, latte.id, modifier_option_ids=[cream.id]
        )


async def test_a_negative_delta_may_lower_the_price_but_never_below_zero(
    session: AsyncSession, shop: Shop
) -> None:
    category = await make_category(session, shop.manager)
    coffee = await make_product(session, shop.manager, category, price=1800)
    water = await make_product(session, shop.manager, category, price=100)
    milk, (no_milk,) = await make_group(session, shop.manager, options=[("No milk", -200)])
    await catalog.set_product_modifier_groups(session, shop.manager, coffee.id, [milk.id])
    await catalog.set_product_modifier_groups(session, shop.manager, water.id, [milk.id])
    item = await catalog.resolve_item(
        session, shop.cashier, shop.store.id, coffee.id, modifier_option_ids=[no_milk.id]
    )
    assert item.unit_price == yuan(1600)
    with pytest.raises(ValidationFailed, match="the options take the price below zero") as error:
        await catalog.resolve_item(
            session, shop.cashier, shop.store.id, water.id, modifier_option_ids=[no_milk.id]
        )
    assert field_of(error) == ["modifier_option_ids"]


async def test_an_open_price_is_typed_within_its_bounds(session: AsyncSession, shop: Shop) -> None:
    # given a "Bakery" department key between ¥1.00 and ¥200.00
    category = await make_category(session, shop.manager)
    bakery = await make_product(
        session, shop.manager, category, kind=ProductKind.OPEN_PRICE, price=0, min_price=100, max_price=20000
    )
    coffee = await make_product(session, shop.manager, category, price=1800)
    # when the cashier types ¥12.50
    item = await catalog.resolve_item(session, shop.cashier, shop.store.id, bakery.id, open_price=yuan(1250))
    # then
    assert (item.unit_price, item.kind) == (yuan(1250), ProductKind.OPEN_PRICE)
    # and the bounds, a missing price and a price for a fixed-price product are refused
    for product_id, typed, reason in (
        (bakery.id, yuan(99), f"{bakery.name} costs at least 1.00 CNY"),
        (bakery.id, yuan(20001), f"{bakery.name} costs at most 200.00 CNY"),
        (bakery.id, None, f"type the price of {bakery.name}"),
        (bakery.id, Money(500, "EUR"), "an amount of 0 or more in CNY"),
        (coffee.id, yuan(1800), f"{coffee.name} has a fixed price"),
    ):
        with pytest.raises(ValidationFailed) as error:
            await catalog.resolve_item(session, shop.cashier, shop.store.id, product_id, open_price=typed)
        assert [(problem.field, problem.reason) for problem in error.value.errors] == [
            ("open_price_amount", reason)
        ]
    # the bounds themselves are allowed
    low = await catalog.resolve_item(session, shop.cashier, shop.store.id, bakery.id, open_price=yuan(100))
    high = await catalog.resolve_item(session, shop.cashier, shop.store.id, bakery.id, open_price=yuan(20000))
    assert (low.unit_price, high.unit_price) == (yuan(100), yuan(20000))


async def test_a_product_switched_off_in_one_store_still_sells_in_another(
    session: AsyncSession, shop: Shop
) -> None:
    # given two stores and a product switched off in the first
    second_store = await make_store(session, shop.organization)
    category = await make_category(session, shop.manager)
    cake = await make_product(session, shop.manager, category, name="Cheesecake")
    owner = Actor.system(shop.organization.id)
    await catalog.update_store_product(session, owner, shop.store.id, cake.id, is_available=False)
    # when / then
    with pytest.raises(ValidationFailed, match="Cheesecake is not sold in this store") as error:
        await catalog.resolve_item(session, owner, shop.store.id, cake.id)
    assert field_of(error) == ["product_id"]
    item = await catalog.resolve_item(session, owner, second_store.id, cake.id)
    assert item.unit_price == yuan(1800)


async def test_a_store_price_overrides_the_catalog_price_there_only(
    session: AsyncSession, shop: Shop
) -> None:
    # given the airport store sells the latte at ¥30.00 instead of ¥24.00
    airport = await make_store(session, shop.organization, name="Airport")
    category = await make_category(session, shop.manager)
    latte = await make_product(session, shop.manager, category, price=2400)
    size, (large,) = await make_group(session, shop.manager, options=[("Large", 300)])
    await catalog.set_product_modifier_groups(session, shop.manager, latte.id, [size.id])
    owner = Actor.system(shop.organization.id)
    await catalog.update_store_product(session, owner, airport.id, latte.id, price=yuan(3000))
    # when
    at_airport = await catalog.resolve_item(
        session, owner, airport.id, latte.id, modifier_option_ids=[large.id]
    )
    at_home = await catalog.resolve_item(
        session, owner, shop.store.id, latte.id, modifier_option_ids=[large.id]
    )
    # then the delta applies on top of each store's price
    assert (at_airport.unit_price, at_home.unit_price) == (yuan(3300), yuan(2700))
    # and going back to the catalog price
    await catalog.update_store_product(session, owner, airport.id, latte.id, price=None)
    assert (
        await catalog.resolve_item(session, owner, airport.id, latte.id, modifier_option_ids=[large.id])
    ).unit_price == yuan(2700)


async def test_a_combo_costs_its_price_plus_deltas_and_consumes_its_components(
    session: AsyncSession, shop: Shop
) -> None:
    # given an afternoon-tea set (¥38.00) of one tea and one dessert; desserts are counted
    teas = await make_category(session, shop.manager, name="Tea", kitchen_station="bar")
    desserts = await make_category(session, shop.manager, name="Desserts", kitchen_station="kitchen")
    sets = await make_category(session, shop.manager, name="Sets", kitchen_station="bar")
    milk_tea = await make_product(session, shop.manager, teas, name="Milk tea", price=1600)
    lemon_tea = await make_product(session, shop.manager, teas, name="Lemon tea", price=1400)
    tiramisu = await make_product(session, shop.manager, desserts, name="Tiramisu", price=3200)
    egg_tart = await make_product(session, shop.manager, desserts, name="Egg tart", price=800)
    combo = await make_product(
        session, shop.manager, sets, name="Afternoon tea set", kind=ProductKind.COMBO, price=3800
    )
    tea_choice, tea_options = await make_group(
        session, shop.manager, name="Choose a tea", is_required=True, components=[milk_tea, lemon_tea]
    )
    dessert_choice, dessert_options = await make_group(
        session, shop.manager, name="Choose a dessert", is_required=True, components=[tiramisu, egg_tart]
    )
    tiramisu_option = dessert_options[0]
    await catalog.update_modifier_option(
        session,
        shop.manager,
        tiramisu_option.id,
        catalog.ModifierOptionInput(name="Tiramisu", price_delta=yuan(400), product_id=tiramisu.id),
    )
    await catalog.set_product_modifier_groups(
        session, shop.manager, combo.id, [tea_choice.id, dessert_choice.id]
    )
    for dessert in (tiramisu, egg_tart):
        await catalog.count_stock(session, shop.manager, shop.store.id, dessert.id, 5)
    # when a set with lemon tea and tiramisu is added
    item = await catalog.resolve_item(
        session,
        shop.cashier,
        shop.store.id,
        combo.id,
        modifier_option_ids=[tiramisu_option.id, tea_options[1].id],
    )
    # then
    assert item.kind == ProductKind.COMBO
    assert item.unit_price == yuan(4200)
    assert item.kitchen_station == "bar"
    assert [(modifier.name, modifier.component_product_id) for modifier in item.modifiers] == [
        ("Lemon tea", lemon_tea.id),
        ("Tiramisu", tiramisu.id),
    ]
    # only counted products are consumed: the tiramisu, not the (uncounted) tea or set
    assert item.stock_product_ids == (tiramisu.id,)
    # and a set without a dessert is refused
    with pytest.raises(ValidationFailed, match="Choose a dessert: choose at least 1, 0 given"):
        await catalog.resolve_item(
            session, shop.cashier, shop.store.id, combo.id, modifier_option_ids=[tea_options[0].id]
        )


async def test_a_counted_combo_consumes_itself_and_its_components(session: AsyncSession, shop: Shop) -> None:
    category = await make_category(session, shop.manager)
    cake = await make_product(session, shop.manager, category, name="Cake")
    combo = await make_product(session, shop.manager, category, kind=ProductKind.COMBO, price=3000)
    choice, (cake_option,) = await make_group(session, shop.manager, is_required=True, components=[cake])
    await catalog.set_product_modifier_groups(session, shop.manager, combo.id, [choice.id])
    await catalog.count_stock(session, shop.manager, shop.store.id, combo.id, 20)
    await catalog.count_stock(session, shop.manager, shop.store.id, cake.id, 3)
    item = await catalog.resolve_item(
        session, shop.cashier, shop.store.id, combo.id, modifier_option_ids=[cake_option.id]
    )
    assert item.stock_product_ids == (combo.id, cake.id)


async def test_a_sold_out_component_blocks_the_combo_for_a_cashier_only(
    session: AsyncSession, shop: Shop
) -> None:
    # given the last tiramisu was sold
    category = await make_category(session, shop.manager)
    tiramisu = await make_product(session, shop.manager, category, name="Tiramisu")
    combo = await make_product(session, shop.manager, category, kind=ProductKind.COMBO, price=3800)
    choice, (option,) = await make_group(session, shop.manager, is_required=True, components=[tiramisu])
    await catalog.set_product_modifier_groups(session, shop.manager, combo.id, [choice.id])
    await catalog.count_stock(session, shop.manager, shop.store.id, tiramisu.id, 0)
    # when the cashier adds the set: refused naming the options
    with pytest.raises(catalog.SoldOut, match="Tiramisu is sold out") as error:
        await catalog.resolve_item(
            session, shop.cashier, shop.store.id, combo.id, modifier_option_ids=[option.id]
        )
    assert (error.value.code, field_of(error), error.value.extra) == (
        "sold_out",
        ["modifier_option_ids"],
        {"product_id": tiramisu.id},
    )
    # then a manager (allowed to sell below zero) may
    item = await catalog.resolve_item(
        session, shop.manager, shop.store.id, combo.id, modifier_option_ids=[option.id]
    )
    assert item.stock_product_ids == (tiramisu.id,)


@pytest.mark.parametrize("how", ["counted to zero", "marked by hand"])
async def test_a_sold_out_product_is_refused_unless_the_actor_may_sell_below_zero(
    session: AsyncSession, shop: Shop, how: str
) -> None:
    category = await make_category(session, shop.manager)
    cake = await make_product(session, shop.manager, category, name="Cheesecake")
    if how == "counted to zero":
        await catalog.count_stock(session, shop.manager, shop.store.id, cake.id, 0)
    else:
        await catalog.set_sold_out(session, shop.manager, shop.store.id, cake.id, True)
    with pytest.raises(catalog.SoldOut, match="Cheesecake is sold out") as error:
        await catalog.resolve_item(session, shop.cashier, shop.store.id, cake.id)
    assert (error.value.status, error.value.code, field_of(error)) == (409, "sold_out", ["product_id"])
    assert (await catalog.resolve_item(session, shop.manager, shop.store.id, cake.id)).product_id == cake.id


async def test_archived_and_foreign_products_are_not_found(session: AsyncSession, shop: Shop) -> None:
    category = await make_category(session, shop.manager)
    old = await make_product(session, shop.manager, category)
    archived = catalog.product_input_of(old)
    await catalog.save_product(
        session,
        shop.manager,
        catalog.ProductInput(**{**archived.__dict__, "is_active": False}),
        product_id=old.id,
    )
    other_organization = Actor.system(shop.organization.id + 1000, store_id=shop.store.id)
    for actor, product_id in ((shop.cashier, old.id), (shop.cashier, old.id + 1000)):
        with pytest.raises(NotFound) as error:
            await catalog.resolve_item(session, actor, shop.store.id, product_id)
        assert field_of(error) == ["product_id"]
    with pytest.raises(NotFound):
        await catalog.resolve_item(session, other_organization, shop.store.id, old.id)


async def test_staff_resolve_only_in_their_own_store(session: AsyncSession, shop: Shop) -> None:
    other_store = await make_store(session, shop.organization)
    category = await make_category(session, shop.manager)
    product = await make_product(session, shop.manager, category)
    with pytest.raises(PermissionDenied):
        await catalog.resolve_item(session, shop.cashier, other_store.id, product.id)


async def test_the_vat_rate_comes_from_the_selling_store(session: AsyncSession, shop: Shop) -> None:
    # given a second store that also has a 13 % "goods" rate, and a product on that rate
    goods_store = await store_service.create_store(
        session,
        Actor.system(shop.organization.id),
        name="Shop with goods",
        currency="CNY",
        timezone="Asia/Shanghai",
        phone_region="CN",
        locale="zh_CN",
        vat_rates=[
            store_service.VatRateInput("standard", "6%", 600, is_default=True),
            store_service.VatRateInput("goods", "13%", 1300),
        ],
    )
    category = await make_category(session, shop.manager)
    beans = await make_product(session, shop.manager, category, vat_rate_code="goods", unit="kg")
    owner = Actor.system(shop.organization.id)
    # when / then
    assert (
        await catalog.resolve_item(session, owner, goods_store.id, beans.id)
    ).vat_rate_basis_points == 1300
    with pytest.raises(ValidationFailed, match="this store has no VAT rate 'goods'"):
        await catalog.resolve_item(session, owner, shop.store.id, beans.id)
