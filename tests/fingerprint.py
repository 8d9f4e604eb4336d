"""Proof that a refused call changed nothing: a digest of every row of every table."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.models import Base


async def fingerprint(session: AsyncSession) -> dict[str, str]:
    """Each table's name and a digest of all its rows (order-independent)."""
    digests = {}
    for table in Base.metadata.sorted_tables:
        rows = (await session.execute(select(table))).all()
        digest = hashlib.sha256(repr(sorted(repr(tuple(row)) for row in rows)).encode())
        digests[table.name] = digest.hexdigest()
    return digests


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name, digest in after.items() if before.get(name) != digest)


@asynccontextmanager
async def unchanged(session: AsyncSession, *, when: bool = True) -> AsyncIterator[None]:
    """Assert that the block changed no row of any table (if ``when``: a parametrized
    matrix checks it for the refused cases only)."""
    before = await fingerprint(session) if when else {}
    yield
    if when:
        assert changed_tables(before, await fingerprint(session)) == []
