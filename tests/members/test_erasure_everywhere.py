"""Erasing a member scrubs their number and name from every table that kept a copy (the
message log, one-time codes, the call log, returns, reservations, delivery bills), keeps
the rows the books and the logs count, and leaves everybody else's rows alone."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from kassa.core.database import utc_now
from kassa.core.erasure import ERASED_TEXT, erased_phone
from kassa.core.outbox import OutboxMessage
from kassa.members import service as members
from kassa.notifications import service as notifications
from kassa.notifications.erasure import NOT_SENT_ERROR
from kassa.notifications.models import InboundMessage, Message, MessageStatus, OtpCode
from kassa.orders.models import Bill, BillStatus, OrderType
from kassa.reservations.models import Reservation, ReservationSource, ReservationStatus
from kassa.returns.models import ReturnRequest
from kassa.stores.models import Register, Store
from kassa.telephony.models import CallOutcome, PhoneAssistant, PhoneCall
from kassa.wiring import install_hooks
from tests.factories import make_organization, make_register, make_store
from tests.members.conftest import MemberShop, make_member

_numbers = itertools.count(1)

# Every column that could hold a number or a name, by table.
PERSONAL_COLUMNS: list[tuple[type[Any], tuple[Any, ...]]] = [
    (Message, (Message.to_address, Message.body, cast(Message.variables, String), Message.error)),
    (InboundMessage, (InboundMessage.from_address, InboundMessage.body)),
    (OtpCode, (OtpCode.phone,)),
    (OutboxMessage, (OutboxMessage.last_error,)),
    (PhoneCall, (PhoneCall.number, PhoneCall.phone_e164)),
    (ReturnRequest, (ReturnRequest.customer_phone,)),
    (Reservation, (Reservation.customer_name, Reservation.customer_phone, Reservation.notes)),
    (Bill, (Bill.delivery_phone, Bill.delivery_address)),
]


@dataclass
class Person:
    """A member with a copy of their number or name in each capability's tables."""

    member_id: int
    phone: str  # E.164
    name: str
    address: str
    sent_message_id: int
    queued_message_id: int
    inbound_id: int
    call_ids: list[int]
    return_id: int
    reservation_ids: list[int]
    bill_ids: list[int]


@pytest.fixture(autouse=True)
def _wired() -> None:
    install_hooks()


def _spaced(phone: str) -> str:
    """'+8613900000001' as a person types it for a delivery: '139 0000 0001'."""
    national = phone.removeprefix("+86")
    return f"{national[:3]} {national[3:7]} {national[7:]}"


async def _bill(
    session: AsyncSession, store: Store, register: Register, staff_id: int, **values: Any
) -> Bill:
    bill = Bill(
        store_id=store.id,
        register_id=register.id,
        opened_by_staff_id=staff_id,
        business_date=date(2026, 11, 2),
        number=next(_numbers),
        order_type=OrderType.DELIVERY,
        status=BillStatus.CLOSED,
        currency="CNY",
        receipt_token=f"erasure-test-{next(_numbers):08d}",
        total_amount=4200,
        paid_amount=4200,
        **values,
    )
    session.add(bill)
    await session.flush()
    return bill


async def _person(
    session: AsyncSession, shop: MemberShop, register: Register, assistant: PhoneAssistant, name: str
) -> Person:
    member = await make_member(session, shop.actors[Role.MANAGER], shop.store, name=name)
    phone = member.phone_e164
    address = f"{name}'s flat, 8 Nanjing Road"
    staff_id = shop.actors[Role.MANAGER].staff_id
    assert staff_id is not None
    cause = notifications.Cause("test")
    sent = await notifications.queue_message(
        session,
        store=shop.store,
        to=phone,
        event="free_text",
        variables={"text": f"{name}, your table is ready"},
        cause=cause,
    )
    sent.status = MessageStatus.SENT
    sent.error = f"first try: {phone} unreachable"
    send_job = await session.scalar(
        select(OutboxMessage).where(OutboxMessage.dedupe_key == f"message:{sent.id}")
    )
    assert send_job is not None
    send_job.last_error = f"tencent: {phone} unreachable"
    queued = await notifications.queue_message(
        session,
        store=shop.store,
        to=phone,
        event="free_text",
        variables={"text": f"{name}, see you soon"},
        cause=cause,
    )
    await notifications.issue_otp(session, store=shop.store, phone=phone, purpose="portal.login", cause=cause)
    inbound = InboundMessage(
        provider="log",
        from_address=phone,
        body=f"1 thanks, {name}",
        store_id=shop.store.id,
        outcome="recorded",
    )
    session.add(inbound)
    attached_bill = await _bill(
        session,
        shop.store,
        register,
        staff_id,
        member_id=member.id,
        delivery_phone=_spaced(phone),
        delivery_address=address,
    )
    # Delivered to their number, typed another way, without the member on the bill.
    phoned_bill = await _bill(
        session,
        shop.other_store,
        register,
        staff_id,
        delivery_phone="0086 " + phone[3:],
        delivery_address=address,
    )
    calls = [
        PhoneCall(
            store_id=shop.store.id,
            register_id=register.id,
            assistant_id=assistant.id,
            number=phone.removeprefix("+86"),
            phone_e164=phone,
            member_id=member.id,
            outcome=CallOutcome.BILL_OPENED,
            bill_id=attached_bill.id,
        ),
        PhoneCall(  # a missed call from the number, before they were recognised
            store_id=shop.store.id,
            register_id=register.id,
            assistant_id=assistant.id,
            number=phone,
            phone_e164=phone,
        ),
    ]
    session.add_all(calls)
    returned = ReturnRequest(
        store_id=shop.store.id,
        bill_id=attached_bill.id,
        reason_code="quality",
        bill_was_paid=True,
        amount=1200,
        currency="CNY",
        customer_phone=phone,
        requested_by_staff_id=staff_id,
    )
    session.add(returned)
    starts_at = utc_now() + timedelta(days=2)
    reservations = [
        Reservation(
            store_id=shop.store.id,
            member_id=member.id,
            customer_name=name,
            customer_phone=phone,
            party_size=4,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
            notes=f"{name}'s birthday",
            currency="CNY",
            status=ReservationStatus.CONFIRMED,
            source=ReservationSource.PORTAL,
        ),
        Reservation(  # booked by phone before they signed up
            store_id=shop.other_store.id,
            customer_name=name,
            customer_phone=phone,
            party_size=2,
            starts_at=starts_at - timedelta(days=30),
            ends_at=starts_at - timedelta(days=30) + timedelta(hours=2),
            currency="CNY",
            status=ReservationStatus.COMPLETED,
            source=ReservationSource.STAFF,
        ),
    ]
    session.add_all(reservations)
    await session.flush()
    return Person(
        member_id=member.id,
        phone=phone,
        name=name,
        address=address,
        sent_message_id=sent.id,
        queued_message_id=queued.id,
        inbound_id=inbound.id,
        call_ids=[call.id for call in calls],
        return_id=returned.id,
        reservation_ids=[reservation.id for reservation in reservations],
        bill_ids=[attached_bill.id, phoned_bill.id],
    )


async def _rows_naming(session: AsyncSession, *texts: str) -> dict[str, int]:
    """How many rows of each table hold any of ``texts`` in a personal column."""
    found = {}
    for model, columns in PERSONAL_COLUMNS:
        condition = or_(*(column.contains(text) for column in columns for text in texts))
        count = await session.scalar(select(func.count()).select_from(model).where(condition))
        if count:
            found[model.__tablename__] = count
    return found


async def _counts(session: AsyncSession) -> dict[str, int]:
    return {
        model.__tablename__: await session.scalar(select(func.count()).select_from(model)) or 0
        for model, _columns in PERSONAL_COLUMNS
    }


@pytest.fixture
async def people(session: AsyncSession, member_shop: MemberShop) -> tuple[Person, Person]:
    register = await make_register(session, member_shop.store)
    assistant = PhoneAssistant(
        organization_id=member_shop.organization.id,
        store_id=member_shop.store.id,
        register_id=register.id,
        name="Counter phone",
        token_digest=f"{next(_numbers):064d}",
    )
    session.add(assistant)
    await session.flush()
    erased = await _person(session, member_shop, register, assistant, "Li Na")
    kept = await _person(session, member_shop, register, assistant, "Wang Fang")
    return erased, kept


async def test_the_number_and_name_are_gone_from_every_table(
    session: AsyncSession, member_shop: MemberShop, people: tuple[Person, Person]
) -> None:
    # given a member whose number and name were copied into every capability's tables
    person, _other = people
    digits = person.phone.removeprefix("+86")
    assert set(await _rows_naming(session, digits, person.name)) == {
        table.__tablename__ for table, _columns in PERSONAL_COLUMNS
    }
    counts_before = await _counts(session)

    # when the back office erases them
    await members.erase_member(session, member_shop.actors[Role.MANAGER], person.member_id)
    session.expire_all()

    # then neither the number (in any format) nor the name is left anywhere
    assert await _rows_naming(session, digits, person.name, person.address) == {}
    # and every row the logs and the books count is still there, less the one-time code
    otp_count = counts_before.pop(OtpCode.__tablename__)
    counts_after = await _counts(session)
    assert counts_after.pop(OtpCode.__tablename__) == otp_count - 1
    assert counts_after == counts_before


async def test_what_stays_in_place_of_the_data(
    session: AsyncSession, member_shop: MemberShop, people: tuple[Person, Person]
) -> None:
    person, _other = people
    placeholder = erased_phone(person.member_id)

    await members.erase_member(session, member_shop.actors[Role.MANAGER], person.member_id)
    session.expire_all()

    sent = await session.get(Message, person.sent_message_id)
    assert sent is not None
    assert (sent.to_address, sent.body, sent.variables, sent.status, sent.event, sent.error) == (
        placeholder,
        ERASED_TEXT,
        {},
        MessageStatus.SENT,
        "free_text",
        f"first try: {placeholder} unreachable",
    )
    # a message not sent yet never will be
    queued = await session.get(Message, person.queued_message_id)
    assert queued is not None
    assert (queued.to_address, queued.status, queued.error) == (
        placeholder,
        MessageStatus.FAILED,
        NOT_SENT_ERROR,
    )
    assert queued.failed_at is not None
    inbound = await session.get(InboundMessage, person.inbound_id)
    assert inbound is not None
    assert (inbound.from_address, inbound.body, inbound.outcome) == (placeholder, ERASED_TEXT, "recorded")

    calls = [await session.get(PhoneCall, call_id) for call_id in person.call_ids]
    assert [(call.number, call.phone_e164, call.outcome) for call in calls if call is not None] == [
        (placeholder, placeholder, CallOutcome.BILL_OPENED),
        (placeholder, placeholder, None),
    ]
    returned = await session.get(ReturnRequest, person.return_id)
    assert returned is not None
    assert (returned.customer_phone, returned.amount) == (placeholder, 1200)

    reservations = [
        await session.get(Reservation, reservation_id) for reservation_id in person.reservation_ids
    ]
    assert [
        (r.customer_name, r.customer_phone, r.notes, r.is_sms_wanted, r.status, r.party_size)
        for r in reservations
        if r is not None
    ] == [
        (members.ERASED_MEMBER_NAME, None, "", False, ReservationStatus.CONFIRMED, 4),
        (members.ERASED_MEMBER_NAME, None, "", False, ReservationStatus.COMPLETED, 2),
    ]
    bills = [await session.get(Bill, bill_id) for bill_id in person.bill_ids]
    assert [
        (bill.delivery_phone, bill.delivery_address, bill.total_amount, bill.member_id)
        for bill in bills
        if bill is not None
    ] == [
        (placeholder, ERASED_TEXT, 4200, person.member_id),
        (placeholder, ERASED_TEXT, 4200, None),
    ]


async def test_other_peoples_rows_are_untouched(
    session: AsyncSession, member_shop: MemberShop, people: tuple[Person, Person]
) -> None:
    # given another member of the organization, and the erased member's number in another
    # organization, where they are still a member
    person, other = people
    elsewhere = await make_store(session, await make_organization(session, name="Elsewhere"))
    elsewhere_message = await notifications.queue_message(
        session,
        store=elsewhere,
        to=person.phone,
        event="free_text",
        variables={"text": "hi"},
        cause=notifications.Cause("test"),
    )
    elsewhere_otp = await notifications.issue_otp(
        session,
        store=elsewhere,
        phone=person.phone,
        purpose="portal.login",
        cause=notifications.Cause("test"),
    )
    elsewhere_ids = (elsewhere_message.id, elsewhere_otp.id)
    elsewhere_body = elsewhere_message.body
    assert "hi" in elsewhere_body
    other_digits = other.phone.removeprefix("+86")
    before = await _rows_naming(session, other_digits, other.name)

    await members.erase_member(session, member_shop.actors[Role.MANAGER], person.member_id)
    session.expire_all()

    assert await _rows_naming(session, other_digits, other.name) == before
    other_queued = await session.get(Message, other.queued_message_id)
    assert other_queued is not None
    assert other_queued.status == MessageStatus.QUEUED
    message = await session.get(Message, elsewhere_ids[0])
    assert message is not None
    assert (message.to_address, message.body, message.status) == (
        person.phone,
        elsewhere_body,
        MessageStatus.QUEUED,
    )
    assert await session.get(OtpCode, elsewhere_ids[1]) is not None
