"""A real HTTP server on 127.0.0.1 in a background thread, for playing an SMS gateway."""

from __future__ import annotations

import json
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    target: str  # path and query exactly as sent
    headers: dict[str, str]  # names as sent; use header() to look one up
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query_pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.target).query, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, content_type: str = "application/json") -> Answer:
        return cls(status, json.dumps(data, ensure_ascii=False).encode(), {"Content-Type": content_type})


Responder = Callable[[ReceivedRequest], Answer]


class LocalServer:
    """Serves ``responder`` on a free port until ``stop``; remembers every request."""

    def __init__(self, responder: Responder) -> None:
        self.received: list[ReceivedRequest] = []
        self.crashes: list[str] = []
        self.delay_seconds = 0.0  # answer this late: a gateway that hangs
        received, crashes, owner = self.received, self.crashes, self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = ReceivedRequest(
                    method=self.command,
                    target=self.path,
                    headers=dict(self.headers.items()),
                    body=self.rfile.read(length) if length else b"",
                )
                received.append(request)
                time.sleep(owner.delay_seconds)
                try:
                    answer = responder(request)
                except Exception:
                    # A broken fake must fail the test loudly, not pass for a provider outage.
                    crashes.append(traceback.format_exc())
                    answer = Answer(500, b"fake gateway crashed")
                try:
                    self.send_response(answer.status)
                    for key, value in answer.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout tests)

            do_GET = _handle  # noqa: N815 (http.server dispatches to these names)
            do_POST = _handle  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: access logs would only be noise in pytest's output."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def host_port(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host_port}"

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def unused_port() -> int:
    """A port on 127.0.0.1 where nothing listens: the gateway is down."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
