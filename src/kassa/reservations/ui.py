"""Reservations on screen.

- The day view: a timeline by table (rows are tables, columns the hours, blocks the
  reservations) and the day's list, with search by name or phone; at
  ``/register/reservations`` (a register view beside register, floor and orders) and in the
  back office at ``/backoffice/reservations`` (with the store's settings).
- The reservation form: the customer (a member found by phone or name, or a name and a
  phone), party, date, time, length, a table picker showing what is free, notes, deposit.
  ``open_reservation_form`` opens it from any screen; the phone assistant's "Reserve table"
  (``telephony.hooks``) opens it for the caller.
- A reservation's details: its history and the actions its status allows.
- On the floor: reserved tables, and a tap on one offers to seat the booked guests.

Importing this module registers the pages, the register view, the floor hooks and the
phone assistant's "Reserve table".
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Permission
from kassa.core.database import get_database, utc_now
from kassa.core.errors import KassaError
from kassa.core.i18n import N_, format_datetime
from kassa.core.phones import display_phone
from kassa.floor import service as floor_service
from kassa.orders.ui.floor import FLOOR_MARKS, FLOOR_TAPS, LIVE_EVENT_PREFIXES, LiveSection
from kassa.orders.ui.view import TableView
from kassa.orders.ui.widgets import REGISTER_VIEWS, dialog_card, run, view_switch
from kassa.reservations import service
from kassa.reservations.form import (
    FIELD,
    TOUCH,
    FormHost,
    Host,
    clock_text,
    day_title,
    details_dialog,
    reservation_form,
    status_badge,
)
from kassa.reservations.models import ReservationStatus
from kassa.reservations.settings import SettingsChange, settings_of, update_settings
from kassa.reservations.view import (
    PX_PER_MINUTE,
    ROW_PX,
    STATUS_CLASSES,
    day_window,
    hour_label,
    local_today,
    minute_of_day,
    parse_time,
    time_text,
)
from kassa.stores import service as store_service
from kassa.stores.models import Store
from kassa.stores.service import store_topic
from kassa.telephony.hooks import Caller, set_reserve_table_handler
from kassa.web.layout import (
    RegisterContext,
    backoffice_frame,
    chosen_store,
    current_locale,
    gettext,
    load_register_context,
    notify_error,
    register_frame,
    require_backoffice_actor,
    store_switch,
    subscribe_for_this_page,
)

LABEL_PX = 88  # the table names column of the timeline


async def open_reservation_form(
    screen: FormHost, *, member_id: int | None = None, phone: str | None = None
) -> None:
    """Book a table from any screen: the member (or the caller's number) is filled in."""
    await reservation_form(screen, member_id=member_id, phone=phone)


# --- the day view ---------------------------------------------------------------------------


class DayView:
    """One day's reservations: a timeline by table and the list, live."""

    def __init__(self, host: Host, day: date) -> None:
        self.host = host
        self.day = day
        self._ = gettext()
        self.locale = current_locale()
        self.query = ""
        self.is_scroll_due = True  # on the first drawing, after changing the day or booking
        self.focus_reservation_id: int | None = None

    def build(self) -> None:
        _ = self._
        with ui.row().classes("w-full items-center gap-2"):
            ui.button(icon="chevron_left", on_click=lambda: self.move(-1)).props("flat round").classes(
                TOUCH
            ).props('data-testid="day-previous"')
            self.title = ui.label().classes("text-lg font-bold").props('data-testid="day-title"')
            ui.button(icon="chevron_right", on_click=lambda: self.move(1)).props("flat round").classes(
                TOUCH
            ).props('data-testid="day-next"')
            ui.button(_("Today"), on_click=self.today).props("no-caps outline color=teal-8").classes(
                TOUCH
            ).props('data-testid="day-today"')
            ui.space()
            self.search = (
                ui.input(_("Find by name or phone"))
                .props("outlined dense clearable inputmode=search")
                .classes("w-56")
                .props('data-testid="resv-search"')
            )
            self.search.on("keydown.enter", self.find)
            self.search.on("clear", self.clear_search)
            ui.button(_("New reservation"), icon="add", on_click=self.new).props(
                "no-caps unelevated color=positive"
            ).classes(TOUCH).props('data-testid="resv-new"')
        # Kept across redraws (only its content is drawn again), so it keeps its scroll.
        self.scroller = (
            ui.element("div")
            .classes("w-full overflow-x-auto rounded-xl border border-slate-300 bg-white")
            .props('data-testid="timeline"')
        )
        self.listing = ui.column().classes("w-full gap-2")

    async def move(self, days: int) -> None:
        self.day += timedelta(days=days)
        self.is_scroll_due = True
        await self.draw()

    async def today(self) -> None:
        self.day = local_today(utc_now(), self.host.store.timezone)
        self.is_scroll_due = True
        await self.draw()

    async def new(self) -> None:
        saved = await reservation_form(self.host, day=self.day)
        if saved is not None:
            self.focus_reservation_id, self.is_scroll_due = saved, True
            await self.draw()

    async def find(self) -> None:
        self.query = (self.search.value or "").strip()
        await self.draw()

    async def clear_search(self) -> None:
        self.query = ""
        await self.draw()

    async def draw(self) -> None:
        store, actor = self.host.store, self.host.actor
        try:
            async with get_database().read_only() as session:
                rules = await settings_of(session, store.id)
                floor = await floor_service.list_floor(session, actor, store.id)
                views = await service.views_of(
                    session, await service.list_day(session, actor, store.id, self.day)
                )
                found = (
                    await service.views_of(
                        session, await service.search(session, actor, store.id, self.query)
                    )
                    if self.query
                    else None
                )
        except KassaError as error:
            with self.host.root:
                notify_error(error)
            return
        self.title.set_text(day_title(store, self.day, self.locale))
        self.title.props(f'data-day="{self.day.isoformat()}"')
        self.scroller.clear()
        with self.scroller:
            self.paint_timeline(rules, floor, views)
        self.listing.clear()
        with self.listing:
            if found is not None:
                ui.label(self._("Found for “{query}”").format(query=self.query)).classes("text-lg font-bold")
                if not found:
                    ui.label(self._("No reservation found.")).classes("opacity-70")
                for view in found:
                    self.card(view, with_date=True)
                return
            if not views:
                ui.label(self._("No reservations on this day.")).classes("opacity-70")
            for view in views:
                self.card(view)

    def paint_timeline(self, rules: Any, floor: Any, views: list[service.ReservationView]) -> None:
        store = self.host.store
        window = day_window(rules, self.day, store.timezone, views)
        by_table: dict[int, list[service.ReservationView]] = {}
        for view in views:
            if view.reservation.status == ReservationStatus.CANCELLED:
                continue
            for table in view.tables:
                by_table.setdefault(table.id, []).append(view)
        grid = (
            "background-image: repeating-linear-gradient(to right, #cbd5e1 0 1px, transparent 1px "
            f"{60 * PX_PER_MINUTE}px), repeating-linear-gradient(to right, #eef2f7 0 1px, transparent 1px "
            f"{30 * PX_PER_MINUTE}px)"
        )
        now_minute = minute_of_day(utc_now(), self.day, store.timezone)
        shows_now = window.start <= now_minute < window.end
        if self.is_scroll_due:
            # Bring the hour that matters into view: a booking just made, else now, else the
            # day's first booking.
            self.is_scroll_due = False
            starts = {
                view.reservation.id: minute_of_day(view.reservation.starts_at, self.day, store.timezone)
                for view in views
            }
            focus = now_minute if shows_now else min(starts.values(), default=window.start)
            if self.focus_reservation_id in starts:
                focus = starts[self.focus_reservation_id]
            left = max(0, window.left_px(focus - 60))
            script = f"const box = getHtmlElement({self.scroller.id}); if (box) box.scrollLeft = {left};"
            ui.run_javascript(f"setTimeout(() => {{ {script} }}, 50)")
        with ui.element("div").classes("relative").style(f"width: {LABEL_PX + window.width_px}px"):
            with ui.element("div").classes("flex border-b border-slate-300"):
                ui.element("div").classes(
                    "sticky left-0 z-20 bg-white shrink-0 border-r border-slate-200"
                ).style(f"width: {LABEL_PX}px")
                with ui.element("div").classes("relative h-7 shrink-0").style(f"width: {window.width_px}px"):
                    for minute in window.hours():
                        ui.label(hour_label(minute)).classes("absolute top-1 text-xs opacity-70 pl-1").style(
                            f"left: {window.left_px(minute)}px"
                        )
            area_name = None
            for area, table in floor:
                if area.name != area_name:
                    area_name = area.name
                    ui.label(area.name).classes(
                        "sticky left-0 inline-block px-2 pt-2 pb-1 text-sm font-bold bg-white"
                    )
                with (
                    ui.element("div")
                    .classes("flex border-t border-slate-200")
                    .props(f'data-testid="timeline-row" data-table="{table.name}"')
                ):
                    with (
                        ui.element("div")
                        .classes(
                            "sticky left-0 z-10 bg-white shrink-0 px-2 flex flex-col justify-center"
                            " border-r border-slate-200"
                        )
                        .style(f"width: {LABEL_PX}px; height: {ROW_PX}px")
                    ):
                        ui.label(table.name).classes("font-bold leading-tight")
                        ui.label(self._("{count} seats").format(count=table.seats)).classes(
                            "text-xs opacity-60"
                        )
                    with (
                        ui.element("div")
                        .classes("relative shrink-0")
                        .style(f"width: {window.width_px}px; height: {ROW_PX}px; {grid}")
                    ):
                        for view in by_table.get(table.id, []):
                            self.block(view, window)
                        if shows_now:
                            ui.element("div").classes(
                                "absolute top-0 bottom-0 w-0.5 bg-rose-500 z-[5]"
                            ).style(f"left: {window.left_px(now_minute)}px")

    def block(self, view: service.ReservationView, window: Any) -> None:
        reservation = view.reservation
        store = self.host.store
        start = minute_of_day(reservation.starts_at, self.day, store.timezone)
        end = minute_of_day(reservation.ends_at, self.day, store.timezone)
        left = window.left_px(start)
        width = max(window.left_px(end) - left, 24)
        when = clock_text(store, reservation.starts_at, self.locale)
        text = f"{when} {reservation.customer_name} · {reservation.party_size}"
        with (
            ui.element("div")
            .classes(
                "absolute top-1 bottom-1 rounded-md border-l-4 px-2 overflow-hidden cursor-pointer"
                " select-none flex items-center shadow-sm " + STATUS_CLASSES[reservation.status]
            )
            .style(f"left: {left}px; width: {width}px")
            .props(
                f'role=button data-testid="timeline-block" data-reservation-id="{reservation.id}" '
                f'data-status="{reservation.status.value}"'
            )
            .on("click", lambda: self.open(reservation.id))
        ):
            ui.label(text).classes("text-sm font-medium whitespace-nowrap truncate")

    def card(self, view: service.ReservationView, *, with_date: bool = False) -> None:
        reservation = view.reservation
        store, _ = self.host.store, self._
        when = clock_text(store, reservation.starts_at, self.locale)
        if with_date:
            when = format_datetime(reservation.starts_at, store.timezone, self.locale, "yyyy-MM-dd HH:mm")
        with (
            ui.element("div")
            .classes(
                "w-full rounded-lg border border-slate-200 bg-white px-3 py-2 flex items-center gap-3 "
                "flex-nowrap cursor-pointer select-none active:bg-teal-50"
            )
            .props(
                f'role=button data-testid="day-reservation" data-reservation-id="{reservation.id}" '
                f'data-status="{reservation.status.value}"'
            )
            .on("click", lambda: self.open(reservation.id))
        ):
            ui.label(when).classes("text-lg font-bold tabular-nums whitespace-nowrap")
            with ui.column().classes("gap-0 flex-1 min-w-0"):
                ui.label(
                    f"{reservation.customer_name} · "
                    + _("{count} guests").format(count=reservation.party_size)
                ).classes("font-medium truncate w-full")
                facts = [view.table_label]
                if reservation.customer_phone:
                    facts.append(display_phone(reservation.customer_phone, store.phone_region))
                if reservation.notes:
                    facts.append(reservation.notes)
                ui.label(" · ".join(fact for fact in facts if fact)).classes(
                    "text-xs opacity-70 truncate w-full"
                )
            status_badge(reservation.status, _)

    async def open(self, reservation_id: int) -> None:
        await details_dialog(self.host, reservation_id, self.draw)


def _parse_day(text: str | None, store: Store) -> date:
    """``?day=2026-12-01``, else today in the store."""
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return local_today(utc_now(), store.timezone)


@ui.page("/register/reservations", title="Kassa · reservations")
async def register_reservations_page(day: str | None = None) -> None:
    context = await load_register_context()
    if context is None:
        ui.navigate.to("/")
        return
    with register_frame(context):
        root = ui.column().classes("w-full gap-3")
        with root:
            view_switch("/register/reservations")
            day_view = DayView(Host(context.actor, context.store, root), _parse_day(day, context.store))
            day_view.build()
    section = LiveSection(day_view.listing, day_view.draw)
    await day_view.draw()
    subscribe_for_this_page(store_topic(context.store.id), section.on_event)
    ui.timer(60.0, section.request)  # the now line moves on


@ui.page("/backoffice/reservations", title="Kassa · reservations")
async def backoffice_reservations_page(store: int | None = None, day: str | None = None) -> None:
    actor = await require_backoffice_actor()
    if actor is None:
        return
    _ = gettext()
    async with get_database().read_only() as session:
        stores = await store_service.list_stores(session, actor)
        current = chosen_store(stores, actor, store)
        rules = await settings_of(session, current.id) if current else None
    with backoffice_frame(actor, _("Reservations")):
        if current is None or rules is None:
            ui.label(_("No store yet.")).classes("opacity-70")
            return
        store_switch(stores, current, "/backoffice/reservations")
        root = ui.column().classes("w-full gap-3")
        with root:
            day_view = DayView(Host(actor, current, root), _parse_day(day, current))
            day_view.build()
            if actor.can(Permission.SETTINGS_MANAGE):
                settings_card(actor, current, rules)
    section = LiveSection(day_view.listing, day_view.draw)
    await day_view.draw()
    subscribe_for_this_page(store_topic(current.id), section.on_event)


def settings_card(actor: Actor, store: Store, rules: Any) -> None:
    """The store's reservation settings."""
    _ = gettext()
    with (
        ui.expansion(_("Reservation settings"), icon="settings")
        .classes("w-full max-w-2xl")
        .props('data-testid="resv-settings"')
    ):
        numbers: dict[str, ui.number] = {}
        with ui.grid().classes("w-full gap-3 grid-cols-1 sm:grid-cols-2"):
            for field, label in (
                ("default_duration_minutes", _("Default length (minutes)")),
                ("hold_before_minutes", _("Reserved on the floor from (minutes before)")),
                ("reminder_lead_minutes", _("Reminder SMS (minutes before)")),
                ("no_show_after_minutes", _("No-show after (minutes late)")),
                ("slot_minutes", _("Online booking every (minutes)")),
            ):
                numbers[field] = ui.number(
                    label, value=getattr(rules, field), min=0, step=5, format="%d"
                ).props(FIELD)
            opens = ui.input(_("Online booking from"), value=time_text(rules.opens_at_minute)).props(FIELD)
            last = ui.input(_("Last online booking at"), value=time_text(rules.last_start_minute)).props(
                FIELD
            )
        confirmation = ui.switch(_("Confirmation SMS"), value=rules.is_confirmation_sms_on)
        reminder = ui.switch(_("Reminder SMS"), value=rules.is_reminder_sms_on)
        auto_no_show = ui.switch(_("Mark no-shows automatically"), value=rules.is_auto_no_show_on)

        async def save() -> None:
            opens_minute, last_minute = parse_time(opens.value or ""), parse_time(last.value or "")
            if opens_minute is None or last_minute is None:
                ui.notify(_("Type a date and a time like 19:00."), type="warning", position="top")
                return
            change = SettingsChange(
                **{field: int(number.value or 0) for field, number in numbers.items()},
                opens_at_minute=opens_minute,
                last_start_minute=last_minute,
                is_confirmation_sms_on=bool(confirmation.value),
                is_reminder_sms_on=bool(reminder.value),
                is_auto_no_show_on=bool(auto_no_show.value),
            )
            try:
                async with get_database().unit_of_work() as session:
                    await update_settings(session, actor, store.id, change)
            except KassaError as error:
                notify_error(error)
                return
            ui.notify(_("Saved"), type="positive")

        ui.button(_("Save"), icon="save", on_click=save).props("no-caps unelevated").classes(TOUCH).props(
            'data-testid="resv-settings-save"'
        )


# --- on the floor ---------------------------------------------------------------------------


async def floor_marks(session: AsyncSession, actor: Actor, store_id: int) -> dict[int, str]:
    """What a reserved table shows on the floor: the time, the name and the party."""
    holds = await service.floor_holds(session, actor, store_id, utc_now())
    store = await session.get(Store, store_id)
    assert store is not None
    marks = {}
    for table_id, hold in holds.items():
        reservation = hold.reservation
        who = f"{reservation.customer_name} · {reservation.party_size}"
        marks[table_id] = (
            who if hold.is_seated else f"{clock_text(store, reservation.starts_at, store.locale)} {who}"
        )
    return marks


async def floor_tap(root: ui.element, context: RegisterContext, table: TableView) -> bool:
    """A tap on a free table that is booked soon: seat the reservation (its bill opens with
    the member), or open a bill without it. A joined table of a seated party opens its bill."""
    if table.is_occupied:
        return False
    _ = gettext()
    locale = current_locale()
    now = utc_now()
    try:
        async with get_database().read_only() as session:
            upcoming = await service.upcoming_reservation_for_table(session, context.actor, table.id, now)
            hold = (await service.floor_holds(session, context.actor, context.store.id, now)).get(table.id)
    except KassaError as error:
        with root:
            notify_error(error)
        return True
    if upcoming is None:
        if hold is not None and hold.is_seated and hold.bill_id is not None:
            ui.navigate.to(f"/register?bill={hold.bill_id}")
            return True
        return False
    when = clock_text(context.store, upcoming.starts_at, locale)
    with dialog_card(root, _("Table {name}").format(name=table.name), "seat-reservation", 440) as dialog:
        ui.label(
            _("Seat reservation for {name} ({time}, {count})?").format(
                name=upcoming.customer_name, time=when, count=upcoming.party_size
            )
        ).classes("text-lg").props('data-testid="seat-reservation-question"')
        if upcoming.notes:
            ui.label(upcoming.notes).classes("text-sm opacity-70")
        ui.button(_("Seat"), icon="event_seat", on_click=lambda: dialog.submit("seat")).props(
            "no-caps unelevated color=positive"
        ).classes("w-full min-h-[56px] text-lg").props('data-testid="seat-reservation-ok"')
        ui.button(_("Open a bill without it"), on_click=lambda: dialog.submit("walk_in")).props(
            "no-caps outline color=grey-8"
        ).classes("w-full " + TOUCH).props('data-testid="seat-reservation-walk-in"')
    answer = await run(dialog)
    if answer == "walk_in":
        return False
    if answer == "seat":
        try:
            async with get_database().unit_of_work() as session:
                _reservation, bill = await service.seat(session, context.actor, upcoming.id)
                bill_id = bill.id
        except KassaError as error:
            with root:
                notify_error(error)
            return True
        ui.navigate.to(f"/register?bill={bill_id}")
    return True


async def reserve_for_caller(actor: Actor, caller: Caller, host: ui.element) -> int | None:
    """The phone assistant's "Reserve table": the form with the caller filled in."""
    async with get_database().read_only() as session:
        store = await store_service.get_store(session, actor, caller.store_id)
    return await reservation_form(
        Host(actor, store, host), member_id=caller.member_id, phone=caller.phone_e164 or None
    )


REGISTER_VIEWS.append(("/register/reservations", N_("Reservations"), "event", "view-reservations"))
FLOOR_MARKS.append(floor_marks)
FLOOR_TAPS.append(floor_tap)
LIVE_EVENT_PREFIXES.append("reservation.")
set_reserve_table_handler(reserve_for_caller)
