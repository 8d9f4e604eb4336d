"""The outbox worker with every capability's handlers, for the server (it runs one in its
lifespan) and for ``kassa worker`` (one on its own). Add a new capability's handlers here."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kassa import housekeeping
from kassa.core.database import Database
from kassa.core.outbox import Handler, OutboxWorker
from kassa.loyalty.jobs import ensure_daily_job, register_loyalty_handlers
from kassa.notifications.service import register_notification_handlers
from kassa.payments.refunds import register_refund_handlers
from kassa.printing.service import register_print_handlers
from kassa.reservations.service import register_reservation_handlers
from kassa.returns.service import register_return_handlers
from kassa.wiring import install_hooks

logger = logging.getLogger(__name__)


def outbox_handlers() -> dict[str, Handler]:
    install_hooks()
    handlers: dict[str, Handler] = {}
    register_print_handlers(handlers)
    register_notification_handlers(handlers)
    register_refund_handlers(handlers)
    register_return_handlers(handlers)
    register_reservation_handlers(handlers)
    register_loyalty_handlers(handlers)
    housekeeping.register_housekeeping_handlers(handlers)
    return handlers


class KassaWorker(OutboxWorker):
    """The outbox worker that, when it starts, also makes sure the recurring jobs are queued
    (the daily loyalty run and housekeeping reschedule themselves; this starts them and
    heals a broken chain)."""

    async def run_forever(self, stop_event: asyncio.Event) -> None:
        for name, ensure in (("loyalty", ensure_daily_job), ("housekeeping", housekeeping.ensure_daily_job)):
            try:
                await ensure(self.database, now=self.now())
            except Exception:  # the database may be down at start; the worker retries its own work
                logger.exception("could not queue the daily %s run; it is queued at the next start", name)
        await super().run_forever(stop_event)


def create_worker(database: Database, **options: Any) -> OutboxWorker:
    """A worker for every kind of message Kassa sends; ``options`` go to ``OutboxWorker``."""
    return KassaWorker(database, outbox_handlers(), **options)
