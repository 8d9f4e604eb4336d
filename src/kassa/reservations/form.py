"""The reservation form (the customer: a member found by phone or name, or a name and a
phone; party, date, time, length; a table picker showing what is free; notes, deposit,
whether to text) and a reservation's details with its history and the actions its status
allows. Shared by the day views and by other screens through ``ui.open_reservation_form``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from nicegui import ui

from kassa.core.auth import Actor
from kassa.core.database import get_database, utc_now
from kassa.core.errors import KassaError
from kassa.core.i18n import format_datetime, format_money
from kassa.core.money import Money
from kassa.core.phones import display_phone
from kassa.members import service as members
from kassa.members.models import Member
from kassa.orders.ui.view import amount_text, parse_amount
from kassa.orders.ui.widgets import choice_button, dialog_card, run
from kassa.reservations import service
from kassa.reservations.availability import TableOption
from kassa.reservations.models import EXPECTED_STATUSES, ReservationStatus
from kassa.reservations.service import local_moment
from kassa.reservations.settings import settings_of
from kassa.reservations.view import (
    DURATION_CHOICES,
    STATUS_CLASSES,
    STATUS_LABELS,
    local_today,
    next_quarter,
    parse_time,
    time_text,
)
from kassa.stores.models import Store
from kassa.web.layout import (
    current_locale,
    gettext,
    notify_error,
)

TOUCH = "min-h-[48px]"
FIELD = "outlined stack-label"


class FormHost(Protocol):
    """What the form needs from the screen that opens it (the register screen has it all):
    who acts, in which store, and an element that outlives redraws to hold the dialog."""

    @property
    def actor(self) -> Actor: ...

    @property
    def store(self) -> Store: ...

    @property
    def root(self) -> ui.element: ...


@dataclass
class Host:
    actor: Actor
    store: Store
    root: ui.element


def clock_text(store: Store, moment: Any, locale: str) -> str:
    return format_datetime(moment, store.timezone, locale, "HH:mm")


def day_title(store: Store, day: date, locale: str) -> str:
    pattern = "yyyy年M月d日 EEEE" if locale.startswith("zh") else "EEEE, d MMMM yyyy"
    return format_datetime(local_moment(store.timezone, day, 12 * 60), store.timezone, locale, pattern)


def status_badge(status: ReservationStatus, _: Callable[[str], str]) -> None:
    ui.label(_(STATUS_LABELS[status])).classes(
        f"text-xs font-medium px-2 py-0.5 rounded-full border {STATUS_CLASSES[status]} no-underline"
    ).props(f'data-testid="status-badge" data-status="{status.value}"')


# --- the form ---------------------------------------------------------------------------------


async def reservation_form(
    host: FormHost,
    *,
    member_id: int | None = None,
    phone: str | None = None,
    day: date | None = None,
    reservation_id: int | None = None,
) -> int | None:
    """The form for a new reservation, or to change ``reservation_id``; the saved id."""
    _ = gettext()
    locale = current_locale()
    store, actor = host.store, host.actor
    region = store.phone_region
    async with get_database().read_only() as session:
        rules = await settings_of(session, store.id)
        current: service.ReservationView | None = None
        if reservation_id is not None:
            (current,) = await service.views_of(
                session, [await service.get_reservation(session, actor, reservation_id)]
            )
        member_of_form: Member | None = None
        wanted_member = current.reservation.member_id if current else member_id
        if wanted_member is not None:
            member_of_form = await members.get_member(session, actor, wanted_member)
        elif phone:
            found = await members.find_members(session, actor, phone)
            member_of_form = found[0] if len(found) == 1 else None
    start = next_quarter(utc_now(), store.timezone)
    if day is not None and day != start.date():
        start = local_moment(store.timezone, day, 19 * 60)
    reservation = current.reservation if current else None
    if reservation is not None:
        start = reservation.starts_at.astimezone(start.tzinfo)
    state: dict[str, Any] = {
        "member": member_of_form,
        "party": reservation.party_size if reservation else 2,
        "day": start.date(),
        "duration": reservation.duration_minutes if reservation else rules.default_duration_minutes,
        "options": [],
        "chosen": current.table_ids if current else None,
        "found": [],
    }
    title = _("Change reservation") if reservation else _("New reservation")
    with dialog_card(host.root, title, "reservation-form", 640) as dialog:
        customer = ui.column().classes("w-full gap-2")
        with ui.row().classes("w-full gap-2 items-start"):
            with ui.column().classes("gap-1"):
                ui.label(_("Guests")).classes("text-sm font-bold")
                with ui.row().classes("items-center gap-1 flex-nowrap"):
                    ui.button(icon="remove", on_click=lambda: change_party(-1)).props(
                        "unelevated color=grey-3 text-color=grey-9"
                    ).classes("h-12 w-12").props('data-testid="resv-party-minus"')
                    party_label = (
                        ui.label(str(state["party"]))
                        .classes("text-2xl font-bold w-12 text-center tabular-nums")
                        .props('data-testid="resv-party"')
                    )
                    ui.button(icon="add", on_click=lambda: change_party(1)).props(
                        "unelevated color=grey-3 text-color=grey-9"
                    ).classes("h-12 w-12").props('data-testid="resv-party-plus"')
            with (
                ui.input(_("Date"), value=state["day"].isoformat()).props(FIELD).classes("w-40") as date_input
            ):
                date_input.props('data-testid="resv-date"')
                with ui.menu().props("no-parent-event") as date_menu:
                    ui.date().bind_value(date_input).props("first-day-of-week=1")
                with date_input.add_slot("append"):
                    ui.icon("edit_calendar").on("click", date_menu.open).classes("cursor-pointer")
            with (
                ui.input(_("Time"), value=time_text(start.hour * 60 + start.minute))
                .props(FIELD + " inputmode=numeric")
                .classes("w-32") as time_input
            ):
                time_input.props('data-testid="resv-time"')
                with ui.menu().props("no-parent-event") as time_menu:
                    ui.time().bind_value(time_input).props("format24h")
                with time_input.add_slot("append"):
                    ui.icon("schedule").on("click", time_menu.open).classes("cursor-pointer")
            durations = sorted({*DURATION_CHOICES, state["duration"]})
            duration_select = (
                ui.select(
                    {minutes: _("{minutes} min").format(minutes=minutes) for minutes in durations},
                    value=state["duration"],
                    label=_("Length"),
                )
                .props(FIELD)
                .classes("w-32")
                .props('data-testid="resv-duration"')
            )
        ui.label(_("Table")).classes("text-sm font-bold")
        options_box = ui.element("div").classes("w-full grid grid-cols-2 sm:grid-cols-4 gap-2")
        notes = (
            ui.textarea(_("Notes"), value=reservation.notes if reservation else "")
            .props(FIELD + " autogrow maxlength=500")
            .classes("w-full")
            .props('data-testid="resv-notes"')
        )
        with ui.row().classes("w-full items-center gap-3"):
            deposit = (
                ui.input(
                    _("Deposit"),
                    value=amount_text(reservation.deposit_amount, store.currency)
                    if reservation and reservation.deposit_amount
                    else "",
                )
                .props(FIELD + " inputmode=decimal")
                .classes("w-40")
                .props('data-testid="resv-deposit"')
            )
            sms_wanted = ui.checkbox(
                _("Text the confirmation and the reminder"),
                value=reservation.is_sms_wanted if reservation else True,
            ).props('data-testid="resv-sms"')
        ui.button(_("Save reservation") if reservation else _("Book"), icon="event_available").props(
            "no-caps unelevated color=positive"
        ).classes("w-full min-h-[56px] text-lg").props('data-testid="resv-save"').on_click(lambda: save())

        name_input: ui.input | None = None
        phone_input: ui.input | None = None

        def paint_customer() -> None:
            nonlocal name_input, phone_input
            customer.clear()
            with customer:
                ui.label(_("Customer")).classes("text-sm font-bold")
                member: Member | None = state["member"]
                if member is not None:
                    name_input = phone_input = None
                    with (
                        ui.row()
                        .classes("w-full items-center gap-2 flex-nowrap rounded bg-teal-50 px-2 py-1")
                        .props(f'data-testid="resv-member" data-member-id="{member.id}"')
                    ):
                        ui.icon("card_membership", size="24px").classes("text-teal-800")
                        with ui.column().classes("gap-0 min-w-0 flex-1"):
                            ui.label(member.name).classes("font-bold truncate")
                            ui.label(
                                f"{display_phone(member.phone_e164, region)} · "
                                + _("Card {number}").format(number=member.card_number)
                            ).classes("text-xs opacity-80 truncate")
                        ui.button(icon="close", on_click=lambda: pick_member(None)).props(
                            "flat round color=grey-8"
                        ).props('data-testid="resv-member-clear"')
                    return
                with ui.row().classes("w-full gap-2 flex-nowrap"):
                    search = (
                        ui.input(_("Find a member: phone, last 4 digits or name"))
                        .props(FIELD + " clearable inputmode=search")
                        .classes("flex-1")
                        .props('data-testid="resv-customer-search"')
                    )

                    async def find() -> None:
                        text = (search.value or "").strip()
                        if not text:
                            return
                        try:
                            async with get_database().read_only() as session:
                                state["found"] = await members.find_members(session, actor, text)
                        except KassaError as error:
                            notify_error(error)
                            return
                        paint_found()

                    search.on("keydown.enter", find)
                    ui.button(icon="search", on_click=find).props("unelevated color=teal-8").classes(
                        TOUCH
                    ).props('data-testid="resv-customer-search-go"')
                found_box = ui.column().classes("w-full gap-1")

                def paint_found() -> None:
                    found_box.clear()
                    with found_box:
                        if not state["found"]:
                            ui.label(_("No member found.")).classes("text-sm opacity-70")
                        for found in state["found"]:
                            ui.button(
                                f"{found.name} · {display_phone(found.phone_e164, region)}",
                                on_click=lambda found=found: pick_member(found),
                            ).props("no-caps unelevated color=teal-1 text-color=teal-10 align=left").classes(
                                "w-full min-h-[48px]"
                            ).props(f'data-testid="resv-member-result-{found.id}"')

                with ui.row().classes("w-full gap-2 flex-nowrap"):
                    name_input = (
                        ui.input(_("Name"), value=reservation.customer_name if reservation else "")
                        .props(FIELD + " maxlength=100")
                        .classes("flex-1")
                        .props('data-testid="resv-name"')
                    )
                    phone_value = (reservation.customer_phone if reservation else phone) or ""
                    phone_input = (
                        ui.input(_("Phone"), value=display_phone(phone_value, region) if phone_value else "")
                        .props(FIELD + " type=tel maxlength=40")
                        .classes("flex-1")
                        .props('data-testid="resv-phone"')
                    )

        def pick_member(member: Member | None) -> None:
            state["member"] = member
            state["found"] = []
            paint_customer()

        async def change_party(step: int) -> None:
            state["party"] = min(100, max(1, state["party"] + step))
            party_label.set_text(str(state["party"]))
            await load_options()

        def start_of_form() -> datetime | None:
            minute = parse_time(time_input.value or "")
            try:
                chosen_day = date.fromisoformat((date_input.value or "").strip())
            except ValueError:
                return None
            if minute is None:
                return None
            return local_moment(store.timezone, chosen_day, minute)

        def paint_options(message: str | None = None) -> None:
            options_box.clear()
            with options_box:
                if message:
                    ui.label(message).classes("col-span-full text-sm text-rose-700").props(
                        'data-testid="resv-no-table"'
                    )
                options: list[TableOption] = state["options"]
                for option in options:
                    label = f"{option.label} · " + _("{count} seats").format(count=option.seats)
                    choice_button(
                        label,
                        lambda option=option: choose(option),
                        is_selected=state["chosen"] == option.table_ids,
                        testid=f"resv-table-{option.label}",
                    ).classes("w-full")

        def choose(option: TableOption) -> None:
            state["chosen"] = option.table_ids
            paint_options()

        async def load_options() -> None:
            starts_at = start_of_form()
            if starts_at is None:
                state["options"] = []
                paint_options(_("Type a date and a time like 19:00."))
                return
            state["duration"] = int(duration_select.value or rules.default_duration_minutes)
            try:
                async with get_database().read_only() as session:
                    options = await service.table_options(
                        session,
                        actor,
                        store.id,
                        starts_at,
                        state["party"],
                        duration_minutes=state["duration"],
                        except_reservation_id=reservation_id,
                    )
            except KassaError as error:
                state["options"] = []
                paint_options(error.detail)
                return
            state["options"] = options
            if state["chosen"] not in [option.table_ids for option in options]:
                state["chosen"] = options[0].table_ids if options else None
            paint_options(
                None if options else _("No table for {count} is free then.").format(count=state["party"])
            )

        async def save() -> None:
            starts_at = start_of_form()
            if starts_at is None:
                ui.notify(_("Type a date and a time like 19:00."), type="warning", position="top")
                return
            deposit_amount = 0
            if (deposit.value or "").strip():
                parsed = parse_amount(deposit.value, store.currency)
                if parsed is None:
                    ui.notify(_("The deposit is not an amount."), type="warning", position="top")
                    return
                deposit_amount = parsed
            member: Member | None = state["member"]
            name = (name_input.value or "").strip() if name_input is not None else ""
            typed_phone = (phone_input.value or "").strip() if phone_input is not None else ""
            table_ids = list(state["chosen"] or ())
            try:
                async with get_database().unit_of_work() as session:
                    if reservation_id is None:
                        saved = await service.book(
                            session,
                            actor,
                            store.id,
                            service.BookingInput(
                                party_size=state["party"],
                                starts_at=starts_at,
                                member_id=member.id if member else None,
                                customer_name=name,
                                customer_phone=typed_phone or None,
                                duration_minutes=int(duration_select.value),
                                table_ids=table_ids,
                                notes=notes.value or "",
                                deposit_amount=deposit_amount,
                                is_sms_wanted=bool(sms_wanted.value),
                            ),
                        )
                    else:
                        saved = await service.edit(
                            session,
                            actor,
                            reservation_id,
                            service.ReservationChange(
                                starts_at=starts_at,
                                duration_minutes=int(duration_select.value),
                                party_size=state["party"],
                                table_ids=table_ids,
                                notes=notes.value or "",
                                deposit_amount=deposit_amount,
                                customer_name=name if member is None else None,
                                customer_phone=typed_phone if member is None else None,
                                is_sms_wanted=bool(sms_wanted.value),
                            ),
                        )
                    saved_id, saved_name = saved.id, saved.customer_name
            except KassaError as error:
                notify_error(error)
                if error.field in ("table_ids", "starts_at"):
                    await load_options()
                return
            ui.notify(
                _("Reservation for {name} at {time} saved.").format(
                    name=saved_name, time=clock_text(store, starts_at, locale)
                ),
                type="positive",
                position="top",
            )
            dialog.submit(saved_id)

        paint_customer()

        async def on_date() -> None:
            date_menu.close()
            await load_options()

        date_input.on_value_change(on_date)
        time_input.on_value_change(load_options)
        duration_select.on_value_change(load_options)
        await load_options()
    result = await run(dialog)
    return int(result) if result is not None else None


# --- a reservation's details ----------------------------------------------------------------


async def details_dialog(host: FormHost, reservation_id: int, on_change: Callable[[], Any]) -> None:
    """What was booked, its history, and the actions its status allows."""
    _ = gettext()
    locale = current_locale()
    store, actor = host.store, host.actor
    try:
        async with get_database().read_only() as session:
            reservation = await service.get_reservation(session, actor, reservation_id)
            (view,) = await service.views_of(session, [reservation])
            changes = await service.status_changes(session, reservation_id)
            rules = await settings_of(session, store.id)
    except KassaError as error:
        notify_error(error)
        return
    status = reservation.status
    is_late = utc_now() >= reservation.starts_at + timedelta(minutes=rules.no_show_after_minutes)
    starts = clock_text(store, reservation.starts_at, locale)
    with dialog_card(host.root, reservation.customer_name, "reservation-details", 560) as dialog:
        dialog.props(f'data-reservation-id="{reservation.id}"')
        with ui.row().classes("items-center gap-2"):
            status_badge(status, _)
            if reservation.member_id is not None:
                ui.icon("card_membership").classes("text-teal-800").tooltip(_("Member"))
        facts = [
            (_("Date"), day_title(store, local_today(reservation.starts_at, store.timezone), locale)),
            (_("Time"), f"{starts}–{clock_text(store, reservation.ends_at, locale)}"),
            (_("Guests"), str(reservation.party_size)),
            (_("Table"), view.table_label),
            (
                _("Phone"),
                display_phone(reservation.customer_phone, store.phone_region)
                if reservation.customer_phone
                else "—",
            ),
        ]
        if reservation.notes:
            facts.append((_("Notes"), reservation.notes))
        if reservation.deposit_amount:
            facts.append(
                (_("Deposit"), format_money(Money(reservation.deposit_amount, reservation.currency), locale))
            )
        with ui.grid(columns="auto 1fr").classes("w-full gap-x-4 gap-y-1 text-base"):
            for label, value in facts:
                ui.label(label).classes("opacity-70")
                ui.label(value).classes("font-medium break-words")
        with ui.expansion(_("History"), icon="history").classes("w-full").props('data-testid="resv-history"'):
            for change in changes:
                before = _(STATUS_LABELS[change.from_status]) if change.from_status else "—"
                when = format_datetime(change.changed_at, store.timezone, locale, "MM-dd HH:mm")
                line = f"{when} · {before} → {_(STATUS_LABELS[change.to_status])} · {change.changed_by}"
                if change.note:
                    line += f" · {change.note}"
                ui.label(line).classes("text-sm").props('data-testid="resv-history-row"')

        async def act(name: str, action: Callable[[Any], Awaitable[Any]]) -> None:
            try:
                async with get_database().unit_of_work() as session:
                    result = await action(session)
            except KassaError as error:
                notify_error(error)
                return
            dialog.submit(name)
            if name == "seat":
                _reservation, bill = result
                ui.navigate.to(f"/register?bill={bill.id}")
                return
            await on_change()

        can_seat = actor.register_id is not None
        with ui.row().classes("w-full gap-2"):
            if status in EXPECTED_STATUSES:
                if can_seat:
                    _action_button(
                        _("Seat"),
                        "event_seat",
                        "resv-seat",
                        "positive",
                        lambda: act("seat", lambda s: service.seat(s, actor, reservation_id)),
                    )
                if status == ReservationStatus.BOOKED:
                    _action_button(
                        _("Confirm"),
                        "check",
                        "resv-confirm",
                        "teal-8",
                        lambda: act("confirm", lambda s: service.confirm(s, actor, reservation_id)),
                    )

                async def edit() -> None:
                    dialog.submit("edit")
                    if await reservation_form(host, reservation_id=reservation_id) is not None:
                        await on_change()

                _action_button(_("Edit"), "edit", "resv-edit", "grey-8", edit)
                if is_late:
                    _action_button(
                        _("No-show"),
                        "person_off",
                        "resv-no-show",
                        "orange-8",
                        lambda: act("no_show", lambda s: service.mark_no_show(s, actor, reservation_id)),
                    )
                _action_button(
                    _("Cancel reservation"),
                    "event_busy",
                    "resv-cancel",
                    "negative",
                    lambda: act("cancel", lambda s: service.cancel(s, actor, reservation_id)),
                )
            elif status == ReservationStatus.SEATED:
                if reservation.bill_id is not None and can_seat:
                    _action_button(
                        _("Open the bill"),
                        "receipt",
                        "resv-open-bill",
                        "indigo-8",
                        lambda: ui.navigate.to(f"/register?bill={reservation.bill_id}"),
                    )
                _action_button(
                    _("Guests left"),
                    "done_all",
                    "resv-complete",
                    "grey-8",
                    lambda: act("complete", lambda s: service.complete(s, actor, reservation_id)),
                )
        if status in EXPECTED_STATUSES and not can_seat:
            ui.label(_("Guests are seated at a register.")).classes("text-xs opacity-70")
    await run(dialog)


def _action_button(label: str, icon: str, testid: str, color: str, on_click: Callable[[], Any]) -> None:
    ui.button(label, icon=icon, on_click=on_click).props(f"no-caps unelevated color={color}").classes(
        TOUCH + " flex-1"
    ).props(f'data-testid="{testid}"')
