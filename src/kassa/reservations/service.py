"""Table reservations: book, edit, confirm, seat, cancel, mark no-show; what is free; the
customer's SMS and replies.

- **One table, one party at a time.** A reservation holds its tables (``reservation_tables``)
  for ``[starts_at, ends_at)`` while it is booked, confirmed, or seated with its bill still
  open. A booking or a move takes the store's lock row (``SELECT … FOR UPDATE``; SQLite
  serialises writers with ``BEGIN IMMEDIATE`` anyway), then checks and writes, so of two
  bookings of one table at one time exactly one succeeds; the other gets 409 naming
  ``table_ids``. A table with an open bill is not offered for a booking that would show on
  the floor now (it starts within the hold-before time).
- **Status** moves booked → confirmed → seated → completed, or to no_show / cancelled; each
  step is one conditional UPDATE (of two people seating one party, one wins) and a row in
  the status history (who or what, when, from → to).
- **Seating** opens a dine-in bill on the first table with the member attached (a guest who
  is not a member is named in the bill note).
- **SMS** (``sms.py``): a confirmation when booked or moved, a reminder before the start
  (a delayed outbox message keyed by the start time, so a moved booking is reminded at its
  new time only); a reply "1" confirms, "2" cancels (``handle_reply``).
- **No-shows**: guests ``no_show_after_minutes`` late may be marked no-show; with the store's
  switch on, a delayed outbox message does it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.database import get_database, utc_now
from kassa.core.errors import Conflict, NotFound, ValidationFailed
from kassa.core.events import Event, publish_after_commit
from kassa.core.i18n import format_datetime, translator
from kassa.core.outbox import ClaimedMessage, Handler
from kassa.core.phones import display_phone, is_last4, looks_like_phone, normalize_phone, try_normalize_phone
from kassa.core.scope import load_scoped
from kassa.floor import service as floor_service
from kassa.floor.models import DiningTable
from kassa.members.models import Member
from kassa.notifications import service as notifications
from kassa.notifications.models import InboundMessage, Message
from kassa.orders import service as orders
from kassa.orders.models import Bill, BillStatus, OrderType
from kassa.reservations import sms
from kassa.reservations.availability import (
    Hold,
    TableOption,
    TableSpot,
    check_choice,
    free_spots,
    has_option,
    held_table_ids,
    options_for,
)
from kassa.reservations.models import (
    EXPECTED_STATUSES,
    Reservation,
    ReservationLock,
    ReservationSettings,
    ReservationSource,
    ReservationStatus,
    ReservationStatusChange,
    ReservationTable,
)
from kassa.reservations.settings import MAX_DURATION_MINUTES, MIN_DURATION_MINUTES, settings_of
from kassa.stores.models import Store
from kassa.stores.service import get_store, store_topic

SUBJECT = sms.SUBJECT
CHANGED_EVENT = "reservation.changed"
PORTAL_ACTOR_NAME = "member portal"

MAX_PARTY_SIZE = 100
# A booking may start this little in the past (the guest is at the door while it is typed).
PAST_GRACE = timedelta(minutes=5)
MAX_OPTIONS = 20
SEARCH_LIMIT = 50
CONFIRM_WORDS = frozenset({"1", "Y", "YES", "OK", "是", "确认"})
CANCEL_WORDS = frozenset({"2", "N", "NO", "否", "取消"})


# --- reading helpers ----------------------------------------------------------------------


async def _store(session: AsyncSession, actor: Actor, store_id: int) -> Store:
    store = await get_store(session, actor, store_id)
    actor.require_store(store.id)
    return store


def local_day_bounds(store: Store, day: date) -> tuple[datetime, datetime]:
    """The store's local calendar day as a UTC interval ``[start, end)``."""
    zone = ZoneInfo(store.timezone)
    start = datetime.combine(day, time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    return start, end


def local_moment(timezone: str, day: date, minute: int) -> datetime:
    """``minute`` minutes after the local midnight that starts ``day`` in ``timezone``."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(timezone)) + timedelta(minutes=minute)


def normalize_start(store: Store, starts_at: datetime) -> datetime:
    """An aware start on the minute; a time without a zone is read in the store's zone."""
    if starts_at.tzinfo is None:
        starts_at = starts_at.replace(tzinfo=ZoneInfo(store.timezone))
    return starts_at.replace(second=0, microsecond=0)


async def _spots(session: AsyncSession, actor: Actor, store_id: int) -> list[TableSpot]:
    return [
        TableSpot(
            id=table.id,
            name=table.name,
            area_id=area.id,
            area_name=area.name,
            seats=table.seats,
            is_joinable=table.is_joinable,
            sort_key=(area.sort_order, area.id, table.name),
        )
        for area, table in await floor_service.list_floor(session, actor, store_id)
    ]


def _holding() -> ColumnElement[bool]:
    """Reservations that hold their tables: expected, or seated while their bill is open."""
    return or_(
        Reservation.status.in_(EXPECTED_STATUSES),
        and_(Reservation.status == ReservationStatus.SEATED, Bill.status == BillStatus.OPEN),
    )


async def _holds(
    session: AsyncSession,
    store_id: int,
    start: datetime,
    end: datetime,
    *,
    except_reservation_id: int | None = None,
) -> list[Hold]:
    query = (
        select(ReservationTable.table_id, Reservation.id, Reservation.starts_at, Reservation.ends_at)
        .join(Reservation, Reservation.id == ReservationTable.reservation_id)
        .outerjoin(Bill, Bill.id == Reservation.bill_id)
        .where(
            Reservation.store_id == store_id,
            Reservation.starts_at < end,
            Reservation.ends_at > start,
            _holding(),
        )
    )
    if except_reservation_id is not None:
        query = query.where(Reservation.id != except_reservation_id)
    return [Hold(*row) for row in (await session.execute(query)).all()]


async def _occupied(session: AsyncSession, store_id: int, *, except_bill_id: int | None = None) -> set[int]:
    """Tables with an open bill now."""
    query = select(Bill.table_id).where(
        Bill.store_id == store_id, Bill.status == BillStatus.OPEN, Bill.table_id.is_not(None)
    )
    if except_bill_id is not None:
        query = query.where(Bill.id != except_bill_id)
    return {table_id for table_id in (await session.scalars(query)).all() if table_id is not None}


def _shows_now(rules: ReservationSettings, starts_at: datetime, now: datetime) -> bool:
    """A booking this close shows on the floor already: a table taken now cannot have it."""
    return starts_at - timedelta(minutes=rules.hold_before_minutes) <= now


async def _free(
    session: AsyncSession,
    actor: Actor,
    store_id: int,
    rules: ReservationSettings,
    start: datetime,
    end: datetime,
    *,
    except_reservation: Reservation | None = None,
) -> tuple[list[TableSpot], list[TableSpot], set[int]]:
    """(every table, the free ones, the ids of those held or occupied) for ``[start, end)``."""
    spots = await _spots(session, actor, store_id)
    holds = await _holds(
        session,
        store_id,
        start,
        end,
        except_reservation_id=except_reservation.id if except_reservation else None,
    )
    occupied: set[int] = set()
    if _shows_now(rules, start, utc_now()):
        occupied = await _occupied(
            session, store_id, except_bill_id=except_reservation.bill_id if except_reservation else None
        )
    free = free_spots(spots, holds, start, end, occupied)
    return spots, free, held_table_ids(holds, start, end) | occupied


def _check_party(party_size: int) -> None:
    if not 1 <= party_size <= MAX_PARTY_SIZE:
        raise ValidationFailed(f"a party is 1 to {MAX_PARTY_SIZE} guests", field="party_size")


def _check_duration(duration_minutes: int) -> None:
    if not MIN_DURATION_MINUTES <= duration_minutes <= MAX_DURATION_MINUTES:
        raise ValidationFailed(
            f"a reservation lasts {MIN_DURATION_MINUTES} to {MAX_DURATION_MINUTES} minutes",
            field="duration_minutes",
        )


async def table_options(
    session: AsyncSession,
    actor: Actor,
    store_id: int,
    starts_at: datetime,
    party_size: int,
    *,
    duration_minutes: int | None = None,
    except_reservation_id: int | None = None,
) -> list[TableOption]:
    """The tables (or joined tables of one area) free for the party for the whole time,
    best fit first: what the table picker offers."""
    actor.require(Permission.MEMBER_VIEW)
    store = await _store(session, actor, store_id)
    rules = await settings_of(session, store_id)
    _check_party(party_size)
    duration = duration_minutes or rules.default_duration_minutes
    _check_duration(duration)
    start = normalize_start(store, starts_at)
    except_reservation = None
    if except_reservation_id is not None:
        except_reservation = await get_reservation(session, actor, except_reservation_id)
    _spots_all, free, _taken = await _free(
        session,
        actor,
        store_id,
        rules,
        start,
        start + timedelta(minutes=duration),
        except_reservation=except_reservation,
    )
    return options_for(free, party_size, limit=MAX_OPTIONS)


async def free_slots(session: AsyncSession, store_id: int, day: date, party_size: int) -> list[datetime]:
    """The start times (store-local, aware) of ``day`` at which a party of ``party_size`` can
    book for the store's default duration: every ``slot_minutes`` in the booking hours, from
    now on. For the member portal; needs no login."""
    store = await session.get(Store, store_id)
    if store is None or not store.is_active:
        raise NotFound(f"no store {store_id}", field="store_id")
    _check_party(party_size)
    rules = await settings_of(session, store_id)
    duration = timedelta(minutes=rules.default_duration_minutes)
    starts = [
        local_moment(store.timezone, day, minute)
        for minute in range(rules.opens_at_minute, rules.last_start_minute + 1, rules.slot_minutes)
    ]
    now = utc_now()
    starts = [start for start in starts if start >= now]
    if not starts:
        return []
    portal = Actor.system(store.organization_id, store_id=store.id, name=PORTAL_ACTOR_NAME)
    spots = await _spots(session, portal, store_id)
    holds = await _holds(session, store_id, starts[0], starts[-1] + duration)
    occupied = await _occupied(session, store_id)
    return [
        start
        for start in starts
        if has_option(
            free_spots(
                spots, holds, start, start + duration, occupied if _shows_now(rules, start, now) else ()
            ),
            party_size,
        )
    ]


# --- booking ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingInput:
    """A new reservation: a member, or a name (and a phone); no tables picks the best fit."""

    party_size: int
    starts_at: datetime
    member_id: int | None = None
    customer_name: str = ""
    customer_phone: str | None = None
    duration_minutes: int | None = None
    table_ids: Sequence[int] = ()
    notes: str = ""
    deposit_amount: int = 0
    is_sms_wanted: bool = True


async def _lock_store(session: AsyncSession, store_id: int) -> None:
    """Hold the store's reservation lock until commit (see the module doc)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(insert(ReservationLock).values(store_id=store_id).on_conflict_do_nothing())
    await session.execute(
        select(ReservationLock.store_id).where(ReservationLock.store_id == store_id).with_for_update()
    )


async def _member(session: AsyncSession, actor: Actor, member_id: int) -> Member:
    member = await session.get(Member, member_id)
    if member is None or member.organization_id != actor.organization_id or member.erased_at is not None:
        raise NotFound(f"no member {member_id}", field="member_id")
    return member


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValidationFailed("the reservation needs the customer's name", field="customer_name")
    if len(cleaned) > 100:
        raise ValidationFailed("a name has at most 100 characters", field="customer_name")
    return cleaned


def _clean_notes(notes: str) -> str:
    cleaned = notes.strip()
    if len(cleaned) > 500:
        raise ValidationFailed("notes have at most 500 characters", field="notes")
    return cleaned


def _check_deposit(amount: int) -> None:
    if amount < 0:
        raise ValidationFailed("a deposit cannot be negative", field="deposit_amount")


def _check_not_past(start: datetime) -> None:
    if start < utc_now() - PAST_GRACE:
        raise ValidationFailed("the time has passed already", field="starts_at")


async def _choose_tables(
    session: AsyncSession,
    actor: Actor,
    store_id: int,
    rules: ReservationSettings,
    start: datetime,
    end: datetime,
    party_size: int,
    table_ids: Sequence[int],
    *,
    reservation: Reservation | None = None,
) -> list[TableSpot]:
    """The tables the booking will hold, checked free under the store lock (the caller
    holds it): the ones asked for, else the best fit."""
    spots, free, taken = await _free(
        session, actor, store_id, rules, start, end, except_reservation=reservation
    )
    if not table_ids:
        options = options_for(free, party_size, limit=1)
        if not options:
            raise Conflict(f"no table for {party_size} is free at that time", field="starts_at")
        by_id = {spot.id: spot for spot in spots}
        return [by_id[table_id] for table_id in options[0].table_ids]
    if len(set(table_ids)) != len(table_ids):
        raise ValidationFailed("a table is named twice", field="table_ids")
    by_id = {spot.id: spot for spot in spots}
    unknown = [table_id for table_id in table_ids if table_id not in by_id]
    if unknown:
        raise NotFound(f"no table {unknown[0]} in this store", field="table_ids")
    chosen = [by_id[table_id] for table_id in table_ids]
    problem = check_choice(chosen, party_size)
    if problem is not None:
        raise ValidationFailed(problem, field="table_ids")
    clashing = [table for table in chosen if table.id in taken]
    if clashing:
        raise Conflict(
            f"{', '.join(table.name for table in clashing)} is taken at that time",
            field="table_ids",
            extra={"table_ids": [table.id for table in clashing]},
        )
    return chosen


def _changed_by(actor: Actor) -> str:
    return actor.display_name or ("system" if actor.is_system else f"staff {actor.staff_id}")


def _history(
    session: AsyncSession,
    actor: Actor,
    reservation: Reservation,
    from_status: ReservationStatus | None,
    note: str = "",
) -> None:
    session.add(
        ReservationStatusChange(
            reservation_id=reservation.id,
            from_status=from_status,
            to_status=reservation.status,
            changed_at=utc_now(),
            changed_by_staff_id=actor.staff_id,
            changed_by=_changed_by(actor)[:100],
            note=note[:300],
        )
    )


def _announce(session: AsyncSession, reservation: Reservation) -> None:
    publish_after_commit(
        session,
        Event(
            store_topic(reservation.store_id),
            CHANGED_EVENT,
            {
                "reservation_id": reservation.id,
                "status": reservation.status.value,
                "starts_at": reservation.starts_at.isoformat(),
            },
        ),
    )


async def _write_tables(session: AsyncSession, reservation: Reservation, tables: Sequence[TableSpot]) -> None:
    existing = (
        await session.scalars(
            select(ReservationTable).where(ReservationTable.reservation_id == reservation.id)
        )
    ).all()
    for row in existing:
        await session.delete(row)
    await session.flush()
    for position, table in enumerate(tables):
        session.add(ReservationTable(reservation_id=reservation.id, table_id=table.id, position=position))
    await session.flush()


async def book(
    session: AsyncSession,
    actor: Actor,
    store_id: int,
    booking: BookingInput,
    *,
    source: ReservationSource = ReservationSource.STAFF,
) -> Reservation:
    """Book tables for a party. The tables must seat the party (joined tables: one area,
    all joinable) and be free for the whole time; the customer gets a confirmation SMS
    and, later, a reminder."""
    actor.require(Permission.BILL_OPEN)
    store = await _store(session, actor, store_id)
    rules = await settings_of(session, store_id)
    _check_party(booking.party_size)
    duration = booking.duration_minutes or rules.default_duration_minutes
    _check_duration(duration)
    _check_deposit(booking.deposit_amount)
    start = normalize_start(store, booking.starts_at)
    _check_not_past(start)
    member = await _member(session, actor, booking.member_id) if booking.member_id is not None else None
    name = _clean_name(booking.customer_name or (member.name if member else ""))
    phone = (
        normalize_phone(booking.customer_phone, store.phone_region, field="customer_phone")
        if booking.customer_phone and booking.customer_phone.strip()
        else (member.phone_e164 if member else None)
    )
    notes = _clean_notes(booking.notes)
    end = start + timedelta(minutes=duration)
    await _lock_store(session, store_id)
    tables = await _choose_tables(
        session, actor, store_id, rules, start, end, booking.party_size, booking.table_ids
    )
    now = utc_now()
    reservation = Reservation(
        store_id=store_id,
        member_id=member.id if member else None,
        customer_name=name,
        customer_phone=phone,
        party_size=booking.party_size,
        starts_at=start,
        ends_at=end,
        notes=notes,
        deposit_amount=booking.deposit_amount,
        currency=store.currency,
        status=ReservationStatus.BOOKED,
        is_sms_wanted=booking.is_sms_wanted,
        source=source,
        created_by_staff_id=actor.staff_id,
        created_at=now,
        updated_at=now,
    )
    session.add(reservation)
    await session.flush()
    await _write_tables(session, reservation, tables)
    _history(session, actor, reservation, None)
    audit.record(
        session,
        actor,
        "reservation.book",
        "reservation",
        reservation.id,
        store_id=store_id,
        after={
            "starts_at": start.isoformat(),
            "ends_at": end.isoformat(),
            "party_size": booking.party_size,
            "table_ids": [table.id for table in tables],
            "member_id": reservation.member_id,
            "deposit_amount": booking.deposit_amount,
            "source": source.value,
        },
    )
    await sms.send_confirmation(session, actor, store, rules, reservation)
    await sms.schedule(session, rules, reservation)
    _announce(session, reservation)
    return reservation


async def book_for_member(
    session: AsyncSession,
    store_id: int,
    member_id: int,
    *,
    starts_at: datetime,
    party_size: int,
    notes: str = "",
) -> Reservation:
    """A member books for themselves (the member portal): at one of ``free_slots``' times,
    for the store's default duration, at the best-fitting free tables."""
    store = await session.get(Store, store_id)
    if store is None or not store.is_active:
        raise NotFound(f"no store {store_id}", field="store_id")
    rules = await settings_of(session, store_id)
    start = normalize_start(store, starts_at)
    local = start.astimezone(ZoneInfo(store.timezone))
    minute = local.hour * 60 + local.minute
    if not (
        rules.opens_at_minute <= minute <= rules.last_start_minute
        and (minute - rules.opens_at_minute) % rules.slot_minutes == 0
    ):
        raise ValidationFailed("pick one of the offered times", field="starts_at")
    if start < utc_now():
        raise ValidationFailed("the time has passed already", field="starts_at")
    actor = Actor.system(store.organization_id, store_id=store.id, name=PORTAL_ACTOR_NAME)
    return await book(
        session,
        actor,
        store_id,
        BookingInput(party_size=party_size, starts_at=start, member_id=member_id, notes=notes),
        source=ReservationSource.PORTAL,
    )


# --- changing a reservation ---------------------------------------------------------------


async def get_reservation(session: AsyncSession, actor: Actor, reservation_id: int) -> Reservation:
    """The reservation with this id if it is of a store the actor acts in, else not found."""
    return await load_scoped(session, actor, Reservation, reservation_id, field="reservation_id")


@dataclass(frozen=True)
class ReservationChange:
    """What to change in a reservation (None: keep). ``table_ids`` empty: keep the tables
    (they must still seat the party and be free at the new time)."""

    starts_at: datetime | None = None
    duration_minutes: int | None = None
    party_size: int | None = None
    table_ids: Sequence[int] | None = None
    notes: str | None = None
    deposit_amount: int | None = None
    customer_name: str | None = None
    customer_phone: str | None = None
    is_sms_wanted: bool | None = None


async def reservation_table_ids(session: AsyncSession, reservation_id: int) -> list[int]:
    return list(
        (
            await session.scalars(
                select(ReservationTable.table_id)
                .where(ReservationTable.reservation_id == reservation_id)
                .order_by(ReservationTable.position)
            )
        ).all()
    )


async def edit(
    session: AsyncSession, actor: Actor, reservation_id: int, change: ReservationChange
) -> Reservation:
    """Change the time, length, party, tables, notes, deposit or customer details of a
    booked or confirmed reservation (a seated one: its length, party, notes and deposit).
    A new time or tables must be free; a new time sends a new confirmation and schedules
    a new reminder."""
    actor.require(Permission.BILL_OPEN)
    reservation = await get_reservation(session, actor, reservation_id)
    store = await _store(session, actor, reservation.store_id)
    rules = await settings_of(session, store.id)
    if reservation.status not in (*EXPECTED_STATUSES, ReservationStatus.SEATED):
        raise Conflict(f"the reservation is {reservation.status.value}", field="status")
    old_tables = await reservation_table_ids(session, reservation.id)
    start = (
        normalize_start(store, change.starts_at) if change.starts_at is not None else reservation.starts_at
    )
    duration = change.duration_minutes or reservation.duration_minutes
    party_size = change.party_size if change.party_size is not None else reservation.party_size
    table_ids = list(change.table_ids) if change.table_ids else old_tables
    is_seated = reservation.status == ReservationStatus.SEATED
    if is_seated and (start != reservation.starts_at or table_ids != old_tables):
        raise Conflict(
            "the guests are seated: move their bill instead",
            field="starts_at" if start != reservation.starts_at else "table_ids",
        )
    _check_party(party_size)
    _check_duration(duration)
    if start != reservation.starts_at:
        _check_not_past(start)
    end = start + timedelta(minutes=duration)
    before = {
        "starts_at": reservation.starts_at.isoformat(),
        "ends_at": reservation.ends_at.isoformat(),
        "party_size": reservation.party_size,
        "table_ids": old_tables,
    }
    needs_check = (
        start != reservation.starts_at
        or end != reservation.ends_at
        or party_size != reservation.party_size
        or table_ids != old_tables
    )
    if needs_check:
        await _lock_store(session, store.id)
        tables = await _choose_tables(
            session, actor, store.id, rules, start, end, party_size, table_ids, reservation=reservation
        )
        if [table.id for table in tables] != old_tables:
            await _write_tables(session, reservation, tables)
    is_moved = start != reservation.starts_at
    reservation.starts_at = start
    reservation.ends_at = end
    reservation.party_size = party_size
    if change.notes is not None:
        reservation.notes = _clean_notes(change.notes)
    if change.deposit_amount is not None:
        _check_deposit(change.deposit_amount)
        reservation.deposit_amount = change.deposit_amount
    if change.customer_name is not None:
        reservation.customer_name = _clean_name(change.customer_name)
    if change.customer_phone is not None:
        reservation.customer_phone = (
            normalize_phone(change.customer_phone, store.phone_region, field="customer_phone")
            if change.customer_phone.strip()
            else None
        )
    if change.is_sms_wanted is not None:
        reservation.is_sms_wanted = change.is_sms_wanted
    reservation.updated_at = utc_now()
    await session.flush()
    audit.record(
        session,
        actor,
        "reservation.edit",
        "reservation",
        reservation.id,
        store_id=store.id,
        before=before,
        after={
            "starts_at": reservation.starts_at.isoformat(),
            "ends_at": reservation.ends_at.isoformat(),
            "party_size": reservation.party_size,
            "table_ids": table_ids,
            "notes": reservation.notes,
            "deposit_amount": reservation.deposit_amount,
        },
    )
    if is_moved:
        await sms.send_confirmation(session, actor, store, rules, reservation)
        await sms.schedule(session, rules, reservation)
    _announce(session, reservation)
    return reservation


async def _transition(
    session: AsyncSession,
    actor: Actor,
    reservation: Reservation,
    allowed: Sequence[ReservationStatus],
    to: ReservationStatus,
    note: str = "",
) -> Reservation:
    """Move the status with one conditional UPDATE, so of two changes at once one wins and
    the other sees the reservation as it is now."""
    seen = reservation.status
    if seen not in allowed:
        raise Conflict(
            f"the reservation is {seen.value}", field="status", extra={"reservation_status": seen.value}
        )
    changed = await session.scalar(
        update(Reservation)
        .where(Reservation.id == reservation.id, Reservation.status == seen)
        .values(status=to, updated_at=utc_now())
        .returning(Reservation.id)
    )
    await session.refresh(reservation)
    if changed is None:
        raise Conflict(
            f"the reservation is {reservation.status.value} now",
            field="status",
            extra={"reservation_status": reservation.status.value},
        )
    _history(session, actor, reservation, seen, note)
    audit.record(
        session,
        actor,
        "reservation.status",
        "reservation",
        reservation.id,
        store_id=reservation.store_id,
        before={"status": seen.value},
        after={"status": to.value, "note": note},
    )
    _announce(session, reservation)
    return reservation


async def confirm(session: AsyncSession, actor: Actor, reservation_id: int) -> Reservation:
    """The customer confirmed (by phone, or in person)."""
    actor.require(Permission.BILL_OPEN)
    reservation = await get_reservation(session, actor, reservation_id)
    return await _transition(
        session, actor, reservation, (ReservationStatus.BOOKED,), ReservationStatus.CONFIRMED
    )


async def cancel(session: AsyncSession, actor: Actor, reservation_id: int, reason: str = "") -> Reservation:
    """Cancel a booked or confirmed reservation; its tables are free again at once."""
    actor.require(Permission.BILL_OPEN)
    reservation = await get_reservation(session, actor, reservation_id)
    return await _transition(
        session, actor, reservation, EXPECTED_STATUSES, ReservationStatus.CANCELLED, reason.strip()
    )


async def mark_no_show(session: AsyncSession, actor: Actor, reservation_id: int) -> Reservation:
    """Nobody came: allowed once the guests are ``no_show_after_minutes`` late."""
    actor.require(Permission.BILL_OPEN)
    reservation = await get_reservation(session, actor, reservation_id)
    rules = await settings_of(session, reservation.store_id)
    due = reservation.starts_at + timedelta(minutes=rules.no_show_after_minutes)
    if utc_now() < due and reservation.status in EXPECTED_STATUSES:
        store = await session.get(Store, reservation.store_id)
        assert store is not None
        raise Conflict(
            f"the guests are not {rules.no_show_after_minutes} minutes late yet "
            f"(from {format_datetime(due, store.timezone, store.locale, 'HH:mm')})",
            field="status",
            extra={"no_show_from": due.isoformat()},
        )
    return await _transition(session, actor, reservation, EXPECTED_STATUSES, ReservationStatus.NO_SHOW)


async def complete(session: AsyncSession, actor: Actor, reservation_id: int) -> Reservation:
    """The seated guests left: the reservation is done and holds its tables no more."""
    actor.require(Permission.BILL_OPEN)
    reservation = await get_reservation(session, actor, reservation_id)
    return await _transition(
        session, actor, reservation, (ReservationStatus.SEATED,), ReservationStatus.COMPLETED
    )


def bill_note(store: Store, reservation: Reservation) -> str:
    """What the bill of a seated reservation says about it (a guest who is not a member is
    known by this)."""
    _ = translator(store.locale)
    parts = [
        _("Reservation {number}: {name}").format(number=f"R{reservation.id}", name=reservation.customer_name)
    ]
    if reservation.customer_phone:
        parts.append(display_phone(reservation.customer_phone, store.phone_region))
    if reservation.notes:
        parts.append(reservation.notes)
    return " · ".join(parts)[:500]


async def seat(session: AsyncSession, actor: Actor, reservation_id: int) -> tuple[Reservation, Bill]:
    """The guests came: open a dine-in bill on the reservation's first table for the party,
    with the member on it, and mark the reservation seated. Needs a register (bills are
    opened on one)."""
    actor.require(Permission.BILL_OPEN)
    reservation = await get_reservation(session, actor, reservation_id)
    store = await _store(session, actor, reservation.store_id)
    await _transition(session, actor, reservation, EXPECTED_STATUSES, ReservationStatus.SEATED)
    table_ids = await reservation_table_ids(session, reservation.id)
    if not table_ids:
        raise Conflict("the reservation holds no table", field="table_ids")
    bill = await orders.open_bill(
        session,
        actor,
        order_type=OrderType.DINE_IN,
        table_id=table_ids[0],
        guest_count=reservation.party_size,
        note=bill_note(store, reservation),
    )
    if reservation.member_id is not None:
        bill = await orders.attach_member(session, actor, bill.id, bill.version, reservation.member_id)
    reservation.bill_id = bill.id
    await session.flush()
    return reservation, bill


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReservationView:
    """A reservation with the tables it holds, in order (the first gets the bill)."""

    reservation: Reservation
    tables: tuple[DiningTable, ...]

    @property
    def table_ids(self) -> tuple[int, ...]:
        return tuple(table.id for table in self.tables)

    @property
    def table_label(self) -> str:
        return "+".join(table.name for table in self.tables)


async def views_of(session: AsyncSession, reservations: Sequence[Reservation]) -> list[ReservationView]:
    ids = [reservation.id for reservation in reservations]
    tables: dict[int, list[DiningTable]] = {}
    if ids:
        rows = await session.execute(
            select(ReservationTable.reservation_id, DiningTable)
            .join(DiningTable, DiningTable.id == ReservationTable.table_id)
            .where(ReservationTable.reservation_id.in_(ids))
            .order_by(ReservationTable.reservation_id, ReservationTable.position)
        )
        for reservation_id, table in rows.all():
            tables.setdefault(reservation_id, []).append(table)
    return [
        ReservationView(reservation, tuple(tables.get(reservation.id, ()))) for reservation in reservations
    ]


async def status_changes(session: AsyncSession, reservation_id: int) -> list[ReservationStatusChange]:
    """The reservation's status history, oldest first (the caller has checked access)."""
    query = (
        select(ReservationStatusChange)
        .where(ReservationStatusChange.reservation_id == reservation_id)
        .order_by(ReservationStatusChange.changed_at, ReservationStatusChange.id)
    )
    return list((await session.scalars(query)).all())


async def history(session: AsyncSession, actor: Actor, reservation_id: int) -> list[ReservationStatusChange]:
    actor.require(Permission.MEMBER_VIEW)
    await get_reservation(session, actor, reservation_id)
    return await status_changes(session, reservation_id)


async def list_day(session: AsyncSession, actor: Actor, store_id: int, day: date) -> list[Reservation]:
    """The reservations starting on the store's local calendar ``day``, by start time."""
    actor.require(Permission.MEMBER_VIEW)
    store = await _store(session, actor, store_id)
    start, end = local_day_bounds(store, day)
    query = (
        select(Reservation)
        .where(Reservation.store_id == store_id, Reservation.starts_at >= start, Reservation.starts_at < end)
        .order_by(Reservation.starts_at, Reservation.id)
    )
    return list((await session.scalars(query)).all())


async def search(
    session: AsyncSession, actor: Actor, store_id: int, query: str, *, limit: int = SEARCH_LIMIT
) -> list[Reservation]:
    """Reservations by the customer's phone (whole, any format, or the last four digits) or
    name (containing the text, ignoring case), the latest first."""
    actor.require(Permission.MEMBER_VIEW)
    store = await _store(session, actor, store_id)
    text = query.strip()
    base = select(Reservation).where(Reservation.store_id == store_id)
    if not text:
        return []
    if looks_like_phone(text):
        digits = re.sub(r"\D", "", text)
        phone = try_normalize_phone(text, store.phone_region)
        if phone is not None:
            base = base.where(Reservation.customer_phone == phone)
        elif is_last4(text) or len(digits) >= 4:
            base = base.where(Reservation.customer_phone.like(f"%{digits}"))
        else:
            return []
    else:
        escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        base = base.where(func.lower(Reservation.customer_name).like(f"%{escaped}%", escape="\\"))
    ordered = base.order_by(Reservation.starts_at.desc(), Reservation.id.desc()).limit(limit)
    return list((await session.scalars(ordered)).all())


async def upcoming_reservation_for_table(
    session: AsyncSession, actor: Actor, table_id: int, at: datetime
) -> Reservation | None:
    """The booked or confirmed reservation expected at this table around ``at``: it starts
    within the hold-before time, or started at most ``no_show_after_minutes`` ago. What the
    floor offers to seat when the table is tapped."""
    actor.require(Permission.MEMBER_VIEW)
    table = await load_scoped(session, actor, DiningTable, table_id, field="table_id", what="table")
    rules = await settings_of(session, table.store_id)
    query = (
        select(Reservation)
        .join(ReservationTable, ReservationTable.reservation_id == Reservation.id)
        .where(
            ReservationTable.table_id == table_id,
            Reservation.status.in_(EXPECTED_STATUSES),
            Reservation.starts_at <= at + timedelta(minutes=rules.hold_before_minutes),
            Reservation.starts_at >= at - timedelta(minutes=rules.no_show_after_minutes),
        )
        .order_by(Reservation.starts_at, Reservation.id)
        .limit(1)
    )
    return (await session.scalars(query)).first()


@dataclass(frozen=True)
class FloorHold:
    """Why a table shows as reserved on the floor now."""

    reservation: Reservation
    is_seated: bool  # a joined table of a party already seated (their bill is on the first)
    bill_id: int | None


async def floor_holds(
    session: AsyncSession, actor: Actor, store_id: int, at: datetime
) -> dict[int, FloorHold]:
    """The tables shown reserved at ``at``: those of reservations expected soon (from the
    hold-before time until the guests are no-show late), and the joined tables of a seated
    party whose bill is open."""
    actor.require(Permission.MEMBER_VIEW)
    await _store(session, actor, store_id)
    rules = await settings_of(session, store_id)
    query = (
        select(ReservationTable.table_id, ReservationTable.position, Reservation, Bill.status)
        .join(Reservation, Reservation.id == ReservationTable.reservation_id)
        .outerjoin(Bill, Bill.id == Reservation.bill_id)
        .where(
            Reservation.store_id == store_id,
            or_(
                and_(
                    Reservation.status.in_(EXPECTED_STATUSES),
                    Reservation.starts_at <= at + timedelta(minutes=rules.hold_before_minutes),
                    Reservation.starts_at >= at - timedelta(minutes=rules.no_show_after_minutes),
                ),
                and_(Reservation.status == ReservationStatus.SEATED, Bill.status == BillStatus.OPEN),
            ),
        )
        .order_by(Reservation.starts_at, Reservation.id)
    )
    holds: dict[int, FloorHold] = {}
    for table_id, position, reservation, _bill_status in (await session.execute(query)).all():
        is_seated = reservation.status == ReservationStatus.SEATED
        if is_seated and position == 0:
            continue  # the bill is on it: the floor shows it taken
        holds.setdefault(table_id, FloorHold(reservation, is_seated, reservation.bill_id))
    return holds


# --- messages -----------------------------------------------------------------------------


async def mark_no_show_when_due(claimed: ClaimedMessage) -> None:
    """The outbox handler: with the store's switch on, mark guests who did not come."""
    reservation_id, starts_at = sms.scheduled_for(claimed)
    async with get_database().unit_of_work() as session:
        reservation = await session.get(Reservation, reservation_id)
        if reservation is None or reservation.status not in EXPECTED_STATUSES:
            return
        if reservation.starts_at != starts_at:
            return
        rules = await settings_of(session, reservation.store_id)
        if not rules.is_auto_no_show_on:
            return
        system = await _system_actor(session, reservation, "no-show timer")
        await _transition(session, system, reservation, EXPECTED_STATUSES, ReservationStatus.NO_SHOW)


async def _system_actor(session: AsyncSession, reservation: Reservation, name: str) -> Actor:
    store = await session.get(Store, reservation.store_id)
    assert store is not None
    return Actor.system(store.organization_id, store.id, name=name)


def reply_intent(body: str, reply_code: str | None) -> ReservationStatus | None:
    """What a customer's reply asks for: CONFIRMED ("1"), CANCELLED ("2"), or None."""
    text = body.strip().upper()
    tokens = {token for token in re.split(r"[\s,，。.]+", text) if token}
    tokens.discard(reply_code or "")
    wants_confirm = text in CONFIRM_WORDS or bool(tokens & CONFIRM_WORDS)
    wants_cancel = text in CANCEL_WORDS or bool(tokens & CANCEL_WORDS)
    if wants_confirm == wants_cancel:
        return None
    return ReservationStatus.CONFIRMED if wants_confirm else ReservationStatus.CANCELLED


async def handle_reply(session: AsyncSession, inbound: InboundMessage, message: Message) -> str:
    """A customer's answer to a reservation SMS: "1" confirms, "2" cancels."""
    assert message.subject_id is not None
    reservation = await session.get(Reservation, message.subject_id, populate_existing=True)
    if reservation is None:
        return "reservation gone"
    intent = reply_intent(inbound.body, reservation.reply_code)
    if intent is None:
        return "reply not understood"
    if intent == ReservationStatus.CONFIRMED and reservation.status == ReservationStatus.CONFIRMED:
        return "reservation confirmed already"
    if reservation.status not in EXPECTED_STATUSES:
        return f"reply after the reservation was {reservation.status.value}"
    system = await _system_actor(session, reservation, "customer reply")
    allowed = (ReservationStatus.BOOKED,) if intent == ReservationStatus.CONFIRMED else EXPECTED_STATUSES
    try:
        await _transition(session, system, reservation, allowed, intent, f"SMS: {inbound.body.strip()[:100]}")
    except Conflict:
        return f"reply after the reservation was {reservation.status.value}"
    return "reservation confirmed" if intent == ReservationStatus.CONFIRMED else "reservation cancelled"


def register_reservation_handlers(handlers: dict[str, Handler]) -> None:
    handlers[sms.REMINDER_KIND] = sms.send_reminder
    handlers[sms.NO_SHOW_KIND] = mark_no_show_when_due


def install_hooks() -> None:
    """Wire reservations into the replies of the capability below it."""
    notifications.register_reply_handler(SUBJECT, handle_reply)
