"""Reservations forget an erased member's name and number (``members.erase_member``'s hook)."""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.database import utc_now
from kassa.core.erasure import ErasedMember
from kassa.members.service import ERASED_MEMBER_NAME
from kassa.reservations.models import Reservation
from kassa.stores.models import Store


async def scrub_reservations(session: AsyncSession, erased: ErasedMember) -> None:
    """The member's reservations and those booked under their number in the organization's
    stores: the name becomes the erased member's placeholder name, the number and the notes
    (free text that may name them) go, and so no more SMS are sent about them. The number
    is removed rather than replaced by ``erased_phone``: a booking still to come stays
    editable, and the form would refuse a placeholder as no valid number. Time, tables,
    party size, status and history stay; a booking still to come still holds its tables."""
    await session.execute(
        update(Reservation)
        .where(
            Reservation.store_id.in_(select(Store.id).where(Store.organization_id == erased.organization_id)),
            or_(Reservation.member_id == erased.member_id, Reservation.customer_phone == erased.phone_e164),
        )
        .values(
            customer_name=ERASED_MEMBER_NAME,
            customer_phone=None,
            notes="",
            is_sms_wanted=False,
            updated_at=utc_now(),
        )
    )
