"""The customer's messages about a reservation: the confirmation when it is booked (or
moved), and the reminder before it, a delayed outbox message.

Both are service messages about the customer's own booking, not marketing: they go to the
phone given with the booking whatever the member's marketing consent says, unless the
customer wanted no texts (``Reservation.is_sms_wanted``) or the store turned that message
off (``is_confirmation_sms_on`` / ``is_reminder_sms_on``). A reply to the confirmation
("1" confirms, "2" cancels) comes back through ``service.handle_reply``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import outbox
from kassa.core.auth import Actor
from kassa.core.database import get_database, utc_now
from kassa.core.i18n import format_datetime
from kassa.core.outbox import ClaimedMessage, PermanentFailure
from kassa.notifications import service as notifications
from kassa.reservations.models import EXPECTED_STATUSES, Reservation, ReservationSettings
from kassa.reservations.settings import settings_of
from kassa.stores.models import Store

SUBJECT = "reservation"
REMINDER_KIND = "reservations.reminder"
NO_SHOW_KIND = "reservations.no_show"


def may_text(reservation: Reservation) -> bool:
    return reservation.customer_phone is not None and reservation.is_sms_wanted


def when_text(store: Store, moment: datetime, *, with_date: bool) -> str:
    """The time as the customer's SMS says it, in the store's language and zone."""
    pattern = "HH:mm"
    if with_date:
        pattern = "M月d日 HH:mm" if store.locale.startswith("zh") else "MMM d, HH:mm"
    return format_datetime(moment, store.timezone, store.locale, pattern)


async def send_confirmation(
    session: AsyncSession, actor: Actor, store: Store, rules: ReservationSettings, reservation: Reservation
) -> None:
    if not (rules.is_confirmation_sms_on and may_text(reservation)):
        return
    assert reservation.customer_phone is not None
    if reservation.reply_code is None:
        reservation.reply_code = notifications.new_reply_code()
    await notifications.queue_message(
        session,
        store=store,
        to=reservation.customer_phone,
        event="reservation_confirmation",
        variables={
            "name": reservation.customer_name,
            "time": when_text(store, reservation.starts_at, with_date=True),
            "party_size": str(reservation.party_size),
            "code": reservation.reply_code,
        },
        cause=notifications.Cause.of(actor, "reservation.booked"),
        subject=(SUBJECT, reservation.id),
        reply_code=reservation.reply_code,
        dedupe_key=f"reservation-confirmation:{reservation.id}:{reservation.starts_at.isoformat()}",
    )


async def schedule(session: AsyncSession, rules: ReservationSettings, reservation: Reservation) -> None:
    """The reminder and the no-show check for the reservation's start time. They are keyed
    by the start: after a move, those of the old time find it changed and do nothing."""
    start = reservation.starts_at.isoformat()
    payload = {"reservation_id": reservation.id, "starts_at": start}
    remind_at = reservation.starts_at - timedelta(minutes=rules.reminder_lead_minutes)
    if may_text(reservation) and remind_at > utc_now():
        await outbox.enqueue(
            session,
            REMINDER_KIND,
            payload,
            store_id=reservation.store_id,
            dedupe_key=f"reservation-reminder:{reservation.id}:{start}",
            not_before=remind_at,
        )
    await outbox.enqueue(
        session,
        NO_SHOW_KIND,
        payload,
        store_id=reservation.store_id,
        dedupe_key=f"reservation-no-show:{reservation.id}:{start}",
        not_before=reservation.starts_at + timedelta(minutes=rules.no_show_after_minutes),
    )


def scheduled_for(claimed: ClaimedMessage) -> tuple[int, datetime]:
    """(reservation id, the start time it was scheduled for) of a delayed outbox message."""
    try:
        return int(claimed.payload["reservation_id"]), datetime.fromisoformat(
            str(claimed.payload["starts_at"])
        )
    except (KeyError, TypeError, ValueError) as error:
        raise PermanentFailure(f"outbox message {claimed.id} names no reservation") from error


async def send_reminder(claimed: ClaimedMessage) -> None:
    """The outbox handler: text the reminder, if the reservation still expects its guests
    at the time the reminder was scheduled for and the store sends reminders."""
    reservation_id, starts_at = scheduled_for(claimed)
    async with get_database().unit_of_work() as session:
        reservation = await session.get(Reservation, reservation_id)
        if reservation is None or reservation.status not in EXPECTED_STATUSES:
            return
        if reservation.starts_at != starts_at or not may_text(reservation):
            return
        rules = await settings_of(session, reservation.store_id)
        if not rules.is_reminder_sms_on:
            return
        store = await session.get(Store, reservation.store_id)
        assert store is not None
        assert reservation.customer_phone is not None
        await notifications.queue_message(
            session,
            store=store,
            to=reservation.customer_phone,
            event="reservation_reminder",
            variables={
                "name": reservation.customer_name,
                "time": when_text(store, reservation.starts_at, with_date=False),
                "party_size": str(reservation.party_size),
            },
            cause=notifications.Cause("reservation.reminder"),
            subject=(SUBJECT, reservation.id),
            dedupe_key=f"reservation-reminder:{reservation.id}:{starts_at.isoformat()}",
        )
