"""The call log forgets an erased member's number (``members.erase_member``'s hook)."""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.erasure import ErasedMember
from kassa.stores.models import Store
from kassa.telephony.models import PhoneCall


async def scrub_calls(session: AsyncSession, erased: ErasedMember) -> None:
    """Calls to the organization's stores from the member's number, or put on the member:
    the number (as the phone sent it and normalised) becomes the placeholder. The call
    stays, with its time, register, outcome and bill, for the call log's counts."""
    placeholder = erased.placeholder_phone
    await session.execute(
        update(PhoneCall)
        .where(
            PhoneCall.store_id.in_(select(Store.id).where(Store.organization_id == erased.organization_id)),
            or_(PhoneCall.phone_e164 == erased.phone_e164, PhoneCall.member_id == erased.member_id),
        )
        .values(number=placeholder, phone_e164=placeholder)
    )
