"""Delivery to a real local TCP server standing in for a printer's raw port, and to files."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

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


def test_file_destination_appends(tmp_path: Path) -> None:
    # Given a spool file that already holds a job
    spool = tmp_path / "printer.bin"
    spool.write_bytes(b"first job|")

    # When two more jobs are delivered
    send_to_printer(f"file://{spool}", b"second job|")
    send_to_printer(f"file://{spool}", b"third job")

    # Then they are appended in order
    assert spool.read_bytes() == b"first job|second job|third job"


def test_missing_device_node_is_unavailable(tmp_path: Path) -> None:
    # An unplugged USB printer has no device node; it may be plugged back in.
    with pytest.raises(PrinterUnavailable, match="lp0"):
        send_to_printer(f"file://{tmp_path}/usb/lp0", b"x")


@pytest.mark.parametrize(
    ("destination", "expected"),
    [
        ("tcp://192.168.1.50:9100", TcpDestination("192.168.1.50", 9100)),
        ("tcp://kitchen-printer.local:9101", TcpDestination("kitchen-printer.local", 9101)),
        ("tcp://192.168.1.50", TcpDestination("192.168.1.50", 9100)),
        (" tcp://192.168.1.50:9100/ ", TcpDestination("192.168.1.50", 9100)),
        ("tcp://[fd00::50]:9100", TcpDestination("fd00::50", 9100)),
        ("file:///dev/usb/lp0", FileDestination(Path("/dev/usb/lp0"))),
        ("file://localhost/var/spool/kassa%20demo.bin", FileDestination(Path("/var/spool/kassa demo.bin"))),
    ],
)
def test_parse_destination(destination: str, expected: object) -> None:
    assert parse_destination(destination) == expected


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
    ],
)
def test_invalid_destination_is_a_value_error(destination: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        send_to_printer(destination, b"x")


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout_seconds"):
        send_to_printer("file:///tmp/never-written.bin", b"x", timeout_seconds=0)
