"""Print jobs through the outbox: rendered when queued, delivered to a real local TCP port
by the worker (in the server's lifespan or `kassa worker`), retried while the printer is
off, printed once it is back."""

from __future__ import annotations

import asyncio
import base64
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select as select_rows

from kassa.core.database import Database, utc_now
from kassa.core.errors import ValidationFailed
from kassa.core.events import Event, InProcessEventBus
from kassa.core.outbox import (
    DEAD_EVENT,
    DELIVERED_EVENT,
    RETRYING_EVENT,
    Handler,
    OutboxMessage,
    OutboxStatus,
    OutboxWorker,
    enqueue,
    retry_delay,
)
from kassa.core.settings import Settings, get_settings, make_private_directory
from kassa.printing import PaperWidth, render_escpos, render_text
from kassa.printing.service import (
    PRINT_DOCUMENT_KIND,
    PrintJob,
    enqueue_print,
    list_print_jobs,
    register_print_handlers,
)
from kassa.web.app import create_app

from .factories import make_kitchen_ticket, make_receipt
from .test_printers import free_port

STORE_ID = 3
WIDTH = PaperWidth.WIDTH_80_MM


@dataclass
class Clock:
    moment: datetime = field(default_factory=lambda: utc_now() + timedelta(minutes=5))

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@dataclass
class PrinterServer:
    """A printer's raw port on 127.0.0.1: every connection is one job, kept whole."""

    port: int
    jobs: list[bytes] = field(default_factory=list)
    job_arrived: threading.Event = field(default_factory=threading.Event)

    @property
    def destination(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def wait_for_jobs(self, count: int, seconds: float = 10) -> list[bytes]:
        deadline = time.monotonic() + seconds
        while len(self.jobs) < count and time.monotonic() < deadline:
            self.job_arrived.wait(0.05)
        return list(self.jobs)


@contextmanager
def printer_on(port: int) -> Iterator[PrinterServer]:
    """Switch a printer on at ``port`` for the block."""
    server = socket.create_server(("127.0.0.1", port))
    server.settimeout(0.1)
    printer = PrinterServer(port)
    switched_off = threading.Event()

    def serve() -> None:
        with server:
            while not switched_off.is_set():
                try:
                    connection, _ = server.accept()
                except TimeoutError:
                    continue
                with connection:
                    connection.settimeout(10)
                    job = bytearray()
                    while chunk := connection.recv(65536):
                        job.extend(chunk)
                printer.jobs.append(bytes(job))
                printer.job_arrived.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield printer
    finally:
        switched_off.set()
        thread.join(timeout=10)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def handlers() -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    register_print_handlers(handlers)
    return handlers


@pytest.fixture
def store_events(event_bus: InProcessEventBus) -> list[Event]:
    received: list[Event] = []
    event_bus.subscribe(f"store:{STORE_ID}", received.append)
    return received


async def load(database: Database, message_id: int) -> OutboxMessage:
    async with database.read_only() as session:
        message = await session.get(OutboxMessage, message_id, populate_existing=True)
    assert message is not None
    return message


async def queue_receipt(
    database: Database, destination: str, *, dedupe_key: str | None = "receipt:B-0042", is_copy: bool = False
) -> int:
    async with database.unit_of_work() as session:
        message = await enqueue_print(
            session,
            store_id=STORE_ID,
            destination=destination,
            document=make_receipt(locale="zh_CN", is_copy=is_copy),
            width=WIDTH,
            dedupe_key=dedupe_key,
        )
    return message.id


def test_print_handlers_are_registered_by_kind(handlers: dict[str, Handler]) -> None:
    assert list(handlers) == [PRINT_DOCUMENT_KIND] == ["print.document"]


# --- queuing ------------------------------------------------------------------------------


async def test_a_print_job_holds_the_rendered_bytes_and_a_preview(database: Database) -> None:
    receipt = make_receipt(locale="zh_CN")

    message_id = await queue_receipt(database, "tcp://192.0.2.10:9100")

    stored = await load(database, message_id)
    assert (stored.kind, stored.store_id, stored.dedupe_key) == ("print.document", STORE_ID, "receipt:B-0042")
    assert stored.payload == {
        "destination": "tcp://192.0.2.10:9100",
        "data": base64.b64encode(render_escpos(receipt, WIDTH)).decode("ascii"),
        "preview": render_text(receipt, WIDTH),
        "document_type": "receipt",
        "bill_number": "B-0042",
        "is_copy": False,
        "width": 48,
    }


async def test_a_kitchen_ticket_is_queued_as_one(database: Database) -> None:
    ticket = make_kitchen_ticket(is_urgent=True)
    async with database.unit_of_work() as session:
        message = await enqueue_print(
            session,
            store_id=STORE_ID,
            destination=f"file://{get_settings().printers_dir}/kitchen.escpos",
            document=ticket,
            width=PaperWidth.WIDTH_58_MM,
            dedupe_key=None,
        )
    stored = await load(database, message.id)
    assert stored.payload["document_type"] == "kitchen_ticket"
    assert stored.payload["width"] == 32
    assert base64.b64decode(stored.payload["data"]) == render_escpos(ticket, PaperWidth.WIDTH_58_MM)
    assert "!!! URGENT !!!" in stored.payload["preview"]


async def test_a_sale_rolled_back_prints_nothing(database: Database) -> None:
    async def failing_sale() -> None:
        async with database.unit_of_work() as session:
            await enqueue_print(
                session,
                store_id=STORE_ID,
                destination="tcp://192.0.2.10:9100",
                document=make_receipt(),
                width=WIDTH,
                dedupe_key="receipt:B-0042",
            )
            raise RuntimeError("payment declined")

    with pytest.raises(RuntimeError):
        await failing_sale()
    async with database.read_only() as session:
        assert await session.scalar(select_rows(func.count()).select_from(OutboxMessage)) == 0


async def test_a_receipt_is_queued_once_and_a_copy_is_a_new_job(database: Database) -> None:
    first = await queue_receipt(database, "tcp://192.0.2.10:9100")
    again = await queue_receipt(database, "tcp://192.0.2.10:9100")
    copy = await queue_receipt(database, "tcp://192.0.2.10:9100", dedupe_key=None, is_copy=True)

    async with database.read_only() as session:
        jobs = await list_print_jobs(session, STORE_ID)
    assert again == first
    assert [(job.id, job.is_copy) for job in jobs] == [(copy, True), (first, False)]
    assert "*** 副本 ***" in jobs[0].preview
    assert "*** 副本 ***" not in jobs[1].preview


async def test_a_destination_that_can_never_work_is_refused_at_once(database: Database) -> None:
    async with database.unit_of_work() as session:
        with pytest.raises(ValidationFailed) as refused:
            await enqueue_print(
                session,
                store_id=STORE_ID,
                destination="lpt1",
                document=make_receipt(),
                width=WIDTH,
                dedupe_key=None,
            )
    assert refused.value.field == "destination"
    assert "must start with tcp:// or file://" in refused.value.detail


# --- delivering ---------------------------------------------------------------------------


async def test_a_receipt_waits_for_a_printer_that_is_off_and_prints_once_it_is_on(
    database: Database, clock: Clock, handlers: dict[str, Handler], store_events: list[Event]
) -> None:
    # Given a receipt for a printer that is switched off (nothing listens on its port)
    port = free_port()
    message_id = await queue_receipt(database, f"tcp://127.0.0.1:{port}")
    worker = OutboxWorker(database, handlers, now=clock, jitter=lambda: 0.5)
    unavailable = f"RetryLater: printer at tcp://127.0.0.1:{port} is unavailable"

    # When the worker tries twice
    for attempt in (1, 2):
        assert await worker.run_once() == 1
        stored = await load(database, message_id)
        assert (stored.status, stored.attempts) == (OutboxStatus.PENDING, attempt)
        assert stored.last_error is not None
        assert stored.last_error.startswith(unavailable)
        assert stored.next_attempt_at == clock.moment + timedelta(seconds=retry_delay(attempt, 0.5))
        async with database.read_only() as session:
            [job] = await list_print_jobs(session, STORE_ID, (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT))
        assert (job.id, job.status, job.attempts) == (message_id, OutboxStatus.PENDING, attempt)
        clock.advance(retry_delay(attempt, 0.5))

    # Then, once the printer is on, the next attempt prints the receipt, byte for byte, once
    with printer_on(port) as printer:
        assert await worker.run_once() == 1
        clock.advance(3600)
        assert await worker.run_once() == 0
        jobs = await asyncio.to_thread(printer.wait_for_jobs, 1)
        await asyncio.sleep(0.2)  # a second job, were there one, would be here by now
        assert printer.jobs == jobs == [render_escpos(make_receipt(locale="zh_CN"), WIDTH)]

    stored = await load(database, message_id)
    assert (stored.status, stored.attempts, stored.last_error) == (OutboxStatus.SENT, 3, None)
    assert [(event.name, event.payload["attempts"]) for event in store_events] == [
        (RETRYING_EVENT, 1),
        (RETRYING_EVENT, 2),
        (DELIVERED_EVENT, 3),
    ]
    assert str(store_events[0].payload["last_error"]).startswith(unavailable)


async def test_a_receipt_for_a_printer_off_all_night_never_dies_and_is_tried_every_five_minutes(
    database: Database, clock: Clock, handlers: dict[str, Handler]
) -> None:
    # Given a receipt for a printer switched off for the night (far more tries than any limit)
    port = free_port()
    message_id = await queue_receipt(database, f"tcp://127.0.0.1:{port}")
    worker = OutboxWorker(database, handlers, now=clock, jitter=lambda: 1.0)
    assert (await load(database, message_id)).max_attempts is None

    for attempt in range(1, 31):
        assert await worker.run_once() == 1
        stored = await load(database, message_id)
        # Then it still waits after every failed try, never more than five minutes apart
        assert (stored.status, stored.attempts) == (OutboxStatus.PENDING, attempt)
        assert stored.next_attempt_at - clock.moment <= timedelta(minutes=5)
        clock.advance(300)

    # And in the morning the printer prints it
    with printer_on(port) as printer:
        assert await worker.run_once() == 1
        assert await asyncio.to_thread(printer.wait_for_jobs, 1) == [
            render_escpos(make_receipt(locale="zh_CN"), WIDTH)
        ]
    assert (await load(database, message_id)).status is OutboxStatus.SENT


async def test_a_malformed_print_job_is_dead_at_once(
    database: Database, clock: Clock, handlers: dict[str, Handler], store_events: list[Event]
) -> None:
    # Written past enqueue_print, which would have refused it
    async with database.unit_of_work() as session:
        bad_destination = await enqueue(
            session, PRINT_DOCUMENT_KIND, {"destination": "lpt1", "data": ""}, store_id=STORE_ID
        )
        no_data = await enqueue(
            session, PRINT_DOCUMENT_KIND, {"destination": "tcp://127.0.0.1:9"}, store_id=STORE_ID
        )

    assert await OutboxWorker(database, handlers, now=clock).run_once() == 2

    for message_id, error in (
        (bad_destination.id, "PermanentFailure: printer destination 'lpt1' must start with tcp://"),
        (no_data.id, f"PermanentFailure: print job {no_data.id} is malformed: KeyError('data')"),
    ):
        stored = await load(database, message_id)
        assert (stored.status, stored.attempts) == (OutboxStatus.DEAD, 1)
        assert stored.last_error is not None
        assert stored.last_error.startswith(error)
    assert {event.name for event in store_events} == {DEAD_EVENT}


async def test_the_server_prints_queued_receipts_while_it_runs(
    database: Database, settings: Settings
) -> None:
    # Given a receipt queued for a printer that is on
    port = free_port()
    with printer_on(port) as printer:
        message_id = await queue_receipt(database, printer.destination)

        # When the server runs with its own worker
        app = create_app(settings.model_copy(update={"run_worker_in_process": True}), database)
        async with app.router.lifespan_context(app):
            jobs = await asyncio.to_thread(printer.wait_for_jobs, 1)

    # Then the receipt was printed, and recorded as sent before the server stopped
    assert jobs == [render_escpos(make_receipt(locale="zh_CN"), WIDTH)]
    stored = await load(database, message_id)
    assert (stored.status, stored.attempts) == (OutboxStatus.SENT, 1)


async def test_print_jobs_list_shows_what_the_register_needs(database: Database) -> None:
    message_id = await queue_receipt(database, "tcp://192.0.2.10:9100")

    async with database.read_only() as session:
        [job] = await list_print_jobs(session, STORE_ID)
        assert await list_print_jobs(session, STORE_ID, OutboxStatus.DEAD) == []
        assert await list_print_jobs(session, STORE_ID + 1) == []

    assert job == PrintJob(
        id=message_id,
        destination="tcp://192.0.2.10:9100",
        document_type="receipt",
        bill_number="B-0042",
        is_copy=False,
        preview=render_text(make_receipt(locale="zh_CN"), WIDTH),
        status=OutboxStatus.PENDING,
        attempts=0,
        last_error=None,
        created_at=job.created_at,
        sent_at=None,
    )


# --- `kassa worker` -------------------------------------------------------------------------


async def _queue_receipt_in(database_url: str, destination: str) -> None:
    database = Database(database_url)
    try:
        await queue_receipt(database, destination)
    finally:
        await database.dispose()


def test_kassa_worker_prints_jobs_another_process_queues_and_stops_on_sigterm(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'kassa.db'}"
    # The worker and this test (which queues the job) share the var directory: a printer
    # file must be in its printers folder.
    var_dir = get_settings().var_dir
    environment = {**os.environ, "KASSA_DATABASE_URL": database_url, "KASSA_VAR_DIR": str(var_dir)}
    command = [sys.executable, "-m", "kassa.cli"]
    upgraded = subprocess.run(
        [*command, "db", "upgrade"], env=environment, capture_output=True, text=True, timeout=120, check=False
    )
    assert upgraded.returncode == 0, upgraded.stderr

    # Given a running worker
    worker = subprocess.Popen(
        [*command, "worker"], env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert worker.stdout is not None
        ready, _, _ = select.select([worker.stdout], [], [], 60)
        assert ready, "the worker did not start"
        assert worker.stdout.readline() == "outbox worker running; stop it with Ctrl-C\n"

        # When another process queues a receipt for a spool file
        spool = make_private_directory(get_settings().printers_dir) / f"{tmp_path.name}.bin"
        # (its own event loop, in a thread: this test's thread belongs to pytest's loop)
        with ThreadPoolExecutor(1) as other_process:
            other_process.submit(asyncio.run, _queue_receipt_in(database_url, f"file://{spool}")).result()

        # Then the worker prints it within a few polls
        expected = render_escpos(make_receipt(locale="zh_CN"), WIDTH)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (spool.exists() and spool.stat().st_size >= len(expected)):
            time.sleep(0.1)
        assert spool.read_bytes() == expected

        # And SIGTERM stops it cleanly
        worker.send_signal(signal.SIGTERM)
        stdout, stderr = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, stderr
    assert stdout == "outbox worker stopped\n"
    assert "delivered" in stderr
