"""The demo store: a café and dessert shop with staff of every role, tables and a menu
(sizes for coffee, sugar levels for tea, an afternoon-tea set, counted desserts)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog import service as catalog
from kassa.catalog.models import Product, ProductKind
from kassa.core.auth import Actor, Role
from kassa.core.money import Money
from kassa.floor import service as floor
from kassa.loyalty import service as loyalty
from kassa.loyalty.models import DiscountKind
from kassa.payments import provider_settings
from kassa.payments.models import ProviderKind
from kassa.staff import service as staff
from kassa.stores import service as stores
from kassa.stores.models import Organization


@dataclass(frozen=True)
class DemoLogin:
    name: str
    role: Role
    pin: str
    email: str | None = None
    password: str | None = None
    # Where one-time codes go (a manager approving a large return from afar).
    phone: str | None = None


DEMO_STAFF = (
    DemoLogin("Olivia Owner 老板", Role.OWNER, "1111", "owner@kassa.demo", "kassa-owner-demo"),
    DemoLogin(
        "Mia Manager 店长", Role.MANAGER, "2222", "manager@kassa.demo", "kassa-manager-demo", "+8613900001111"
    ),
    DemoLogin("Chen Cashier 收银", Role.CASHIER, "3333"),
    DemoLogin("Wang Waiter 服务员", Role.WAITER, "4444"),
)

# (category, english name, kitchen station, [(chinese name, english name, sku, price in fen)])
DEMO_MENU = (
    (
        "咖啡",
        "Coffee",
        "bar",
        [
            ("美式咖啡", "Americano", "COF-AME", 1800),
            ("拿铁", "Latte", "COF-LAT", 2400),
            ("卡布奇诺", "Cappuccino", "COF-CAP", 2400),
            ("澳白", "Flat white", "COF-FLW", 2600),
        ],
    ),
    (
        "茶饮",
        "Tea",
        "bar",
        [
            ("珍珠奶茶", "Bubble milk tea", "TEA-BUB", 1600),
            ("抹茶拿铁", "Matcha latte", "TEA-MAT", 2200),
            ("柠檬红茶", "Lemon black tea", "TEA-LEM", 1400),
        ],
    ),
    (
        "甜品",
        "Desserts",
        "kitchen",
        [
            ("提拉米苏", "Tiramisu", "DES-TIR", 3200),
            ("芝士蛋糕", "Cheesecake", "DES-CHE", 2800),
            ("芒果布丁", "Mango pudding", "DES-MAN", 2200),
            ("葡式蛋挞", "Portuguese egg tart", "DES-EGG", 800),
            ("杨枝甘露", "Mango pomelo sago", "DES-SAG", 2600),
        ],
    ),
)
# Desserts are made in the morning and counted: each sale takes one, at zero they sell out.
DEMO_DESSERT_STOCK = {"DES-TIR": 12, "DES-CHE": 10, "DES-MAN": 15, "DES-EGG": 30, "DES-SAG": 8}
DEMO_SET_SKU = "SET-AFT"
DEMO_SET_PRICE = 3800


async def is_seeded(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count(Organization.id))))


async def seed_demo(session: AsyncSession) -> tuple[Organization, tuple[DemoLogin, ...]]:
    """Create the demo organization; the caller checks ``is_seeded`` first."""
    organization = await stores.create_organization(session, "Kassa Demo")
    setup = Actor.system(organization.id, name="demo seed")
    store = await stores.create_store(
        session,
        setup,
        name="甜心咖啡 Sweetheart Café",
        address="上海市徐汇区武康路 100 号",
        phone="+86 21 5555 0100",
        currency="CNY",
        timezone="Asia/Shanghai",
        phone_region="CN",
        locale="zh_CN",
        vat_rates=[
            stores.VatRateInput("standard", "6%", 600, is_default=True),
            stores.VatRateInput("goods", "13%", 1300),
        ],
    )
    # The demo sells at once, without counting a float into a drawer first; a new store
    # takes cash only on a register with an open shift (the owner can turn that off).
    store.cash_requires_open_shift = False
    store_actor = Actor.system(organization.id, store_id=store.id, name="demo seed")
    for register_name in ("Counter 1", "Counter 2"):
        register = await stores.add_register(session, store_actor, store.id, register_name)
        # The demo prints every receipt as the sale closes (to its file under var/printers/).
        register.auto_print_receipt = True
    for login in DEMO_STAFF:
        await staff.create_staff(
            session,
            store_actor,
            display_name=login.name,
            role=login.role,
            pin=login.pin,
            store_id=None if login.role == Role.OWNER else store.id,
            email=login.email,
            password=login.password,
            phone=login.phone,
        )
    hall = await floor.create_area(session, store_actor, store.id, "大厅 Hall", 0)
    for index in range(8):
        await floor.create_table(
            session,
            store_actor,
            hall.id,
            f"T{index + 1}",
            seats=2 if index < 4 else 4,
            position_x=10 + (index % 4) * 25,
            position_y=20 + (index // 4) * 40,
        )
    terrace = await floor.create_area(session, store_actor, store.id, "露台 Terrace", 1)
    for index in range(4):
        await floor.create_table(
            session,
            store_actor,
            terrace.id,
            f"P{index + 1}",
            seats=4,
            position_x=10 + index * 25,
            position_y=50,
        )
    products_by_sku: dict[str, Product] = {}
    for order, (category_name, category_english, station, products) in enumerate(DEMO_MENU):
        category = await catalog.create_category(
            session,
            store_actor,
            category_name,
            translations={"en": category_english},
            sort_order=order,
            kitchen_station=station,
        )
        for position, (name, english, sku, price) in enumerate(products):
            products_by_sku[sku] = await catalog.create_product(
                session,
                store_actor,
                category_id=category.id,
                name=name,
                sku=sku,
                price=Money(price, "CNY"),
                vat_rate_code="standard",
                translations={"en": english},
                sort_order=position,
                unit="cup" if sku.startswith(("COF", "TEA")) else "piece",
            )
    await _seed_modifiers(session, store_actor, store.id, products_by_sku)
    # The demo takes WeChat Pay and Alipay through the simulator: no money moves. A new
    # store takes neither until its owner chooses (back office, Payment providers).
    for tender in provider_settings.WALLET_TENDERS:
        await provider_settings.update_provider_settings(
            session,
            store_actor,
            store.id,
            tender,
            provider_settings.ProviderSettingsChange(ProviderKind.SIMULATOR),
        )
    await _seed_loyalty(session, setup)
    return organization, DEMO_STAFF


async def _seed_loyalty(session: AsyncSession, actor: Actor) -> None:
    """Two tiers, 1 point per ¥1 (100 points = ¥1, kept 24 months), top-up bonuses and a
    birthday coupon a week ahead."""
    birthday = await loyalty.create_coupon_definition(
        session,
        actor,
        loyalty.CouponDefinitionInput(
            name="生日券",
            name_translations={"zh_CN": "生日券", "en": "Birthday treat"},
            discount_kind=DiscountKind.AMOUNT,
            discount_amount=2000,
            valid_days=30,
        ),
    )
    await loyalty.create_coupon_definition(
        session,
        actor,
        loyalty.CouponDefinitionInput(
            name="满100减15",
            name_translations={"zh_CN": "满100减15", "en": "¥15 off ¥100"},
            discount_kind=DiscountKind.AMOUNT,
            discount_amount=1500,
            minimum_spend_amount=10000,
            valid_days=14,
        ),
    )
    await loyalty.update_loyalty_settings(
        session,
        actor,
        loyalty.SettingsInput(
            points_per_currency_unit=1,
            redeem_points=100,
            redeem_value_amount=100,
            points_expiry_months=24,
            top_up_bonus_rules=[loyalty.TopUpBonusRule(50000, 5000), loyalty.TopUpBonusRule(100000, 15000)],
            birthday_coupon_definition_id=birthday.id,
            birthday_days_before=7,
        ),
    )
    await loyalty.replace_tiers(
        session,
        actor,
        [
            loyalty.TierInput(
                name="银卡",
                name_translations={"zh_CN": "银卡会员", "en": "Silver"},
                rank=1,
                spend_threshold_amount=100000,
                points_threshold=1000,
                discount_basis_points=500,
                points_multiplier_basis_points=12000,
            ),
            loyalty.TierInput(
                name="金卡",
                name_translations={"zh_CN": "金卡会员", "en": "Gold"},
                rank=2,
                spend_threshold_amount=500000,
                points_threshold=5000,
                discount_basis_points=1000,
                points_multiplier_basis_points=15000,
            ),
        ],
    )


def _option(
    name: str, english: str, delta: int = 0, product: Product | None = None, position: int = 0
) -> catalog.ModifierOptionInput:
    return catalog.ModifierOptionInput(
        name=name,
        translations={"en": english},
        price_delta=Money(delta, "CNY"),
        product_id=product.id if product is not None else None,
        sort_order=position,
    )


async def _seed_modifiers(
    session: AsyncSession, actor: Actor, store_id: int, products: dict[str, Product]
) -> None:
    """Size and add-ons for coffee, sugar level for tea, the afternoon-tea set, dessert stock."""
    size = await catalog.create_modifier_group(
        session,
        actor,
        catalog.ModifierGroupInput("杯型", {"en": "Size"}, is_required=True),
        [_option("中杯", "Regular", 0, position=0), _option("大杯", "Large", 300, position=1)],
    )
    add_ons = await catalog.create_modifier_group(
        session,
        actor,
        catalog.ModifierGroupInput("加料", {"en": "Add-ons"}, max_choices=2),
        [_option("浓缩加份", "Extra shot", 400, position=0), _option("燕麦奶", "Oat milk", 300, position=1)],
    )
    sugar = await catalog.create_modifier_group(
        session,
        actor,
        catalog.ModifierGroupInput("甜度", {"en": "Sugar level"}, is_required=True),
        [
            _option("全糖", "Full sugar", position=0),
            _option("七分糖", "Less sugar", position=1),
            _option("半糖", "Half sugar", position=2),
            _option("无糖", "No sugar", position=3),
        ],
    )
    teas = [product for sku, product in products.items() if sku.startswith("TEA")]
    desserts = [product for sku, product in products.items() if sku.startswith("DES")]
    tea_choice = await catalog.create_modifier_group(
        session,
        actor,
        catalog.ModifierGroupInput("选择茶饮", {"en": "Choose a tea"}, is_required=True),
        [
            _option(tea.name, tea.name_translations["en"], product=tea, position=index)
            for index, tea in enumerate(teas)
        ],
    )
    dessert_choice = await catalog.create_modifier_group(
        session,
        actor,
        catalog.ModifierGroupInput("选择甜品", {"en": "Choose a dessert"}, is_required=True),
        [
            _option(dessert.name, dessert.name_translations["en"], product=dessert, position=index)
            for index, dessert in enumerate(desserts)
        ],
    )
    for sku, product in products.items():
        if sku.startswith("COF"):
            await catalog.set_product_modifier_groups(session, actor, product.id, [size.id, add_ons.id])
        elif sku.startswith("TEA"):
            await catalog.set_product_modifier_groups(session, actor, product.id, [sugar.id])
    sets = await catalog.create_category(
        session, actor, "套餐", translations={"en": "Sets"}, sort_order=len(DEMO_MENU), kitchen_station="bar"
    )
    afternoon_tea = await catalog.create_product(
        session,
        actor,
        category_id=sets.id,
        name="下午茶套餐",
        sku=DEMO_SET_SKU,
        price=Money(DEMO_SET_PRICE, "CNY"),
        vat_rate_code="standard",
        translations={"en": "Afternoon tea set"},
        kind=ProductKind.COMBO,
    )
    await catalog.set_product_modifier_groups(
        session, actor, afternoon_tea.id, [tea_choice.id, sugar.id, dessert_choice.id]
    )
    for sku, quantity in DEMO_DESSERT_STOCK.items():
        await catalog.count_stock(
            session, actor, store_id, products[sku].id, quantity, reason="morning count"
        )
