"""A pooled connection the database server dropped (a restart, a failover): the request
that meets it answers 503 with nothing stored, and the next one works on a new connection."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from kassa.core.database import Database
from kassa.core.pg_events import asyncpg_dsn
from kassa.core.settings import Settings
from kassa.web.app import create_app


async def test_a_dropped_connection_fails_one_request_with_503(
    settings: Settings, migrated_database: Database, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server connection to lose")
    database = Database(database_url)
    app = create_app(settings, database)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://kassa.test"
        ) as client:
            headers = {"Authorization": "Bearer not-a-session"}
            assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401
            async with database.read_only() as session:
                backend = await session.scalar(text("SELECT pg_backend_pid()"))

            killer = await asyncpg.connect(asyncpg_dsn(database_url))
            try:
                assert await killer.fetchval("SELECT pg_terminate_backend($1)", backend)
            finally:
                await killer.close()

            lost = await client.get("/api/v1/auth/me", headers=headers)
            assert lost.status_code == 503
            assert lost.headers["content-type"].startswith("application/problem+json")
            assert lost.json()["code"] == "database_unavailable"
            assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401
    finally:
        await database.dispose()
