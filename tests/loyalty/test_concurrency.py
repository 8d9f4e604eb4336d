"""Two registers at once, with real commits on separate connections: payments from one card or
one points balance that together exceed it (one succeeds, the other gets 409), one coupon on
two bills, the same top-up or bill sent twice.

These tests cannot run inside the rolled-back test transaction, so they commit and empty every
table afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.audit import verify_chains
from kassa.core.auth import Actor
from kassa.core.database import Database, set_database
from kassa.core.errors import KassaError
from kassa.loyalty import points as points_module
from kassa.loyalty import service as loyalty
from kassa.loyalty import stored_value as stored_value_module
from kassa.loyalty import top_ups as top_ups_module
from kassa.loyalty.models import LoyaltyAccount, PointsEntry, StoredValueEntry
from kassa.models import Base
from tests.loyalty.conftest import LoyaltyShop, amount_coupon, close_bill, make_loyalty_shop, make_member

T = TypeVar("T")


@dataclass
class Committed:
    database: Database
    shop: LoyaltyShop
    member_id: int
    bill_ids: list[int]


@pytest.fixture
async def committed(migrated_database: Database) -> AsyncIterator[Committed]:
    database = migrated_database
    set_database(database)
    async with database.unit_of_work() as session:
        shop = await make_loyalty_shop(session)
        member = await make_member(session, shop)
        bills = [await close_bill(session, shop, member, 10_000) for _ in range(2)]
        await loyalty.top_up(
            session,
            shop.cashier,
            member.id,
            shop.money(10_000),
            tender="card",
            approval_code="123456",
            idempotency_key="setup-top-up",
        )
        await loyalty.earn_for_bill(
            session,
            shop.cashier,
            member.id,
            bills[0].id,
            [loyalty.EarnLine(shop.products["latte"], shop.categories["coffee"], 10_000)],
        )
    yield Committed(database, shop, member.id, [bill.id for bill in bills])
    set_database(None)
    async with database.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(delete(table))


def _both_read_first(
    monkeypatch: pytest.MonkeyPatch, module: Any, database: Database, parties: int = 2
) -> None:
    """On PostgreSQL make every party reach the account lock before any takes it, so the lock
    and the conditional UPDATE, not the timing, decide. (SQLite takes its write lock at BEGIN:
    there the parties queue anyway, and waiting here would deadlock them.)"""
    if database.is_sqlite:
        return
    barrier = asyncio.Barrier(parties)
    original = module.lock_account

    async def wait_then_lock(session: AsyncSession, member: Any) -> LoyaltyAccount:
        await barrier.wait()
        account: LoyaltyAccount = await original(session, member)
        return account

    monkeypatch.setattr(module, "lock_account", wait_then_lock)


async def _at_register(database: Database, work: Callable[[AsyncSession], Awaitable[T]]) -> T | KassaError:
    try:
        async with database.unit_of_work() as session:
            return await work(session)
    except KassaError as error:
        return error


async def _sums(database: Database, member_id: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """((points, principal, bonus) on the account, the same summed over the ledgers)."""
    async with database.read_only() as session:
        account = await session.scalar(select(LoyaltyAccount).where(LoyaltyAccount.member_id == member_id))
        assert account is not None
        points = await session.scalar(
            select(func.coalesce(func.sum(PointsEntry.points), 0)).where(PointsEntry.member_id == member_id)
        )
        principal, bonus = (
            await session.execute(
                select(
                    func.coalesce(func.sum(StoredValueEntry.principal_amount), 0),
                    func.coalesce(func.sum(StoredValueEntry.bonus_amount), 0),
                ).where(StoredValueEntry.member_id == member_id)
            )
        ).one()
        assert (await verify_chains(session))[1] == []
        return (account.points_balance, account.principal_amount, account.bonus_amount), (
            int(points or 0),
            int(principal),
            int(bonus),
        )


def _register_actor(shop: LoyaltyShop, number: int) -> Actor:
    cashier = shop.cashier
    return Actor(
        organization_id=cashier.organization_id,
        staff_id=cashier.staff_id,
        role=cashier.role,
        store_id=cashier.store_id,
        register_id=cashier.register_id,
        display_name=f"Counter {number}",
    )


async def test_two_charges_that_together_exceed_the_card_one_succeeds_one_gets_409(
    committed: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = committed.shop
    _both_read_first(monkeypatch, stored_value_module, committed.database)

    async def charge(number: int) -> loyalty.StoredValueCharge | KassaError:
        return await _at_register(
            committed.database,
            lambda session: loyalty.charge_stored_value(
                session,
                _register_actor(shop, number),
                committed.member_id,
                shop.money(6_000),
                f"bill:{number}:sv",
            ),
        )

    results = await asyncio.gather(charge(1), charge(2))
    charged = [result for result in results if isinstance(result, loyalty.StoredValueCharge)]
    refused = [result for result in results if isinstance(result, KassaError)]
    assert len(charged) == 1
    assert [(error.status, error.code) for error in refused] == [(409, "insufficient_balance")]
    account, ledger = await _sums(committed.database, committed.member_id)
    assert account == ledger
    assert account[1:] == (4_000, 0)


async def test_two_redemptions_that_together_exceed_the_points_one_succeeds_one_gets_409(
    committed: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = committed.shop
    _both_read_first(monkeypatch, points_module, committed.database)

    async def redeem(number: int) -> Any:
        return await _at_register(
            committed.database,
            lambda session: loyalty.redeem_points(
                session, _register_actor(shop, number), committed.member_id, 60, f"bill:{number}:points"
            ),
        )

    results = await asyncio.gather(redeem(1), redeem(2))
    assert sorted(type(result).__name__ for result in results) == ["InsufficientBalance", "Money"]
    account, ledger = await _sums(committed.database, committed.member_id)
    assert account == ledger
    assert account[0] == 40


async def test_one_coupon_on_two_bills_at_once_discounts_one(committed: Committed) -> None:
    shop = committed.shop
    async with committed.database.unit_of_work() as session:
        definition_id = await amount_coupon(session, shop, amount=1_500)
        [coupon] = await loyalty.issue_coupon(session, shop.cashier, definition_id, [committed.member_id])

    async def redeem(number: int, bill_id: int) -> int | KassaError:
        return await _at_register(
            committed.database,
            lambda session: loyalty.redeem_coupon(
                session, _register_actor(shop, number), coupon.id, bill_id, 10_000, 10_000
            ),
        )

    results = await asyncio.gather(
        *(redeem(number, bill_id) for number, bill_id in enumerate(committed.bill_ids))
    )
    assert sorted(result if isinstance(result, int) else result.status for result in results) == [409, 1_500]


async def test_the_same_top_up_and_the_same_bill_sent_twice_at_once_count_once(
    committed: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = committed.shop
    _both_read_first(monkeypatch, top_ups_module, committed.database)

    async def top_up(number: int) -> Any:
        return await _at_register(
            committed.database,
            lambda session: loyalty.top_up(
                session,
                _register_actor(shop, number),
                committed.member_id,
                shop.money(5_000),
                tender="card",
                approval_code="123456",
                idempotency_key="double-tap",
            ),
        )

    first, second = await asyncio.gather(top_up(1), top_up(2))
    assert isinstance(first, loyalty.TopUp)
    assert isinstance(second, loyalty.TopUp)
    assert first.top_up.id == second.top_up.id

    async def earn(number: int) -> Any:
        return await _at_register(
            committed.database,
            lambda session: loyalty.earn_for_bill(
                session,
                _register_actor(shop, number),
                committed.member_id,
                committed.bill_ids[1],
                [loyalty.EarnLine(shop.products["latte"], shop.categories["coffee"], 10_000)],
            ),
        )

    earned = await asyncio.gather(earn(1), earn(2))
    assert len({entry.id for entry in earned}) == 1
    account, ledger = await _sums(committed.database, committed.member_id)
    assert account == ledger
    assert account == (200, 15_000, 0)
