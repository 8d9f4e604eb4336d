"""Delivery to a real local TCP server standing in for a printer's raw port, and to files."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kassa.core.settings import get_settings, make_private_directory
from kassa.printing import (
    PrinterUnavailable,
    parse_destination,
    render_escpos,
    send_to_printer,
    send_to_printer_async,
)
from kassa.printing.printers import FileDestination, TcpDestination

from .factories import make_receipt


@dataclass
class FakePrinter:
    """A raw-port printer on 127.0.0.1: accepts one connection and keeps every byte."""

    port: int
    received: bytearray = field(default_factory=bytearray)
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def destination(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"


@pytest.fixture
def fake_printer() -> Iterator[FakePrinter]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)
    printer = FakePrinter(port=server.getsockname()[1])

    def serve() -> None:
        with server:
            connection, _ = server.accept()
            with connection:
                while chunk := connection.recv(65536):
                    printer.received.extend(chunk)
        printer.finished.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield printer
    thread.join(timeout=10)


PRINTERS = Path("/srv/kassa/var/printers")


def free_port() -> int:
    """A port nobody listens on: bound once, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_receipt_bytes_arrive_intact(fake_printer: FakePrinter) -> None:
    # Given a rendered Chinese receipt
    data = render_escpos(make_receipt(locale="zh_CN"), 48)

    # When it is sent to the printer's raw port
    send_to_printer(fake_printer.destination, data, timeout_seconds=2)

    # Then the printer received exactly those bytes
    assert fake_printer.finished.wait(5)
    assert bytes(fake_printer.received) == data


def test_a_large_job_arrives_intact(fake_printer: FakePrinter) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB, every byte value

    send_to_printer(fake_printer.destination, data, timeout_seconds=5)

    assert fake_printer.finished.wait(5)
    assert bytes(fake_printer.received) == data


async def test_async_wrapper_delivers(fake_printer: FakePrinter) -> None:
    data = render_escpos(make_receipt(), 32)

    await send_to_printer_async(fake_printer.destination, data, timeout_seconds=2)

    assert fake_printer.finished.wait(5)
    assert bytes(fake_printer.received) == data


def test_closed_port_is_unavailable_at_once() -> None:
    # Given a port with no printer behind it
    destination = f"tcp://127.0.0.1:{free_port()}"

    # When a job is sent there
    started = time.monotonic()
    with pytest.raises(PrinterUnavailable) as raised:
        send_to_printer(destination, b"\x1b@hello", timeout_seconds=1)

    # Then it fails as unavailable (to retry later), within the timeout
    assert time.monotonic() - started < 1.5
    assert raised.value.code == "printer_unavailable"
    assert destination in raised.value.detail


def test_printer_that_stops_reading_times_out() -> None:
    # Given a printer that accepts the connection but never reads (paper out, jammed)
    with socket.create_server(("127.0.0.1", 0)) as server:
        destination = f"tcp://127.0.0.1:{server.getsockname()[1]}"

        # When a job far larger than the socket buffers is sent with a short timeout
        started = time.monotonic()
        with pytest.raises(PrinterUnavailable, match="stopped taking data"):
            send_to_printer(destination, b"\x00" * (64 * 1024 * 1024), timeout_seconds=0.5)

        # Then it gives up after about the timeout, not never
        assert time.monotonic() - started < 3


async def test_async_wrapper_raises_unavailable() -> None:
    with pytest.raises(PrinterUnavailable):
        await send_to_printer_async(f"tcp://127.0.0.1:{free_port()}", b"x", timeout_seconds=1)


@pytest.fixture
def printers() -> Path:
    """The var directory's printers folder: the only place printer files may be."""
    return make_private_directory(get_settings().printers_dir)


def test_file_destination_appends(printers: Path, tmp_path: Path) -> None:
    # Given a spool file that already holds a job
    spool = printers / f"{tmp_path.name}.bin"
    spool.write_bytes(b"first job|")

    # When two more jobs are delivered
    send_to_printer(f"file://{spool}", b"second job|")
    send_to_printer(f"file://{spool}", b"third job")

    # Then they are appended in order
    assert spool.read_bytes() == b"first job|second job|third job"


def test_missing_device_node_is_unavailable(printers: Path) -> None:
    # A file in a folder that is not there (yet): it may be there later.
    with pytest.raises(PrinterUnavailable, match="lp0"):
        send_to_printer(f"file://{printers}/usb/lp0", b"x")


@pytest.mark.parametrize(
    ("destination", "expected"),
    [
        ("tcp://192.168.1.50:9100", TcpDestination("192.168.1.50", 9100)),
        ("tcp://kitchen-printer.local:9101", TcpDestination("kitchen-printer.local", 9101)),
        ("tcp://192.168.1.50", TcpDestination("192.168.1.50", 9100)),
        (" tcp://192.168.1.50:9100/ ", TcpDestination("192.168.1.50", 9100)),
        ("tcp://[fd00::50]:9100", TcpDestination("fd00::50", 9100)),
        ("file:///srv/kassa/var/printers/receipts.escpos", FileDestination(PRINTERS / "receipts.escpos")),
        ("file://localhost/srv/kassa/var/printers/bar%20one.bin", FileDestination(PRINTERS / "bar one.bin")),
        ("file:///srv/kassa/var/printers/usb/../kitchen.bin", FileDestination(PRINTERS / "kitchen.bin")),
    ],
)
def test_parse_destination(destination: str, expected: object) -> None:
    assert parse_destination(destination, PRINTERS) == expected


@pytest.mark.parametrize(
    ("destination", "message"),
    [
        ("", "must start with tcp:// or file://"),
        ("192.168.1.50:9100", "must start with tcp:// or file://"),
        ("http://192.168.1.50:9100", "must start with tcp:// or file://"),
        ("tcp://", "has no host"),
        ("tcp://:9100", "has no host"),
        ("tcp://printer:abc", "invalid port"),
        ("tcp://printer:70000", "invalid port"),
        ("tcp://printer:0", "invalid port"),
        ("tcp://printer:9100/queue", "only tcp://host:port"),
        ("tcp://user:secret@printer:9100", "only tcp://host:port"),
        ("tcp://printer:9100?copies=2", "query or fragment"),
        ("tcp://[::1", "not a valid URL"),
        ("file://dev/usb/lp0", "names a host"),
        ("file:relative/path", "absolute file path"),
        ("file:///", "absolute file path"),
        ("file:///etc/passwd", "outside the printers folder"),
        ("file:///dev/usb/lp0", "outside the printers folder"),
        ("file:///srv/kassa/var/printers/../secret.key", "outside the printers folder"),
        ("file:///srv/kassa/var/printers", "outside the printers folder"),
        ("file:///srv/kassa/var/printers-evil/x.bin", "outside the printers folder"),
        ("ftp://printer/x", "must start with tcp:// or file://"),
        ("ipp://printer:631", "must start with tcp:// or file://"),
        ("tcp://printer:65536", "invalid port"),
        ("tcp://printer:-1", "invalid port"),
    ],
)
def test_invalid_destination_is_a_value_error(destination: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_destination(destination, PRINTERS)


@pytest.mark.parametrize(
    "destination", ["file:///etc/passwd", "file:///tmp/x.bin", "ftp://printer/x", "tcp://printer:70000"]
)
def test_a_destination_outside_the_rules_is_refused_at_print_time_too(destination: str) -> None:
    # A destination stored before the rules (or written into the database by hand) is still
    # checked when the job is sent, and nothing is written.
    with pytest.raises(ValueError, match=r"outside the printers folder|must start with|invalid port"):
        send_to_printer(destination, b"x")
    assert not Path("/tmp/x.bin").exists()


def test_a_symbolic_link_out_of_the_printers_folder_is_refused(printers: Path, tmp_path: Path) -> None:
    # Given a link in the printers folder that points at a file elsewhere
    target = tmp_path / "outside.txt"
    target.write_bytes(b"precious")
    link = printers / f"{tmp_path.name}-link.bin"
    link.symlink_to(target)
    # When a job is sent to the link, then it is refused and the file elsewhere is untouched
    with pytest.raises(ValueError, match="outside the printers folder"):
        send_to_printer(f"file://{link}", b"overwritten")
    assert target.read_bytes() == b"precious"


def test_printer_files_and_their_folder_are_private(printers: Path, tmp_path: Path) -> None:
    spool = printers / f"{tmp_path.name}-private.bin"
    send_to_printer(f"file://{spool}", b"job")
    assert spool.stat().st_mode & 0o777 == 0o600
    assert printers.stat().st_mode & 0o777 == 0o700


def test_timeout_must_be_positive(printers: Path) -> None:
    with pytest.raises(ValueError, match="timeout_seconds"):
        send_to_printer(f"file://{printers}/never-written.bin", b"x", timeout_seconds=0)
