"""The event bus across processes, on PostgreSQL's LISTEN/NOTIFY.

With several server processes (``kassa api --workers N`` beside ``kassa run``, or a separate
``kassa worker``), a bill changed in one process must still reach the registers whose
browsers are connected to another. Each process delivers its own events at once, as the
in-process bus does, and also sends them with ``pg_notify``; every process listens on the
channel and delivers what the others sent. An event is small (ids and states), far below
NOTIFY's 8,000-byte limit; a bigger one stays in its own process and is logged.

A lost listening connection is opened again; events sent meanwhile are missed, as a
browser that reconnects misses them: the screens reload their state when they reconnect.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import asyncpg
from sqlalchemy import make_url

from kassa.core.events import Event, Handler, InProcessEventBus, Subscription, get_event_bus, set_event_bus

logger = logging.getLogger(__name__)

CHANNEL = "kassa_events"
MAX_PAYLOAD_BYTES = 7900  # NOTIFY refuses 8000 bytes and more
RECONNECT_SECONDS = 1.0


def asyncpg_dsn(database_url: str) -> str:
    """``postgresql+asyncpg://…`` (SQLAlchemy's form) as asyncpg takes it."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresEventBus:
    """Local delivery plus NOTIFY to the other processes; ``start`` begins listening."""

    def __init__(self, database_url: str, *, channel: str = CHANNEL) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._channel = channel
        self._local = InProcessEventBus()
        # Tells this process's own notifications apart when they come back.
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._pool: asyncpg.Pool | None = None
        self._listener_task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._deliveries: set[asyncio.Task[None]] = set()  # held so they are not collected

    @property
    def handlers(self) -> dict[str, list[Handler]]:
        return self._local.handlers

    def subscribe(self, topic: str, handler: Handler) -> Subscription:
        return self._local.subscribe(topic, handler)

    async def publish(self, event: Event) -> None:
        await self._local.publish(event)
        payload = json.dumps(
            {"origin": self.origin, "topic": event.topic, "name": event.name, "payload": event.payload},
            default=str,
            separators=(",", ":"),
        )
        if len(payload.encode()) > MAX_PAYLOAD_BYTES:
            logger.warning("event %s on %s is too big to reach other processes", event.name, event.topic)
            return
        if self._pool is None:
            return
        try:
            await self._pool.execute("SELECT pg_notify($1, $2)", self._channel, payload)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            logger.warning("event %s on %s did not reach other processes", event.name, event.topic)

    async def start(self) -> None:
        """Open the sending pool and the listening connection (returns once listening)."""
        self._pool = await asyncpg.create_pool(self._dsn, min_size=1, max_size=2)
        self._listener_task = asyncio.create_task(self._listen_forever(), name="kassa-event-listener")
        await asyncio.wait_for(self._listening.wait(), timeout=30)

    async def stop(self) -> None:
        if self._listener_task is not None:
            self._listener_task.cancel()
            with suppress(asyncio.CancelledError):
                await self._listener_task
            self._listener_task = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _listen_forever(self) -> None:
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(self._dsn)
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _connection, lost=lost: lost.set())
                await connection.add_listener(self._channel, self._on_notification)
                self._listening.set()
                await lost.wait()
                logger.warning("the event listener lost its database connection; reconnecting")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                logger.warning("the event listener cannot reach the database; retrying", exc_info=True)
            finally:
                if connection is not None and not connection.is_closed():
                    await connection.close()
            await asyncio.sleep(RECONNECT_SECONDS)

    def _on_notification(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            logger.warning("ignored an event that is not JSON: %.100s", payload)
            return
        if message.get("origin") == self.origin:
            return  # delivered locally already
        event = Event(str(message["topic"]), str(message["name"]), dict(message.get("payload") or {}))
        delivery = asyncio.get_running_loop().create_task(self._local.publish(event))
        self._deliveries.add(delivery)
        delivery.add_done_callback(self._deliveries.discard)


@asynccontextmanager
async def events_across_processes(database_url: str, event_bus: str) -> AsyncIterator[None]:
    """Within the block, this process's event bus is the PostgreSQL one if configured."""
    if event_bus != "postgres":
        yield
        return
    if not database_url.startswith("postgresql"):
        raise RuntimeError("KASSA_EVENT_BUS=postgres needs a PostgreSQL database (KASSA_DATABASE_URL)")
    previous = get_event_bus()
    bus = PostgresEventBus(database_url)
    await bus.start()
    set_event_bus(bus)
    try:
        yield
    finally:
        set_event_bus(previous)
        await bus.stop()
