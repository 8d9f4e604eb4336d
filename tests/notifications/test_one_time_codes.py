"""One-time login codes are never readable by staff: the message log (API, page data,
database row) keeps them masked, the send job carries them sealed, and only the provider
receives the real code, on the first attempt or a retry, and never once it expired."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.audit import AuditRecord
from kassa.core.auth import Role
from kassa.core.database import utc_now
from kassa.core.outbox import OutboxMessage, OutboxStatus
from kassa.notifications import sealed
from kassa.notifications import service as notifications
from kassa.notifications.models import Message, MessageStatus
from kassa.notifications.providers.log import LogProvider
from kassa.stores.models import Store
from tests.returns.conftest import Worker
from tests.shop import Shop

PHONE = "+8613800138000"
CODE = re.compile(r"验证码(\d{6})，")
# The log's own times (2026-12-07T10:00:00.123456) hold six-digit runs of their own.
TIMES = ("created_at", "sent_at", "delivered_at", "failed_at", "received_at")


@pytest.fixture
def sms() -> Iterator[LogProvider]:
    provider = LogProvider()
    notifications.configure_providers(sms=[provider], email=LogProvider("log-email"))
    yield provider
    notifications.configure_providers()


@pytest.fixture
def worker(database: Any, sms: LogProvider) -> Worker:
    return Worker(database)


async def _store(session: AsyncSession, shop: Shop) -> Store:
    store = await session.get(Store, shop.store_id)
    assert store is not None
    return store


async def _request_code(shop: Shop) -> None:
    response = await shop.client.post(
        f"/api/v1/portal/stores/{shop.store_id}/request-code", json={"phone": "138 0013 8000"}
    )
    assert response.status_code == 202, response.text


def _texts(value: Any, key: str = "") -> list[str]:
    """Every text in an API answer except the log's timestamps."""
    if isinstance(value, dict):
        return [text for name, item in value.items() for text in _texts(item, name)]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item, key)]
    return [] if key in TIMES else [str(value)]


async def _send_job(session: AsyncSession, message_id: int) -> OutboxMessage:
    job = await session.scalar(
        select(OutboxMessage).where(OutboxMessage.dedupe_key == f"message:{message_id}")
    )
    assert job is not None
    await session.refresh(job)
    return job


async def test_staff_never_read_a_login_code_that_the_customer_receives(
    shop: Shop, session: AsyncSession, sms: LogProvider, worker: Worker
) -> None:
    # given a customer asks the member portal for a login code
    await _request_code(shop)
    await worker.run()
    store = await _store(session, shop)

    # then the provider got the real code, in the text and in the template variables
    [outgoing] = sms.sent
    found = CODE.search(outgoing.body)
    assert found is not None, outgoing.body
    code = found.group(1)
    assert outgoing.body == f"【{store.name}】验证码{code}，5分钟内有效，请勿告诉他人。"
    assert outgoing.template_params["code"] == code
    assert outgoing.numbered_params == (code, "5")

    # and the owner's message log shows it masked, and the code nowhere
    log = await shop.call("GET", f"/stores/{shop.store_id}/messages", role=Role.OWNER)
    [entry] = log
    assert (entry["event"], entry["status"], entry["to_address"]) == ("verification_code", "sent", PHONE)
    assert entry["body"] == f"【{store.name}】验证码••••••，5分钟内有效，请勿告诉他人。"
    assert entry["segments"] == 1
    assert not [text for text in _texts(log) if code in text]

    # nor in the row, its variables, the send job or the audit trail
    row = await session.get(Message, entry["id"])
    assert row is not None
    await session.refresh(row)
    assert row.variables == {"store_name": store.name, "code": "••••••", "minutes": "5"}
    job = await _send_job(session, row.id)
    assert job.status == OutboxStatus.SENT
    assert job.payload == {"message_id": row.id}  # the sealed text went with the sending
    trail = (await session.execute(select(AuditRecord.before, AuditRecord.after))).all()
    assert not [change for change in trail if code in json.dumps(list(change), ensure_ascii=False)]


async def test_a_retry_still_sends_the_real_code_which_waits_sealed_in_the_send_job(
    shop: Shop, session: AsyncSession, sms: LogProvider, worker: Worker
) -> None:
    # given the gateway is down when the code is first sent
    sms.fail_with = "unavailable"
    await _request_code(shop)
    await worker.run()
    [message] = (await session.scalars(select(Message).where(Message.event == "verification_code"))).all()
    await session.refresh(message)
    assert (message.status, sms.sent) == (MessageStatus.QUEUED, [])

    # then the job waits with the real text sealed: no code in it, only for this message
    job = await _send_job(session, message.id)
    assert (job.status, job.attempts) == (OutboxStatus.PENDING, 1)
    assert set(job.payload) == {"message_id", notifications.SEALED_KEY, notifications.SEND_BEFORE_KEY}
    opened = sealed.unseal(message.id, job.payload[notifications.SEALED_KEY])
    code = opened["variables"]["code"]
    assert re.fullmatch(r"\d{6}", code)
    assert code not in json.dumps(job.payload)
    with pytest.raises(sealed.SealBroken):
        sealed.unseal(message.id + 1, job.payload[notifications.SEALED_KEY])

    # when the gateway is back, the retry sends the real code
    sms.fail_with = None
    worker.clock.advance(seconds=5)
    await worker.run()
    [outgoing] = sms.sent
    assert f"验证码{code}，" in outgoing.body
    await session.refresh(message)
    assert (message.status, message.body.count("••••••")) == (MessageStatus.SENT, 1)
    job = await _send_job(session, message.id)
    assert job.payload == {"message_id": message.id}


async def test_a_code_that_expired_before_a_gateway_took_it_is_not_sent(
    shop: Shop, session: AsyncSession, sms: LogProvider, worker: Worker
) -> None:
    store = await _store(session, shop)
    otp = await notifications.issue_otp(
        session, store=store, phone=PHONE, purpose="login", cause=notifications.Cause("test")
    )
    assert otp.message_id is not None
    job = await _send_job(session, otp.message_id)
    assert job.payload[notifications.SEND_BEFORE_KEY] == otp.expires_at.isoformat()
    # (the gateway was down for longer than the code lives)
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == job.id)
        .values(
            payload={
                **job.payload,
                notifications.SEND_BEFORE_KEY: (utc_now() - timedelta(seconds=1)).isoformat(),
            }
        )
    )
    await session.commit()

    await worker.run()

    assert sms.sent == []
    message = await session.get(Message, otp.message_id)
    assert message is not None
    await session.refresh(message)
    assert (message.status, message.error) == (
        MessageStatus.FAILED,
        "not sent: it expired before a provider took it",
    )
    job = await _send_job(session, otp.message_id)
    assert (job.status, job.payload) == (OutboxStatus.DEAD, {"message_id": otp.message_id})


@pytest.mark.parametrize(
    "payload_change",
    [
        pytest.param(lambda payload: {"message_id": payload["message_id"]}, id="sealed-text-gone"),
        pytest.param(
            lambda payload: {**payload, "sealed": payload["sealed"][:-4] + "AAAA"}, id="sealed-text-tampered"
        ),
    ],
)
async def test_a_code_message_whose_sealed_text_cannot_be_opened_fails_instead_of_sending_the_mask(
    shop: Shop, session: AsyncSession, sms: LogProvider, worker: Worker, payload_change: Any
) -> None:
    store = await _store(session, shop)
    otp = await notifications.issue_otp(
        session, store=store, phone=PHONE, purpose="login", cause=notifications.Cause("test")
    )
    assert otp.message_id is not None
    job = await _send_job(session, otp.message_id)
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == job.id)
        .values(payload=payload_change(dict(job.payload)))
    )
    await session.commit()

    await worker.run()

    assert sms.sent == []
    message = await session.get(Message, otp.message_id)
    assert message is not None
    await session.refresh(message)
    assert (message.status, message.error) == (
        MessageStatus.FAILED,
        "not sent: its code can no longer be read",
    )


async def test_a_message_without_secrets_keeps_its_text_and_needs_no_seal(
    shop: Shop, session: AsyncSession, sms: LogProvider, worker: Worker
) -> None:
    sent = await shop.call(
        "POST",
        f"/stores/{shop.store_id}/messages",
        {"to": "13800138000", "text": "外卖已出发"},
        role=Role.MANAGER,
    )
    job = await _send_job(session, sent["id"])
    assert job.payload == {"message_id": sent["id"]}
    await worker.run()
    [outgoing] = sms.sent
    assert outgoing.body == sent["body"]
