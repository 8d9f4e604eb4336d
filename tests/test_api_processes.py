"""`kassa api --workers 2` beside the rest of Kassa on PostgreSQL: the API answers from
several processes, and what they change reaches the other processes' event buses."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import make_url

from kassa.core.events import Event
from kassa.core.pg_events import PostgresEventBus, asyncpg_dsn
from tests.live import async_device_headers


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def own_database(database_url: str) -> AsyncIterator[str]:
    """A database of its own: the server processes commit for real."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several server processes need PostgreSQL")
    url = make_url(database_url).set(database=f"{make_url(database_url).database}_processes")
    admin = await asyncpg.connect(asyncpg_dsn(str(url.set(database="postgres").render_as_string(False))))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{url.database}"')
        yield url.render_as_string(hide_password=False)
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_the_api_in_two_processes_reaches_the_others(own_database: str, tmp_path: Path) -> None:
    environment = {**os.environ, "KASSA_DATABASE_URL": own_database, "KASSA_VAR_DIR": str(tmp_path / "var")}
    kassa = [sys.executable, "-m", "kassa.cli"]
    seeded = await asyncio.create_subprocess_exec(
        *kassa, "demo", env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _output, errors = await asyncio.wait_for(seeded.communicate(), timeout=120)
    assert seeded.returncode == 0, errors.decode()

    port = _free_port()
    with (tmp_path / "api.log").open("w") as log:
        server = await asyncio.create_subprocess_exec(
            *kassa, "api", "--workers", "2", "--port", str(port), env=environment, stdout=log, stderr=log
        )
    listener = PostgresEventBus(own_database)  # stands for `kassa run`, whose registers listen
    await listener.start()
    try:
        seen: list[Event] = []
        listener.subscribe("store:1", seen.append)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                assert server.returncode is None, (tmp_path / "api.log").read_text()
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, (tmp_path / "api.log").read_text()
                    await asyncio.sleep(0.2)
            assert (await client.get("/")).status_code == 404  # no UI in these processes

            login = await client.post(
                "/api/v1/auth/pin",
                json={"register_id": 1, "staff_id": 3, "pin": "3333"},
                headers=await async_device_headers(client),
            )
            headers = {"Authorization": f"Bearer {login.json()['token']}"}
            opened = await client.post("/api/v1/bills", json={"order_type": "takeaway"}, headers=headers)
            assert opened.status_code == 201, opened.text

            for _ in range(100):
                if any(event.name == "bill.opened" for event in seen):
                    break
                await asyncio.sleep(0.05)
            assert [event.payload["bill_id"] for event in seen if event.name == "bill.opened"] == [
                opened.json()["id"]
            ]
        # Two processes serve; on a loaded machine the second may still be starting.
        deadline = time.monotonic() + 60
        while (tmp_path / "api.log").read_text().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, (tmp_path / "api.log").read_text()
            await asyncio.sleep(0.2)
    finally:
        await listener.stop()
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=30)
