"""The portal's "Book a table" page, ``/m/<store id>/reserve``: pick a day (today and the
next 13) and the party size, tap one of the free times, confirm; below, the member's
reservations still to come, each cancellable while it is booked or confirmed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.database import utc_now
from kassa.core.errors import Conflict
from kassa.core.i18n import format_datetime
from kassa.portal import reservations as portal_reservations
from kassa.portal.reservations import MemberReservation
from kassa.portal.service import PortalIdentity
from kassa.portal.ui import (
    TOUCH,
    PortalContext,
    act,
    footer,
    header,
    main_column,
    member_context,
    section_title,
)
from kassa.reservations.models import ReservationStatus
from kassa.reservations.view import STATUS_LABELS

DAYS_SHOWN = 14  # today and the next 13
DEFAULT_PARTY = 2
MAX_PARTY = 20  # larger parties call the store
STATUS_COLORS = {
    ReservationStatus.BOOKED: "amber-8",
    ReservationStatus.CONFIRMED: "teal-7",
    ReservationStatus.SEATED: "indigo-7",
    ReservationStatus.CANCELLED: "grey-6",
    ReservationStatus.NO_SHOW: "grey-6",
    ReservationStatus.COMPLETED: "grey-6",
}


@dataclass
class Choice:
    day: date
    party_size: int = DEFAULT_PARTY
    slots: list[datetime] = field(default_factory=list)


def store_today(context: PortalContext) -> date:
    return utc_now().astimezone(ZoneInfo(context.store.timezone)).date()


def day_label(context: PortalContext, day: date, today: date) -> str:
    _ = context._
    if day == today:
        return _("Today")
    if day == today + timedelta(days=1):
        return _("Tomorrow")
    moment = datetime.combine(day, time(12), tzinfo=ZoneInfo(context.store.timezone))
    return format_local(context, moment, "EEE M/d")


def format_local(context: PortalContext, moment: datetime, pattern: str) -> str:
    return format_datetime(moment, context.store.timezone, context.locale, pattern)


@ui.page("/m/{store_id}/reserve", title="Kassa · members")
async def reserve_page(store_id: int) -> None:
    context = await member_context(store_id)
    if context is None:
        return
    _ = context._
    today = store_today(context)
    choice = Choice(day=today)
    ui.page_title(f"{context.store.name} · {_('Book a table')}")
    header(context)
    footer(context, "/reserve")

    async def read_slots(session: AsyncSession, identity: PortalIdentity) -> list[datetime]:
        free = await portal_reservations.free_slots(
            session, identity, choice.day, choice.party_size, context.store.id
        )
        return free.slots

    async def load_slots() -> None:
        choice.slots = await act(context, read_slots) or []
        slot_grid.refresh()

    async def load_reservations() -> list[MemberReservation]:
        return await act(context, portal_reservations.upcoming) or []

    async def pick_day(day: date) -> None:
        choice.day = day
        day_chips.refresh()
        await load_slots()

    async def change_party(step: int) -> None:
        choice.party_size = min(MAX_PARTY, max(1, choice.party_size + step))
        party_label.set_text(str(choice.party_size))
        await load_slots()

    async def book(starts_at: datetime, notes: str, dialog: ui.dialog) -> None:
        async def action(session: AsyncSession, identity: PortalIdentity) -> MemberReservation | Conflict:
            try:
                return await portal_reservations.book(
                    session,
                    identity,
                    starts_at=starts_at,
                    party_size=choice.party_size,
                    notes=notes,
                    store_id=context.store.id,
                )
            except Conflict as taken:  # nothing was written: say so in the member's words
                return taken

        booked = await act(context, action)
        dialog.close()
        if isinstance(booked, Conflict):
            ui.notify(
                _("Sorry, that time was just taken. Please pick another."), type="warning", position="top"
            )
        elif booked is not None:
            ui.notify(_("Booked! See you soon."), type="positive", position="top")
            await upcoming_list.refresh()
        await load_slots()

    def confirm(starts_at: datetime) -> None:
        dialogs.clear()  # the one before was closed
        with (
            dialogs,
            ui.dialog() as dialog,
            ui.card().classes("items-stretch gap-3 p-4").style("width: min(420px, 94vw)"),
        ):
            ui.label(_("Book this table?")).classes("text-xl font-bold")
            ui.label(
                _("{day} at {time}, {party} guests").format(
                    day=day_label(context, choice.day, today),
                    time=format_local(context, starts_at, "HH:mm"),
                    party=choice.party_size,
                )
            ).classes("text-lg").props('data-testid="portal-reserve-summary"')
            notes = ui.input(_("Notes (optional)")).props(
                'outlined maxlength=500 data-testid="portal-reserve-notes"'
            )
            ui.button(_("Confirm"), on_click=lambda: book(starts_at, notes.value or "", dialog)).props(
                'unelevated data-testid="portal-reserve-confirm"'
            ).classes(TOUCH)
            ui.button(_("Cancel"), on_click=dialog.close).props("flat no-caps").classes(TOUCH)
        dialog.open()

    async def cancel(item: MemberReservation) -> None:
        async def action(session: AsyncSession, identity: PortalIdentity) -> MemberReservation:
            return await portal_reservations.cancel(session, identity, item.reservation.id)

        dialogs.clear()  # the one before was closed
        with (
            dialogs,
            ui.dialog() as dialog,
            ui.card().classes("items-stretch gap-3 p-4").style("width: min(420px, 94vw)"),
        ):
            ui.label(_("Cancel this reservation?")).classes("text-xl font-bold")

            async def do_cancel() -> None:
                done = await act(context, action)
                dialog.close()
                if done is not None:
                    ui.notify(_("Reservation cancelled."), type="positive", position="top")
                await upcoming_list.refresh()
                await load_slots()

            ui.button(_("Cancel reservation"), on_click=do_cancel).props(
                'unelevated color=negative data-testid="portal-reservation-cancel-confirm"'
            ).classes(TOUCH)
            ui.button(_("Keep it"), on_click=dialog.close).props("flat no-caps").classes(TOUCH)
        dialog.open()

    @ui.refreshable
    def day_chips() -> None:
        with ui.row().classes("w-full flex-nowrap overflow-x-auto gap-2 pb-1"):
            for offset in range(DAYS_SHOWN):
                day = today + timedelta(days=offset)
                is_current = day == choice.day
                ui.button(day_label(context, day, today), on_click=lambda day=day: pick_day(day)).props(
                    f"{'unelevated' if is_current else 'outline'} rounded no-caps "
                    f'data-testid="portal-reserve-day" data-day="{day.isoformat()}"'
                ).classes("shrink-0 min-h-[48px] px-4")

    @ui.refreshable
    def slot_grid() -> None:
        if not choice.slots:
            ui.label(_("No free table for this party on this day. Try another day or fewer guests.")).classes(
                "text-stone-500"
            ).props('data-testid="portal-reserve-none"')
            return
        with ui.grid(columns=3).classes("w-full gap-2"):
            for starts_at in choice.slots:
                ui.button(
                    format_local(context, starts_at, "HH:mm"), on_click=lambda at=starts_at: confirm(at)
                ).props(
                    'unelevated color=primary data-testid="portal-reserve-slot" '
                    f'data-at="{starts_at.isoformat()}"'
                ).classes("min-h-[56px] text-lg tabular-nums")

    @ui.refreshable
    async def upcoming_list() -> None:
        items = await load_reservations()
        if not items:
            ui.label(_("No reservations yet.")).classes("text-stone-500")
        for item in items:
            reservation = item.reservation
            with (
                ui.card()
                .classes("w-full p-3 gap-1")
                .props(f'flat bordered data-testid="portal-reservation" data-id="{reservation.id}"')
            ):
                with ui.row().classes("w-full items-center flex-nowrap gap-2"):
                    ui.label(format_datetime_in(item, context, "yyyy-MM-dd EEE HH:mm")).classes(
                        "text-lg font-bold grow"
                    )
                    ui.badge(_(STATUS_LABELS[reservation.status]), color=STATUS_COLORS[reservation.status])
                details = [
                    item.store_name,
                    _("{party} guests").format(party=reservation.party_size),
                ]
                if item.table_names:
                    details.append(_("Table {names}").format(names="+".join(item.table_names)))
                ui.label(" · ".join(details)).classes("text-stone-600")
                if reservation.notes:
                    ui.label(reservation.notes).classes("text-sm text-stone-500")
                if item.can_cancel:
                    ui.button(
                        _("Cancel reservation"), icon="event_busy", on_click=lambda item=item: cancel(item)
                    ).props('flat no-caps color=negative data-testid="portal-reservation-cancel"').classes(
                        "self-end min-h-[48px]"
                    )

    choice.slots = await act(context, read_slots) or []
    with main_column():
        dialogs = ui.element("div")  # outside the lists, which are redrawn while a dialog acts
        ui.label(_("Book a table")).classes("text-2xl font-bold")
        section_title(_("Day"))
        day_chips()
        section_title(_("Guests"))
        with ui.row().classes("w-full items-center justify-center gap-6"):
            ui.button(icon="remove", on_click=lambda: change_party(-1)).props(
                'round outline size=lg data-testid="portal-reserve-fewer"'
            )
            party_label = (
                ui.label(str(choice.party_size))
                .classes("text-3xl font-bold tabular-nums w-12 text-center")
                .props('data-testid="portal-reserve-party"')
            )
            ui.button(icon="add", on_click=lambda: change_party(1)).props(
                'round outline size=lg data-testid="portal-reserve-more"'
            )
        section_title(_("Free times"))
        slot_grid()
        section_title(_("My reservations"))
        await upcoming_list()


def format_datetime_in(item: MemberReservation, context: PortalContext, pattern: str) -> str:
    """A reservation's start in its own store's time zone."""
    return format_datetime(item.reservation.starts_at, item.timezone, context.locale, pattern)
