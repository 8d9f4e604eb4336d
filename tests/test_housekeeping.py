"""Housekeeping: rows past their retention go, in batches; rows still wanted (newer, pending,
in flight, unanswered) stay; the daily run queues the next day's; `kassa housekeeping`
purges on demand and prints the counts."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa import housekeeping
from kassa.core import idempotency
from kassa.core.database import Database, utc_now
from kassa.core.idempotency import IdempotencyRecord
from kassa.core.outbox import ClaimedMessage, OutboxMessage, OutboxStatus
from kassa.core.settings import Settings
from kassa.housekeeping import DAILY_KIND, ensure_daily_job, purge, run_daily
from kassa.notifications.models import OtpCode
from kassa.portal.models import PortalSession
from kassa.staff.models import LoginThrottle, StaffSession
from tests.factories import make_organization, make_staff, make_store
from tests.members.conftest import make_member, make_member_shop
from tests.returns.conftest import Worker
from tests.test_cli import _kassa

# 10 March 2031, 02:00 in Shanghai (the store's zone): the daily run is due at 04:00.
FROZEN = datetime(2031, 3, 9, 18, 0, tzinfo=UTC)
RUN_DAY = date(2031, 3, 10)
NOTHING_DELETED = {
    "outbox_messages.sent": 0,
    "outbox_messages.dead": 0,
    "portal_sessions": 0,
    "staff_sessions": 0,
    "notification_otps": 0,
    "login_throttles": 0,
    "idempotency_records": 0,
}


async def _message(
    session: AsyncSession,
    status: OutboxStatus,
    *,
    days_ago: float,
    kind: str = "test.ping",
) -> OutboxMessage:
    """A message last due ``days_ago`` days ago, and sent then if it is sent."""
    moment = utc_now() - timedelta(days=days_ago)
    message = OutboxMessage(
        kind=kind,
        payload={"data": "ESC/POS bytes"},
        status=status,
        attempts=0 if status == OutboxStatus.PENDING else 1,
        max_attempts=12,
        created_at=moment,
        next_attempt_at=moment,
        lease_expires_at=moment + timedelta(minutes=1) if status == OutboxStatus.IN_FLIGHT else None,
        sent_at=moment if status == OutboxStatus.SENT else None,
    )
    session.add(message)
    await session.flush()
    return message


async def _remaining(session: AsyncSession, model: Any, *ids: int) -> set[int]:
    rows = await session.scalars(
        select(model.id).where(model.id.in_(ids)).execution_options(populate_existing=True)
    )
    return set(rows.all())


async def test_purge_deletes_rows_past_their_retention_and_keeps_the_rest(
    session: AsyncSession, database: Database
) -> None:
    # given outbox messages of every status, some older than their retention
    old_sent = await _message(session, OutboxStatus.SENT, days_ago=31)
    recent_sent = await _message(session, OutboxStatus.SENT, days_ago=29)
    old_dead = await _message(session, OutboxStatus.DEAD, days_ago=181)
    recent_dead = await _message(session, OutboxStatus.DEAD, days_ago=179)
    old_pending = await _message(session, OutboxStatus.PENDING, days_ago=400)
    old_in_flight = await _message(session, OutboxStatus.IN_FLIGHT, days_ago=400)

    # and portal and staff sessions, codes and idempotency keys on both sides of the line
    shop = await make_member_shop(session)
    member = await make_member(session, shop.cashier, shop.store)
    staff = await make_staff(session, shop.store)
    now = utc_now()
    portal_sessions = [
        PortalSession(
            token_digest=f"portal-{index}",
            member_id=member.id,
            organization_id=shop.organization.id,
            store_id=shop.store.id,
            method="sms_code",
            expires_at=expires_at,
        )
        for index, expires_at in enumerate(
            (now - timedelta(days=2), now - timedelta(hours=1), now + timedelta(days=30))
        )
    ]
    staff_sessions = [
        StaffSession(token_digest=f"staff-{index}", staff_id=staff.id, expires_at=expires_at)
        for index, expires_at in enumerate(
            (now - timedelta(days=2), now - timedelta(hours=1), now + timedelta(hours=12))
        )
    ]
    codes = [
        OtpCode(
            organization_id=shop.organization.id,
            phone="+8613800138000",
            purpose="login",
            code_hash="0" * 64,
            created_at=expires_at - timedelta(minutes=5),
            expires_at=expires_at,
        )
        for expires_at in (now - timedelta(days=2), now - timedelta(hours=1))
    ]
    # password-login throttles: forgotten a day after the last failure unless still locked
    throttles = [
        LoginThrottle(scope="account", subject=f"guess-{index}@example.com", failed_attempts=3, **fields)
        for index, fields in enumerate(
            (
                {"last_failure_at": now - timedelta(days=2)},
                {"last_failure_at": now - timedelta(hours=1)},
                {"last_failure_at": now - timedelta(days=2), "locked_until": now + timedelta(minutes=5)},
            )
        )
    ]
    # idempotency keys as the API leaves them: reserved, and answered unless the request died
    for key, answer, days_ago in (
        ("answered-old", {"bill_id": 1}, 31),
        ("answered-new", {"bill_id": 2}, 29),
        ("unanswered-old", None, 400),
    ):
        assert await idempotency.replay_or_reserve(session, "bills", key, {"key": key}) is None
        if answer is not None:
            await idempotency.remember(session, "bills", key, answer)
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == key)
            .values(created_at=now - timedelta(days=days_ago))
        )
    session.add_all([*portal_sessions, *staff_sessions, *codes, *throttles])
    await session.commit()

    # when the purge runs
    report = await purge(database)

    # then exactly what outlived its retention is gone
    assert report.counts == {
        "outbox_messages.sent": 1,
        "outbox_messages.dead": 1,
        "portal_sessions": 1,
        "staff_sessions": 1,
        "notification_otps": 1,
        "login_throttles": 1,
        "idempotency_records": 1,
    }
    assert (report.is_complete, report.total) == (True, 7)
    assert await _remaining(
        session,
        OutboxMessage,
        old_sent.id,
        recent_sent.id,
        old_dead.id,
        recent_dead.id,
        old_pending.id,
        old_in_flight.id,
    ) == {recent_sent.id, recent_dead.id, old_pending.id, old_in_flight.id}
    assert await _remaining(session, PortalSession, *(row.id for row in portal_sessions)) == {
        portal_sessions[1].id,
        portal_sessions[2].id,
    }
    assert await _remaining(session, StaffSession, *(row.id for row in staff_sessions)) == {
        staff_sessions[1].id,
        staff_sessions[2].id,
    }
    assert await _remaining(session, OtpCode, *(row.id for row in codes)) == {codes[1].id}
    assert await _remaining(session, LoginThrottle, *(row.id for row in throttles)) == {
        throttles[1].id,
        throttles[2].id,
    }
    remaining_keys = await session.scalars(select(IdempotencyRecord.key).order_by(IdempotencyRecord.key))
    assert remaining_keys.all() == ["answered-new", "unanswered-old"]

    # and a second run finds nothing more
    assert (await purge(database)).counts == NOTHING_DELETED


async def test_retention_comes_from_the_settings(session: AsyncSession, database: Database) -> None:
    week_old = await _message(session, OutboxStatus.SENT, days_ago=8)
    day_old = await _message(session, OutboxStatus.SENT, days_ago=1)
    await session.commit()

    report = await purge(database, settings=Settings(outbox_sent_retention_days=7))

    assert report.counts["outbox_messages.sent"] == 1
    assert await _remaining(session, OutboxMessage, week_old.id, day_old.id) == {day_old.id}


async def test_purge_goes_in_batches_and_stops_when_its_time_is_up(
    session: AsyncSession, database: Database
) -> None:
    messages = [await _message(session, OutboxStatus.SENT, days_ago=40) for _ in range(5)]
    ids = [message.id for message in messages]
    await session.commit()

    # no time at all: not one batch, and the report says more is left
    stopped = await purge(database, batch_size=2, time_budget_seconds=0)
    assert (stopped.is_complete, stopped.total) == (False, 0)
    assert len(await _remaining(session, OutboxMessage, *ids)) == 5

    # two, two and one: all gone
    finished = await purge(database, batch_size=2)
    assert (finished.is_complete, finished.counts["outbox_messages.sent"]) == (True, 5)
    assert await _remaining(session, OutboxMessage, *ids) == set()


async def _daily_keys(session: AsyncSession) -> list[tuple[str | None, OutboxStatus, datetime]]:
    rows = await session.execute(
        select(OutboxMessage.dedupe_key, OutboxMessage.status, OutboxMessage.next_attempt_at)
        .where(OutboxMessage.kind == DAILY_KIND)
        .order_by(OutboxMessage.id)
        .execution_options(populate_existing=True)
    )
    return [(key, status, due) for key, status, due in rows]


async def test_the_daily_run_purges_and_queues_the_next_day(
    session: AsyncSession, database: Database
) -> None:
    # given a store in Shanghai and a print job sent 40 days ago
    await make_store(session, await make_organization(session), timezone="Asia/Shanghai")
    old_print_job = await _message(session, OutboxStatus.SENT, days_ago=40, kind="print.document")
    await session.commit()

    # when the worker starts on the frozen day: today's run is queued for 04:00, and tomorrow's
    worker = Worker(database)
    worker.clock.moment = FROZEN
    await ensure_daily_job(database, now=worker.clock())
    await ensure_daily_job(database, now=worker.clock())  # a second start doubles nothing
    four_o_clock = datetime(2031, 3, 9, 20, 0, tzinfo=UTC)  # 04:00 in Shanghai
    assert await _daily_keys(session) == [
        ("housekeeping.daily:2031-03-10", OutboxStatus.PENDING, four_o_clock),
        ("housekeeping.daily:2031-03-11", OutboxStatus.PENDING, four_o_clock + timedelta(days=1)),
    ]
    assert await worker.run() == 0  # 02:00: not yet

    # then at 04:05 the day's run purges
    worker.clock.advance(hours=2, minutes=5)
    assert await worker.run() == 1
    assert await _remaining(session, OutboxMessage, old_print_job.id) == set()
    [today, tomorrow] = await _daily_keys(session)
    assert today[:2] == ("housekeeping.daily:2031-03-10", OutboxStatus.SENT)
    assert tomorrow[:2] == ("housekeeping.daily:2031-03-11", OutboxStatus.PENDING)

    # and a day later the next one runs and queues the day after
    worker.clock.advance(days=1)
    assert await worker.run() == 1
    assert await _daily_keys(session) == [
        ("housekeeping.daily:2031-03-10", OutboxStatus.SENT, four_o_clock),
        ("housekeeping.daily:2031-03-11", OutboxStatus.SENT, four_o_clock + timedelta(days=1)),
        ("housekeeping.daily:2031-03-12", OutboxStatus.PENDING, four_o_clock + timedelta(days=2)),
    ]


async def test_a_backlog_the_round_cannot_finish_continues_in_a_next_round(
    session: AsyncSession, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an old print job and a round with no time to delete it
    old_print_job = await _message(session, OutboxStatus.SENT, days_ago=40, kind="print.document")
    await session.commit()
    monkeypatch.setattr(housekeeping, "ROUND_SECONDS", 0.0)
    claimed = ClaimedMessage(
        id=1,
        kind=DAILY_KIND,
        payload={"date": RUN_DAY.isoformat()},
        store_id=None,
        attempts=1,
        max_attempts=12,
        dedupe_key=f"{DAILY_KIND}:{RUN_DAY.isoformat()}",
        created_at=FROZEN,
    )

    # when the day's run handles it, the job is left and a next round queued
    await run_daily(claimed)
    assert await _remaining(session, OutboxMessage, old_print_job.id) == {old_print_job.id}
    next_round = await session.scalar(
        select(OutboxMessage).where(OutboxMessage.dedupe_key == "housekeeping.daily:2031-03-10:1")
    )
    assert next_round is not None
    assert next_round.payload == {"date": "2031-03-10", "round": 1}

    # and with time to work, that round finishes the backlog and queues no other
    monkeypatch.setattr(housekeeping, "ROUND_SECONDS", 10.0)
    assert await Worker(database).run() == 1
    assert await _remaining(session, OutboxMessage, old_print_job.id) == set()
    assert (
        await session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == "housekeeping.daily:2031-03-10:2")
        )
        is None
    )


def test_kassa_housekeeping_prints_what_it_deleted(tmp_path: Path) -> None:
    upgraded = _kassa(tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    with sqlite3.connect(tmp_path / "kassa.db") as connection:
        connection.executemany(
            "INSERT INTO outbox_messages (kind, payload, status, attempts, max_attempts, next_attempt_at,"
            " created_at, sent_at) VALUES ('print.document', '{}', ?, 1, 12, ?, ?, ?)",
            [
                (
                    "sent",
                    "2020-01-01 00:00:00.000000",
                    "2020-01-01 00:00:00.000000",
                    "2020-01-01 00:00:01.000000",
                ),
                ("pending", "2020-01-01 00:00:00.000000", "2020-01-01 00:00:00.000000", None),
            ],
        )

    result = _kassa(tmp_path, "housekeeping")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "outbox_messages.sent          1",
        "outbox_messages.dead          0",
        "portal_sessions               0",
        "staff_sessions                0",
        "notification_otps             0",
        "login_throttles               0",
        "idempotency_records           0",
        "total                         1",
    ]
    with sqlite3.connect(tmp_path / "kassa.db") as connection:
        assert connection.execute("SELECT status FROM outbox_messages").fetchall() == [("pending",)]
