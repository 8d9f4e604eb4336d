"""The outbox: side effects (printing, SMS, provider calls) as rows, sent after commit.

A service that wants something to happen outside the database calls ``enqueue`` in its
unit of work; the message is a row written in the same transaction as the business
change, so both commit together or not at all, and a crash after the commit loses
nothing. ``OutboxWorker`` sends the messages later through one handler per ``kind``:

1. **Claim** (one short transaction): take due messages (pending and due, or in flight
   with a lease that expired because their worker died), mark them in flight with a lease
   and count the attempt. On PostgreSQL the rows are locked ``FOR UPDATE SKIP LOCKED``, so
   two workers never take the same message; SQLite's write lock serialises claims anyway.
2. **Handle**, outside any transaction: the handler talks to the printer or the gateway.
   Messages to one destination (``payload["destination"]``, a printer) form a lane and
   are handed over one after another, in queue order (each gets a full lease when its
   turn comes); lanes run side by side, so one printer that is off holds up no other.
3. **Settle** each message in a short transaction of its own, right after its handler
   returned: sent, or back to pending with an exponential backoff with jitter (capped at
   five minutes), or dead (a ``PermanentFailure``, or the last attempt failed; a message
   with no ``max_attempts``, like a print job, is tried until it is sent or cancelled).
   When a lane's message fails for now, the rest of that lane go back to wait with it,
   their attempt not counted, so receipts still print in order. Each outcome is
   published as an event on the store's topic, so a register can show that its printer
   is off.

Staff see dead messages and send them again (``resend``) or cancel a message that still
waits (``cancel``); ``kassa.deliveries`` is their service.

Delivery is **at least once**: a worker that dies between the handler's success and the
settle transaction leaves the message in flight, and another worker sends it again once
the lease expires. Because each message is recorded as sent before the next of its lane
is handed over, a crash repeats at most the one message in flight per lane. Handlers
must therefore be idempotent by ``ClaimedMessage.id`` (send it as the provider's
idempotency key or request id). Where the far side cannot
deduplicate, as with a receipt printer, the rare duplicate is the price of never losing
one.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from sqlalchemy import (
    JSON,
    Index,
    Integer,
    Select,
    String,
    Text,
    and_,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from kassa.core.database import Base, Database, IdMixin, IdType, after_commit, enum_type, utc_now
from kassa.core.events import Event, publish_after_commit

logger = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 12
# A claimed message belongs to its worker for this long; after that another may take it.
DEFAULT_LEASE_SECONDS = 60.0
# Shorter than the lease, so a slow handler is given up before anyone else takes over.
DEFAULT_HANDLER_TIMEOUT_SECONDS = 30.0
DEFAULT_BATCH_SIZE = 10
# A worker not woken by an enqueue in this process (another process wrote the message,
# or a retry fell due) looks for work this often.
DEFAULT_POLL_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0
LAST_ERROR_LENGTH = 2000

DELIVERED_EVENT = "outbox.delivered"
RETRYING_EVENT = "outbox.retrying"
DEAD_EVENT = "outbox.dead"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    SENT = "sent"
    DEAD = "dead"
    # Staff called it off while it still waited (a receipt nobody wants any more).
    CANCELLED = "cancelled"


class OutboxMessage(IdMixin, Base):
    """One side effect to perform after commit, e.g. ``print.document`` or ``sms.send``."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_messages_status_lease_expires_at", "status", "lease_expires_at"),
        Index("ix_outbox_messages_store_id_status", "store_id", "status"),
    )

    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # No foreign key: core knows no stores, and a message may outlive what it was about.
    store_id: Mapped[int | None] = mapped_column(IdType)
    status: Mapped[OutboxStatus] = mapped_column(enum_type(OutboxStatus), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # None: tried until it is sent or staff cancel it (print jobs: a printer that is off
    # is no reason to lose a receipt).
    max_attempts: Mapped[int | None] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # One message per business event: "receipt:bill:42" enqueued twice is one message.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    sent_at: Mapped[datetime | None]


@dataclass(frozen=True)
class ClaimedMessage:
    """What a handler gets: a snapshot of the message as claimed, detached from any session.

    ``attempts`` counts this attempt (1 on the first try); ``max_attempts`` is None for a
    message tried until it is sent. Use ``id`` as the idempotency key towards the outside
    system: the same message can be handed over more than once.
    """

    id: int
    kind: str
    payload: Mapping[str, Any]
    store_id: int | None
    attempts: int
    max_attempts: int | None
    dedupe_key: str | None
    created_at: datetime

    @property
    def is_last_attempt(self) -> bool:
        return self.max_attempts is not None and self.attempts >= self.max_attempts

    @property
    def lane(self) -> tuple[str, str] | int:
        """Messages of one lane are handed over one after another, in queue order: those
        of a kind to one destination (a printer). Every other message is a lane alone."""
        destination = self.payload.get("destination")
        return (self.kind, str(destination)) if destination is not None else self.id


Handler = Callable[[ClaimedMessage], Awaitable[None]]


class RetryLater(Exception):
    """The handler could not do it now (printer off, gateway down); try again later.

    ``after_seconds`` overrides the backoff, e.g. with a provider's Retry-After.
    Any other exception from a handler is retried the same way.
    """

    def __init__(self, reason: str, *, after_seconds: float | None = None) -> None:
        super().__init__(reason)
        self.after_seconds = after_seconds


class PermanentFailure(Exception):
    """The message can never succeed (malformed, refused for good): dead at once."""


# --- writing ------------------------------------------------------------------------------


_wake_listeners: set[Callable[[], None]] = set()


def notify_enqueued() -> None:
    """Wake the workers of this process: a message was committed."""
    for listener in list(_wake_listeners):
        listener()


def _insert_ignoring_duplicate(session: AsyncSession, values: dict[str, Any]) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return (
            postgresql.insert(OutboxMessage)
            .values(values)
            .on_conflict_do_nothing(index_elements=[OutboxMessage.dedupe_key])
        )
    if dialect == "sqlite":
        return (
            sqlite.insert(OutboxMessage)
            .values(values)
            .on_conflict_do_nothing(index_elements=[OutboxMessage.dedupe_key])
        )
    return insert(OutboxMessage).values(values)


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    store_id: int | None = None,
    dedupe_key: str | None = None,
    max_attempts: int | None = DEFAULT_MAX_ATTEMPTS,
    not_before: datetime | None = None,
) -> OutboxMessage:
    """Queue a side effect in the caller's unit of work; it is sent only if that commits.

    ``payload`` must be JSON (bytes as base64). With a ``dedupe_key``, a business event
    enqueued again (a retried request, a second click) is a no-op that returns the message
    already there, whatever its status. ``not_before`` delays the first attempt.
    ``max_attempts=None``: tried until sent or cancelled, never dead.
    """
    if max_attempts is not None and max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    now = utc_now()
    values: dict[str, Any] = {
        "kind": kind,
        "payload": payload,
        "store_id": store_id,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "max_attempts": max_attempts,
        "next_attempt_at": not_before if not_before is not None else now,
        "dedupe_key": dedupe_key,
        "created_at": now,
    }
    if dedupe_key is None:
        message = OutboxMessage(**values)
        session.add(message)
        await session.flush()
    else:
        await session.execute(_insert_ignoring_duplicate(session, values))
        message = (
            await session.execute(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
        ).scalar_one()
    after_commit(session, notify_enqueued)
    return message


# --- reading ------------------------------------------------------------------------------

# Not sent yet and still being tried; dead messages no longer wait.
WAITING_STATUSES = (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT)


async def pending_summary(session: AsyncSession, store_id: int) -> dict[str, int]:
    """How many messages of each kind still wait to be sent for a store (pending or in
    flight; dead ones no longer wait): ``{"print.document": 2}``."""
    rows = await session.execute(
        select(OutboxMessage.kind, func.count())
        .where(OutboxMessage.store_id == store_id, OutboxMessage.status.in_(WAITING_STATUSES))
        .group_by(OutboxMessage.kind)
        .order_by(OutboxMessage.kind)
    )
    return {kind: count for kind, count in rows}


async def list_messages(
    session: AsyncSession,
    store_id: int,
    status: OutboxStatus | Collection[OutboxStatus] | None = None,
    limit: int = 100,
    *,
    kind: str | None = None,
) -> list[OutboxMessage]:
    """A store's messages, newest first, optionally of one status (or several) and kind."""
    query = select(OutboxMessage).where(OutboxMessage.store_id == store_id)
    if isinstance(status, OutboxStatus):
        query = query.where(OutboxMessage.status == status)
    elif status is not None:
        query = query.where(OutboxMessage.status.in_(list(status)))
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    result = await session.execute(query.order_by(OutboxMessage.id.desc()).limit(limit))
    return list(result.scalars().all())


# --- sending ------------------------------------------------------------------------------


def retry_delay(attempts: int, random_fraction: float) -> float:
    """Seconds to wait after failed attempt number ``attempts``: 2**attempts capped at 300,
    of which the upper half is jitter (``random_fraction`` in [0, 1]), so messages that
    failed together (a printer switched off) do not all come back in the same second."""
    base = min(BACKOFF_CAP_SECONDS, 2.0 ** min(attempts, 32))
    return base / 2 + base / 2 * random_fraction


def _snapshot(message: OutboxMessage) -> ClaimedMessage:
    return ClaimedMessage(
        id=message.id,
        kind=message.kind,
        payload=MappingProxyType(dict(message.payload)),
        store_id=message.store_id,
        attempts=message.attempts,
        max_attempts=message.max_attempts,
        dedupe_key=message.dedupe_key,
        created_at=message.created_at,
    )


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return text[:LAST_ERROR_LENGTH]


@dataclass(frozen=True)
class _Outcome:
    message: ClaimedMessage
    error: BaseException | None = None

    @property
    def is_permanent(self) -> bool:
        return isinstance(self.error, PermanentFailure)


def _publish_outcome(
    session: AsyncSession, name: str, message: ClaimedMessage, last_error: str | None
) -> None:
    if message.store_id is None:
        return  # only stores have screens to tell
    payload = {"id": message.id, "kind": message.kind, "attempts": message.attempts, "last_error": last_error}
    publish_after_commit(session, Event(f"store:{message.store_id}", name, payload))


class OutboxWorker:
    """Sends due outbox messages through ``handlers`` (one per kind); see the module doc.

    Kinds without a handler are left alone for a worker that has one. Several workers, in
    one process or many, may run at once. ``now`` is the clock (tests pass their own),
    ``jitter`` a source of fractions in [0, 1] for the backoff.
    """

    def __init__(
        self,
        database: Database,
        handlers: Mapping[str, Handler],
        *,
        now: Callable[[], datetime] = utc_now,
        jitter: Callable[[], float] = random.random,
        batch_size: int = DEFAULT_BATCH_SIZE,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        handler_timeout_seconds: float = DEFAULT_HANDLER_TIMEOUT_SECONDS,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        if handler_timeout_seconds >= lease_seconds:
            raise ValueError("handler_timeout_seconds must be shorter than lease_seconds")
        self.database = database
        self.handlers = dict(handlers)
        self.now = now
        self.jitter = jitter
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.handler_timeout_seconds = handler_timeout_seconds
        self.poll_seconds = poll_seconds
        # Handlers run side by side; their short settle transactions take turns, so a
        # round holds one connection for its writes whatever the number of lanes.
        self._writing = asyncio.Lock()

    def _due(self, now: datetime) -> Select[OutboxMessage]:
        return select(OutboxMessage).where(
            OutboxMessage.kind.in_(sorted(self.handlers)),
            or_(
                and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now),
                and_(OutboxMessage.status == OutboxStatus.IN_FLIGHT, OutboxMessage.lease_expires_at <= now),
            ),
        )

    async def _has_due(self, now: datetime) -> bool:
        # A plain read first: on SQLite an idle poll then never takes the write lock.
        async with self.database.read_only() as session:
            found = await session.scalar(self._due(now).with_only_columns(OutboxMessage.id).limit(1))
        return found is not None

    async def _claim(self, now: datetime) -> list[ClaimedMessage]:
        claimed: list[ClaimedMessage] = []
        async with self.database.unit_of_work() as session:
            query = (
                self._due(now)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            )
            # The rows are locked (PostgreSQL) or the database is (SQLite) until the commit,
            # so changing them here in Python races with no one.
            for message in (await session.execute(query)).scalars():
                if message.status is OutboxStatus.IN_FLIGHT and _snapshot(message).is_last_attempt:
                    # Its worker died during the last attempt; whether it got through is unknown.
                    message.status = OutboxStatus.DEAD
                    message.lease_expires_at = None
                    message.last_error = "the worker stopped during the last attempt (lease expired)"
                    logger.error("outbox message %s (%s) is dead: lease expired", message.id, message.kind)
                    _publish_outcome(session, DEAD_EVENT, _snapshot(message), message.last_error)
                    continue
                message.status = OutboxStatus.IN_FLIGHT
                message.attempts += 1
                message.lease_expires_at = now + timedelta(seconds=self.lease_seconds)
                claimed.append(_snapshot(message))
        return claimed

    async def _handle(self, message: ClaimedMessage) -> _Outcome:
        handler = self.handlers[message.kind]
        deadline = asyncio.timeout(self.handler_timeout_seconds)
        try:
            async with deadline:
                await handler(message)
        except Exception as error:  # every failure is retried unless it says it is permanent
            if isinstance(error, TimeoutError) and deadline.expired():
                return _Outcome(message, TimeoutError(f"no answer within {self.handler_timeout_seconds:g} s"))
            return _Outcome(message, error)
        return _Outcome(message)

    async def _settle_one(self, session: AsyncSession, outcome: _Outcome, now: datetime) -> datetime | None:
        """Record the outcome; returns when the message is tried again if it will be."""
        message = outcome.message
        # Fenced by the attempt number: if this worker's lease ran out and another worker
        # took the message over, that worker's attempt decides, not this one.
        owned = and_(
            OutboxMessage.id == message.id,
            OutboxMessage.status == OutboxStatus.IN_FLIGHT,
            OutboxMessage.attempts == message.attempts,
        )
        last_error = _describe(outcome.error) if outcome.error is not None else None
        if outcome.error is None:
            values: dict[str, Any] = {
                "status": OutboxStatus.SENT,
                "sent_at": now,
                "lease_expires_at": None,
                "last_error": None,
            }
            event_name = DELIVERED_EVENT
        elif outcome.is_permanent or message.is_last_attempt:
            values = {"status": OutboxStatus.DEAD, "lease_expires_at": None, "last_error": last_error}
            event_name = DEAD_EVENT
        else:
            after = outcome.error.after_seconds if isinstance(outcome.error, RetryLater) else None
            delay = after if after is not None else retry_delay(message.attempts, self.jitter())
            values = {
                "status": OutboxStatus.PENDING,
                "next_attempt_at": now + timedelta(seconds=max(delay, 0.0)),
                "lease_expires_at": None,
                "last_error": last_error,
            }
            event_name = RETRYING_EVENT
        settled = await session.execute(
            update(OutboxMessage).where(owned).values(values).returning(OutboxMessage.id)
        )
        if settled.first() is None:
            logger.warning(
                "outbox message %s (%s): attempt %s finished after its lease was taken over; ignored",
                message.id,
                message.kind,
                message.attempts,
            )
            return None
        if event_name == DELIVERED_EVENT:
            logger.info("outbox message %s (%s) delivered", message.id, message.kind)
        elif event_name == DEAD_EVENT:
            logger.error("outbox message %s (%s) is dead: %s", message.id, message.kind, last_error)
        else:
            logger.warning(
                "outbox message %s (%s) failed attempt %s of %s, retrying: %s",
                message.id,
                message.kind,
                message.attempts,
                message.max_attempts,
                last_error,
            )
        _publish_outcome(session, event_name, message, last_error)
        return values.get("next_attempt_at")

    async def _defer(self, message: ClaimedMessage, until: datetime) -> None:
        """Put a claimed message back to wait until ``until`` without counting its attempt:
        an earlier message of its lane failed, so it was not even tried."""
        async with self.database.unit_of_work() as session:
            await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message.id,
                    OutboxMessage.status == OutboxStatus.IN_FLIGHT,
                    OutboxMessage.attempts == message.attempts,
                )
                .values(
                    status=OutboxStatus.PENDING,
                    attempts=message.attempts - 1,
                    next_attempt_at=until,
                    lease_expires_at=None,
                )
            )

    async def _renew_lease(self, message: ClaimedMessage) -> bool:
        """A full lease for a message that waited its turn in its lane (the lease was
        counted from the claim); False if it is no longer this worker's."""
        async with self._writing, self.database.unit_of_work() as session:
            renewed = await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message.id,
                    OutboxMessage.status == OutboxStatus.IN_FLIGHT,
                    OutboxMessage.attempts == message.attempts,
                )
                .values(lease_expires_at=self.now() + timedelta(seconds=self.lease_seconds))
                .returning(OutboxMessage.id)
            )
            return renewed.first() is not None

    async def _run_lane(self, lane: list[ClaimedMessage]) -> None:
        # Each message is settled in its own transaction before the next is handed over:
        # a crash leaves at most the one in flight unrecorded.
        for index, message in enumerate(lane):
            if index > 0 and not await self._renew_lease(message):
                continue  # its lease ran out while it waited its turn; another worker has it
            outcome = await self._handle(message)
            async with self._writing, self.database.unit_of_work() as session:
                retry_at = await self._settle_one(session, outcome, self.now())
            if retry_at is not None:
                for waiting in lane[index + 1 :]:
                    async with self._writing:
                        await self._defer(waiting, retry_at)
                return

    async def run_once(self) -> int:
        """Claim one batch of due messages, hand them to their handlers (lanes side by
        side, so one unreachable printer does not hold up the others) and record each
        outcome as soon as it is known. Returns how many messages were claimed."""
        if not self.handlers:
            return 0
        now = self.now()
        if not await self._has_due(now):
            return 0
        claimed = await self._claim(now)
        if not claimed:
            return 0
        lanes: dict[tuple[str, str] | int, list[ClaimedMessage]] = {}
        for message in claimed:
            lanes.setdefault(message.lane, []).append(message)
        await asyncio.gather(*(self._run_lane(lane) for lane in lanes.values()))
        return len(claimed)

    async def run_forever(self, stop_event: asyncio.Event) -> None:
        """Send messages until ``stop_event`` is set: a batch after another while there is
        work, then wait for an enqueue in this process or ``poll_seconds``. A batch in
        progress is finished before stopping; a failing database is logged and retried."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def on_enqueued() -> None:
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the worker's loop has closed
                _wake_listeners.discard(on_enqueued)

        _wake_listeners.add(on_enqueued)
        try:
            while not stop_event.is_set():
                wake.clear()
                try:
                    processed = await self.run_once()
                except Exception:
                    logger.exception("outbox worker round failed; trying again in %s s", self.poll_seconds)
                    processed = 0
                if processed:
                    continue
                await _wait_for_any(stop_event, wake, seconds=self.poll_seconds)
        finally:
            _wake_listeners.discard(on_enqueued)


async def _wait_for_any(*events: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
