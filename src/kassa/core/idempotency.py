"""Idempotency keys for requests that create things (bills): the same key and the same
request return the first answer; the same key with another request is refused.

The key is reserved in the request's own transaction, so a failed request leaves no
reservation behind and can be retried with the same key.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from kassa.core.database import Base, utc_now
from kassa.core.errors import Conflict, ValidationFailed

HEADER = "Idempotency-Key"


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"

    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


def request_digest(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> None:
    if not 8 <= len(key) <= 100:
        raise ValidationFailed("an idempotency key is 8 to 100 characters", field=HEADER)


async def replay_or_reserve(session: AsyncSession, scope: str, key: str, body: Any) -> dict[str, Any] | None:
    """The stored answer of an earlier identical request, or None after reserving the key."""
    check_key(key)
    digest = request_digest(body)
    # Reserve first (one statement in the common case). A concurrent request holding the
    # same key makes PostgreSQL wait for its commit; SQLite serialises writers anyway.
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    reserved = await session.scalar(
        insert(IdempotencyRecord)
        .values(scope=scope, key=key, request_digest=digest, created_at=utc_now())
        .on_conflict_do_nothing()
        .returning(IdempotencyRecord.key)
    )
    if reserved is not None:
        return None
    existing = (
        await session.execute(
            select(IdempotencyRecord.request_digest, IdempotencyRecord.response).where(
                IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
            )
        )
    ).one()
    if existing.request_digest != digest:
        raise ValidationFailed("this idempotency key was used for a different request", field=HEADER)
    if existing.response is None:
        raise Conflict("a request with this idempotency key is still running", field=HEADER)
    stored: dict[str, Any] = existing.response
    return stored


async def remember(session: AsyncSession, scope: str, key: str, response: dict[str, Any]) -> None:
    await session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
        .values(response=response)
    )
