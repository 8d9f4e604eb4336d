"""Start a Kassa server on a fresh database, and measure concurrent HTTP clients."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kilobytes = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kilobytes / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){memory}, Python {platform.python_version()}, {platform.system()}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _recreate_postgres(url: str) -> None:
    import asyncpg
    from sqlalchemy import make_url

    parsed = make_url(url)

    async def recreate() -> None:
        connection = await asyncpg.connect(
            host=parsed.host, port=parsed.port or 5432, user=parsed.username, database="postgres"
        )
        await connection.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{parsed.database}"')
        await connection.close()

    asyncio.run(recreate())


def database_urls() -> dict[str, str]:
    """The databases to benchmark: a fresh SQLite file, and PostgreSQL if configured."""
    urls = {"sqlite": ""}
    postgres = os.environ.get("KASSA_BENCH_POSTGRES_URL")
    if postgres:
        urls["postgresql"] = postgres.rstrip("/") + "/kassa_bench"
    return urls


@contextmanager
def _process(command: list[str], environment: dict[str, str], log_path: Path, base_url: str) -> Iterator[str]:
    """A Kassa server process, once it answers ``/readyz``; stopped when the block ends."""
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise RuntimeError(log_path.read_text())
                try:
                    if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            yield base_url
        finally:
            process.terminate()
            process.wait(timeout=15)


@contextmanager
def running_server(database: str, database_url: str, *, api_workers: int = 0) -> Iterator[str]:
    """`kassa run` with the demo store on a fresh database; yields the base URL.

    With ``api_workers`` (PostgreSQL), `kassa api --workers N` serves beside it and the
    URL is theirs: the API in several processes, as a busy deployment runs it.
    """
    with tempfile.TemporaryDirectory(prefix="kassa-bench-") as directory:
        if database == "sqlite":
            database_url = f"sqlite+aiosqlite:///{directory}/kassa.db"
        else:
            _recreate_postgres(database_url)
        port = _free_port()
        environment = {
            **os.environ,
            "KASSA_DATABASE_URL": database_url,
            "KASSA_VAR_DIR": f"{directory}/var",
            "KASSA_PORT": str(port),
            "KASSA_ENABLE_UI": "false",
        }
        if api_workers:
            environment["KASSA_EVENT_BUS"] = "postgres"
        kassa = [sys.executable, "-m", "kassa.cli"]
        base_url = f"http://127.0.0.1:{port}"
        with _process([*kassa, "run"], environment, Path(directory) / "server.log", base_url):
            if not api_workers:
                yield base_url
                return
            api_port = _free_port()
            with _process(
                [*kassa, "api", "--workers", str(api_workers), "--port", str(api_port)],
                environment,
                Path(directory) / "api.log",
                f"http://127.0.0.1:{api_port}",
            ) as api_url:
                yield api_url


@dataclass(frozen=True)
class LoadResult:
    operations: int
    failures: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def summary(self, unit: str) -> str:
        median = statistics.median(self.latencies_ms) if self.latencies_ms else 0.0
        return (
            f"{self.per_second:8.1f} {unit}/s  p50 {median:6.1f} ms  p99 {self.percentile(0.99):6.1f} ms  "
            f"({self.operations} ok, {self.failures} failed, {self.seconds:.1f} s)"
        )


class Reply:
    """An HTTP answer, read whole: status code and JSON body."""

    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code = status_code
        self._body = body

    def json(self) -> Any:
        return json.loads(self._body)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}: {self._body[:500]!r}")


class BenchClient:
    """The load generator's HTTP client: aiohttp, because httpx costs several times more CPU
    per request, and the load generator shares the cores with the server it measures
    (with httpx, 32 clients could not drive more than ~550 requests/s of ``/healthz``)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def get(self, path: str, *, headers: dict[str, str] | None = None) -> Reply:
        async with self._session.get(path, headers=headers) as response:
            return Reply(response.status, await response.read())

    async def post(self, path: str, *, json: Any = None, headers: dict[str, str] | None = None) -> Reply:
        async with self._session.post(path, json=json, headers=headers) as response:
            return Reply(response.status, await response.read())


async def pin_login(http: BenchClient, register_id: int, staff_id: int, pin: str) -> dict[str, str]:
    """A register session, as the register does it: the demo owner sets a device up as
    ``register_id`` (as /setup does), and the staff member types their PIN on it."""
    owner = await http.post(
        "/api/v1/auth/password", json={"email": "owner@kassa.demo", "password": "kassa-owner-demo"}
    )
    owner.raise_for_status()
    device = await http.post(
        f"/api/v1/registers/{register_id}/devices",
        json={"name": "bench"},
        headers={"Authorization": f"Bearer {owner.json()['token']}"},
    )
    device.raise_for_status()
    login = await http.post(
        "/api/v1/auth/pin",
        json={"register_id": register_id, "staff_id": staff_id, "pin": pin},
        headers={"X-Kassa-Device": device.json()["token"]},
    )
    login.raise_for_status()
    return {"Authorization": f"Bearer {login.json()['token']}"}


async def run_load(
    clients: int,
    duration_seconds: float,
    make_operation: Callable[[BenchClient, int], Awaitable[Callable[[], Awaitable[bool]]]],
    base_url: str,
) -> LoadResult:
    """``clients`` concurrent loops, each repeating its operation until the time is up.

    ``make_operation`` prepares a client's state (log in, ...) and returns the operation;
    only the operation is timed. Bounded in time, and it stops by itself.
    """
    latencies: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as session:
        http = BenchClient(session)
        operations = [await make_operation(http, index) for index in range(clients)]
        started = time.perf_counter()
        deadline = started + duration_seconds

        async def loop(operation: Callable[[], Awaitable[bool]]) -> None:
            nonlocal failures
            while time.perf_counter() < deadline:
                begin = time.perf_counter()
                try:
                    ok = await operation()
                except aiohttp.ClientError:
                    ok = False
                if ok:
                    latencies.append((time.perf_counter() - begin) * 1000)
                else:
                    failures += 1

        await asyncio.gather(*(loop(operation) for operation in operations))
        elapsed = time.perf_counter() - started
    return LoadResult(len(latencies), failures, elapsed, latencies)
