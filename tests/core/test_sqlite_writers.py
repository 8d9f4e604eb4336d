"""SQLite writers of one process take turns in arrival order instead of polling SQLite's
busy handler; a unit of work opened inside another (same task) still works."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from kassa.core.database import Database


async def test_writers_take_turns_in_arrival_order(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    try:
        async with database.unit_of_work() as session:
            await session.execute(text("CREATE TABLE entries (writer INTEGER, step INTEGER)"))
        inside = 0
        most_inside = 0

        async def write(writer: int) -> None:
            nonlocal inside, most_inside
            async with database.unit_of_work() as session:
                inside += 1
                most_inside = max(most_inside, inside)
                for step in range(3):
                    await session.execute(
                        text("INSERT INTO entries VALUES (:writer, :step)"), {"writer": writer, "step": step}
                    )
                    await asyncio.sleep(0)
                inside -= 1

        writers = []
        for writer in range(8):
            writers.append(asyncio.create_task(write(writer)))
            await asyncio.sleep(0)  # each task reaches the queue before the next starts
        await asyncio.gather(*writers)

        async with database.read_only() as session:
            rows = (await session.execute(text("SELECT writer FROM entries ORDER BY rowid"))).scalars().all()
        assert most_inside == 1
        assert list(rows) == [writer for writer in range(8) for _ in range(3)]
    finally:
        await database.dispose()


async def test_a_unit_of_work_inside_another_does_not_wait_for_itself(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'nested.db'}")
    try:
        async with database.unit_of_work() as outer:
            await outer.execute(text("CREATE TABLE notes (body TEXT)"))
        async with database.unit_of_work(), database.unit_of_work() as inner:
            await inner.execute(text("INSERT INTO notes VALUES ('inner')"))
        async with database.unit_of_work() as after:  # the turn was handed back
            await after.execute(text("INSERT INTO notes VALUES ('after')"))
        async with database.read_only() as session:
            assert (await session.execute(text("SELECT body FROM notes"))).scalars().all() == [
                "inner",
                "after",
            ]
    finally:
        await database.dispose()
