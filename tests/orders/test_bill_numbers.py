"""Bill numbers of a store's day with real commits: on PostgreSQL the counter is taken in
a transaction of its own (like a SEQUENCE), so an opening that is still going on does not
hold up the store's other bills, and a failed opening leaves its number unused."""

from __future__ import annotations

import asyncio

import pytest

from kassa.core.auth import Role
from kassa.core.database import Database, current_database
from kassa.orders import service as orders
from kassa.orders.models import OrderType
from kassa.staff import service as staff_service
from tests.shop import Shop


async def _open(database: Database, token: str) -> int:
    async with database.unit_of_work() as session:
        actor = await staff_service.authenticate(session, token)
        bill = await orders.open_bill(session, actor, order_type=OrderType.TAKEAWAY)
        return bill.number


async def test_an_opening_in_progress_does_not_hold_up_the_next(committed_shop: Shop) -> None:
    database = current_database()
    assert database is not None
    if not database.url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: openings queue whole")
    first_token = (await committed_shop.login(Role.CASHIER, 0))["Authorization"].removeprefix("Bearer ")
    second_token = (await committed_shop.login(Role.CASHIER, 1))["Authorization"].removeprefix("Bearer ")

    async with database.unit_of_work() as session:
        actor = await staff_service.authenticate(session, first_token)
        first = await orders.open_bill(session, actor, order_type=OrderType.TAKEAWAY)
        # Not committed yet; another register opens and commits meanwhile.
        second = await asyncio.wait_for(_open(database, second_token), timeout=10)
        assert second == first.number + 1

    assert await _open(database, first_token) == first.number + 2


async def test_a_failed_opening_leaves_its_number_unused_on_postgresql(committed_shop: Shop) -> None:
    database = current_database()
    assert database is not None
    token = (await committed_shop.login(Role.CASHIER, 0))["Authorization"].removeprefix("Bearer ")
    first = await _open(database, token)

    async def open_and_fail() -> None:
        async with database.unit_of_work() as session:
            actor = await staff_service.authenticate(session, token)
            await orders.open_bill(session, actor, order_type=OrderType.TAKEAWAY)
            raise RuntimeError("the opening fails after its number was taken")

    with pytest.raises(RuntimeError):
        await open_and_fail()

    skipped = 1 if database.url.startswith("postgresql") else 0  # SQLite rolls the counter back
    assert await _open(database, token) == first + 1 + skipped
