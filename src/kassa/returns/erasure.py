"""Returns forget an erased member's number (``members.erase_member``'s hook)."""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.erasure import ErasedMember
from kassa.orders.models import Bill
from kassa.returns.models import ReturnRequest
from kassa.stores.models import Store


async def scrub_returns(session: AsyncSession, erased: ErasedMember) -> None:
    """Returns in the organization's stores of the member's bills, or with the member's
    number for the SMS: the number becomes the placeholder (so no further SMS goes out and
    no reply can match). The return itself, its amounts and its refund stay for the books."""
    await session.execute(
        update(ReturnRequest)
        .where(
            ReturnRequest.store_id.in_(
                select(Store.id).where(Store.organization_id == erased.organization_id)
            ),
            ReturnRequest.customer_phone.is_not(None),
            or_(
                ReturnRequest.customer_phone == erased.phone_e164,
                ReturnRequest.bill_id.in_(select(Bill.id).where(Bill.member_id == erased.member_id)),
            ),
        )
        .values(customer_phone=erased.placeholder_phone)
    )
