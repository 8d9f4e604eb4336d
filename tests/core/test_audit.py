from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.audit import AuditChainHead, AuditRecord
from kassa.core.auth import Actor
from kassa.core.database import Database


async def _write(database: Database, count: int, store_id: int | None = 7) -> None:
    actor = Actor(organization_id=1, staff_id=3, display_name="Chen", store_id=store_id, register_id=2)
    for index in range(count):
        async with database.unit_of_work() as session:
            audit.record(
                session, actor, "thing.change", "thing", index, before={"n": index}, after={"n": index + 1}
            )


async def test_every_record_links_to_the_one_before(database: Database, session: AsyncSession) -> None:
    await _write(database, 3)
    records = (await session.scalars(select(AuditRecord).order_by(AuditRecord.sequence))).all()
    assert [record.sequence for record in records] == [1, 2, 3]
    assert records[0].previous_hash == audit.GENESIS_HASH
    assert records[1].previous_hash == records[0].record_hash
    assert records[2].previous_hash == records[1].record_hash
    assert {record.chain_key for record in records} == {"store:7"}
    assert (records[0].staff_id, records[0].register_id, records[0].action) == (3, 2, "thing.change")
    checked, problems = await audit.verify_chains(session)
    assert (checked, problems) == (3, [])


async def test_records_of_a_failed_change_are_not_written(database: Database, session: AsyncSession) -> None:
    async def failing_change() -> None:
        async with database.unit_of_work() as failing:
            audit.record(failing, Actor.system(1), "thing.change", "thing", 1)
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await failing_change()
    assert (await session.scalars(select(AuditRecord))).all() == []


async def test_an_edited_record_is_detected(database: Database, session: AsyncSession) -> None:
    await _write(database, 4)
    await session.execute(update(AuditRecord).where(AuditRecord.sequence == 2).values(after={"n": 1000}))
    _, problems = await audit.verify_chains(session)
    assert [(problem.sequence, problem.reason) for problem in problems] == [(2, "record content was changed")]


async def test_an_edited_record_with_a_recomputed_hash_breaks_the_next_link(
    database: Database, session: AsyncSession
) -> None:
    await _write(database, 4)
    record = await session.scalar(select(AuditRecord).where(AuditRecord.sequence == 2))
    assert record is not None
    record.after = {"n": 1000}
    record.record_hash = audit.compute_hash(audit._hashed_fields(record), record.previous_hash)
    await session.flush()
    _, problems = await audit.verify_chains(session)
    assert [(problem.sequence, problem.reason) for problem in problems] == [
        (3, "link to the previous record broken")
    ]


async def test_a_deleted_record_is_detected(database: Database, session: AsyncSession) -> None:
    await _write(database, 4)
    await session.execute(delete(AuditRecord).where(AuditRecord.sequence == 2))
    _, problems = await audit.verify_chains(session)
    reasons = [problem.reason for problem in problems]
    assert "sequence jumps from 1 to 3: records deleted" in reasons
    assert "link to the previous record broken" in reasons


async def test_deleting_the_newest_record_is_detected(database: Database, session: AsyncSession) -> None:
    await _write(database, 3)
    await session.execute(delete(AuditRecord).where(AuditRecord.sequence == 3))
    _, problems = await audit.verify_chains(session)
    assert len(problems) == 1
    assert "newest records deleted" in problems[0].reason


async def test_each_store_has_its_own_chain(database: Database, session: AsyncSession) -> None:
    await _write(database, 2, store_id=1)
    await _write(database, 3, store_id=2)
    await _write(database, 1, store_id=None)
    heads = {
        head.chain_key: head.last_sequence for head in (await session.scalars(select(AuditChainHead))).all()
    }
    assert heads == {"store:1": 2, "store:2": 3, "global": 1}
    assert await audit.verify_chains(session) == (6, [])


async def test_many_records_in_one_unit_of_work_get_consecutive_numbers(
    database: Database, session: AsyncSession
) -> None:
    async with database.unit_of_work() as work:
        for index in range(5):
            audit.record(work, Actor.system(1, store_id=9), "bulk", "thing", index)
    sequences = (await session.scalars(select(AuditRecord.sequence).order_by(AuditRecord.sequence))).all()
    assert list(sequences) == [1, 2, 3, 4, 5]
    assert await audit.verify_chains(session) == (5, [])
