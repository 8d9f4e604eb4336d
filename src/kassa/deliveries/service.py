"""Dead messages, shown and sent again; waiting messages cancelled.

Nothing Kassa sends is lost silently: a message the outbox worker gave up on (a permanent
refusal, or the last attempt of a message that has a limit) is listed for the store with
what it was, when it was queued and why it failed, on the register and in the back
office. One tap sends it again: the same row goes back to the queue with a fresh count of
attempts (so the far side's idempotency by message id still holds). A message still
waiting (a receipt for a printer that is off) can be cancelled instead.

Messages are the store's: each is loaded through ``kassa.core.scope.load_scoped`` (a
message of another store or organization, or one of no store, is not found), and every
call needs ``Permission.MESSAGE_RESEND``. Re-sending and cancelling are audited.

A capability whose handler keeps its own record of a message (notifications mark their
message failed) registers a ``ResendHook`` for its kind, run in the same unit of work, so
its handler sends the message again instead of seeing it as finished.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.database import after_commit, utc_now
from kassa.core.errors import Conflict, NotFound
from kassa.core.outbox import WAITING_STATUSES, OutboxMessage, OutboxStatus, notify_enqueued
from kassa.core.scope import load_scoped

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

ResendHook = Callable[[AsyncSession, Mapping[str, Any]], Awaitable[None]]
RESEND_HOOKS: dict[str, ResendHook] = {}


def register_resend_hook(kind: str, hook: ResendHook) -> None:
    """Run ``hook(session, payload)`` when a dead message of ``kind`` is sent again."""
    RESEND_HOOKS[kind] = hook


class MessageNotDead(Conflict):
    code = "message_not_dead"
    title = "Only a message that was given up on can be sent again"


class MessageNotWaiting(Conflict):
    code = "message_not_waiting"
    title = "Only a message that waits can be cancelled"


@dataclass(frozen=True)
class Delivery:
    """A message as staff see it: what (``kind`` and a short ``subject``), when, why."""

    id: int
    store_id: int
    kind: str
    subject: str
    status: OutboxStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def _subject(message: OutboxMessage) -> str:
    """A short line naming what the message is about, never its content (an SMS's text or
    a one-time code stays out of sight)."""
    payload = message.payload or {}
    if message.kind == "print.document":
        document = str(payload.get("document_type", "document"))
        bill = payload.get("bill_number")
        where = payload.get("destination")
        text = f"{document} {bill}" if bill not in (None, "") else document
        return f"{text} → {where}" if where else text
    for key in ("message_id", "bill_id", "return_id", "payment_id", "reservation_id"):
        if key in payload:
            return f"{key.removesuffix('_id')} {payload[key]}"
    return ""


def _delivery(message: OutboxMessage) -> Delivery:
    assert message.store_id is not None
    return Delivery(
        id=message.id,
        store_id=message.store_id,
        kind=message.kind,
        subject=_subject(message),
        status=message.status,
        attempts=message.attempts,
        last_error=message.last_error,
        created_at=message.created_at,
        sent_at=message.sent_at,
    )


async def list_deliveries(
    session: AsyncSession,
    actor: Actor,
    store_id: int,
    *,
    is_waiting: bool = False,
    limit: int = DEFAULT_LIMIT,
) -> list[Delivery]:
    """The store's dead messages (or, ``is_waiting``, those still waiting), newest first."""
    actor.require(Permission.MESSAGE_RESEND)
    actor.require_store(store_id)
    statuses = WAITING_STATUSES if is_waiting else (OutboxStatus.DEAD,)
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.store_id == store_id, OutboxMessage.status.in_(statuses))
        .order_by(OutboxMessage.id.desc())
        .limit(max(1, min(limit, MAX_LIMIT)))
    )
    return [_delivery(message) for message in rows]


async def count_dead(session: AsyncSession, actor: Actor, store_id: int, *, since: datetime) -> int:
    """How many of the store's messages queued since ``since`` were given up on."""
    actor.require(Permission.MESSAGE_RESEND)
    actor.require_store(store_id)
    count = await session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.store_id == store_id,
            OutboxMessage.status == OutboxStatus.DEAD,
            OutboxMessage.created_at >= since,
        )
    )
    return int(count or 0)


async def _load(session: AsyncSession, actor: Actor, message_id: int) -> OutboxMessage:
    message = await load_scoped(
        session, actor, OutboxMessage, message_id, field="message_id", what="message", populate_existing=True
    )
    if message.store_id is None:
        # Housekeeping and other jobs of no store are nobody's to re-send.
        raise NotFound(f"no message {message_id}", field="message_id")
    return message


async def resend(session: AsyncSession, actor: Actor, message_id: int) -> Delivery:
    """Send a dead message again: back in the queue at once, with its attempts counted
    from zero. Only a dead message: one that waits is being tried already, and one that
    was sent is not sent twice by a second tap."""
    actor.require(Permission.MESSAGE_RESEND)
    message = await _load(session, actor, message_id)
    requeued = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.status == OutboxStatus.DEAD)
        .values(
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=utc_now(),
            lease_expires_at=None,
        )
        .returning(OutboxMessage.id)
    )
    if requeued.first() is None:
        raise MessageNotDead(f"message {message.id} is {message.status.value}", field="message_id")
    hook = RESEND_HOOKS.get(message.kind)
    if hook is not None:
        await hook(session, dict(message.payload))
    audit.record(
        session,
        actor,
        "outbox.resend",
        "outbox_message",
        message.id,
        store_id=message.store_id,
        before={"status": OutboxStatus.DEAD.value, "last_error": message.last_error},
        after={"kind": message.kind, "status": OutboxStatus.PENDING.value},
    )
    after_commit(session, notify_enqueued)
    await session.refresh(message)
    return _delivery(message)


async def cancel(session: AsyncSession, actor: Actor, message_id: int) -> Delivery:
    """Call off a message that still waits (a receipt nobody wants once the printer is
    back), or put away a dead one nobody will send again. One being sent this very moment
    cannot be called back: try again once the attempt is over."""
    actor.require(Permission.MESSAGE_RESEND)
    message = await _load(session, actor, message_id)
    before = message.status
    cancelled = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message.id,
            OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.DEAD)),
        )
        .values(status=OutboxStatus.CANCELLED, lease_expires_at=None)
        .returning(OutboxMessage.id)
    )
    if cancelled.first() is None:
        raise MessageNotWaiting(
            f"message {message.id} is {message.status.value}"
            + (": it is being sent right now" if before is OutboxStatus.IN_FLIGHT else ""),
            field="message_id",
        )
    audit.record(
        session,
        actor,
        "outbox.cancel",
        "outbox_message",
        message.id,
        store_id=message.store_id,
        before={"status": before.value},
        after={"kind": message.kind, "status": OutboxStatus.CANCELLED.value},
    )
    await session.refresh(message)
    return _delivery(message)
