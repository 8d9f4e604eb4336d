"""Engine, base model and the unit of work.

One unit of work per request or UI action: the caller opens it, services only ``flush()``,
and the unit commits once at the end. After-commit hooks run once the commit succeeded
(events are published only for changes that really committed). The audit chain is
appended by a ``before_commit`` session event in ``core.audit``.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Enum, Integer, MetaData, event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
IdType = BigInteger().with_variant(Integer(), "sqlite")


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every database.

    SQLite has no time zone storage, so values are stored there as naive UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Kassa stores aware UTC datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


def enum_type(enum_class: type[StrEnum]) -> Enum:
    """A string enum stored by its values (``"owner"``), as VARCHAR on every database."""
    return Enum(
        enum_class,
        native_enum=False,
        length=max(len(member.value) for member in enum_class) + 10,
        values_callable=lambda members: [member.value for member in members],
    )


class IdMixin:
    id: Mapped[int] = mapped_column(IdType, primary_key=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


READ_ONLY_OPTION = "kassa_read_only"


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE.

    pysqlite's own transaction handling breaks SAVEPOINT and starts transactions lazily;
    taking the write lock at BEGIN means two writers queue on busy_timeout instead of
    failing when a read transaction tries to upgrade to a write.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        # Readers keep a deferred BEGIN: WAL lets them read while one writer works.
        is_read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if is_read_only else "BEGIN IMMEDIATE")


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo)
        _configure_sqlite(engine)
        return engine
    # No pre-ping: on asyncpg it costs three round trips per checkout. A connection the
    # server dropped fails its one request with a 503 (see web.problems) and is replaced.
    return create_async_engine(url, echo=echo, pool_size=20, max_overflow=20, pool_recycle=1800)


AfterCommitHook = Callable[[], Awaitable[None] | None]

_AFTER_COMMIT_KEY = "kassa_after_commit"


def after_commit(session: AsyncSession, hook: AfterCommitHook) -> None:
    """Run ``hook`` after this unit of work has committed; dropped on rollback."""
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append(hook)


async def commit(session: AsyncSession) -> None:
    """Commit the unit of work, then run its after-commit hooks."""
    await session.commit()
    after: list[AfterCommitHook] = session.info.pop(_AFTER_COMMIT_KEY, [])
    for after_hook in after:
        result = after_hook()
        if result is not None:
            await result


async def rollback(session: AsyncSession) -> None:
    session.info.pop(_AFTER_COMMIT_KEY, None)
    await session.rollback()


class _WriterQueue:
    """Lets this process's SQLite writers in one at a time, first come first served.

    SQLite admits one writer; the others wait in its busy handler, which sleeps and polls,
    so under load a writer can wait seconds while others pass it. Queueing them here
    instead hands the write lock over at once and in order. A task may enter again while
    it is inside (a unit of work opened within another) as it could before.
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._owner: asyncio.Task[Any] | None = None
        self._depth = 0

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        loop = asyncio.get_running_loop()
        lock = self._locks.setdefault(loop, asyncio.Lock())
        async with lock:
            self._owner, self._depth = task, 1
            try:
                yield
            finally:
                self._owner, self._depth = None, 0


class Database:
    """The engine and session factory of one database."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        engine: AsyncEngine | None = None,
        writers_take_turns: bool = False,
    ) -> None:
        self.url = url
        self.engine = engine or create_engine(url, echo=echo)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_only_sessionmaker = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False
        )
        # SQLite admits one writer anyway; ``writers_take_turns`` queues them on any
        # database (tests that join every unit of work to one connection).
        self._writers = _WriterQueue() if self.is_sqlite or writers_take_turns else None
        self._sequence_engine: AsyncEngine | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A session that commits when the block ends and rolls back if it raises."""
        async with AsyncExitStack() as stack:
            if self._writers is not None:
                await stack.enter_async_context(self._writers.turn())
            session = await stack.enter_async_context(self.sessionmaker())
            try:
                yield session
            except BaseException:
                await rollback(session)
                raise
            await commit(session)

    @asynccontextmanager
    async def read_only(self) -> AsyncIterator[AsyncSession]:
        """A session for reading; closing it detaches the loaded rows without expiring them,
        so a page can still show them after the block."""
        async with self.read_only_sessionmaker() as session:
            yield session

    def sequence_engine(self) -> AsyncEngine:
        """PostgreSQL connections for sequence-like counters (bill numbers), each taken in
        a transaction of its own: like a SEQUENCE, a number is not given back when the
        transaction that asked for it fails, so that transaction does not hold the counter
        locked while it goes on. A pool of its own, so a request never waits for a second
        connection of the pool its first came from."""
        if self._sequence_engine is None:
            self._sequence_engine = create_async_engine(
                self.engine.url, pool_size=2, max_overflow=2, pool_recycle=1800
            )
        return self._sequence_engine

    async def dispose_sequence_engine(self) -> None:
        if self._sequence_engine is not None:
            await self._sequence_engine.dispose()
            self._sequence_engine = None

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.dispose_sequence_engine()


_current: Database | None = None


def set_database(database: Database | None) -> None:
    global _current  # one database per process, set by the app factory or the CLI
    _current = database


def current_database() -> Database | None:
    return _current


def get_database() -> Database:
    if _current is None:
        raise RuntimeError("no database configured; the app factory or CLI sets it")
    return _current
