"""The audit trail: one record per state change, in the same transaction, hash-chained.

Records of one chain (one per store, plus ``global``) carry consecutive sequence numbers
and the hash of their predecessor; the chain head keeps the last sequence and hash, so an
edited, inserted or deleted record — also the newest — breaks verification.

Records are buffered in the session and appended by SQLAlchemy's ``before_commit`` event,
so every commit carries its records, however it is called. The head row is locked by an
``UPDATE`` (PostgreSQL row lock, SQLite write lock), which serialises the appenders of one
chain only for the moment between that update and the commit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, event, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column

from kassa.core.auth import Actor
from kassa.core.database import Base, IdMixin, IdType, utc_now

GENESIS_HASH = "0" * 64
GLOBAL_CHAIN = "global"


class AuditChainHead(Base):
    __tablename__ = "audit_chain_heads"

    chain_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_sequence: Mapped[int] = mapped_column(IdType, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)


class AuditRecord(IdMixin, Base):
    __tablename__ = "audit_records"
    __table_args__ = (
        UniqueConstraint("chain_key", "sequence"),
        Index("ix_audit_records_entity", "entity_type", "entity_id"),
    )

    chain_key: Mapped[str] = mapped_column(String(40), ForeignKey("audit_chain_heads.chain_key"))
    sequence: Mapped[int] = mapped_column(IdType)
    occurred_at: Mapped[datetime]
    organization_id: Mapped[int | None] = mapped_column(IdType)
    store_id: Mapped[int | None] = mapped_column(IdType)
    register_id: Mapped[int | None] = mapped_column(IdType)
    staff_id: Mapped[int | None] = mapped_column(IdType)
    actor_name: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80))
    entity_type: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str] = mapped_column(String(60))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    previous_hash: Mapped[str] = mapped_column(String(64))
    record_hash: Mapped[str] = mapped_column(String(64))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if isinstance(value, Enum):
        return _jsonable(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def compute_hash(fields: dict[str, Any], previous_hash: str) -> str:
    canonical = json.dumps(
        {**fields, "previous_hash": previous_hash}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _hashed_fields(record: AuditRecord) -> dict[str, Any]:
    return {
        "chain_key": record.chain_key,
        "sequence": record.sequence,
        "occurred_at": record.occurred_at.isoformat(),
        "organization_id": record.organization_id,
        "store_id": record.store_id,
        "register_id": record.register_id,
        "staff_id": record.staff_id,
        "actor_name": record.actor_name,
        "action": record.action,
        "entity_type": record.entity_type,
        "entity_id": record.entity_id,
        "before": record.before,
        "after": record.after,
    }


_PENDING_KEY = "kassa_audit_pending"


def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    store_id: int | None = None,
) -> None:
    """Append an audit record for a state change in this unit of work.

    ``store_id`` picks the chain (the actor's store when not given); the record is written
    with the change, or not at all.
    """
    chain_store = store_id if store_id is not None else actor.store_id
    pending: list[AuditRecord] = session.info.setdefault(_PENDING_KEY, [])
    pending.append(
        AuditRecord(
            chain_key=f"store:{chain_store}" if chain_store is not None else GLOBAL_CHAIN,
            occurred_at=utc_now(),
            organization_id=actor.organization_id,
            store_id=chain_store,
            register_id=actor.register_id,
            staff_id=actor.staff_id,
            actor_name=actor.display_name[:120],
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            before=_jsonable(before) if before is not None else None,
            after=_jsonable(after) if after is not None else None,
        )
    )


def _insert_head_if_missing(session: Session, chain_key: str) -> Any:
    values = {"chain_key": chain_key, "last_sequence": 0, "last_hash": GENESIS_HASH}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(AuditChainHead).values(values).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(AuditChainHead).values(values).on_conflict_do_nothing()
    return insert(AuditChainHead).values(values)


@event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    """Append this transaction's records to their chains (runs inside the async session's
    greenlet, so the synchronous calls here reach the async driver)."""
    pending: list[AuditRecord] = session.info.pop(_PENDING_KEY, [])
    by_chain: dict[str, list[AuditRecord]] = {}
    for item in pending:
        by_chain.setdefault(item.chain_key, []).append(item)
    # A fixed lock order (sorted chain keys) keeps two multi-store transactions from deadlocking.
    for chain_key in sorted(by_chain):
        records = by_chain[chain_key]
        take_sequences = (
            update(AuditChainHead)
            .where(AuditChainHead.chain_key == chain_key)
            .values(last_sequence=AuditChainHead.last_sequence + len(records))
            .returning(AuditChainHead.last_sequence, AuditChainHead.last_hash)
        )
        locked = session.execute(take_sequences).one_or_none()
        if locked is None:  # the chain's first record
            session.execute(_insert_head_if_missing(session, chain_key))
            locked = session.execute(take_sequences).one()
        last_sequence, previous_hash = locked
        sequence = last_sequence - len(records)
        rows = []
        for item in records:
            sequence += 1
            item.sequence = sequence
            fields = _hashed_fields(item)
            record_hash = compute_hash(fields, previous_hash)
            # One multi-row INSERT; the records are not needed as objects after this.
            rows.append(
                {
                    **fields,
                    "occurred_at": item.occurred_at,
                    "previous_hash": previous_hash,
                    "record_hash": record_hash,
                }
            )
            previous_hash = record_hash
        session.execute(insert(AuditRecord), rows)
        session.execute(
            update(AuditChainHead)
            .where(AuditChainHead.chain_key == chain_key)
            .values(last_hash=previous_hash)
        )


@dataclass(frozen=True)
class ChainProblem:
    chain_key: str
    sequence: int | None
    reason: str


async def verify_chains(session: AsyncSession) -> tuple[int, list[ChainProblem]]:
    """Recompute every chain; returns the number of records checked and what is wrong."""
    problems: list[ChainProblem] = []
    checked = 0
    heads = (await session.execute(select(AuditChainHead).order_by(AuditChainHead.chain_key))).scalars().all()
    for head in heads:
        expected_sequence = 0
        previous_hash = GENESIS_HASH
        rows = await session.stream_scalars(
            select(AuditRecord).where(AuditRecord.chain_key == head.chain_key).order_by(AuditRecord.sequence)
        )
        async for item in rows:
            checked += 1
            expected_sequence += 1
            if item.sequence != expected_sequence:
                problems.append(
                    ChainProblem(
                        head.chain_key,
                        item.sequence,
                        f"sequence jumps from {expected_sequence - 1} to {item.sequence}: records deleted",
                    )
                )
                expected_sequence = item.sequence
            if item.previous_hash != previous_hash:
                problems.append(
                    ChainProblem(head.chain_key, item.sequence, "link to the previous record broken")
                )
            if compute_hash(_hashed_fields(item), item.previous_hash) != item.record_hash:
                problems.append(ChainProblem(head.chain_key, item.sequence, "record content was changed"))
            previous_hash = item.record_hash
        if head.last_sequence != expected_sequence or head.last_hash != previous_hash:
            problems.append(
                ChainProblem(
                    head.chain_key,
                    head.last_sequence,
                    f"chain ends at {expected_sequence} but its head says {head.last_sequence}: "
                    "newest records deleted or head altered",
                )
            )
    return checked, problems
