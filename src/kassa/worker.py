"""The outbox worker with every capability's handlers, for the server (it runs one in its
lifespan) and for ``kassa worker`` (one on its own). Add a new capability's handlers here."""

from __future__ import annotations

from typing import Any

from kassa.core.database import Database
from kassa.core.outbox import Handler, OutboxWorker
from kassa.notifications.service import register_notification_handlers
from kassa.payments.refunds import register_refund_handlers
from kassa.printing.service import register_print_handlers
from kassa.returns.service import register_return_handlers
from kassa.wiring import install_hooks


def outbox_handlers() -> dict[str, Handler]:
    install_hooks()
    handlers: dict[str, Handler] = {}
    register_print_handlers(handlers)
    register_notification_handlers(handlers)
    register_refund_handlers(handlers)
    register_return_handlers(handlers)
    return handlers


def create_worker(database: Database, **options: Any) -> OutboxWorker:
    """A worker for every kind of message Kassa sends; ``options`` go to ``OutboxWorker``."""
    return OutboxWorker(database, outbox_handlers(), **options)
