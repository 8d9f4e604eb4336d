"""The customer's SMS: the confirmation with its reply code, replies that confirm or cancel,
the reminder at the right time (once, and again after a move), the store's switches, and
the automatic no-show."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from kassa.core.database import utc_now
from kassa.notifications.models import InboundMessage
from kassa.notifications.providers.log import LogProvider
from tests.reservations.conftest import PHONE, ZONE, Floor, Worker, deliver, tomorrow

LEAD = timedelta(hours=2)  # the default reminder lead


def _hours_ahead(hours: int) -> datetime:
    return utc_now().replace(second=0, microsecond=0) + timedelta(hours=hours)


async def _reply(floor: Floor, text: str, sender: str = "13800138000") -> str:
    token = (await floor.shop.call("GET", "/notifications/webhooks", role=Role.OWNER))["token"]
    response = await floor.shop.client.post(
        f"/api/v1/notifications/webhooks/log/inbound?token={token}",
        json={"from": sender, "body": text},
    )
    assert response.status_code == 200, response.text
    return text


async def _outcomes(session: AsyncSession) -> list[str]:
    return list((await session.scalars(select(InboundMessage.outcome).order_by(InboundMessage.id))).all())


async def test_the_booking_is_confirmed_by_sms_and_the_reply_1_confirms_it(
    terrace: Floor, worker: Worker, sms: LogProvider, session: AsyncSession
) -> None:
    booked = await terrace.book("19:00", party_size=4, customer_phone="138 0013 8000")
    await deliver(worker)
    [confirmation] = sms.sent
    assert confirmation.to == PHONE
    assert confirmation.event == "reservation_confirmation"
    day = tomorrow()
    assert confirmation.body.startswith("【Store ")
    code = booked["reply_code"]
    assert code is not None
    assert len(code) == 4
    assert (
        f"王女士，您已预订{day.month}月{day.day}日 19:00，4位。回复1 {code}确认，回复2 {code}取消。"
        in confirmation.body
    )

    await _reply(terrace, f"1 {code}")
    confirmed = await terrace.shop.call("GET", f"/reservations/{booked['id']}")
    assert confirmed["status"] == "confirmed"
    last = confirmed["history"][-1]
    assert (last["from_status"], last["to_status"], last["changed_by"]) == (
        "booked",
        "confirmed",
        "customer reply",
    )
    assert last["note"] == f"SMS: 1 {code}"
    # saying it twice changes nothing
    await _reply(terrace, "1")
    assert await _outcomes(session) == ["reservation confirmed", "reservation confirmed already"]


async def test_the_reply_2_cancels_and_frees_the_table(
    terrace: Floor, worker: Worker, sms: LogProvider, session: AsyncSession
) -> None:
    booked = await terrace.book(customer_phone="13800138000", table_ids=terrace.ids("T1"))
    await deliver(worker)
    await _reply(terrace, "2")
    cancelled = await terrace.shop.call("GET", f"/reservations/{booked['id']}")
    assert cancelled["status"] == "cancelled"
    assert (await terrace.book(table_ids=terrace.ids("T1")))["status"] == "booked"
    await _reply(terrace, "1")
    await _reply(terrace, "maybe")
    assert await _outcomes(session) == [
        "reservation cancelled",
        "reply after the reservation was cancelled",
        "reply not understood",
    ]


async def test_with_two_bookings_the_code_says_which_one_is_meant(terrace: Floor, worker: Worker) -> None:
    first = await terrace.book("12:00", customer_phone="13800138000")
    second = await terrace.book("19:00", customer_phone="13800138000")
    await deliver(worker)
    await _reply(terrace, f"2 {first['reply_code']}")
    assert (await terrace.shop.call("GET", f"/reservations/{first['id']}"))["status"] == "cancelled"
    assert (await terrace.shop.call("GET", f"/reservations/{second['id']}"))["status"] == "booked"


async def test_a_member_gets_service_messages_even_without_marketing_consent(
    terrace: Floor, worker: Worker, sms: LogProvider
) -> None:
    member = await terrace.member()  # marketing_sms_opt_in is False
    assert member["marketing_sms_opt_in"] is False
    await terrace.book(member_id=member["id"])
    await deliver(worker)
    assert [message.to for message in sms.sent] == [PHONE]


async def test_no_text_without_a_phone_when_unwanted_or_switched_off(
    terrace: Floor, worker: Worker, sms: LogProvider
) -> None:
    await terrace.book("12:00")
    await terrace.book("13:00", customer_phone="13800138000", is_sms_wanted=False)
    await terrace.shop.call(
        "PATCH",
        f"/stores/{terrace.shop.store_id}/reservation-settings",
        {"is_confirmation_sms_on": False},
        role=Role.OWNER,
    )
    await terrace.book("14:00", customer_phone="13800138000")
    await deliver(worker)
    assert sms.sent == []


async def test_the_reminder_goes_out_once_at_the_lead_time(
    terrace: Floor, worker: Worker, sms: LogProvider
) -> None:
    start = _hours_ahead(5)
    await terrace.book(starts_at=start.isoformat(), customer_phone="13800138000", party_size=3)
    await deliver(worker)
    assert [message.event for message in sms.sent] == ["reservation_confirmation"]
    worker.clock.moment = start - LEAD - timedelta(minutes=1)
    await deliver(worker)
    assert len(sms.sent) == 1
    worker.clock.moment = start - LEAD
    await deliver(worker)
    assert [message.event for message in sms.sent] == ["reservation_confirmation", "reservation_reminder"]
    reminder = sms.sent[1]
    assert reminder.to == PHONE
    assert f"提醒您今天{start.astimezone(ZONE):%H:%M}的3位预订" in reminder.body
    worker.clock.advance(hours=3)
    await deliver(worker)
    assert len(sms.sent) == 2


async def test_a_moved_booking_is_reminded_at_its_new_time_only(
    terrace: Floor, worker: Worker, sms: LogProvider
) -> None:
    start = _hours_ahead(5)
    booked = await terrace.book(starts_at=start.isoformat(), customer_phone="13800138000")
    await deliver(worker)
    later = start + timedelta(hours=1)
    moved = await terrace.shop.call(
        "PATCH", f"/reservations/{booked['id']}", {"starts_at": later.isoformat()}
    )
    assert moved["status"] == "booked"
    await deliver(worker)
    # the customer is told the new time
    assert [message.event for message in sms.sent] == ["reservation_confirmation", "reservation_confirmation"]
    worker.clock.moment = start - LEAD  # the old reminder falls due and does nothing
    await deliver(worker)
    assert len(sms.sent) == 2
    worker.clock.moment = later - LEAD
    await deliver(worker)
    assert sms.sent[-1].event == "reservation_reminder"
    assert f"今天{later.astimezone(ZONE):%H:%M}的2位预订" in sms.sent[-1].body
    worker.clock.advance(days=1)
    await deliver(worker)
    assert len(sms.sent) == 3


async def test_no_reminder_for_a_cancelled_booking_or_when_reminders_are_off(
    terrace: Floor, worker: Worker, sms: LogProvider
) -> None:
    cancelled = await terrace.book(starts_at=_hours_ahead(5).isoformat(), customer_phone="13800138000")
    await terrace.shop.call("POST", f"/reservations/{cancelled['id']}/cancel", {})
    await terrace.book(starts_at=_hours_ahead(6).isoformat(), customer_phone="13900139000")
    await terrace.shop.call(
        "PATCH",
        f"/stores/{terrace.shop.store_id}/reservation-settings",
        {"is_reminder_sms_on": False},
        role=Role.OWNER,
    )
    worker.clock.advance(hours=7)
    await deliver(worker)
    assert [message.event for message in sms.sent] == ["reservation_confirmation"] * 2


async def test_guests_who_do_not_come_are_marked_no_show_when_the_store_wants_it(
    terrace: Floor, worker: Worker
) -> None:
    shop = terrace.shop
    start = _hours_ahead(3)
    kept = await terrace.book(starts_at=start.isoformat())
    await shop.call(
        "PATCH",
        f"/stores/{shop.store_id}/reservation-settings",
        {"is_auto_no_show_on": True},
        role=Role.OWNER,
    )
    missed = await terrace.book(starts_at=start.isoformat())
    seated = await terrace.book(starts_at=start.isoformat())
    await shop.call("POST", f"/reservations/{seated['id']}/seat")
    worker.clock.moment = start + timedelta(minutes=29)
    await deliver(worker)
    assert (await shop.call("GET", f"/reservations/{missed['id']}"))["status"] == "booked"
    worker.clock.moment = start + timedelta(minutes=30)
    await deliver(worker)
    statuses = [
        (await shop.call("GET", f"/reservations/{item['id']}"))["status"] for item in (kept, missed, seated)
    ]
    assert statuses == ["no_show", "no_show", "seated"]  # the switch counts when the check falls due
    history = (await shop.call("GET", f"/reservations/{missed['id']}"))["history"]
    assert (history[-1]["to_status"], history[-1]["changed_by"]) == ("no_show", "no-show timer")
