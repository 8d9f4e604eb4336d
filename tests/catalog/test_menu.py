"""The menu a register shows for one store."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog import service as catalog
from kassa.catalog.menu import StoreMenu, get_store_menu
from kassa.catalog.models import ProductKind
from kassa.core.money import Money
from tests.catalog.factories import Shop, make_category, make_group, make_product
from tests.factories import make_store


def projection(menu: StoreMenu) -> list[object]:
    return [
        (
            category.display_name,
            category.kitchen_station,
            [
                (
                    product.display_name,
                    product.price,
                    product.is_sold_out,
                    product.stock_quantity,
                    [
                        (
                            group.display_name,
                            group.is_required,
                            [
                                (option.display_name, option.price_delta.amount, option.is_sold_out)
                                for option in group.options
                            ],
                        )
                        for group in product.modifier_groups
                    ],
                )
                for product in category.products
            ],
        )
        for category in menu.categories
    ]


async def test_the_store_menu_has_store_prices_groups_stock_and_sold_out_flags(
    session: AsyncSession, shop: Shop
) -> None:
    # given coffee with a size choice, desserts with stock, a set, an empty category
    manager = shop.manager
    coffee = await make_category(
        session, manager, name="咖啡", translations={"en": "Coffee"}, kitchen_station="bar"
    )
    desserts = await make_category(
        session, manager, name="甜品", translations={"en": "Desserts"}, kitchen_station="kitchen"
    )
    await make_category(session, manager, name="空", translations={"en": "Empty"})
    sets = await make_category(session, manager, name="套餐", translations={"en": "Sets"})
    latte = await make_product(
        session, manager, coffee, name="拿铁", translations={"en": "Latte"}, price=2400
    )
    americano = await make_product(session, manager, coffee, name="美式", translations={"en": "Americano"})
    retired = await make_product(session, manager, coffee, name="旧")
    tiramisu = await make_product(
        session, manager, desserts, name="提拉米苏", translations={"en": "Tiramisu"}, price=3200
    )
    cheesecake = await make_product(
        session, manager, desserts, name="芝士蛋糕", translations={"en": "Cheesecake"}, price=2800
    )
    not_here = await make_product(session, manager, desserts, name="外地蛋糕", price=2000)
    combo = await make_product(session, manager, sets, name="下午茶套餐", kind=ProductKind.COMBO, price=3800)
    size, _ = await make_group(
        session, manager, name="杯型", is_required=True, options=[("中杯", 0), ("大杯", 300)]
    )
    await catalog.update_modifier_group(
        session, manager, size.id, replace(catalog.modifier_group_input_of(size), translations={"en": "Size"})
    )
    dessert_choice, _ = await make_group(
        session, manager, name="甜品", is_required=True, components=[tiramisu, cheesecake, not_here]
    )
    await catalog.set_product_modifier_groups(session, manager, latte.id, [size.id])
    await catalog.set_product_modifier_groups(session, manager, combo.id, [dessert_choice.id])
    await catalog.update_store_product(session, manager, shop.store.id, latte.id, price=Money(2600, "CNY"))
    await catalog.update_store_product(session, manager, shop.store.id, americano.id, is_available=False)
    await catalog.update_store_product(session, manager, shop.store.id, not_here.id, is_available=False)
    await catalog.save_product(
        session, manager, replace(catalog.product_input_of(retired), is_active=False), product_id=retired.id
    )
    await catalog.count_stock(session, manager, shop.store.id, tiramisu.id, 3)
    await catalog.set_sold_out(session, manager, shop.store.id, cheesecake.id, True)
    # when the cashier's register loads the menu, in the store's language and in English
    chinese = await get_store_menu(session, shop.cashier, shop.store.id)
    english = await get_store_menu(session, shop.cashier, shop.store.id, locale="en")
    # then
    assert (chinese.store_id, chinese.currency, chinese.locale) == (shop.store.id, "CNY", "zh_CN")
    assert projection(chinese) == [
        (
            "咖啡",
            "bar",
            [
                (
                    "拿铁",
                    Money(2600, "CNY"),
                    False,
                    None,
                    [("杯型", True, [("中杯", 0, False), ("大杯", 300, False)])],
                )
            ],
        ),
        (
            "甜品",
            "kitchen",
            [
                ("提拉米苏", Money(3200, "CNY"), False, 3, []),
                ("芝士蛋糕", Money(2800, "CNY"), True, None, []),
            ],
        ),
        (
            "套餐",
            None,
            [
                (
                    "下午茶套餐",
                    Money(3800, "CNY"),
                    False,
                    None,
                    [("甜品", True, [("提拉米苏", 0, False), ("芝士蛋糕", 0, True)])],
                )
            ],
        ),
    ]
    assert [category.display_name for category in english.categories] == ["Coffee", "Desserts", "Sets"]
    english_latte = english.categories[0].products[0]
    assert (
        english_latte.display_name,
        english_latte.name,
        english_latte.modifier_groups[0].display_name,
    ) == (
        "Latte",
        "拿铁",
        "Size",
    )


async def test_another_store_sees_the_catalog_price_and_its_own_stock(
    session: AsyncSession, shop: Shop
) -> None:
    second = await make_store(session, shop.organization)
    category = await make_category(session, shop.manager)
    latte = await make_product(session, shop.manager, category, price=2400)
    await catalog.update_store_product(
        session, shop.manager, shop.store.id, latte.id, price=Money(2600, "CNY")
    )
    await catalog.count_stock(session, shop.manager, shop.store.id, latte.id, 0)
    owner = catalog.Actor.system(shop.organization.id)
    menu = await get_store_menu(session, owner, second.id)
    product = menu.categories[0].products[0]
    assert (product.price, product.is_sold_out, product.stock_quantity) == (Money(2400, "CNY"), False, None)
