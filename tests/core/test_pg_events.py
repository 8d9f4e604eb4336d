"""Events across processes on PostgreSQL's LISTEN/NOTIFY (two buses stand for two processes)."""

from __future__ import annotations

import asyncio

import pytest

from kassa.core.database import Database
from kassa.core.events import Event, get_event_bus
from kassa.core.pg_events import PostgresEventBus, asyncpg_dsn, events_across_processes


@pytest.fixture
def postgres_url(database_url: str, migrated_database: Database) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY needs PostgreSQL (set KASSA_TEST_DATABASE_URL)")
    return database_url


async def _eventually(received: list[Event], count: int) -> None:
    for _ in range(100):
        if len(received) >= count:
            return
        await asyncio.sleep(0.05)


def test_the_dsn_drops_the_driver_name() -> None:
    assert asyncpg_dsn("postgresql+asyncpg://postgres@127.0.0.1:5432/kassa") == (
        "postgresql://postgres@127.0.0.1:5432/kassa"
    )


async def test_sqlite_cannot_carry_events_across_processes() -> None:
    with pytest.raises(RuntimeError, match="PostgreSQL"):
        async with events_across_processes("sqlite+aiosqlite:///kassa.db", "postgres"):
            pass


async def test_the_in_process_bus_stays_unless_postgres_is_asked_for() -> None:
    before = get_event_bus()
    async with events_across_processes("sqlite+aiosqlite:///kassa.db", "process"):
        assert get_event_bus() is before


async def test_an_event_reaches_the_other_process_and_its_own_once(postgres_url: str) -> None:
    here, there = PostgresEventBus(postgres_url), PostgresEventBus(postgres_url)
    await here.start()
    await there.start()
    try:
        seen_here: list[Event] = []
        seen_there: list[Event] = []
        here.subscribe("store:1", seen_here.append)
        there.subscribe("store:1", seen_there.append)
        there.subscribe("store:2", lambda event: pytest.fail("another store's topic"))

        await here.publish(Event("store:1", "bill.changed", {"bill_id": 7, "version": 3}))

        assert seen_here == [Event("store:1", "bill.changed", {"bill_id": 7, "version": 3})]
        await _eventually(seen_there, 1)
        assert seen_there == [Event("store:1", "bill.changed", {"bill_id": 7, "version": 3})]
        await asyncio.sleep(0.3)  # its own notification came back too, and was dropped
        assert len(seen_here) == 1
    finally:
        await here.stop()
        await there.stop()


async def test_an_event_too_big_for_notify_stays_in_its_process(postgres_url: str) -> None:
    here, there = PostgresEventBus(postgres_url), PostgresEventBus(postgres_url)
    await here.start()
    await there.start()
    try:
        seen_here: list[Event] = []
        seen_there: list[Event] = []
        here.subscribe("store:1", seen_here.append)
        there.subscribe("store:1", seen_there.append)

        await here.publish(Event("store:1", "big", {"text": "x" * 10_000}))
        await here.publish(Event("store:1", "small", {}))

        await _eventually(seen_there, 1)
        assert [event.name for event in seen_here] == ["big", "small"]
        assert [event.name for event in seen_there] == ["small"]
    finally:
        await here.stop()
        await there.stop()


async def test_the_configured_bus_is_installed_for_the_block(postgres_url: str) -> None:
    before = get_event_bus()
    async with events_across_processes(postgres_url, "postgres"):
        assert isinstance(get_event_bus(), PostgresEventBus)
    assert get_event_bus() is before
