"""Authenticated API round trips: GET /api/v1/auth/me with a register session token (and,
once, ``/healthz`` without the database).

Every API call pays for this (token lookup, actor, unit of work), so it is the floor under
every other figure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bench.harness import BenchClient, database_urls, pin_login, run_load, running_server

CLIENTS = 32
SECONDS = 10.0


async def _operation(http: BenchClient, _index: int) -> Callable[[], Awaitable[bool]]:
    headers = await pin_login(http, 1, staff_id=3, pin="3333")

    async def me() -> bool:
        return (await http.get("/api/v1/auth/me", headers=headers)).status_code == 200

    return me


async def _no_database(http: BenchClient, _index: int) -> Callable[[], Awaitable[bool]]:
    """``GET /healthz``: the HTTP server and the framework alone, the ceiling of any request."""

    async def healthz() -> bool:
        return (await http.get("/healthz")).status_code == 200

    return healthz


def main() -> None:
    for database, url in database_urls().items():
        with running_server(database, url) as base_url:
            if database == "sqlite":
                floor = asyncio.run(run_load(CLIENTS, SECONDS, _no_database, base_url))
                print(f"healthz (no db)  {'':<10} {CLIENTS} clients: {floor.summary('requests')}")
            result = asyncio.run(run_load(CLIENTS, SECONDS, _operation, base_url))
        print(f"session_requests {database:<10} {CLIENTS} clients: {result.summary('requests')}")


if __name__ == "__main__":
    main()
