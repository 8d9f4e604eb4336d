"""Housekeeping: delete rows that no longer matter, daily through the outbox and on demand
with ``kassa housekeeping``.

What goes (everything else stays):

- outbox messages **sent** more than ``outbox_sent_retention_days`` ago (print jobs keep
  their rendered bytes), and **dead** ones last tried more than ``outbox_dead_retention_days``
  ago; pending and in-flight messages are never touched;
- portal and staff sessions expired more than a day ago;
- one-time codes expired more than a day ago (the send limit looks back one hour);
- password-login throttles a day after their last failure, once no lockout runs (the
  throttle forgets its lockouts then anyway);
- idempotency keys with a stored answer, first used more than ``idempotency_retention_days``
  ago (one without an answer is kept: its request never finished, which is worth a look).

Rows go in batches of ``BATCH_SIZE``, each batch its own short transaction, so a large
backlog never holds a lock for long (on SQLite, the whole database's write lock).

``housekeeping.daily`` (one message per day, ``dedupe_key`` "housekeeping.daily:<date>", due
at 04:00 in the first store's time zone) first queues the next day's run, then purges for
at most ``ROUND_SECONDS``; a backlog that takes longer continues in a follow-up message,
so no handler runs into the worker's time-out. This lives beside ``worker.py`` rather than
in ``core``, as it knows the tables of several capabilities.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import monotonic
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, delete, or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from kassa.core import outbox
from kassa.core.database import Database, get_database, utc_now
from kassa.core.idempotency import IdempotencyRecord
from kassa.core.outbox import ClaimedMessage, Handler, OutboxMessage, OutboxStatus, PermanentFailure
from kassa.core.settings import Settings, get_settings
from kassa.daily_jobs import DailyJob, job_timezone
from kassa.notifications.models import OtpCode
from kassa.portal.models import PortalSession
from kassa.staff.models import LoginThrottle, StaffSession

logger = logging.getLogger(__name__)

DAILY_KIND = "housekeeping.daily"
# After the loyalty run at 03:00, before any shop opens.
DAILY = DailyJob(DAILY_KIND, time(4, 0))
BATCH_SIZE = 1000
# Well inside the worker's 30 s handler time-out.
ROUND_SECONDS = 10.0
# An expired session is kept a day, so a device coming back reads "session ended".
SESSION_GRACE = timedelta(days=1)
OTP_KEPT = timedelta(days=1)
# A throttle forgets its lockouts a day after the last failure (staff/throttle.py).
THROTTLE_FORGOTTEN = timedelta(days=1)


@dataclass(frozen=True)
class PurgeRule:
    """The rows of one table that may go, and the columns that name a row."""

    name: str
    keys: tuple[InstrumentedAttribute[Any], ...]
    condition: ColumnElement[bool]


def purge_rules(now: datetime, settings: Settings) -> list[PurgeRule]:
    sent_cutoff = now - timedelta(days=settings.outbox_sent_retention_days)
    dead_cutoff = now - timedelta(days=settings.outbox_dead_retention_days)
    return [
        PurgeRule(
            "outbox_messages.sent",
            (OutboxMessage.id,),
            and_(
                OutboxMessage.status == OutboxStatus.SENT,
                OutboxMessage.sent_at < sent_cutoff,
                # Implied by sent_at (a message is claimed only once due), and lets the
                # (status, next_attempt_at) index find the rows.
                OutboxMessage.next_attempt_at < sent_cutoff,
            ),
        ),
        PurgeRule(
            "outbox_messages.dead",
            (OutboxMessage.id,),
            # A dead message keeps no time of death; its last due time is the last attempt.
            # Cancelled ones (staff called them off) are kept as long.
            and_(
                OutboxMessage.status.in_((OutboxStatus.DEAD, OutboxStatus.CANCELLED)),
                OutboxMessage.next_attempt_at < dead_cutoff,
            ),
        ),
        PurgeRule("portal_sessions", (PortalSession.id,), PortalSession.expires_at < now - SESSION_GRACE),
        PurgeRule("staff_sessions", (StaffSession.id,), StaffSession.expires_at < now - SESSION_GRACE),
        PurgeRule("notification_otps", (OtpCode.id,), OtpCode.expires_at < now - OTP_KEPT),
        PurgeRule(
            "login_throttles",
            (LoginThrottle.id,),
            and_(
                or_(
                    LoginThrottle.last_failure_at.is_(None),
                    LoginThrottle.last_failure_at < now - THROTTLE_FORGOTTEN,
                ),
                or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
            ),
        ),
        PurgeRule(
            "idempotency_records",
            (IdempotencyRecord.scope, IdempotencyRecord.key),
            and_(
                IdempotencyRecord.response.is_not(None),
                IdempotencyRecord.created_at < now - timedelta(days=settings.idempotency_retention_days),
            ),
        ),
    ]


@dataclass(frozen=True)
class PurgeReport:
    counts: dict[str, int]  # rows deleted, by purge name
    is_complete: bool  # False when the time budget ran out first

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def _delete_batch(database: Database, rule: PurgeRule, batch_size: int) -> int:
    batch = select(*rule.keys).where(rule.condition).limit(batch_size)
    chosen = rule.keys[0].in_(batch) if len(rule.keys) == 1 else tuple_(*rule.keys).in_(batch)
    model = rule.keys[0].class_
    async with database.unit_of_work() as session:
        result = await session.execute(
            delete(model).where(chosen).execution_options(synchronize_session=False)
        )
    return cast(CursorResult[Any], result).rowcount


async def purge(
    database: Database,
    *,
    now: datetime | None = None,
    settings: Settings | None = None,
    batch_size: int = BATCH_SIZE,
    time_budget_seconds: float | None = None,
) -> PurgeReport:
    """Delete what no longer matters (see the module doc), batch by batch; with a time
    budget, stop after the batch that used it up and report the purge incomplete."""
    deadline = None if time_budget_seconds is None else monotonic() + time_budget_seconds
    counts: dict[str, int] = {}
    is_complete = True
    for rule in purge_rules(now or utc_now(), settings or get_settings()):
        counts[rule.name] = 0
        while is_complete:
            if deadline is not None and monotonic() >= deadline:
                is_complete = False
                break
            deleted = await _delete_batch(database, rule, batch_size)
            counts[rule.name] += deleted
            if deleted < batch_size:
                break
    logger.info("housekeeping deleted %s%s", counts, "" if is_complete else " (more to come)")
    return PurgeReport(counts, is_complete)


# --- the daily job ------------------------------------------------------------------------


async def ensure_daily_job(database: Database, *, now: datetime | None = None) -> None:
    """Make sure the daily run is queued (today's at 04:00, or at once when that has passed
    and it never ran, and tomorrow's). Called when a worker starts."""
    await DAILY.ensure_queued(database, now=now)


async def run_daily(claimed: ClaimedMessage) -> None:
    """The ``housekeeping.daily`` handler: queue tomorrow's run first (so a failing purge
    never stops the next), then purge; what the round leaves is queued as a next round."""
    try:
        day = date.fromisoformat(str(claimed.payload["date"]))
        round_number = int(claimed.payload.get("round", 0))
    except (KeyError, TypeError, ValueError) as error:
        raise PermanentFailure(f"outbox message {claimed.id} is malformed") from error
    database = get_database()
    async with database.unit_of_work() as session:
        await DAILY.queue_day(session, day + timedelta(days=1), await job_timezone(session))
    # As of the real time, not the scheduled one: how old a row is decides.
    report = await purge(database, time_budget_seconds=ROUND_SECONDS)
    if report.is_complete:
        return
    async with database.unit_of_work() as session:
        await outbox.enqueue(
            session,
            DAILY_KIND,
            {"date": day.isoformat(), "round": round_number + 1},
            dedupe_key=f"{DAILY_KIND}:{day.isoformat()}:{round_number + 1}",
        )


def register_housekeeping_handlers(handlers: dict[str, Handler]) -> None:
    handlers[DAILY_KIND] = run_daily
