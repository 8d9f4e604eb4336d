from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog import service as catalog
from kassa.catalog.menu import get_store_menu
from kassa.catalog.models import Product, ProductKind
from kassa.core import audit
from kassa.core.auth import Actor, Role
from kassa.core.money import Money
from kassa.demo import DEMO_STAFF, is_seeded, seed_demo
from kassa.floor.models import DiningTable
from kassa.staff import service as staff_service
from kassa.staff.models import StaffMember
from kassa.stores.models import Register, Store
from tests.factories import make_device


async def test_demo_has_a_store_with_registers_staff_tables_and_a_menu(session: AsyncSession) -> None:
    assert not await is_seeded(session)
    await seed_demo(session)
    await session.commit()
    assert await is_seeded(session)
    assert await session.scalar(select(func.count(Register.id))) == 2
    roles = set((await session.scalars(select(StaffMember.role))).all())
    assert {role.value for role in roles} == {"owner", "manager", "cashier", "waiter"}
    assert await session.scalar(select(func.count(DiningTable.id))) == 12
    assert await session.scalar(select(func.count(Product.id))) == 13
    assert (await audit.verify_chains(session))[1] == []


async def test_every_demo_pin_logs_in(session: AsyncSession) -> None:
    await seed_demo(session)
    await session.commit()
    register = await session.scalar(select(Register).order_by(Register.id))
    assert register is not None
    device_token = await make_device(session, register)
    for login in DEMO_STAFF:
        staff_id = await session.scalar(select(StaffMember.id).where(StaffMember.display_name == login.name))
        assert staff_id is not None
        result = await staff_service.login_with_pin(session, register.id, staff_id, login.pin, device_token)
        assert result.error is None, login


async def test_the_demo_menu_sells_sizes_sugar_levels_and_an_afternoon_tea_set(session: AsyncSession) -> None:
    # given the demo, and a cashier at its store
    organization, _logins = await seed_demo(session)
    store = await session.scalar(select(Store))
    assert store is not None
    cashier = Actor(
        organization_id=organization.id, role=Role.CASHIER, store_id=store.id, display_name="Chen"
    )
    menu = await get_store_menu(session, cashier, store.id, locale="en")
    by_name = {product.display_name: product for category in menu.categories for product in category.products}
    # then the menu has its categories, sizes, sugar levels and counted desserts
    assert [(category.display_name, category.kitchen_station) for category in menu.categories] == [
        ("Coffee", "bar"),
        ("Tea", "bar"),
        ("Desserts", "kitchen"),
        ("Sets", "bar"),
    ]
    latte = by_name["Latte"]
    assert [group.display_name for group in latte.modifier_groups] == ["Size", "Add-ons"]
    assert [(option.display_name, option.price_delta) for option in latte.modifier_groups[0].options] == [
        ("Regular", Money(0, "CNY")),
        ("Large", Money(300, "CNY")),
    ]
    assert [group.display_name for group in by_name["Bubble milk tea"].modifier_groups] == ["Sugar level"]
    assert {
        name: by_name[name].stock_quantity for name in ("Tiramisu", "Portuguese egg tart", "Americano")
    } == {
        "Tiramisu": 12,
        "Portuguese egg tart": 30,
        "Americano": None,
    }
    # and a large latte costs 24.00 + 3.00
    large = latte.modifier_groups[0].options[1]
    item = await catalog.resolve_item(session, cashier, store.id, latte.id, modifier_option_ids=[large.id])
    assert (item.unit_price, item.kitchen_station) == (Money(2700, "CNY"), "bar")
    # and the set is any tea with any dessert at 38.00, consuming the dessert's stock
    tea_set = by_name["Afternoon tea set"]
    tea_choice, sugar, dessert_choice = tea_set.modifier_groups
    assert (tea_set.kind, tea_set.price) == (ProductKind.COMBO, Money(3800, "CNY"))
    assert [option.display_name for option in tea_choice.options] == [
        "Bubble milk tea",
        "Matcha latte",
        "Lemon black tea",
    ]
    assert len(dessert_choice.options) == 5
    item = await catalog.resolve_item(
        session,
        cashier,
        store.id,
        tea_set.id,
        modifier_option_ids=[tea_choice.options[2].id, sugar.options[2].id, dessert_choice.options[0].id],
    )
    assert item.unit_price == Money(3800, "CNY")
    assert item.stock_product_ids == (by_name["Tiramisu"].id,)
    assert [modifier.name for modifier in item.modifiers] == ["柠檬红茶", "半糖", "提拉米苏"]
