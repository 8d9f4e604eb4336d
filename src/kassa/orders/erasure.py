"""Delivery bills forget an erased member's number and address (``erase_member``'s hook,
registered in ``kassa.wiring``). The bill stays: only who it went to is forgotten."""

from __future__ import annotations

import phonenumbers
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ColumnElement

from kassa.core.erasure import ERASED_TEXT, ErasedMember
from kassa.core.phones import try_normalize_phone
from kassa.orders.models import Bill
from kassa.stores.models import Store

# What people type between the digits of a number ("+86 (138) 0013-8000").
PHONE_PUNCTUATION = (" ", "-", "(", ")", ".", "+")


def _digits_of(column: ColumnElement[str | None]) -> ColumnElement[str | None]:
    digits = column
    for character in PHONE_PUNCTUATION:
        digits = func.replace(digits, character, "")
    return digits


async def _bills_with_delivery_phone(session: AsyncSession, erased: ErasedMember) -> list[int]:
    """The organization's bills whose delivery phone, read in its store's region, is the
    member's number. ``delivery_phone`` is kept as typed, so the database narrows the
    search to numbers ending in the member's national number and Python compares them
    normalised."""
    try:
        national_number = phonenumbers.national_significant_number(phonenumbers.parse(erased.phone_e164))
    except phonenumbers.NumberParseException:
        return []
    rows = await session.execute(
        select(Bill.id, Bill.delivery_phone, Store.phone_region)
        .join(Store, Store.id == Bill.store_id)
        .where(
            Store.organization_id == erased.organization_id,
            Bill.delivery_phone.is_not(None),
            _digits_of(Bill.delivery_phone.expression).like(f"%{national_number}"),
        )
    )
    return [
        bill_id
        for bill_id, delivery_phone, region in rows.all()
        if delivery_phone is not None and try_normalize_phone(delivery_phone, region) == erased.phone_e164
    ]


async def scrub_bills(session: AsyncSession, erased: ErasedMember) -> None:
    """The member's bills and the organization's bills delivered to their number: the
    delivery phone becomes the placeholder and the delivery address ``[erased]``. Lines,
    amounts, payments and the member link stay: the law wants the financial record."""
    by_phone = await _bills_with_delivery_phone(session, erased)
    await session.execute(
        update(Bill)
        .where(
            or_(Bill.member_id == erased.member_id, Bill.id.in_(by_phone)),
            or_(Bill.delivery_phone.is_not(None), Bill.delivery_address.is_not(None)),
        )
        .values(
            delivery_phone=case((Bill.delivery_phone.is_(None), None), else_=erased.placeholder_phone),
            delivery_address=case((Bill.delivery_address.is_(None), None), else_=ERASED_TEXT),
        )
    )
