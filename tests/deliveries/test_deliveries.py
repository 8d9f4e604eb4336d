"""Dead messages on the register and in the back office: listed with what, when and why,
sent again with one tap, waiting ones cancelled; only by those allowed, only in their
own store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.audit import AuditRecord
from kassa.core.auth import Role
from kassa.core.database import Database
from kassa.core.outbox import OutboxMessage, OutboxStatus, OutboxWorker, enqueue
from kassa.notifications import service as notifications
from kassa.notifications.models import Message, MessageStatus
from kassa.notifications.providers.log import LogProvider
from kassa.worker import outbox_handlers
from tests.shop import Shop


async def _print_job(
    session: AsyncSession, store_id: int, *, status: OutboxStatus, last_error: str | None = None
) -> int:
    message = await enqueue(
        session,
        "print.document",
        {"destination": "tcp://10.0.0.9:9100", "data": "", "document_type": "receipt", "bill_number": "42"},
        store_id=store_id,
        max_attempts=None,
    )
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(status=status, attempts=3 if status is OutboxStatus.DEAD else 0, last_error=last_error)
    )
    await session.commit()
    return message.id


async def _stored(session: AsyncSession, message_id: int) -> OutboxMessage:
    message = await session.get(OutboxMessage, message_id, populate_existing=True)
    assert message is not None
    return message


async def test_a_dead_message_is_listed_with_what_when_why_and_sent_again_with_one_tap(
    shop: Shop, session: AsyncSession
) -> None:
    # Given a receipt given up on
    dead = await _print_job(
        session, shop.store_id, status=OutboxStatus.DEAD, last_error="PermanentFailure: bad"
    )
    await _print_job(session, shop.store_id, status=OutboxStatus.PENDING)

    # When the cashier looks at the store's dead messages
    [listed] = await shop.call("GET", f"/stores/{shop.store_id}/deliveries")

    # Then it is there: what, when, why, and nothing of its content
    assert listed["id"] == dead
    assert (listed["kind"], listed["subject"]) == ("print.document", "receipt 42 → tcp://10.0.0.9:9100")
    assert (listed["status"], listed["attempts"], listed["last_error"]) == (
        "dead",
        3,
        "PermanentFailure: bad",
    )
    assert listed["created_at"]
    assert "data" not in listed

    # When they tap "send again"
    resent = await shop.call("POST", f"/deliveries/{dead}/resend")

    # Then it waits in the queue again, due now, attempts counted afresh, and it is audited
    assert (resent["status"], resent["attempts"]) == ("pending", 0)
    stored = await _stored(session, dead)
    assert (stored.status, stored.attempts, stored.lease_expires_at) == (OutboxStatus.PENDING, 0, None)
    assert await shop.call("GET", f"/stores/{shop.store_id}/deliveries") == []
    audited = await session.scalar(
        select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "outbox.resend")
    )
    assert audited == 1

    # And a second tap does not queue it twice
    again = await shop.call("POST", f"/deliveries/{dead}/resend", expect=409)
    assert again["code"] == "message_not_dead"


async def test_a_waiting_print_job_can_be_cancelled_and_is_then_never_sent(
    shop: Shop, session: AsyncSession, database: Database
) -> None:
    waiting = await _print_job(session, shop.store_id, status=OutboxStatus.PENDING)
    listed = await shop.call("GET", f"/stores/{shop.store_id}/deliveries?status=waiting")
    assert [item["id"] for item in listed] == [waiting]

    cancelled = await shop.call("POST", f"/deliveries/{waiting}/cancel")

    assert cancelled["status"] == "cancelled"
    assert await shop.call("GET", f"/stores/{shop.store_id}/deliveries?status=waiting") == []
    received: list[int] = []

    async def handle(message: object) -> None:
        received.append(1)

    assert await OutboxWorker(database, {"print.document": handle}).run_once() == 0
    assert received == []
    refused = await shop.call("POST", f"/deliveries/{waiting}/cancel", expect=409)
    assert refused["code"] == "message_not_waiting"


async def test_a_message_being_sent_cannot_be_cancelled(shop: Shop, session: AsyncSession) -> None:
    in_flight = await _print_job(session, shop.store_id, status=OutboxStatus.IN_FLIGHT)
    refused = await shop.call("POST", f"/deliveries/{in_flight}/cancel", expect=409)
    assert "being sent right now" in refused["detail"]
    assert (await _stored(session, in_flight)).status is OutboxStatus.IN_FLIGHT


@pytest.mark.parametrize(
    ("role", "expected"),
    [(Role.WAITER, 403), (Role.CASHIER, 200), (Role.MANAGER, 200), (Role.OWNER, 200)],
)
async def test_who_may_see_and_resend_dead_messages(
    shop: Shop, session: AsyncSession, role: Role, expected: int
) -> None:
    dead = await _print_job(session, shop.store_id, status=OutboxStatus.DEAD, last_error="x")
    await shop.call("GET", f"/stores/{shop.store_id}/deliveries", role=role, expect=expected)
    await shop.call("POST", f"/deliveries/{dead}/resend", role=role, expect=expected)
    stored = await _stored(session, dead)
    # a refused call changed nothing
    assert stored.status is (OutboxStatus.PENDING if expected == 200 else OutboxStatus.DEAD)


async def test_another_organizations_staff_find_no_such_message(
    shop: Shop, other_shop: Shop, session: AsyncSession
) -> None:
    dead = await _print_job(session, shop.store_id, status=OutboxStatus.DEAD, last_error="x")
    waiting = await _print_job(session, shop.store_id, status=OutboxStatus.PENDING)
    for role in (Role.OWNER, Role.MANAGER, Role.CASHIER):
        for path in (f"/deliveries/{dead}/resend", f"/deliveries/{waiting}/cancel"):
            refused = await other_shop.call("POST", path, role=role, expect=404)
            assert refused["errors"][0]["field"] == "message_id"
        # an owner finds no such store; store staff are refused any store but theirs
        expected = 404 if role is Role.OWNER else 403
        await other_shop.call("GET", f"/stores/{shop.store_id}/deliveries", role=role, expect=expected)
    assert (await _stored(session, dead)).status is OutboxStatus.DEAD
    assert (await _stored(session, waiting)).status is OutboxStatus.PENDING


async def test_a_message_of_no_store_is_nobodys_to_resend(shop: Shop, session: AsyncSession) -> None:
    message = await enqueue(session, "housekeeping.daily", {}, store_id=None)
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id).values(status="dead"))
    await session.commit()
    await shop.call("POST", f"/deliveries/{message.id}/resend", role=Role.OWNER, expect=404)


@pytest.fixture
def sms() -> Iterator[LogProvider]:
    provider = LogProvider(fail_with="unavailable")
    notifications.configure_providers(sms=[provider], email=LogProvider("log-email"))
    yield provider
    notifications.configure_providers()


async def test_a_dead_sms_sent_again_reaches_the_customer(
    shop: Shop, session: AsyncSession, database: Database, sms: LogProvider
) -> None:
    # Given a text to a customer whose only attempt failed (the gateway was down)
    sent = await shop.call(
        "POST",
        f"/stores/{shop.store_id}/messages",
        {"to": "+8613800138000", "text": "hello"},
        role=Role.MANAGER,
    )
    await session.execute(update(OutboxMessage).values(max_attempts=1))
    await session.commit()
    worker = OutboxWorker(database, outbox_handlers())
    assert await worker.run_once() == 1
    [dead] = await shop.call("GET", f"/stores/{shop.store_id}/deliveries")
    assert (dead["kind"], dead["subject"]) == ("notification.send", f"message {sent['id']}")
    assert "unavailable" in dead["last_error"]
    failed = await session.get(Message, sent["id"], populate_existing=True)
    assert failed is not None
    assert failed.status is MessageStatus.FAILED

    # When the gateway is back and the cashier sends it again
    sms.fail_with = None
    await shop.call("POST", f"/deliveries/{dead['id']}/resend")
    assert await worker.run_once() == 1

    # Then the customer gets it and the message log says so
    assert [(message.to, message.body.endswith("hello")) for message in sms.sent] == [
        ("+8613800138000", True)
    ]
    message = await session.get(Message, sent["id"], populate_existing=True)
    assert message is not None
    assert message.status is MessageStatus.SENT
    assert (await _stored(session, dead["id"])).status is OutboxStatus.SENT
