"""A real HTTP server on 127.0.0.1 in a background thread, for playing a payment provider."""

from __future__ import annotations

import socket
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str  # with the query string, exactly as sent
    headers: dict[str, str]
    body: bytes

    @property
    def path_without_query(self) -> str:
        return urlsplit(self.path).path


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Responder = Callable[[ReceivedRequest], Answer]


class LocalServer:
    """Serves ``responder`` on a random free port until ``stop``; remembers every request."""

    def __init__(self, responder: Responder) -> None:
        self.received: list[ReceivedRequest] = []
        self.crashes: list[str] = []
        received, crashes = self.received, self.crashes

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = ReceivedRequest(
                    method=self.command,
                    path=self.path,
                    headers={key: value for key, value in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                received.append(request)
                try:
                    answer = responder(request)
                except Exception:
                    # A broken fake must fail the test loudly, not look like a provider outage.
                    crashes.append(traceback.format_exc())
                    answer = Answer(500, b"fake provider crashed")
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            # http.server dispatches to these names.
            do_GET = _handle  # noqa: N815
            do_POST = _handle  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: pytest shows failures; access logs would only be noise."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll keeps shutdown (once per test) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def unused_local_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: the provider is down."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
