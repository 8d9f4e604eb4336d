"""A member's own table reservations in the portal: the free start times, booking one, the
reservations still to come, and cancelling their own. Bookings and cancellations go through
``reservations.service`` with the portal's system actor (so the status history says
"member portal" and the booking's source is ``portal``); a reservation of anyone else is
"not found"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor
from kassa.core.database import utc_now
from kassa.core.errors import NotFound
from kassa.portal.service import PortalIdentity
from kassa.reservations import service as reservations
from kassa.reservations.models import EXPECTED_STATUSES, Reservation
from kassa.reservations.settings import settings_of
from kassa.stores.models import Store

UPCOMING_LIMIT = 50
CANCEL_REASON = "cancelled by the member"


@dataclass(frozen=True)
class MemberReservation:
    """A reservation as its member sees it: where, when, for how many, at which tables."""

    reservation: Reservation
    store_name: str
    timezone: str
    table_names: tuple[str, ...]

    @property
    def can_cancel(self) -> bool:
        return self.reservation.status in EXPECTED_STATUSES


@dataclass(frozen=True)
class FreeSlots:
    store: Store
    day: date
    party_size: int
    duration_minutes: int
    slots: list[datetime]


async def portal_store(session: AsyncSession, identity: PortalIdentity, store_id: int | None) -> Store:
    """A store of the member's organization (default: the one they logged in at)."""
    wanted = store_id if store_id is not None else identity.store_id
    store = await session.get(Store, wanted)
    if store is None or store.organization_id != identity.organization_id or not store.is_active:
        raise NotFound(f"no store {wanted}", field="store_id")
    return store


async def free_slots(
    session: AsyncSession, identity: PortalIdentity, day: date, party_size: int, store_id: int | None = None
) -> FreeSlots:
    """The start times of ``day`` (store-local) at which the member's party can book."""
    store = await portal_store(session, identity, store_id)
    rules = await settings_of(session, store.id)
    slots = await reservations.free_slots(session, store.id, day, party_size)
    return FreeSlots(store, day, party_size, rules.default_duration_minutes, slots)


async def _view(session: AsyncSession, reservation: Reservation) -> MemberReservation:
    [view] = await reservations.views_of(session, [reservation])
    store = await session.get(Store, reservation.store_id)
    assert store is not None
    return MemberReservation(
        reservation, store.name, store.timezone, tuple(table.name for table in view.tables)
    )


async def book(
    session: AsyncSession,
    identity: PortalIdentity,
    *,
    starts_at: datetime,
    party_size: int,
    notes: str = "",
    store_id: int | None = None,
) -> MemberReservation:
    """Book one of the free times for the member; 409 naming ``starts_at`` when the tables
    went meanwhile."""
    store = await portal_store(session, identity, store_id)
    reservation = await reservations.book_for_member(
        session, store.id, identity.member_id, starts_at=starts_at, party_size=party_size, notes=notes
    )
    return await _view(session, reservation)


async def upcoming(session: AsyncSession, identity: PortalIdentity) -> list[MemberReservation]:
    """The member's reservations that have not ended yet (cancelled ones too, so a booking
    the store cancelled does not just vanish), soonest first."""
    rows = (
        await session.execute(
            select(Reservation, Store)
            .join(Store, Store.id == Reservation.store_id)
            .where(
                Reservation.member_id == identity.member_id,
                Store.organization_id == identity.organization_id,
                Reservation.ends_at > utc_now(),
            )
            .order_by(Reservation.starts_at, Reservation.id)
            .limit(UPCOMING_LIMIT)
        )
    ).all()
    views = await reservations.views_of(session, [reservation for reservation, _store in rows])
    return [
        MemberReservation(
            view.reservation, store.name, store.timezone, tuple(table.name for table in view.tables)
        )
        for view, (_reservation, store) in zip(views, rows, strict=True)
    ]


async def cancel(session: AsyncSession, identity: PortalIdentity, reservation_id: int) -> MemberReservation:
    """Cancel one of the member's own booked or confirmed reservations (409 naming
    ``status`` otherwise); anyone else's is 404."""
    reservation = await session.get(Reservation, reservation_id)
    if reservation is None or reservation.member_id != identity.member_id:
        raise NotFound(f"no reservation {reservation_id}", field="reservation_id")
    store = await session.get(Store, reservation.store_id)
    if store is None or store.organization_id != identity.organization_id:
        raise NotFound(f"no reservation {reservation_id}", field="reservation_id")
    actor = Actor.system(store.organization_id, store_id=store.id, name=reservations.PORTAL_ACTOR_NAME)
    await reservations.cancel(session, actor, reservation.id, CANCEL_REASON)
    return await _view(session, reservation)
