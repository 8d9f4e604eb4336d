"""Test database set-up: one database per pytest-xdist worker, schema made by Alembic,
each test inside a transaction that is rolled back at the end.

``KASSA_TEST_DATABASE_URL`` picks the server: unset means SQLite in a temporary folder;
``postgresql+asyncpg://postgres@127.0.0.1:5432/kassa_test`` means PostgreSQL, where each
worker gets its own fresh database named after that one.
"""

from __future__ import annotations

import os
import tempfile

# Cheap argon2 so hundreds of PIN logins stay fast; must be set before kassa reads settings.
os.environ.setdefault("KASSA_PASSWORD_HASH_PROFILE", "cheapest")
os.environ.setdefault("KASSA_ENABLE_UI", "false")
# Printer files and keys of the tests go to a temporary folder, never the checkout's var/.
os.environ.setdefault("KASSA_VAR_DIR", tempfile.mkdtemp(prefix="kassa-test-var-"))

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from kassa.core import migrations
from kassa.core.database import Database, create_engine, set_database
from kassa.core.events import InProcessEventBus, set_event_bus
from kassa.core.settings import Settings
from kassa.web.app import create_app


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    configured = os.environ.get("KASSA_TEST_DATABASE_URL")
    if not configured:
        path: Path = tmp_path_factory.mktemp("db") / f"kassa-{_worker()}.db"
        return f"sqlite+aiosqlite:///{path}"
    url = make_url(configured)
    return url.set(database=f"{url.database}_{_worker()}").render_as_string(hide_password=False)


async def _recreate_postgres_database(url: str) -> None:
    import asyncpg

    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database="postgres",
    )
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
async def migrated_database(database_url: str) -> AsyncIterator[Database]:
    if database_url.startswith("postgresql"):
        await _recreate_postgres_database(database_url)
    engine = create_engine(database_url)
    await migrations.upgrade(engine)
    yield Database(database_url, engine=engine)
    await engine.dispose()


@pytest.fixture
async def connection(migrated_database: Database) -> AsyncIterator[AsyncConnection]:
    async with migrated_database.engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        if transaction.is_active:
            await transaction.rollback()


@pytest.fixture
async def database(migrated_database: Database, connection: AsyncConnection) -> AsyncIterator[Database]:
    """The app's database, with every unit of work joined to the test's transaction."""
    # Every unit of work joins the one test connection, so they take turns on PostgreSQL
    # too (the outbox worker settles one lane while another lane's handler writes).
    bound = Database(migrated_database.url, engine=migrated_database.engine, writers_take_turns=True)
    bound.sessionmaker = async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    bound.read_only_sessionmaker = bound.sessionmaker
    set_database(bound)
    yield bound
    set_database(None)


@pytest.fixture
async def session(database: Database) -> AsyncIterator[AsyncSession]:
    async with database.sessionmaker() as session:
        yield session


@pytest.fixture
def event_bus() -> Iterator[InProcessEventBus]:
    bus = InProcessEventBus()
    set_event_bus(bus)
    yield bus
    set_event_bus(InProcessEventBus())


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, enable_ui=False, secret_key="test-secret")


@pytest.fixture
async def client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kassa.test") as client:
        yield client


pytest_plugins = ["tests.shop"]
