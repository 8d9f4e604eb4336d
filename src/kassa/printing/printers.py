"""Delivery of rendered bytes to a printer named by a destination string.

``tcp://host:port``  a network printer's raw port (9100 when no port is given)
``file:///path``     appended to a file under the var directory's ``printers/`` folder
                     (the demo's spool files); nowhere else, so a printer setting can never
                     write into the system's files (``file:///etc/passwd``)

A printer that is off, unplugged or out of reach raises ``PrinterUnavailable`` so the
outbox that calls this keeps the job and retries later; a destination that can never work
raises ``ValueError`` at once.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Network

from kassa.core.errors import KassaError
from kassa.core.settings import PRIVATE_FILE_MODE, get_settings, make_private_directory

DEFAULT_TCP_PORT = 9100
# Long enough for a printer on a busy shop network, short enough to free the worker.
DEFAULT_TIMEOUT_SECONDS = 5.0


class PrinterUnavailable(KassaError):
    """The printer could not be reached or stopped taking data; trying later may work."""

    status = 503
    code = "printer_unavailable"
    title = "Printer unavailable"


@dataclass(frozen=True)
class TcpDestination:
    host: str
    port: int


@dataclass(frozen=True)
class FileDestination:
    path: Path


Destination = TcpDestination | FileDestination


def printers_directory() -> Path:
    """The var directory's ``printers/`` folder: the only place printer files may be."""
    return get_settings().printers_dir


def parse_destination(destination: str, printers_dir: Path | None = None) -> Destination:
    """``tcp://host[:port]`` or ``file:///absolute/path`` of a file inside ``printers_dir``
    (by default the var directory's ``printers/``; ``..`` and symbolic links are resolved
    first, so neither leads out of it); anything else is a ValueError that says what is
    wrong and shows the expected form."""
    try:
        parts = urlsplit(destination.strip())
    except ValueError as error:
        raise ValueError(f"printer destination {destination!r} is not a valid URL: {error}") from error
    if parts.query or parts.fragment:
        raise ValueError(f"printer destination {destination!r} must not have a query or fragment")
    if parts.scheme == "tcp":
        if not parts.hostname:
            raise ValueError(f"printer destination {destination!r} has no host; expected tcp://host:9100")
        if parts.path not in ("", "/") or parts.username or parts.password:
            raise ValueError(f"printer destination {destination!r} must be only tcp://host:port")
        try:
            port = parts.port
        except ValueError as error:
            raise ValueError(
                f"printer destination {destination!r} has an invalid port; expected 1-65535"
            ) from error
        if port is not None and not 1 <= port <= 65535:
            raise ValueError(f"printer destination {destination!r} has an invalid port; expected 1-65535")
        return TcpDestination(parts.hostname, port or DEFAULT_TCP_PORT)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(
                f"printer destination {destination!r} names a host; a file needs an absolute path "
                "such as file:///dev/usb/lp0"
            )
        folder = (printers_dir or printers_directory()).resolve()
        path = unquote(parts.path)
        if not path.startswith("/") or path == "/" or "\x00" in path:
            raise ValueError(
                f"printer destination {destination!r} needs an absolute file path such as "
                f"file://{folder}/receipts.escpos"
            )
        resolved = Path(path).resolve()
        if resolved == folder or not resolved.is_relative_to(folder):
            raise ValueError(
                f"printer destination {destination!r} is outside the printers folder; "
                f"a printer file must be in {folder}"
            )
        return FileDestination(resolved)
    raise ValueError(
        f"printer destination {destination!r} must start with tcp:// or file:// "
        "(e.g. tcp://192.168.1.50:9100 or a file in the var directory's printers folder)"
    )


class _NetworkPrinter(Network):  # type: ignore[misc]  # python-escpos ships no types
    """python-escpos's network printer, connecting with ``socket.create_connection``.

    The library's ``open`` leaves a socket whose connect failed to the garbage collector
    (a ResourceWarning on every retry of an unplugged printer) and speaks IPv4 only; this
    one closes it at once and resolves IPv6 as well. Sending and closing stay the library's.
    """

    def open(self, raise_not_found: bool = True) -> None:
        try:
            self.device = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as error:
            # The device stays unset (False), so close() has nothing to do.
            raise DeviceNotFoundError(f"Could not open socket for {self.host}:\n{error}") from error


def _send_tcp(destination: TcpDestination, data: bytes, timeout_seconds: float) -> None:
    printer = _NetworkPrinter(host=destination.host, port=destination.port, timeout=timeout_seconds)
    host = f"[{destination.host}]" if ":" in destination.host else destination.host
    where = f"tcp://{host}:{destination.port}"
    try:
        printer.open()
        printer._raw(data)
    except DeviceNotFoundError as error:
        # Refused connections, connect timeouts and unknown hosts alike.
        raise PrinterUnavailable(f"printer at {where} is unavailable: {error}") from error
    except OSError as error:
        raise PrinterUnavailable(f"printer at {where} stopped taking data: {error}") from error
    finally:
        printer.close()


def _append_file(destination: FileDestination, data: bytes) -> None:
    try:
        make_private_directory(printers_directory())
        # O_NOFOLLOW: a symbolic link swapped in after the check is not followed.
        descriptor = os.open(
            destination.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, PRIVATE_FILE_MODE
        )
        with os.fdopen(descriptor, "ab") as device:
            device.write(data)
    except OSError as error:
        # A USB printer that is unplugged has no device node; it may be back later.
        raise PrinterUnavailable(f"printer file {destination.path} is unavailable: {error}") from error


def send_to_printer(
    destination: str, data: bytes, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
) -> None:
    """Deliver ``data`` (ESC/POS bytes) to ``destination`` in one piece.

    Blocking: a network printer gets ``timeout_seconds`` to accept the connection and
    again to take all the data. A job cut off half-way may have printed in part; the retry
    prints it whole, so a torn receipt can come out twice, never none.
    Raises ``ValueError`` for a malformed destination and ``PrinterUnavailable`` when the
    printer cannot be reached or stops accepting data.
    """
    if timeout_seconds <= 0:
        raise ValueError(f"timeout_seconds must be positive, got {timeout_seconds}")
    parsed = parse_destination(destination)
    if isinstance(parsed, TcpDestination):
        _send_tcp(parsed, data, timeout_seconds)
    else:
        _append_file(parsed, data)


async def send_to_printer_async(
    destination: str, data: bytes, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
) -> None:
    """``send_to_printer`` in a worker thread, so the event loop never waits on a printer."""
    await asyncio.to_thread(send_to_printer, destination, data, timeout_seconds=timeout_seconds)
