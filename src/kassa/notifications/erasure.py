"""The message log forgets an erased member's number (``members.erase_member``'s hook).

The rows stay, with their status, event, channel and times, so the log's counts and the
SMS bill still add up; who they went to and what they said do not. One-time codes for the
number go altogether: they prove nothing once the member is gone.
"""

from __future__ import annotations

from sqlalchemy import String, cast, delete, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.database import utc_now
from kassa.core.erasure import ERASED_TEXT, ErasedMember
from kassa.core.outbox import OutboxMessage
from kassa.notifications.models import InboundMessage, Message, MessageStatus, OtpCode
from kassa.stores.models import Store

# Why a message queued for the member was never sent.
NOT_SENT_ERROR = "not sent: the member's data was erased"


async def scrub_messages(session: AsyncSession, erased: ErasedMember) -> None:
    """Messages of the member's organization to their number and replies from it: the
    number becomes the placeholder and the text ``[erased]`` (the variables it was made
    from go too); provider errors that quote the number quote the placeholder. A message
    still waiting to be sent is marked failed, so the worker never sends it. The
    organization's one-time codes for the number are deleted."""
    phone = erased.phone_e164
    placeholder = erased.placeholder_phone
    to_the_member = (Message.organization_id == erased.organization_id, Message.to_address == phone)
    # The send jobs' last errors may quote the number as the provider answered it.
    send_jobs = select(literal("message:", String) + cast(Message.id, String)).where(*to_the_member)
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.dedupe_key.in_(send_jobs), OutboxMessage.last_error.is_not(None))
        .values(last_error=func.replace(OutboxMessage.last_error, phone, placeholder))
    )
    await session.execute(
        update(Message)
        .where(*to_the_member, Message.status == MessageStatus.QUEUED)
        .values(status=MessageStatus.FAILED, error=NOT_SENT_ERROR, failed_at=utc_now())
    )
    await session.execute(
        update(Message)
        .where(*to_the_member)
        .values(
            to_address=placeholder,
            body=ERASED_TEXT,
            variables={},
            error=func.replace(Message.error, phone, placeholder),
        )
    )
    organization_stores = select(Store.id).where(Store.organization_id == erased.organization_id)
    await session.execute(
        update(InboundMessage)
        .where(
            InboundMessage.from_address == phone,
            # Replies matched to nothing belong to no store (nor to another organization).
            or_(InboundMessage.store_id.in_(organization_stores), InboundMessage.store_id.is_(None)),
        )
        .values(from_address=placeholder, body=ERASED_TEXT)
    )
    await session.execute(
        delete(OtpCode).where(OtpCode.organization_id == erased.organization_id, OtpCode.phone == phone)
    )
