"""The real-time event bus the UI subscribes to.

Events are published after the unit of work commits (never for a rolled-back change).
``EventBus`` is the interface; ``InProcessEventBus`` serves one server process. A bus on
Redis pub/sub can implement the same two methods when Kassa runs several processes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.database import after_commit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Something that changed. ``topic`` names who cares, e.g. ``store:3`` or ``register:7``."""

    topic: str
    name: str
    payload: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Event], Awaitable[None] | None]


class Subscription(Protocol):
    def cancel(self) -> None: ...


class EventBus(Protocol):
    async def publish(self, event: Event) -> None: ...

    def subscribe(self, topic: str, handler: Handler) -> Subscription: ...


@dataclass
class _InProcessSubscription:
    bus: InProcessEventBus
    topic: str
    handler: Handler

    def cancel(self) -> None:
        handlers = self.bus.handlers.get(self.topic)
        if handlers and self.handler in handlers:
            handlers.remove(self.handler)


class InProcessEventBus:
    """Delivers each event to the handlers subscribed to its topic in this process.

    A failing handler (a browser tab that went away) is logged and does not stop the others.
    """

    def __init__(self) -> None:
        self.handlers: dict[str, list[Handler]] = defaultdict(list)

    async def publish(self, event: Event) -> None:
        for handler in list(self.handlers.get(event.topic, ())):
            try:
                result = handler(event)
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                logger.exception("event handler failed for %s on %s", event.name, event.topic)

    def subscribe(self, topic: str, handler: Handler) -> Subscription:
        self.handlers[topic].append(handler)
        return _InProcessSubscription(self, topic, handler)


_bus: EventBus = InProcessEventBus()


def get_event_bus() -> EventBus:
    return _bus


def set_event_bus(bus: EventBus) -> None:
    global _bus  # one bus per process, replaced in tests or by a Redis bus
    _bus = bus


def publish_after_commit(session: AsyncSession, event: Event) -> None:
    """Queue ``event`` to be published once the session's unit of work commits."""

    async def publish() -> None:
        await get_event_bus().publish(event)

    after_commit(session, publish)
