"""Reservations through the API: book, edit, confirm, seat, cancel, no-show, complete; the
day's list, search, the tables free for a party, the store's settings; and the public free
slots a member portal or a website offers (no login)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import idempotency
from kassa.core.schemas import MAX_ID, Day, Id, Line, LocalMoment
from kassa.reservations import service
from kassa.reservations.models import Reservation
from kassa.reservations.schemas import (
    CancelIn,
    FreeSlotsOut,
    ReservationChangeIn,
    ReservationIn,
    ReservationOut,
    ReservationSettingsIn,
    ReservationSettingsOut,
    SeatedOut,
    StatusChangeOut,
    TableOptionOut,
)
from kassa.reservations.settings import SettingsChange, reservation_settings, settings_of, update_settings
from kassa.web.dependencies import CurrentActor, Session, database_of

router = APIRouter(tags=["reservations"])

IdempotencyKey = Annotated[
    str | None, Header(alias=idempotency.HEADER, max_length=100, description="Repeat-safe retries")
]


async def read_only_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with database_of(request).read_only() as session:
        yield session


ReadSession = Annotated[AsyncSession, Depends(read_only_session)]


async def reservation_out(
    session: AsyncSession, reservation: Reservation, *, with_history: bool = False
) -> ReservationOut:
    (view,) = await service.views_of(session, [reservation])
    return _out(view, await _history(session, reservation.id) if with_history else None)


async def _history(session: AsyncSession, reservation_id: Id) -> list[StatusChangeOut]:
    return [
        StatusChangeOut.model_validate(row) for row in await service.status_changes(session, reservation_id)
    ]


def _out(view: service.ReservationView, history: list[StatusChangeOut] | None = None) -> ReservationOut:
    reservation = view.reservation
    return ReservationOut(
        id=reservation.id,
        store_id=reservation.store_id,
        status=reservation.status,
        member_id=reservation.member_id,
        customer_name=reservation.customer_name,
        customer_phone=reservation.customer_phone,
        party_size=reservation.party_size,
        starts_at=reservation.starts_at,
        ends_at=reservation.ends_at,
        duration_minutes=reservation.duration_minutes,
        table_ids=list(view.table_ids),
        table_names=[table.name for table in view.tables],
        notes=reservation.notes,
        deposit_amount=reservation.deposit_amount,
        currency=reservation.currency,
        is_sms_wanted=reservation.is_sms_wanted,
        reply_code=reservation.reply_code,
        source=reservation.source,
        bill_id=reservation.bill_id,
        created_at=reservation.created_at,
        history=history,
    )


async def _list_out(session: AsyncSession, reservations: list[Reservation]) -> list[ReservationOut]:
    return [_out(view) for view in await service.views_of(session, reservations)]


@router.get(
    "/stores/{store_id}/reservations/availability",
    response_model=FreeSlotsOut,
    summary="Free start times for a party (public: no login)",
)
async def availability(
    store_id: Id,
    session: ReadSession,
    day: Annotated[Day, Query(description="The store's local date")],
    party_size: Annotated[int, Query(ge=1, le=100)],
) -> FreeSlotsOut:
    """The times of ``day`` at which a party of ``party_size`` can book for the store's
    default duration, from now on, in the store's booking hours."""
    slots = await service.free_slots(session, store_id, day, party_size)
    rules = await settings_of(session, store_id)
    return FreeSlotsOut(
        store_id=store_id,
        day=day,
        party_size=party_size,
        duration_minutes=rules.default_duration_minutes,
        slots=slots,
    )


@router.get(
    "/stores/{store_id}/reservations/tables",
    response_model=list[TableOptionOut],
    summary="Tables free for a party at a time",
)
async def table_options(
    store_id: Id,
    actor: CurrentActor,
    session: Session,
    starts_at: Annotated[
        LocalMoment, Query(description="ISO 8601; without an offset: the store's time zone")
    ],
    party_size: Annotated[int, Query(ge=1, le=100)],
    duration_minutes: Annotated[int | None, Query(ge=15, le=720)] = None,
    except_reservation_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="When moving a reservation: ignore its own tables")
    ] = None,
) -> list[TableOptionOut]:
    """Single tables and joined tables of one area, free for the whole time, best fit first."""
    options = await service.table_options(
        session,
        actor,
        store_id,
        starts_at,
        party_size,
        duration_minutes=duration_minutes,
        except_reservation_id=except_reservation_id,
    )
    return [
        TableOptionOut(
            table_ids=list(option.table_ids),
            table_names=list(option.table_names),
            area_id=option.area_id,
            area_name=option.area_name,
            seats=option.seats,
        )
        for option in options
    ]


@router.post(
    "/stores/{store_id}/reservations", response_model=ReservationOut, status_code=201, summary="Book a table"
)
async def book(
    store_id: Id,
    body: ReservationIn,
    actor: CurrentActor,
    session: Session,
    idempotency_key: IdempotencyKey = None,
) -> ReservationOut:
    """A table taken at that time answers 409 naming ``table_ids``."""
    scope = f"reservation.book:{store_id}"
    if idempotency_key:
        stored = await idempotency.replay_or_reserve(session, scope, idempotency_key, body.model_dump())
        if stored is not None:
            reservation = await service.get_reservation(session, actor, int(stored["reservation_id"]))
            return await reservation_out(session, reservation)
    reservation = await service.book(
        session,
        actor,
        store_id,
        service.BookingInput(
            party_size=body.party_size,
            starts_at=body.starts_at,
            member_id=body.member_id,
            customer_name=body.customer_name,
            customer_phone=body.customer_phone,
            duration_minutes=body.duration_minutes,
            table_ids=body.table_ids,
            notes=body.notes,
            deposit_amount=body.deposit_amount,
            is_sms_wanted=body.is_sms_wanted,
        ),
    )
    if idempotency_key:
        await idempotency.remember(session, scope, idempotency_key, {"reservation_id": reservation.id})
    return await reservation_out(session, reservation)


@router.get(
    "/stores/{store_id}/reservations",
    response_model=list[ReservationOut],
    summary="The reservations of a day",
)
async def list_day(
    store_id: Id,
    actor: CurrentActor,
    session: Session,
    day: Annotated[Day, Query(description="The store's local date")],
) -> list[ReservationOut]:
    return await _list_out(session, await service.list_day(session, actor, store_id, day))


@router.get(
    "/stores/{store_id}/reservations/search",
    response_model=list[ReservationOut],
    summary="Find reservations by name or phone",
)
async def search(
    store_id: Id,
    actor: CurrentActor,
    session: Session,
    q: Annotated[Line, Query(min_length=1, max_length=100, description="Name, phone, or its last 4 digits")],
) -> list[ReservationOut]:
    return await _list_out(session, await service.search(session, actor, store_id, q))


@router.get(
    "/reservations/{reservation_id}", response_model=ReservationOut, summary="A reservation and its history"
)
async def get_reservation(reservation_id: Id, actor: CurrentActor, session: Session) -> ReservationOut:
    reservation = await service.get_reservation(session, actor, reservation_id)
    return await reservation_out(session, reservation, with_history=True)


@router.patch("/reservations/{reservation_id}", response_model=ReservationOut, summary="Change a reservation")
async def edit(
    reservation_id: Id, body: ReservationChangeIn, actor: CurrentActor, session: Session
) -> ReservationOut:
    """A new time or tables that clash with another booking answer 409 naming ``table_ids``."""
    reservation = await service.edit(
        session,
        actor,
        reservation_id,
        service.ReservationChange(
            starts_at=body.starts_at,
            duration_minutes=body.duration_minutes,
            party_size=body.party_size,
            table_ids=body.table_ids,
            notes=body.notes,
            deposit_amount=body.deposit_amount,
            customer_name=body.customer_name,
            customer_phone=body.customer_phone,
            is_sms_wanted=body.is_sms_wanted,
        ),
    )
    return await reservation_out(session, reservation, with_history=True)


@router.post("/reservations/{reservation_id}/confirm", response_model=ReservationOut)
async def confirm(reservation_id: Id, actor: CurrentActor, session: Session) -> ReservationOut:
    reservation = await service.confirm(session, actor, reservation_id)
    return await reservation_out(session, reservation, with_history=True)


@router.post("/reservations/{reservation_id}/cancel", response_model=ReservationOut)
async def cancel(reservation_id: Id, body: CancelIn, actor: CurrentActor, session: Session) -> ReservationOut:
    reservation = await service.cancel(session, actor, reservation_id, body.reason)
    return await reservation_out(session, reservation, with_history=True)


@router.post(
    "/reservations/{reservation_id}/seat",
    response_model=SeatedOut,
    summary="Seat the guests: opens a bill on the first table with the member",
)
async def seat(reservation_id: Id, actor: CurrentActor, session: Session) -> SeatedOut:
    reservation, bill = await service.seat(session, actor, reservation_id)
    assert bill.table_id is not None
    return SeatedOut(
        reservation=await reservation_out(session, reservation, with_history=True),
        bill_id=bill.id,
        table_id=bill.table_id,
    )


@router.post("/reservations/{reservation_id}/no-show", response_model=ReservationOut)
async def no_show(reservation_id: Id, actor: CurrentActor, session: Session) -> ReservationOut:
    reservation = await service.mark_no_show(session, actor, reservation_id)
    return await reservation_out(session, reservation, with_history=True)


@router.post(
    "/reservations/{reservation_id}/complete", response_model=ReservationOut, summary="The guests left"
)
async def complete(reservation_id: Id, actor: CurrentActor, session: Session) -> ReservationOut:
    reservation = await service.complete(session, actor, reservation_id)
    return await reservation_out(session, reservation, with_history=True)


@router.get("/stores/{store_id}/reservation-settings", response_model=ReservationSettingsOut)
async def get_settings(store_id: Id, actor: CurrentActor, session: Session) -> ReservationSettingsOut:
    return ReservationSettingsOut.model_validate(await reservation_settings(session, actor, store_id))


@router.patch("/stores/{store_id}/reservation-settings", response_model=ReservationSettingsOut)
async def change_settings(
    store_id: Id, body: ReservationSettingsIn, actor: CurrentActor, session: Session
) -> ReservationSettingsOut:
    row = await update_settings(session, actor, store_id, SettingsChange(**body.model_dump()))
    return ReservationSettingsOut.model_validate(row)
