"""The outbox worker with every capability's handlers, for the server (it runs one in its
lifespan) and for ``kassa worker`` (one on its own). Add a new capability's handlers here."""

from __future__ import annotations

from typing import Any

from kassa.core.database import Database
from kassa.core.outbox import Handler, OutboxWorker
from kassa.printing.service import register_print_handlers


def outbox_handlers() -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    register_print_handlers(handlers)
    return handlers


def create_worker(database: Database, **options: Any) -> OutboxWorker:
    """A worker for every kind of message Kassa sends; ``options`` go to ``OutboxWorker``."""
    return OutboxWorker(database, outbox_handlers(), **options)
