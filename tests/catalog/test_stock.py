"""Counted stock: atomic changes, sold out at zero, the event every register hears."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog import service as catalog
from kassa.catalog.models import Category, Product, StoreProduct
from kassa.core.audit import AuditChainHead, AuditRecord, verify_chains
from kassa.core.auth import Actor, Role
from kassa.core.database import Database
from kassa.core.errors import NotFound, PermissionDenied, ValidationFailed
from kassa.core.events import Event, InProcessEventBus
from kassa.core.money import Money
from kassa.stores import service as store_service
from kassa.stores.models import Organization, Store, VatRate
from tests.catalog.factories import Shop, make_category, make_product


def stock_event(store_id: int, product_id: int, quantity: int | None, is_sold_out: bool) -> Event:
    return Event(
        f"store:{store_id}",
        "product.stock_changed",
        {"product_id": product_id, "quantity": quantity, "is_sold_out": is_sold_out},
    )


async def stored_quantity(session: AsyncSession, store_id: int, product_id: int) -> int | None:
    return await session.scalar(
        select(StoreProduct.stock_quantity).where(
            StoreProduct.store_id == store_id, StoreProduct.product_id == product_id
        )
    )


async def test_selling_the_last_pieces_makes_the_product_sold_out_and_tells_the_registers(
    database: Database, session: AsyncSession, shop: Shop, event_bus: InProcessEventBus
) -> None:
    # given two tiramisu counted in the store
    category = await make_category(session, shop.manager)
    tiramisu = await make_product(session, shop.manager, category, name="Tiramisu")
    await catalog.count_stock(session, shop.manager, shop.store.id, tiramisu.id, 2)
    await session.commit()
    received: list[Event] = []
    event_bus.subscribe(f"store:{shop.store.id}", received.append)
    # when the cashier sells both in one unit of work
    async with database.unit_of_work() as sale:
        first = await catalog.change_stock(sale, shop.cashier, shop.store.id, tiramisu.id, -1, reason="sale")
        second = await catalog.change_stock(sale, shop.cashier, shop.store.id, tiramisu.id, -1, reason="sale")
        assert received == []  # nothing is heard before the commit
    # then
    assert (first, second) == (1, 0)
    assert received == [
        stock_event(shop.store.id, tiramisu.id, 1, False),
        stock_event(shop.store.id, tiramisu.id, 0, True),
    ]
    async with database.unit_of_work() as check:
        row = await catalog.get_store_product(check, shop.cashier, shop.store.id, tiramisu.id)
        assert (row.stock_quantity, row.is_sold_out) == (0, True)
        with pytest.raises(catalog.SoldOut):
            await catalog.resolve_item(check, shop.cashier, shop.store.id, tiramisu.id)
        records = (
            await check.scalars(
                select(AuditRecord)
                .where(
                    AuditRecord.action == "product.stock_change", AuditRecord.entity_id == str(tiramisu.id)
                )
                .order_by(AuditRecord.sequence)
            )
        ).all()
        assert [(record.before, record.after) for record in records] == [
            ({"quantity": 2}, {"quantity": 1, "delta": -1, "reason": "sale"}),
            ({"quantity": 1}, {"quantity": 0, "delta": -1, "reason": "sale"}),
        ]
        assert {record.store_id for record in records} == {shop.store.id}


async def test_a_decrement_below_zero_is_refused_and_changes_nothing(
    database: Database, session: AsyncSession, shop: Shop, event_bus: InProcessEventBus
) -> None:
    category = await make_category(session, shop.manager)
    cake = await make_product(session, shop.manager, category)
    await catalog.count_stock(session, shop.manager, shop.store.id, cake.id, 1)
    await session.commit()
    received: list[Event] = []
    event_bus.subscribe(f"store:{shop.store.id}", received.append)
    # when two are sold while one is left
    with pytest.raises(catalog.SoldOut) as error:
        async with database.unit_of_work() as sale:
            await catalog.change_stock(sale, shop.cashier, shop.store.id, cake.id, -2, reason="sale")
    # then
    assert (error.value.status, error.value.code, error.value.detail) == (
        409,
        "sold_out",
        f"only 1 left of product {cake.id}",
    )
    assert [item.field for item in error.value.errors] == ["product_id"]
    assert error.value.extra == {"product_id": cake.id, "quantity": 1}
    assert await stored_quantity(session, shop.store.id, cake.id) == 1
    assert received == []


async def test_allow_negative_sells_below_zero_and_needs_the_permission(
    session: AsyncSession, shop: Shop
) -> None:
    category = await make_category(session, shop.manager)
    cake = await make_product(session, shop.manager, category)
    await catalog.count_stock(session, shop.manager, shop.store.id, cake.id, 1)
    # a cashier may not
    with pytest.raises(PermissionDenied):
        await catalog.change_stock(
            session, shop.cashier, shop.store.id, cake.id, -3, reason="sale", allow_negative=True
        )
    # a manager may
    quantity = await catalog.change_stock(
        session, shop.manager, shop.store.id, cake.id, -3, reason="sale", allow_negative=True
    )
    assert quantity == -2
    # and an increase is never refused, also while below zero (a voided line gives back)
    assert await catalog.change_stock(session, shop.cashier, shop.store.id, cake.id, 1, reason="void") == -1
    row = await catalog.get_store_product(session, shop.cashier, shop.store.id, cake.id)
    assert (row.stock_quantity, row.is_sold_out) == (-1, True)


async def test_an_uncounted_product_has_no_stock_to_change(
    session: AsyncSession, shop: Shop, event_bus: InProcessEventBus
) -> None:
    category = await make_category(session, shop.manager)
    coffee = await make_product(session, shop.manager, category)
    assert (
        await catalog.change_stock(session, shop.cashier, shop.store.id, coffee.id, -1, reason="sale") is None
    )
    assert await stored_quantity(session, shop.store.id, coffee.id) is None


async def test_stock_of_another_organizations_product_is_not_found(session: AsyncSession, shop: Shop) -> None:
    category = await make_category(session, shop.manager)
    cake = await make_product(session, shop.manager, category)
    stranger = Actor(organization_id=shop.organization.id + 1000, role=Role.MANAGER, store_id=shop.store.id)
    with pytest.raises(NotFound):
        await catalog.change_stock(session, stranger, shop.store.id, cake.id, -1, reason="sale")


async def test_managers_restock_and_count_cashiers_do_not(session: AsyncSession, shop: Shop) -> None:
    category = await make_category(session, shop.manager)
    cake = await make_product(session, shop.manager, category)
    with pytest.raises(ValidationFailed, match="count it first"):
        await catalog.adjust_stock(session, shop.manager, shop.store.id, cake.id, 24, reason="delivery")
    with pytest.raises(PermissionDenied):
        await catalog.count_stock(session, shop.cashier, shop.store.id, cake.id, 10)
    with pytest.raises(ValidationFailed, match="a counted stock is 0 or more"):
        await catalog.count_stock(session, shop.manager, shop.store.id, cake.id, -1)
    assert await catalog.count_stock(session, shop.manager, shop.store.id, cake.id, 10) == 10
    assert (
        await catalog.adjust_stock(session, shop.manager, shop.store.id, cake.id, 24, reason="delivery") == 34
    )
    with pytest.raises(PermissionDenied):
        await catalog.adjust_stock(session, shop.cashier, shop.store.id, cake.id, 1, reason="found one")
    # a manual correction never goes below zero, even for a manager
    with pytest.raises(catalog.SoldOut):
        await catalog.adjust_stock(session, shop.manager, shop.store.id, cake.id, -35, reason="breakage")
    assert await stored_quantity(session, shop.store.id, cake.id) == 34


async def test_marking_sold_out_by_hand_tells_the_registers(
    database: Database, session: AsyncSession, shop: Shop, event_bus: InProcessEventBus
) -> None:
    # given an uncounted dish the kitchen ran out of
    category = await make_category(session, shop.manager)
    soup = await make_product(session, shop.manager, category)
    await session.commit()
    received: list[Event] = []
    event_bus.subscribe(f"store:{shop.store.id}", received.append)
    # when the manager marks it sold out, then available again
    async with database.unit_of_work() as change:
        await catalog.set_sold_out(change, shop.manager, shop.store.id, soup.id, True)
    async with database.unit_of_work() as change:
        await catalog.set_sold_out(change, shop.manager, shop.store.id, soup.id, False)
    # then
    assert received == [
        stock_event(shop.store.id, soup.id, None, True),
        stock_event(shop.store.id, soup.id, None, False),
    ]
    with pytest.raises(PermissionDenied):
        await catalog.set_sold_out(session, shop.cashier, shop.store.id, soup.id, True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.integers(min_value=0, max_value=5),
    changes=st.lists(st.tuples(st.integers(min_value=-4, max_value=4), st.booleans()), max_size=12),
)
async def test_the_counter_follows_every_change_and_stays_at_or_above_zero_unless_allowed(
    session: AsyncSession, shop: Shop, start: int, changes: list[tuple[int, bool]]
) -> None:
    # given a product counted at ``start`` (one product per example; the test's transaction
    # is rolled back at the end)
    category = await make_category(session, shop.manager)
    cake = await make_product(session, shop.manager, category)
    await catalog.count_stock(session, shop.manager, shop.store.id, cake.id, start)
    expected = start
    # when each change is applied
    for delta, allow_negative in changes:
        refused = delta < 0 and expected + delta < 0 and not allow_negative
        if refused:
            with pytest.raises(catalog.SoldOut):
                await catalog.change_stock(
                    session,
                    shop.manager,
                    shop.store.id,
                    cake.id,
                    delta,
                    reason="p",
                    allow_negative=allow_negative,
                )
        else:
            returned = await catalog.change_stock(
                session,
                shop.manager,
                shop.store.id,
                cake.id,
                delta,
                reason="p",
                allow_negative=allow_negative,
            )
            expected += delta
            assert returned == expected
        # then the database holds exactly the model's value
        assert await stored_quantity(session, shop.store.id, cake.id) == expected
    # and without an allowed oversell it never went below zero
    if not any(allow for _delta, allow in changes):
        assert expected >= 0


async def test_two_registers_selling_the_last_pieces_at_once_never_go_below_zero(
    migrated_database: Database, event_bus: InProcessEventBus
) -> None:
    """Real commits on separate connections: the rolled-back test transaction cannot show
    concurrency. Everything made here is deleted at the end."""
    database = migrated_database
    async with database.unit_of_work() as setup:
        # Made directly (not via the service) so no audit record lands on the global chain.
        organization = Organization(name="Concurrency test")
        setup.add(organization)
        await setup.flush()
        store = await store_service.create_store(
            setup,
            Actor.system(organization.id),
            name="Busy store",
            currency="CNY",
            timezone="Asia/Shanghai",
            phone_region="CN",
            locale="zh_CN",
            vat_rates=[store_service.VatRateInput("standard", "6%", 600, is_default=True)],
        )
        owner = Actor.system(organization.id, store_id=store.id)
        category = await catalog.create_category(setup, owner, "Desserts")
        cake = await catalog.create_product(
            setup,
            owner,
            category_id=category.id,
            name="Cheesecake",
            sku="CON-CHE",
            price=Money(2800, "CNY"),
            vat_rate_code="standard",
        )
        await catalog.count_stock(setup, owner, store.id, cake.id, 3)
    try:
        sellers = 8
        barrier = asyncio.Barrier(sellers)
        received: list[Event] = []
        event_bus.subscribe(f"store:{store.id}", received.append)

        async def sell(register: int) -> int | str:
            cashier = Actor(
                organization_id=organization.id,
                role=Role.CASHIER,
                store_id=store.id,
                register_id=register,
                display_name=f"Register {register}",
            )
            try:
                async with database.unit_of_work() as sale:
                    if not database.is_sqlite:
                        # Every seller reads "3 left" before anyone writes: a read-modify-write
                        # would now oversell. (SQLite takes the write lock at BEGIN, so there
                        # the sellers queue up instead; waiting here would deadlock them.)
                        assert await stored_quantity(sale, store.id, cake.id) == 3
                        await barrier.wait()
                    quantity = await catalog.change_stock(sale, cashier, store.id, cake.id, -1, reason="sale")
                    assert quantity is not None
                    return quantity
            except catalog.SoldOut:
                return "sold out"

        results = await asyncio.gather(*(sell(register) for register in range(1, sellers + 1)))
        assert sorted(result for result in results if isinstance(result, int)) == [0, 1, 2]
        assert results.count("sold out") == sellers - 3
        async with database.unit_of_work() as check:
            assert await stored_quantity(check, store.id, cake.id) == 0
            assert (await verify_chains(check))[1] == []
        assert sorted(event.payload["quantity"] for event in received) == [0, 1, 2]
    finally:
        async with database.unit_of_work() as cleanup:
            chain = f"store:{store.id}"
            await cleanup.execute(delete(AuditRecord).where(AuditRecord.chain_key == chain))
            await cleanup.execute(delete(AuditChainHead).where(AuditChainHead.chain_key == chain))
            await cleanup.execute(delete(StoreProduct).where(StoreProduct.store_id == store.id))
            await cleanup.execute(delete(Product).where(Product.organization_id == organization.id))
            await cleanup.execute(delete(Category).where(Category.organization_id == organization.id))
            await cleanup.execute(delete(VatRate).where(VatRate.store_id == store.id))
            await cleanup.execute(delete(Store).where(Store.id == store.id))
            await cleanup.execute(delete(Organization).where(Organization.id == organization.id))
