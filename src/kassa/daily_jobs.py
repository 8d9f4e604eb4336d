"""Jobs that run once a day at a local hour, through the outbox: each day's run is one
outbox message (one per day by its ``dedupe_key``) due at that hour in the first store's
time zone, and each run queues the next day's. A worker that starts queues today's and
tomorrow's, so a missed day runs at once and a broken chain heals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import outbox
from kassa.core.database import Database, utc_now
from kassa.stores.models import Store

DEFAULT_TIMEZONE = "UTC"


async def job_timezone(session: AsyncSession) -> str:
    """The zone whose hour starts the runs: the first store's (one server, one region)."""
    zone = await session.scalar(select(Store.timezone).order_by(Store.id).limit(1))
    return zone or DEFAULT_TIMEZONE


@dataclass(frozen=True)
class DailyJob:
    kind: str  # the outbox message kind its handler is registered under
    run_at: time  # local time of day

    def run_moment(self, day: date, timezone: str) -> datetime:
        return datetime.combine(day, self.run_at, tzinfo=ZoneInfo(timezone)).astimezone(UTC)

    async def queue_day(self, session: AsyncSession, day: date, timezone: str) -> None:
        await outbox.enqueue(
            session,
            self.kind,
            {"date": day.isoformat()},
            dedupe_key=f"{self.kind}:{day.isoformat()}",
            not_before=self.run_moment(day, timezone),
        )

    async def ensure_queued(self, database: Database, *, now: datetime | None = None) -> None:
        """Today's run (at its hour, or at once when that has passed and it never ran) and
        tomorrow's are queued; harmless when they are."""
        async with database.unit_of_work() as session:
            timezone = await job_timezone(session)
            today = (now or utc_now()).astimezone(ZoneInfo(timezone)).date()
            await self.queue_day(session, today, timezone)
            await self.queue_day(session, today + timedelta(days=1), timezone)
