"""The outbox: messages commit with the change, and the worker delivers them at least once,
retrying with backoff, giving up when told or after the last attempt, and never handing
one message to two workers in the same round."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from kassa.core.database import Database, utc_now
from kassa.core.events import Event, InProcessEventBus
from kassa.core.outbox import (
    DEAD_EVENT,
    DELIVERED_EVENT,
    RETRYING_EVENT,
    ClaimedMessage,
    OutboxMessage,
    OutboxStatus,
    OutboxWorker,
    PermanentFailure,
    RetryLater,
    enqueue,
    list_messages,
    pending_summary,
    retry_delay,
)
from kassa.stores.models import Organization
from tests.factories import make_organization

KIND = "test.ping"
STORE_ID = 7  # the outbox keeps no foreign key to stores
IS_POSTGRES = os.environ.get("KASSA_TEST_DATABASE_URL", "").startswith("postgresql")


@dataclass
class Clock:
    """The worker's clock, moved by hand. It starts ahead of the real time, so messages
    enqueued during the test (stamped with the real time) are already due."""

    moment: datetime = field(default_factory=lambda: utc_now() + timedelta(minutes=5))

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@dataclass
class ScriptedHandler:
    """Raises the given errors one per call, then succeeds; records every call."""

    errors: list[Exception] = field(default_factory=list)
    received: list[ClaimedMessage] = field(default_factory=list)

    async def __call__(self, message: ClaimedMessage) -> None:
        self.received.append(message)
        if self.errors:
            raise self.errors.pop(0)


@dataclass
class BlockingHandler:
    """Waits until released, then succeeds or raises ``error``: a printer that hangs."""

    error: Exception | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, message: ClaimedMessage) -> None:
        self.started.set()
        await self.release.wait()
        if self.error is not None:
            raise self.error


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store_events(event_bus: InProcessEventBus) -> list[Event]:
    received: list[Event] = []
    event_bus.subscribe(f"store:{STORE_ID}", received.append)
    return received


async def enqueue_committed(
    database: Database,
    kind: str = KIND,
    *,
    dedupe_key: str | None = None,
    max_attempts: int = 12,
    not_before: datetime | None = None,
) -> int:
    async with database.unit_of_work() as session:
        message = await enqueue(
            session,
            kind,
            {"text": "hello"},
            store_id=STORE_ID,
            dedupe_key=dedupe_key,
            max_attempts=max_attempts,
            not_before=not_before,
        )
    return message.id


async def load(database: Database, message_id: int) -> OutboxMessage:
    async with database.read_only() as session:
        message = await session.get(OutboxMessage, message_id, populate_existing=True)
    assert message is not None
    return message


def event(name: str, message_id: int, attempts: int, last_error: str | None, kind: str = KIND) -> Event:
    return Event(
        f"store:{STORE_ID}",
        name,
        {"id": message_id, "kind": kind, "attempts": attempts, "last_error": last_error},
    )


# --- writing ------------------------------------------------------------------------------


async def test_a_message_commits_with_the_business_change(database: Database) -> None:
    # When a change and its message are written in one unit of work
    async with database.unit_of_work() as session:
        organization = await make_organization(session, name="Outbox Org")
        message = await enqueue(session, KIND, {"text": "hello"}, store_id=STORE_ID)

    # Then both are there, the message waiting for its first attempt
    stored = await load(database, message.id)
    assert (stored.kind, stored.payload, stored.store_id) == (KIND, {"text": "hello"}, STORE_ID)
    assert (stored.status, stored.attempts, stored.max_attempts) == (OutboxStatus.PENDING, 0, 12)
    assert (stored.lease_expires_at, stored.last_error, stored.sent_at) == (None, None, None)
    assert stored.next_attempt_at == stored.created_at
    async with database.read_only() as session:
        assert await session.get(Organization, organization.id) is not None


async def test_a_rolled_back_change_leaves_no_message(database: Database) -> None:
    async def failing_change() -> None:
        async with database.unit_of_work() as session:
            await make_organization(session, name="Never Org")
            await enqueue(session, KIND, {"text": "hello"}, store_id=STORE_ID, dedupe_key="never")
            raise RuntimeError("the sale failed")

    with pytest.raises(RuntimeError, match="the sale failed"):
        await failing_change()

    async with database.read_only() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert await session.scalar(select(func.count()).where(Organization.name == "Never Org")) == 0


async def test_the_same_dedupe_key_gives_one_message(database: Database) -> None:
    # Given a message for a business event
    async with database.unit_of_work() as session:
        first = await enqueue(session, KIND, {"n": 1}, store_id=STORE_ID, dedupe_key="receipt:bill:42")
        # enqueued twice in the same transaction
        again = await enqueue(session, KIND, {"n": 2}, store_id=STORE_ID, dedupe_key="receipt:bill:42")

    # When the event is enqueued again later (a retried request)
    async with database.unit_of_work() as session:
        later = await enqueue(session, KIND, {"n": 3}, store_id=STORE_ID, dedupe_key="receipt:bill:42")

    # Then there is one message, the first one
    assert again.id == first.id
    assert later.id == first.id
    assert later.payload == {"n": 1}
    async with database.read_only() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


async def test_max_attempts_must_allow_one_attempt(database: Database) -> None:
    async with database.unit_of_work() as session:
        with pytest.raises(ValueError, match="max_attempts must be at least 1"):
            await enqueue(session, KIND, {}, max_attempts=0)


# --- delivering ---------------------------------------------------------------------------


async def test_a_message_is_delivered_once_with_its_payload(
    database: Database, clock: Clock, store_events: list[Event]
) -> None:
    message_id = await enqueue_committed(database, dedupe_key="ping:1")
    handler = ScriptedHandler()
    worker = OutboxWorker(database, {KIND: handler}, now=clock)

    assert await worker.run_once() == 1

    [received] = handler.received
    assert (received.id, received.kind, dict(received.payload)) == (message_id, KIND, {"text": "hello"})
    assert (received.store_id, received.attempts, received.max_attempts) == (STORE_ID, 1, 12)
    assert received.dedupe_key == "ping:1"
    stored = await load(database, message_id)
    assert (stored.status, stored.attempts, stored.sent_at) == (OutboxStatus.SENT, 1, clock.moment)
    assert (stored.lease_expires_at, stored.last_error) == (None, None)
    assert store_events == [event(DELIVERED_EVENT, message_id, 1, None)]

    # A sent message is never handed over again
    clock.advance(3600)
    assert await worker.run_once() == 0
    assert len(handler.received) == 1


async def test_a_failing_handler_is_retried_with_backoff(
    database: Database, clock: Clock, store_events: list[Event]
) -> None:
    # Given a handler that fails twice; jitter 0.5 makes each delay 3/4 of 2**attempts s
    message_id = await enqueue_committed(database)
    handler = ScriptedHandler(errors=[ConnectionError("gateway down"), RetryLater("printer off")])
    worker = OutboxWorker(database, {KIND: handler}, now=clock, jitter=lambda: 0.5)

    # When the first attempt fails
    assert await worker.run_once() == 1
    first_failure = clock.moment

    # Then the message waits 1.5 s
    stored = await load(database, message_id)
    assert (stored.status, stored.attempts) == (OutboxStatus.PENDING, 1)
    assert stored.next_attempt_at == first_failure + timedelta(seconds=1.5)
    assert stored.last_error == "ConnectionError: gateway down"
    clock.advance(1.4)
    assert await worker.run_once() == 0

    # And after the second failure 3 s
    clock.advance(0.1)
    assert await worker.run_once() == 1
    stored = await load(database, message_id)
    assert stored.attempts == 2
    assert stored.next_attempt_at == clock.moment + timedelta(seconds=3)
    assert stored.last_error == "RetryLater: printer off"

    # When it is due again, it is delivered
    clock.advance(3)
    assert await worker.run_once() == 1
    stored = await load(database, message_id)
    assert (stored.status, stored.attempts, stored.last_error) == (OutboxStatus.SENT, 3, None)
    assert [message.attempts for message in handler.received] == [1, 2, 3]
    assert store_events == [
        event(RETRYING_EVENT, message_id, 1, "ConnectionError: gateway down"),
        event(RETRYING_EVENT, message_id, 2, "RetryLater: printer off"),
        event(DELIVERED_EVENT, message_id, 3, None),
    ]


async def test_retry_later_can_name_the_delay(database: Database, clock: Clock) -> None:
    message_id = await enqueue_committed(database)
    handler = ScriptedHandler(errors=[RetryLater("rate limited", after_seconds=120)])
    worker = OutboxWorker(database, {KIND: handler}, now=clock)

    await worker.run_once()

    stored = await load(database, message_id)
    assert stored.next_attempt_at == clock.moment + timedelta(seconds=120)


async def test_a_permanent_failure_is_dead_at_once(
    database: Database, clock: Clock, store_events: list[Event]
) -> None:
    message_id = await enqueue_committed(database)
    handler = ScriptedHandler(errors=[PermanentFailure("phone number does not exist")])
    worker = OutboxWorker(database, {KIND: handler}, now=clock)

    assert await worker.run_once() == 1

    stored = await load(database, message_id)
    assert (stored.status, stored.attempts) == (OutboxStatus.DEAD, 1)
    assert stored.last_error == "PermanentFailure: phone number does not exist"
    assert store_events == [event(DEAD_EVENT, message_id, 1, stored.last_error)]
    clock.advance(3600)
    assert await worker.run_once() == 0


async def test_the_last_failed_attempt_makes_the_message_dead(
    database: Database, clock: Clock, store_events: list[Event]
) -> None:
    message_id = await enqueue_committed(database, max_attempts=3)
    handler = ScriptedHandler(errors=[OSError("no route")] * 5)
    worker = OutboxWorker(database, {KIND: handler}, now=clock)

    for _ in range(3):
        assert await worker.run_once() == 1
        clock.advance(300)

    stored = await load(database, message_id)
    assert (stored.status, stored.attempts, stored.last_error) == (OutboxStatus.DEAD, 3, "OSError: no route")
    assert [item.name for item in store_events] == [RETRYING_EVENT, RETRYING_EVENT, DEAD_EVENT]
    clock.advance(3600)
    assert await worker.run_once() == 0
    assert len(handler.received) == 3


async def test_a_handler_that_hangs_is_given_up_and_retried(database: Database, clock: Clock) -> None:
    message_id = await enqueue_committed(database)
    worker = OutboxWorker(database, {KIND: BlockingHandler()}, now=clock, handler_timeout_seconds=0.05)

    assert await worker.run_once() == 1

    stored = await load(database, message_id)
    assert (stored.status, stored.attempts) == (OutboxStatus.PENDING, 1)
    assert stored.last_error == "TimeoutError: no answer within 0.05 s"


async def test_kinds_without_a_handler_are_left_alone(database: Database, clock: Clock) -> None:
    message_id = await enqueue_committed(database, kind="sms.send")
    worker = OutboxWorker(database, {KIND: ScriptedHandler()}, now=clock)

    assert await worker.run_once() == 0

    stored = await load(database, message_id)
    assert (stored.status, stored.attempts) == (OutboxStatus.PENDING, 0)


async def test_a_message_not_before_a_time_waits_for_it(database: Database, clock: Clock) -> None:
    message_id = await enqueue_committed(database, not_before=clock.moment + timedelta(hours=1))
    handler = ScriptedHandler()
    worker = OutboxWorker(database, {KIND: handler}, now=clock)

    assert await worker.run_once() == 0
    clock.advance(3600)
    assert await worker.run_once() == 1
    assert [message.id for message in handler.received] == [message_id]


# --- leases -------------------------------------------------------------------------------


async def _start_and_stop_in_handler(worker: OutboxWorker, handler: BlockingHandler) -> None:
    """Run a round until the handler has the message, then kill the worker there."""
    task = asyncio.create_task(worker.run_once())
    await asyncio.wait_for(handler.started.wait(), 5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_message_whose_worker_died_is_taken_again_after_its_lease(
    database: Database, clock: Clock
) -> None:
    # Given a worker that died while its handler was sending
    message_id = await enqueue_committed(database)
    hanging = BlockingHandler()
    await _start_and_stop_in_handler(OutboxWorker(database, {KIND: hanging}, now=clock), hanging)
    stored = await load(database, message_id)
    assert (stored.status, stored.attempts) == (OutboxStatus.IN_FLIGHT, 1)
    assert stored.lease_expires_at == clock.moment + timedelta(seconds=60)

    # When another worker looks while the lease holds, it leaves the message alone
    handler = ScriptedHandler()
    other = OutboxWorker(database, {KIND: handler}, now=clock)
    clock.advance(59)
    assert await other.run_once() == 0

    # Then once the lease has expired it takes the message and delivers it
    clock.advance(1)
    assert await other.run_once() == 1
    assert [message.attempts for message in handler.received] == [2]
    stored = await load(database, message_id)
    assert (stored.status, stored.attempts) == (OutboxStatus.SENT, 2)


async def test_a_lease_that_expires_on_the_last_attempt_makes_the_message_dead(
    database: Database, clock: Clock, store_events: list[Event]
) -> None:
    message_id = await enqueue_committed(database, max_attempts=1)
    hanging = BlockingHandler()
    await _start_and_stop_in_handler(OutboxWorker(database, {KIND: hanging}, now=clock), hanging)

    clock.advance(60)
    handler = ScriptedHandler()
    assert await OutboxWorker(database, {KIND: handler}, now=clock).run_once() == 0

    assert handler.received == []
    stored = await load(database, message_id)
    assert (stored.status, stored.attempts) == (OutboxStatus.DEAD, 1)
    assert stored.last_error == "the worker stopped during the last attempt (lease expired)"
    assert store_events == [event(DEAD_EVENT, message_id, 1, stored.last_error)]


async def test_a_worker_that_lost_its_lease_does_not_overwrite_the_new_outcome(
    database: Database, clock: Clock
) -> None:
    # Given a worker whose handler hangs past the lease and then fails
    message_id = await enqueue_committed(database)
    slow = BlockingHandler(error=RetryLater("printer off"))
    slow_worker = OutboxWorker(database, {KIND: slow}, now=clock)
    slow_round = asyncio.create_task(slow_worker.run_once())
    await asyncio.wait_for(slow.started.wait(), 5)

    # When another worker takes the message over and delivers it
    clock.advance(61)
    assert await OutboxWorker(database, {KIND: ScriptedHandler()}, now=clock).run_once() == 1
    slow.release.set()
    assert await slow_round == 1

    # Then the late failure does not send the delivered message round again
    stored = await load(database, message_id)
    assert (stored.status, stored.attempts, stored.last_error) == (OutboxStatus.SENT, 2, None)


# --- one message at a time -------------------------------------------------------------


class Crash(BaseException):
    """The process dying in the middle of a round (not an error a handler reports)."""


async def enqueue_to(
    database: Database, destination: str | None, count: int, *, max_attempts: int | None = 12
) -> list[int]:
    payload: dict[str, str] = {} if destination is None else {"destination": destination}
    async with database.unit_of_work() as session:
        return [
            (
                await enqueue(
                    session, KIND, {**payload, "n": str(n)}, store_id=STORE_ID, max_attempts=max_attempts
                )
            ).id
            for n in range(count)
        ]


async def statuses(database: Database, message_ids: list[int]) -> list[OutboxStatus]:
    return [(await load(database, message_id)).status for message_id in message_ids]


@pytest.mark.parametrize("crash_after", [0, 1, 4, 7])
async def test_a_round_that_crashes_after_n_messages_leaves_exactly_those_n_sent(
    database: Database, clock: Clock, crash_after: int
) -> None:
    # Given eight receipts for one printer, and a worker that dies while sending number N+1
    message_ids = await enqueue_to(database, "tcp://printer:9100", 8)
    sent: list[int] = []

    async def print_then_crash(message: ClaimedMessage) -> None:
        if len(sent) == crash_after:
            raise Crash
        sent.append(message.id)

    worker = OutboxWorker(database, {KIND: print_then_crash}, now=clock)
    with pytest.raises(Crash):
        await worker.run_once()

    # Then the N printed ones are recorded as sent, in queue order, and nothing else is
    assert sent == message_ids[:crash_after]
    assert await statuses(database, message_ids) == [OutboxStatus.SENT] * crash_after + [
        OutboxStatus.IN_FLIGHT
    ] * (8 - crash_after)

    # And after the lease, another worker prints the rest: only the one in flight again at most
    clock.advance(60)
    again = ScriptedHandler()
    assert await OutboxWorker(database, {KIND: again}, now=clock).run_once() == 8 - crash_after
    assert [message.id for message in again.received] == message_ids[crash_after:]
    assert await statuses(database, message_ids) == [OutboxStatus.SENT] * 8


class SettleCountingWorker(OutboxWorker):
    settled = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settled_two = asyncio.Event()

    async def _settle_one(self, *args: Any, **kwargs: Any) -> datetime | None:
        retry_at = await super()._settle_one(*args, **kwargs)
        self.settled += 1
        if self.settled == 2:
            self.settled_two.set()
        return retry_at


async def test_messages_without_a_destination_are_each_recorded_as_soon_as_sent(
    database: Database, clock: Clock
) -> None:
    # Given three SMS: one delivered at once, one hanging, one failing
    message_ids = await enqueue_to(database, None, 3)
    delivered = asyncio.Event()
    hanging = asyncio.Event()

    async def handle(message: ClaimedMessage) -> None:
        if message.id == message_ids[0]:
            delivered.set()
            return
        if message.id == message_ids[1]:
            await hanging.wait()
            return
        raise OSError("gateway down")

    worker = SettleCountingWorker(database, {KIND: handle}, now=clock)
    round_ = asyncio.create_task(worker.run_once())
    await asyncio.wait_for(delivered.wait(), 5)
    await asyncio.wait_for(worker.settled_two.wait(), 5)

    # Then those two are recorded while the round still waits for the hanging one
    assert await statuses(database, message_ids) == [
        OutboxStatus.SENT,
        OutboxStatus.IN_FLIGHT,
        OutboxStatus.PENDING,
    ]
    hanging.set()
    assert await round_ == 3
    assert (await load(database, message_ids[1])).status is OutboxStatus.SENT


async def test_a_printer_that_is_off_keeps_its_queue_in_order_without_counting_attempts(
    database: Database, clock: Clock
) -> None:
    # Given three receipts for a printer that is off, and one for a printer that works
    off = await enqueue_to(database, "tcp://off:9100", 3)
    [works] = await enqueue_to(database, "tcp://on:9100", 1)
    received: list[int] = []

    async def handle(message: ClaimedMessage) -> None:
        received.append(message.id)
        if message.payload["destination"] == "tcp://off:9100":
            raise RetryLater("printer off")

    # When a round runs
    worker = OutboxWorker(database, {KIND: handle}, now=clock, jitter=lambda: 0.5)
    assert await worker.run_once() == 4

    # Then only the first receipt of the printer that is off was tried; the others wait
    # with it, untried; the other printer printed
    assert sorted(received) == sorted([off[0], works])
    first, *rest = [await load(database, message_id) for message_id in off]
    assert (first.status, first.attempts, first.last_error) == (
        OutboxStatus.PENDING,
        1,
        "RetryLater: printer off",
    )
    assert [(item.status, item.attempts) for item in rest] == [(OutboxStatus.PENDING, 0)] * 2
    assert {item.next_attempt_at for item in rest} == {first.next_attempt_at}
    assert (await load(database, works)).status is OutboxStatus.SENT

    # And when the printer is back, they print in queue order
    received.clear()
    clock.advance(3600)
    printed: list[int] = []

    async def print_in_order(message: ClaimedMessage) -> None:
        printed.append(message.id)

    assert await OutboxWorker(database, {KIND: print_in_order}, now=clock).run_once() == 3
    assert printed == off


async def test_a_message_waiting_its_turn_in_a_lane_gets_a_full_lease_when_its_turn_comes(
    database: Database, clock: Clock
) -> None:
    # Given two receipts for one printer, the first of which takes 50 s to print
    first, second = await enqueue_to(database, "tcp://slow:9100", 2)
    leases: dict[int, datetime | None] = {}

    async def slow_printer(message: ClaimedMessage) -> None:
        leases[message.id] = (await load(database, message.id)).lease_expires_at
        clock.advance(50)

    await OutboxWorker(database, {KIND: slow_printer}, now=clock).run_once()

    # Then the second's lease was renewed when its turn came: no other worker takes it over
    # while it prints (its claim-time lease would have had 10 s left)
    claimed_at = clock.moment - timedelta(seconds=100)
    assert leases == {
        first: claimed_at + timedelta(seconds=60),
        second: claimed_at + timedelta(seconds=50 + 60),
    }
    assert await statuses(database, [first, second]) == [OutboxStatus.SENT] * 2


async def test_a_message_without_max_attempts_is_tried_until_it_is_sent(
    database: Database, clock: Clock
) -> None:
    [message_id] = await enqueue_to(database, "tcp://off:9100", 1, max_attempts=None)
    handler = ScriptedHandler(errors=[RetryLater("printer off")] * 40)
    worker = OutboxWorker(database, {KIND: handler}, now=clock, jitter=lambda: 1.0)

    for attempt in range(1, 41):
        assert await worker.run_once() == 1
        stored = await load(database, message_id)
        assert (stored.status, stored.attempts) == (OutboxStatus.PENDING, attempt)
        # The wait between tries never grows beyond five minutes
        assert stored.next_attempt_at - clock.moment <= timedelta(minutes=5)
        clock.advance(300)

    assert await worker.run_once() == 1
    assert (await load(database, message_id)).status is OutboxStatus.SENT
    assert handler.received[-1].max_attempts is None


# --- reading ------------------------------------------------------------------------------


async def test_pending_summary_counts_what_still_waits_per_kind(database: Database, clock: Clock) -> None:
    # Given two waiting print jobs, one dead, one sent, an SMS and another store's job
    async with database.unit_of_work() as session:
        waiting = [await enqueue(session, "print.document", {}, store_id=STORE_ID) for _ in range(2)]
        dead = await enqueue(session, "print.document", {}, store_id=STORE_ID, max_attempts=1)
        sent = await enqueue(session, "print.document", {}, store_id=STORE_ID)
        sms = await enqueue(session, "sms.send", {}, store_id=STORE_ID)
        await enqueue(session, "print.document", {}, store_id=STORE_ID + 1)

    async def fail_dead_deliver_sent(message: ClaimedMessage) -> None:
        if message.id == dead.id:
            raise OSError("printer off")

    # The oldest two are claimed first: the waiting ones stay in flight, as if printing
    hanging = BlockingHandler()
    hanging_worker = OutboxWorker(database, {"print.document": hanging}, now=clock, batch_size=2)
    await _start_and_stop_in_handler(hanging_worker, hanging)
    worker = OutboxWorker(database, {"print.document": fail_dead_deliver_sent}, now=clock, batch_size=2)
    assert await worker.run_once() == 2  # the dead one and the sent one

    async with database.read_only() as session:
        summary = await pending_summary(session, STORE_ID)
        everything = await list_messages(session, STORE_ID)
        dead_ones = await list_messages(session, STORE_ID, OutboxStatus.DEAD)
        in_flight = await list_messages(session, STORE_ID, OutboxStatus.IN_FLIGHT)
        prints = await list_messages(session, STORE_ID, kind="print.document", limit=2)

    assert summary == {"print.document": 2, "sms.send": 1}
    assert [item.id for item in everything] == [sms.id, sent.id, dead.id, waiting[1].id, waiting[0].id]
    assert [item.id for item in dead_ones] == [dead.id]
    assert [item.id for item in in_flight] == [waiting[1].id, waiting[0].id]
    assert [item.id for item in prints] == [sent.id, dead.id]


@given(attempts=st.integers(min_value=1, max_value=1000), fraction=st.floats(min_value=0, max_value=1))
def test_retry_delay_doubles_up_to_five_minutes_with_jitter_in_the_upper_half(
    attempts: int, fraction: float
) -> None:
    base = min(300.0, 2.0**attempts)
    assert base / 2 <= retry_delay(attempts, fraction) <= base


def test_retry_delay_examples() -> None:
    assert [retry_delay(attempts, 1.0) for attempts in (1, 2, 3, 8, 9, 12)] == [2, 4, 8, 256, 300, 300]
    assert retry_delay(1, 0.0) == 1


# --- several workers, real commits -----------------------------------------------------------


@pytest.fixture
async def committed(migrated_database: Database) -> AsyncIterator[Database]:
    """The test database with real commits (no test transaction); the rows of the kinds
    these tests use are deleted afterwards."""
    yield migrated_database
    async with migrated_database.unit_of_work() as session:
        await session.execute(delete(OutboxMessage).where(OutboxMessage.kind.like("committed.%")))


async def test_run_forever_wakes_when_a_message_is_committed(committed: Database) -> None:
    kind = "committed.wake"
    delivered = asyncio.Event()

    async def handle(message: ClaimedMessage) -> None:
        delivered.set()

    # Given a worker that would poll only every minute
    stop = asyncio.Event()
    worker = OutboxWorker(committed, {kind: handle}, poll_seconds=60)
    running = asyncio.create_task(worker.run_forever(stop))
    await asyncio.sleep(0.2)  # the first round finds nothing; the worker waits

    # When a message is committed in this process, the worker is woken at once
    async with committed.unit_of_work() as session:
        message = await enqueue(session, kind, {})
    await asyncio.wait_for(delivered.wait(), 5)

    # And it stops when asked
    stop.set()
    await asyncio.wait_for(running, 5)
    assert (await load(committed, message.id)).status is OutboxStatus.SENT


async def test_two_workers_never_deliver_the_same_message_in_one_round(committed: Database) -> None:
    kind = "committed.concurrent"
    async with committed.unit_of_work() as session:
        message_ids = [(await enqueue(session, kind, {"n": n})).id for n in range(40)]
    deliveries: list[tuple[str, int]] = []

    def handler_of(worker_name: str) -> Callable[[ClaimedMessage], Awaitable[None]]:
        async def handle(message: ClaimedMessage) -> None:
            deliveries.append((worker_name, message.id))
            await asyncio.sleep(0.01)  # the other worker claims meanwhile

        return handle

    async def drain(worker: OutboxWorker) -> int:
        total = 0
        while claimed := await worker.run_once():
            total += claimed
        return total

    workers = [OutboxWorker(committed, {kind: handler_of(name)}, batch_size=4) for name in ("a", "b")]
    totals = await asyncio.gather(*(drain(worker) for worker in workers))

    assert sorted(message_id for _, message_id in deliveries) == message_ids
    assert sum(totals) == 40
    assert all(total > 0 for total in totals), totals
    async with committed.read_only() as session:
        statuses = await session.scalars(select(OutboxMessage.status).where(OutboxMessage.kind == kind))
        assert set(statuses) == {OutboxStatus.SENT}


@pytest.mark.skipif(not IS_POSTGRES, reason="row locks: SQLite locks the whole database instead")
async def test_a_claim_skips_messages_another_worker_is_claiming(committed: Database) -> None:
    kind = "committed.locked"
    async with committed.unit_of_work() as session:
        message_ids = [(await enqueue(session, kind, {})).id for _ in range(4)]
    handler = ScriptedHandler()
    worker = OutboxWorker(committed, {kind: handler})

    # Given another worker in the middle of claiming the first two
    async with committed.engine.connect() as other_worker:
        await other_worker.begin()
        await other_worker.execute(
            select(OutboxMessage.id).where(OutboxMessage.id.in_(message_ids[:2])).with_for_update()
        )

        # When this worker claims, it neither waits nor takes those two
        assert await asyncio.wait_for(worker.run_once(), 5) == 2
        assert sorted(message.id for message in handler.received) == message_ids[2:]
        await other_worker.rollback()

    # Then once they are free, they are delivered too
    assert await worker.run_once() == 2
    assert sorted(message.id for message in handler.received) == message_ids
