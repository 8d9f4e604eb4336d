"""The cashier's shift controls in the register header: a button that shows whether this
register's drawer is open (and since when), and behind it opening a shift with the float,
cash in and out with a reason, the X report, and closing with the count by note and coin
(counted against expected, the difference live), then the closing report.

Every action is one unit of work calling ``kassa.shifts.service``, which checks the
permissions and the rules; the buttons are only hidden by the same checks. Registered in
the header when imported, so orders never imports shifts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nicegui import background_tasks, ui

from kassa.core.auth import Permission
from kassa.core.database import get_database
from kassa.core.errors import KassaError, NotFound
from kassa.core.events import Event
from kassa.core.i18n import N_, format_datetime, format_money
from kassa.core.money import Money
from kassa.orders.ui.view import parse_amount, press_key
from kassa.orders.ui.widgets import dialog_card, keypad, run
from kassa.shifts import render, service
from kassa.shifts.denominations import count_cash, denominations_of
from kassa.shifts.models import CashMovementKind
from kassa.shifts.schemas import ShiftOut, ShiftReport
from kassa.stores.service import store_topic
from kassa.web.layout import (
    REGISTER_HEADER_ITEMS,
    RegisterContext,
    current_locale,
    gettext,
    notify_error,
    subscribe_for_this_page,
)

SHIFT_PERMISSIONS = (Permission.SHIFT_MANAGE, Permission.CASH_DRAWER, Permission.REPORT_VIEW)
SHIFT_EVENTS = frozenset({"shift.opened", "shift.cash_movement", "shift.closed"})
BIG = "min-h-[56px] text-base"
# Quick reasons: a tap fills the reason, which stays editable.
CASH_REASONS = {
    CashMovementKind.CASH_IN: (N_("Change from the bank"), N_("Float top-up")),
    CashMovementKind.CASH_OUT: (N_("Paid to a supplier"), N_("Bank deposit")),
}
MAX_COUNT_DIGITS = 6


class AmountPad:
    """An amount typed on the keypad (major units, as the register's other keypads), shown
    as money; ``amount`` is in minor units, None while nothing is typed."""

    def __init__(self, desk: ShiftDesk, testid: str, on_change: Callable[[], None]) -> None:
        self.desk = desk
        self.text = ""
        self.on_change = on_change
        self.display = (
            ui.label()
            .classes("w-full text-3xl font-bold text-right tabular-nums h-10")
            .props(f'data-testid="{testid}-display"')
        )
        keypad(self.press, testid_prefix=f"{testid}-key")
        self.paint()

    @property
    def amount(self) -> int | None:
        return parse_amount(self.text, self.desk.currency)

    def press(self, key: str) -> None:
        self.text = press_key(self.text, key, self.desk.currency)
        self.paint()
        self.on_change()

    def clear(self) -> None:
        self.press("clear")

    def paint(self) -> None:
        amount = self.amount
        self.display.set_text(self.desk.money(amount or 0))
        self.display.classes(
            add="opacity-40" if amount is None else "", remove="" if amount is None else "opacity-40"
        )
        self.display.props(f'data-amount="{"" if amount is None else amount}"')


class ShiftDesk:
    """One register tab's shift button and its dialogs."""

    def __init__(self, context: RegisterContext, host: ui.element) -> None:
        self.actor = context.actor
        self.store = context.store
        self.register_id = context.register.id
        self.currency = context.store.currency
        self.locale = current_locale()
        self._ = gettext()
        # Dialogs and notifications live here: the header is never redrawn.
        self.host = host
        self.shift: ShiftOut | None = None
        self.button: ui.button | None = None
        self.button_label: ui.label | None = None
        self.button_caption: ui.label | None = None
        # One action at a time: a second tap while one runs is dropped (one cash in, one close).
        self.busy = asyncio.Lock()

    # --- display helpers ----------------------------------------------------------------

    def money(self, amount: int) -> str:
        return format_money(Money(amount, self.currency), self.locale)

    def time(self, shift: ShiftOut) -> str:
        return format_datetime(shift.opened_at, self.store.timezone, self.locale, "HH:mm")

    def notify(self, message: str, kind: str = "info") -> None:
        with self.host:
            # Good news goes quickly; problems stay until read (as on the register).
            timeout = 2500 if kind == "positive" else 6000
            ui.notify(message, type=kind, position="top", multi_line=True, timeout=timeout)  # type: ignore[arg-type]

    def error(self, error: KassaError) -> None:
        with self.host:
            notify_error(error)

    # --- the header button --------------------------------------------------------------

    def make_button(self) -> None:
        # Inside the host, so the header gets one item (and one gap) from shifts. The header
        # is full: on a tablet the state takes two short lines, on a phone only the icon shows.
        with self.host:
            button = (
                ui.button(on_click=self.open)
                .props("flat color=white icon=point_of_sale")
                .classes("min-h-[48px] px-3 max-sm:px-2")
                .props('data-testid="shift-button" data-shift-status="unknown"')
            )
        with button, ui.column().classes("ml-2 gap-0 items-start max-sm:hidden"):
            self.button_caption = ui.label().classes("text-[10px] leading-tight opacity-80 whitespace-nowrap")
            self.button_label = ui.label(self._("Shift")).classes("text-sm leading-tight whitespace-nowrap")
        self.button = button

    def paint_button(self) -> None:
        if self.button is None or self.button.is_deleted or self.button_label is None:
            return
        assert self.button_caption is not None
        if self.shift is None:
            caption, text, icon, color, status = "", self._("No shift"), "lock", "amber-3", "none"
            description = text
        else:
            caption, text = self._("Shift open"), self.time(self.shift)
            icon, color, status = "point_of_sale", "white", "open"
            description = self._("Shift open since {time}").format(time=text)
        self.button_caption.set_text(caption)
        self.button_caption.set_visibility(bool(caption))
        self.button_label.set_text(text)
        self.button.props(
            f'icon={icon} color={color} data-shift-status="{status}" aria-label="{description}"'
            f' title="{description}"'
        )

    async def refresh(self) -> None:
        """Load this register's open shift (none: no shift) and show it on the button."""
        try:
            async with get_database().read_only() as session:
                shift = await service.current_shift(session, self.actor, self.register_id)
                self.shift = ShiftOut.model_validate(shift)
        except NotFound:
            self.shift = None
        except KassaError:
            return  # the session ended or the register moved: the page reloads to the login
        self.paint_button()

    def on_event(self, event: Event) -> None:
        if event.name in SHIFT_EVENTS and event.payload.get("register_id") == self.register_id:
            # Published from another request's context: refresh as a background task.
            background_tasks.create(self.refresh(), name="shift-button")

    # --- what the button does -----------------------------------------------------------

    async def open(self) -> None:
        if self.busy.locked():
            return
        await self.refresh()
        if self.shift is None:
            if self.actor.can(Permission.SHIFT_MANAGE):
                await self.open_shift()
            else:
                self.notify(self._("No shift is open on this register. A cashier or manager opens one."))
            return
        shift = self.shift  # a screen event may change self.shift while the menu is open
        action = await self.menu(shift)
        if action == "cash_in":
            await self.cash_movement(shift.id, CashMovementKind.CASH_IN)
        elif action == "cash_out":
            await self.cash_movement(shift.id, CashMovementKind.CASH_OUT)
        elif action == "report":
            await self.show_report(shift.id)
        elif action == "close":
            await self.close_shift(shift.id)

    async def menu(self, shift: ShiftOut) -> str | None:
        _ = self._
        try:
            async with get_database().read_only() as session:
                names = await service.staff_names(session, [shift.opened_by_staff_id])
        except KassaError:
            names = {}
        with dialog_card(self.host, _("Shift"), "shift-menu", 460) as dialog:
            ui.label(
                _("Open since {time} by {name}").format(
                    time=self.time(shift), name=service.staff_name(shift.opened_by_staff_id, names)
                )
            ).classes("text-base").props('data-testid="shift-menu-status"')
            ui.label(
                _("Opening float: {amount}").format(amount=self.money(shift.opening_float_amount))
            ).classes("text-sm opacity-80")
            with ui.grid(columns=2).classes("w-full gap-2"):
                can_move = self.actor.can(Permission.CASH_DRAWER)
                can_manage = self.actor.can(Permission.SHIFT_MANAGE)
                can_report = can_manage or self.actor.can(Permission.REPORT_VIEW)
                for action, label, icon, is_shown in (
                    ("cash_in", _("Cash in"), "add_card", can_move),
                    ("cash_out", _("Cash out"), "outbox", can_move),
                    ("report", _("X report"), "summarize", can_report),
                    ("close", _("Close shift"), "lock", can_manage),
                ):
                    if not is_shown:
                        continue
                    ui.button(label, icon=icon, on_click=lambda action=action: dialog.submit(action)).props(
                        "no-caps unelevated stack "
                        + ("color=deep-orange-8" if action == "close" else "color=teal-8")
                    ).classes("min-h-[88px] text-base").props(
                        f'data-testid="shift-action-{action.replace("_", "-")}"'
                    )
        answer = await run(dialog)
        return str(answer) if answer else None

    # --- opening ------------------------------------------------------------------------

    async def open_shift(self) -> None:
        """The float counted into the drawer, typed as one amount."""
        _ = self._
        with dialog_card(self.host, _("Open shift"), "shift-open", 380) as dialog:
            ui.label(_("Count the float into the drawer, then type the amount.")).classes("text-sm")
            pad = AmountPad(self, "shift-float", lambda: paint())

            async def submit() -> None:
                amount = pad.amount
                if amount is None or self.busy.locked():
                    return
                async with self.busy:
                    try:
                        async with get_database().unit_of_work() as session:
                            shift = await service.open_shift(
                                session, self.actor, self.register_id, amount=amount
                            )
                            opened = ShiftOut.model_validate(shift)
                    except KassaError as error:
                        self.error(error)
                        return
                self.shift = opened
                self.paint_button()
                dialog.submit(opened)

            ok = (
                ui.button(_("Open shift"), icon="lock_open", on_click=submit)
                .props("no-caps unelevated color=positive")
                .classes(BIG)
                .props('data-testid="shift-open-ok"')
            )

            def paint() -> None:
                ok.set_enabled(pad.amount is not None)

            paint()
        opened = await run(dialog)
        if isinstance(opened, ShiftOut):
            self.notify(
                _("Shift open with a float of {amount}.").format(
                    amount=self.money(opened.opening_float_amount)
                ),
                "positive",
            )

    # --- cash in and out ----------------------------------------------------------------

    async def cash_movement(self, shift_id: int, kind: CashMovementKind) -> None:
        """Cash put into or taken out of the drawer, with the reason (required)."""
        _ = self._
        is_in = kind == CashMovementKind.CASH_IN
        with dialog_card(self.host, _("Cash in") if is_in else _("Cash out"), "shift-cash", 420) as dialog:
            pad = AmountPad(self, "shift-cash", lambda: paint())
            reason = (
                ui.input(_("Reason"))
                .props("outlined maxlength=200")
                .classes("w-full")
                .props('data-testid="shift-cash-reason"')
            )
            with ui.row().classes("w-full gap-2"):
                for index, text in enumerate(CASH_REASONS[kind]):
                    ui.button(_(text), on_click=lambda text=text: reason.set_value(_(text))).props(
                        "no-caps outline color=teal-8"
                    ).classes("min-h-[44px]").props(f'data-testid="shift-cash-reason-{index}"')

            async def submit() -> None:
                amount = pad.amount
                why = (reason.value or "").strip()
                if not amount or not why or self.busy.locked():
                    return
                async with self.busy:
                    try:
                        async with get_database().unit_of_work() as session:
                            await service.record_cash_movement(
                                session, self.actor, shift_id, kind=kind, amount=amount, reason=why
                            )
                    except KassaError as error:
                        self.error(error)  # the dialog stays: fix the amount and try again
                        return
                dialog.submit(amount)

            ok = (
                ui.button(_("Cash in") if is_in else _("Cash out"), icon="check", on_click=submit)
                .props("no-caps unelevated color=positive")
                .classes(BIG)
                .props('data-testid="shift-cash-ok"')
            )

            def paint() -> None:
                ok.set_enabled(bool(pad.amount) and bool((reason.value or "").strip()))

            reason.on_value_change(paint)
            paint()
        amount = await run(dialog)
        if isinstance(amount, int):
            message = _("{amount} put into the drawer.") if is_in else _("{amount} taken out of the drawer.")
            self.notify(message.format(amount=self.money(amount)), "positive")

    # --- reports ------------------------------------------------------------------------

    async def show_report(self, shift_id: int) -> None:
        """The X report of the open shift, or the closing report of a closed one, as the
        printer would print it; the PDF to keep."""
        _ = self._
        try:
            async with get_database().read_only() as session:
                report = await service.shift_report(session, self.actor, shift_id, locale=self.locale)
        except KassaError as error:
            self.error(error)
            return
        is_closed = report.kind == "close"
        title = _("Shift closed") if is_closed else _("X report")
        with dialog_card(self.host, title, "shift-report", 520) as dialog:
            with ui.column().classes("w-full gap-0"):
                if report.expected_cash_amount is not None:
                    self.figure(_("Expected cash"), report.expected_cash_amount, "shift-report-expected")
                if report.counted_cash_amount is not None and report.difference_amount is not None:
                    self.figure(_("Counted cash"), report.counted_cash_amount, "shift-report-counted")
                    self.difference_row(report.difference_amount, "shift-report-difference")
            with ui.element("div").classes(
                "w-full max-h-[50vh] overflow-auto rounded border bg-slate-50 p-2"
            ):
                ui.label(render.shift_report_text(report)).classes(
                    "font-mono whitespace-pre text-[10px] sm:text-xs leading-snug"
                ).props(f'data-testid="shift-report-text" data-kind="{report.kind}"')
            with ui.row().classes("w-full gap-2 flex-nowrap"):
                ui.button(_("PDF"), icon="picture_as_pdf", on_click=lambda: self.download_pdf(report)).props(
                    "no-caps outline color=teal-8"
                ).classes(f"flex-1 {BIG}").props('data-testid="shift-report-pdf"')
                ui.button(_("Done"), icon="check", on_click=lambda: dialog.submit(True)).props(
                    "no-caps unelevated color=teal-8"
                ).classes(f"flex-1 {BIG}").props('data-testid="shift-report-done"')
        await run(dialog)

    def figure(self, label: str, amount: int, testid: str) -> ui.label:
        with ui.row().classes("w-full items-baseline flex-nowrap gap-2"):
            ui.label(label).classes("text-base flex-1")
            return (
                ui.label(self.money(amount))
                .classes("text-lg font-bold tabular-nums")
                .props(f'data-testid="{testid}" data-amount="{amount}"')
            )

    def difference_row(self, difference: int, testid: str) -> ui.label:
        label = self.figure(self._("Difference"), difference, testid)
        self.paint_difference(label, difference)
        return label

    def paint_difference(self, label: ui.label, difference: int) -> None:
        """Counted - expected: over in amber, short in red, exact in green."""
        _ = self._
        if difference > 0:
            text, color = _("{amount} over").format(amount=self.money(difference)), "text-amber-800"
        elif difference < 0:
            text, color = _("{amount} short").format(amount=self.money(-difference)), "text-rose-700"
        else:
            text, color = _("Exact"), "text-green-700"
        label.set_text(text)
        label.classes(replace=f"text-lg font-bold tabular-nums {color}")
        label.props(f'data-amount="{difference}"')

    async def download_pdf(self, report: ShiftReport) -> None:
        pdf = await asyncio.to_thread(render.shift_report_pdf, report)
        ui.download.content(pdf, f"shift-{report.shift.id}.pdf", "application/pdf")

    # --- closing ------------------------------------------------------------------------

    async def close_shift(self, shift_id: int) -> None:
        """Count the drawer by note and coin (one amount where the currency has none listed),
        see it against the expected cash, close, then the closing report."""
        _ = self._
        try:
            async with get_database().read_only() as session:
                expected = (await service.shift_report(session, self.actor, shift_id)).expected_cash_amount
        except KassaError as error:
            self.error(error)
            return
        values = denominations_of(self.currency)
        fields: dict[int, ui.input] = {}
        line_totals: dict[int, ui.label] = {}
        with dialog_card(self.host, _("Close shift"), "shift-close", 720) as dialog:
            pad: AmountPad | None = None
            # Side by side on a tablet (every note and coin in view), stacked on a phone.
            with ui.element("div").classes("w-full flex flex-col sm:flex-row gap-3 sm:gap-5"):
                with ui.column().classes("w-full sm:flex-1 min-w-0 gap-2"):
                    if values:
                        ui.label(_("Count the cash in the drawer by note and coin.")).classes("text-sm")
                        with ui.column().classes(
                            "w-full gap-1 max-h-[40vh] sm:max-h-[62vh] overflow-y-auto flex-nowrap"
                        ):
                            for value in values:
                                self.denomination_row(value, fields, line_totals, lambda: paint())
                    else:
                        ui.label(_("Count the cash in the drawer and type the amount.")).classes("text-sm")
                        pad = AmountPad(self, "shift-count", lambda: paint())
                with ui.column().classes("w-full sm:w-[250px] shrink-0 gap-2 justify-end items-stretch"):
                    with ui.column().classes("w-full gap-0 border-t pt-2"):
                        counted_label = self.figure(_("Counted cash"), 0, "shift-close-counted")
                        # A blind count shows no expected cash (and so no difference) until
                        # the count is in; the closing report has both.
                        difference_label: ui.label | None = None
                        if expected is not None:
                            self.figure(_("Expected cash"), expected, "shift-close-expected")
                            difference_label = self.difference_row(-expected, "shift-close-difference")
                    problem = (
                        ui.label().classes("text-sm text-rose-700").props('data-testid="shift-close-problem"')
                    )
                    ok = (
                        ui.button(_("Close shift"), icon="lock", on_click=lambda: submit())
                        .props("no-caps unelevated color=deep-orange-8")
                        .classes(BIG)
                        .props('data-testid="shift-close-ok"')
                    )

            def counts() -> dict[int, int] | None:
                result = {}
                for value, field in fields.items():
                    text = str(field.value or "").strip() or "0"
                    if not text.isdigit():
                        return None
                    result[value] = int(text)
                return result

            def counted() -> int | None:
                if pad is not None:
                    return pad.amount
                pieces = counts()
                if pieces is None:
                    return None
                try:
                    return count_cash(self.currency, pieces, None)[0]
                except KassaError as error:
                    problem.set_text(error.detail)
                    return None

            def paint() -> None:
                problem.set_text("")
                pieces = counts() or {}
                for value, label in line_totals.items():
                    label.set_text(self.money(value * pieces.get(value, 0)))
                total = counted()
                if total is None and pad is None and not problem.text:
                    problem.set_text(_("Type each count as a whole number."))
                counted_label.set_text(self.money(total or 0))
                counted_label.props(f'data-amount="{total if total is not None else ""}"')
                if difference_label is not None and expected is not None:
                    self.paint_difference(difference_label, (total or 0) - expected)
                ok.set_enabled(total is not None)

            async def submit() -> None:
                if self.busy.locked():
                    return
                pieces = counts() if pad is None else None
                amount = pad.amount if pad is not None else None
                if pieces is None and amount is None:
                    return
                async with self.busy:
                    try:
                        async with get_database().unit_of_work() as session:
                            await service.close_shift(
                                session, self.actor, shift_id, denominations=pieces, amount=amount
                            )
                    except KassaError as error:
                        self.error(error)
                        return
                dialog.submit(True)

            paint()
        is_closed = await run(dialog)
        if not is_closed:
            return
        self.shift = None
        self.paint_button()
        await self.show_report(shift_id)

    def denomination_row(
        self,
        value: int,
        fields: dict[int, ui.input],
        line_totals: dict[int, ui.label],
        on_change: Callable[[], None],
    ) -> None:
        """One note or coin: its count typed or stepped with big - and + buttons."""

        def step(delta: int) -> None:
            text = str(field.value or "").strip() or "0"
            current = int(text) if text.isdigit() else 0
            field.set_value(str(max(0, current + delta)))

        with (
            ui.row()
            .classes("w-full items-center gap-1.5 sm:gap-2 flex-nowrap")
            .props(f'data-testid="shift-denomination" data-value="{value}"')
        ):
            ui.label(self.money(value)).classes("w-24 shrink-0 text-base font-bold tabular-nums")
            ui.button(icon="remove", on_click=lambda: step(-1)).props(
                "unelevated color=grey-3 text-color=grey-10"
            ).classes("w-12 h-12 shrink-0").props('data-testid="shift-denomination-minus"')
            field = (
                ui.input(value="0")
                .props(
                    f'outlined dense inputmode=numeric maxlength={MAX_COUNT_DIGITS} input-class="text-center"'
                )
                .classes("w-14 sm:w-16 shrink-0 text-lg")
                .props('data-testid="shift-denomination-count"')
            )
            ui.button(icon="add", on_click=lambda: step(1)).props(
                "unelevated color=grey-3 text-color=grey-10"
            ).classes("w-12 h-12 shrink-0").props('data-testid="shift-denomination-plus"')
            line_totals[value] = (
                ui.label()
                # On a phone only the counted total below: the row has no room for it.
                .classes("flex-1 text-right tabular-nums text-sm min-w-0 truncate max-sm:hidden")
                .props('data-testid="shift-denomination-total"')
            )
        field.on_value_change(on_change)
        fields[value] = field


def shift_header_item(context: RegisterContext) -> None:
    """The shift button in the register header, for those who work the drawer or see its
    reports (a waiter has nothing to do with it)."""
    actor = context.actor
    if not any(actor.can(permission) for permission in SHIFT_PERMISSIONS):
        return
    desk = ShiftDesk(context, ui.element("div").classes("shrink-0"))
    desk.make_button()
    subscribe_for_this_page(store_topic(context.store.id), desk.on_event)
    ui.timer(0.1, desk.refresh, once=True)


REGISTER_HEADER_ITEMS.append(shift_header_item)
