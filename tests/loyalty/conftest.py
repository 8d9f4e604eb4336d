"""A café organization for loyalty tests: a store (Asia/Shanghai) with a register, staff of
every role, a coffee and a food category with products, members made through the members
service, closed bills written straight into the table (so a test chooses when they closed),
the log SMS provider and a worker whose clock the test moves."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog import service as catalog
from kassa.core.auth import Actor, Role
from kassa.core.database import Database, utc_now
from kassa.core.money import Money
from kassa.loyalty import service as loyalty
from kassa.loyalty.models import DiscountKind
from kassa.members import service as members
from kassa.members.models import Member
from kassa.notifications import service as notifications
from kassa.notifications.providers.log import LogProvider
from kassa.orders.models import Bill, BillStatus, OrderType
from kassa.stores.models import Organization, Register, Store
from tests.factories import actor_of, make_organization, make_register, make_staff, make_store
from tests.returns.conftest import Worker

_phones = itertools.count(1)
_bill_numbers = itertools.count(1)
_keys = itertools.count(1)


def new_key(prefix: str = "key") -> str:
    return f"{prefix}-{next(_keys):08d}"


@dataclass
class LoyaltyShop:
    organization: Organization
    store: Store
    register: Register
    actors: dict[Role, Actor]  # staff of ``store`` (the cashier at ``register``); the owner works everywhere
    categories: dict[str, int]
    products: dict[str, int]

    @property
    def cashier(self) -> Actor:
        return self.actors[Role.CASHIER]

    @property
    def owner(self) -> Actor:
        return self.actors[Role.OWNER]

    @property
    def system(self) -> Actor:
        return Actor.system(self.organization.id, store_id=self.store.id)

    def money(self, amount: int) -> Money:
        return Money(amount, "CNY")


async def make_loyalty_shop(session: AsyncSession) -> LoyaltyShop:
    organization = await make_organization(session)
    store = await make_store(session, organization)
    register = await make_register(session, store)
    actors: dict[Role, Actor] = {}
    for role in Role:
        staff = await make_staff(session, store, role=role)
        actors[role] = actor_of(staff, store, register if role == Role.CASHIER else None)
    actors[Role.OWNER] = Actor(
        organization_id=organization.id,
        staff_id=actors[Role.OWNER].staff_id,
        role=Role.OWNER,
        display_name=actors[Role.OWNER].display_name,
        store_ids=frozenset({store.id}),
    )
    setup = Actor.system(organization.id, store_id=store.id)
    coffee = await catalog.create_category(session, setup, "Coffee", kitchen_station="bar")
    gifts = await catalog.create_category(session, setup, "Gift cards", kitchen_station=None)
    products = {}
    for name, category, price in (("latte", coffee, 2400), ("beans", coffee, 8800), ("gift", gifts, 10000)):
        product = await catalog.create_product(
            session,
            setup,
            category_id=category.id,
            name=name,
            sku=f"{name.upper()}-{organization.id}",
            price=Money(price, "CNY"),
            vat_rate_code="standard",
        )
        products[name] = product.id
    return LoyaltyShop(
        organization, store, register, actors, {"coffee": coffee.id, "gifts": gifts.id}, products
    )


@pytest.fixture
async def shop(session: AsyncSession) -> LoyaltyShop:
    return await make_loyalty_shop(session)


def new_phone() -> str:
    return f"137{next(_phones):08d}"


async def make_member(
    session: AsyncSession,
    shop: LoyaltyShop,
    *,
    marketing_sms: bool = False,
    birthday: date | None = None,
    name: str = "Wang Fang",
) -> Member:
    return await members.register_member(
        session,
        shop.cashier,
        shop.store.id,
        members.MemberInput(phone=new_phone(), name=name, birthday=birthday),
        members.RegistrationConsents(
            privacy_policy_accepted=True, privacy_policy_version="2026-11", marketing_sms=marketing_sms
        ),
    )


async def close_bill(
    session: AsyncSession,
    shop: LoyaltyShop,
    member: Member | None,
    total: int,
    *,
    closed_at: datetime | None = None,
    rounding: int = 0,
    status: BillStatus = BillStatus.CLOSED,
) -> Bill:
    """A paid, closed bill of ``total`` for the member (made directly: the tests choose when
    it closed; checkout itself is tested with orders)."""
    closed = closed_at or utc_now()
    bill = Bill(
        store_id=shop.store.id,
        register_id=shop.register.id,
        opened_by_staff_id=shop.cashier.staff_id,
        business_date=closed.date(),
        number=next(_bill_numbers),
        order_type=OrderType.TAKEAWAY,
        status=status,
        currency="CNY",
        member_id=member.id if member is not None else None,
        subtotal_amount=total,
        total_amount=total,
        rounding_amount=rounding,
        paid_amount=total + rounding,
        receipt_token=secrets.token_urlsafe(32),
        opened_at=closed - timedelta(minutes=20),
        closed_at=closed if status == BillStatus.CLOSED else None,
    )
    session.add(bill)
    await session.flush()
    return bill


async def amount_coupon(
    session: AsyncSession,
    shop: LoyaltyShop,
    *,
    amount: int = 2000,
    minimum: int = 0,
    valid_days: int | None = 30,
    valid_from: date | None = None,
    valid_until: date | None = None,
    product_ids: tuple[int, ...] = (),
    name: str = "¥20 off",
) -> int:
    definition = await loyalty.create_coupon_definition(
        session,
        shop.owner,
        loyalty.CouponDefinitionInput(
            name=name,
            name_translations={"zh_CN": "立减券", "en": name},
            discount_kind=DiscountKind.AMOUNT,
            discount_amount=amount,
            minimum_spend_amount=minimum,
            valid_days=valid_days,
            valid_from=valid_from,
            valid_until=valid_until,
            product_ids=product_ids,
        ),
    )
    return definition.id


@pytest.fixture
def sms() -> Iterator[LogProvider]:
    provider = LogProvider()
    notifications.configure_providers(sms=[provider], email=LogProvider("log-email"))
    yield provider
    notifications.configure_providers()


@pytest.fixture
def worker(database: Database, sms: LogProvider) -> Worker:
    return Worker(database)
