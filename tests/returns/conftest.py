"""Returns tests: the built-in log provider stands in for the SMS gateway (the real
adapters are tested against local servers in tests/notifications), and a worker whose
clock the test moves sends the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from kassa.core.database import Database, utc_now
from kassa.core.outbox import OutboxWorker
from kassa.notifications import service as notifications
from kassa.notifications.providers.log import LogProvider
from kassa.worker import outbox_handlers


@pytest.fixture
def sms() -> Iterator[LogProvider]:
    provider = LogProvider()
    notifications.configure_providers(sms=[provider], email=LogProvider("log-email"))
    yield provider
    notifications.configure_providers()


@dataclass
class Clock:
    moment: datetime = field(default_factory=lambda: utc_now() + timedelta(seconds=1))

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@dataclass
class Worker:
    database: Database
    clock: Clock = field(default_factory=Clock)

    async def run(self) -> int:
        """Send everything due now; returns how many messages were handled. The clock never
        lags the real time: messages stamped while a slow test ran are due too."""
        self.clock.moment = max(self.clock.moment, utc_now() + timedelta(seconds=1))
        # One at a time: the test shares one connection, which cannot serve handlers in parallel.
        worker = OutboxWorker(
            self.database, outbox_handlers(), now=self.clock, jitter=lambda: 0.0, batch_size=1
        )
        total = 0
        while handled := await worker.run_once():
            total += handled
            if total > 100:
                break
        return total


@pytest.fixture
def worker(database: Database, sms: LogProvider) -> Worker:
    return Worker(database)
