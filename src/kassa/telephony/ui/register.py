"""The phone assistant on the register.

A call from the phone paired with this register pops up at once (pushed on the register's
own topic, never polled): a known caller with their tier, last orders and usual items and
big buttons to select them, give them a new order (the open bill parked), repeat their
last order or reserve a table; an unknown caller with "Add customer". A header button
lists this register's missed calls (to call back) and pairs a phone.

Event handlers run in the request that committed the change, not in this page: they only
start a background task in this page's context, which builds the elements.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime, timedelta
from typing import Any

from nicegui import app, background_tasks, ui
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Permission
from kassa.core.database import get_database, utc_now
from kassa.core.errors import KassaError
from kassa.core.events import Event
from kassa.core.i18n import format_datetime, format_money
from kassa.core.money import Money
from kassa.members import service as members
from kassa.orders.models import BillStatus
from kassa.orders.ui.screen import BILL_STORAGE_KEY
from kassa.orders.ui.view import ORDER_TYPE_LABELS, bill_place
from kassa.orders.ui.widgets import dialog_card, run
from kassa.telephony import actions, service
from kassa.telephony.hooks import reserve_table_handler
from kassa.telephony.ui.view import (
    SKIP_REASON_LABELS,
    CallCard,
    OpenBill,
    caller_number,
    load_call_card,
    open_bill_of,
    state_label,
)
from kassa.web.layout import (
    REGISTER_HEADER_ITEMS,
    RegisterContext,
    current_locale,
    gettext,
    header_button,
    notify_error,
    subscribe_for_this_page,
)

REGISTER_PATH = "/register"
# Calls this browser closed without acting on them: they do not pop up again on a reload.
DISMISSED_KEY = "phone_dismissed_calls"
# What an action did, told on the register page it opens (a new page loses notifications).
NOTICES_KEY = "phone_notices"
MAX_DISMISSED = 50
# The register's own call list reaches back this far (the back office keeps everything).
RECENT_CALLS = timedelta(hours=24)
LATEST_CALLS = 10
# Missed is a matter of time: the badge looks again this often (the calls themselves are pushed).
BADGE_REFRESH_SECONDS = 30.0
BIG = "min-h-[56px] text-base"
BUTTONS = "w-full gap-2 grid-cols-1 sm:grid-cols-2"
CARD = "w-full rounded-lg border border-slate-200 bg-white p-3 flex flex-col gap-1"

Work = Callable[[AsyncSession], Awaitable[actions.CallHandled]]


class PhoneDesk:
    """One register tab's phone assistant: the popups, the header badge and the call list."""

    def __init__(
        self, context: RegisterContext, host: ui.element, storage: MutableMapping[str, Any], path: str
    ) -> None:
        self.context = context
        self.actor = context.actor
        self.store = context.store
        self.register_id = context.register.id
        self.locale = current_locale()
        self._ = gettext()
        # Dialogs and notifications live here: the header is never redrawn.
        self.host = host
        # The browser's storage: the register screen keeps the bill it shows there.
        self.storage = storage
        self.path = path
        self.badge: ui.badge | None = None
        self.calls_list: ui.column | None = None
        self.pairing: ui.dialog | None = None
        self.popups: dict[int, ui.dialog] = {}
        self.missed: list[service.CallRow] = []
        self.latest: list[service.CallRow] = []
        self.phones: list[service.AssistantRow] = []
        # One action at a time: a double tap opens one bill.
        self.busy = asyncio.Lock()

    # --- display helpers ----------------------------------------------------------------

    def money(self, amount: int, currency: str) -> str:
        return format_money(Money(amount, currency), self.locale)

    def time(self, moment: datetime, pattern: str = "HH:mm") -> str:
        return format_datetime(moment, self.store.timezone, self.locale, pattern)

    def notify(self, message: str, kind: str = "info") -> None:
        with self.host:
            timeout = 3000 if kind == "positive" else 8000
            ui.notify(message, type=kind, position="top", multi_line=True, timeout=timeout)  # type: ignore[arg-type]

    def error(self, error: KassaError) -> None:
        with self.host:
            notify_error(error)

    def bill_text(self, bill: OpenBill) -> str:
        _ = self._
        parts = [_("Bill {number}").format(number=bill.number), _(ORDER_TYPE_LABELS[bill.order_type])]
        place = bill_place(bill.order_type, None, bill.pickup_code)
        if place:
            parts.append(_("pickup {code}").format(code=place))
        return " · ".join(parts)

    # --- live updates -------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """This register's events: a call rings, a call was handled (on any of its screens),
        a phone was paired."""
        payload = event.payload
        if event.name == service.CALL_EVENT:
            background_tasks.create(self.ring(int(payload["call_id"])), name="phone-call", context=self.host)
        elif event.name == service.CALL_HANDLED_EVENT:
            popup = self.popups.get(int(payload["call_id"]))
            if popup is not None:
                popup.submit(True)
            background_tasks.create(self.refresh(), name="phone-calls", context=self.host)
        elif event.name == service.PAIRED_EVENT:
            background_tasks.create(
                self.paired(str(payload.get("name", ""))), name="phone-paired", context=self.host
            )

    async def start(self) -> None:
        """When the page opens: the badge, and a call that rings still pops up."""
        for message, kind in self.storage.pop(NOTICES_KEY, None) or ():
            self.notify(str(message), str(kind))
        await self.refresh()
        try:
            async with get_database().read_only() as session:
                ringing = await service.ringing_calls(session, self.actor, self.register_id)
        except KassaError:
            return
        dismissed = set(self.storage.get(DISMISSED_KEY) or ())
        for call in ringing:
            if call.id not in dismissed:
                background_tasks.create(self.ring(call.id), name="phone-call", context=self.host)

    async def refresh(self) -> None:
        try:
            async with get_database().read_only() as session:
                since = utc_now() - RECENT_CALLS
                self.missed = await service.list_calls(
                    session,
                    self.actor,
                    self.store.id,
                    missed_only=True,
                    register_id=self.register_id,
                    since=since,
                )
                self.latest = await service.list_calls(
                    session, self.actor, self.store.id, register_id=self.register_id, limit=LATEST_CALLS
                )
                self.phones = (
                    [
                        row
                        for row in await service.list_assistants(session, self.actor, self.store.id)
                        if row.assistant.register_id == self.register_id
                    ]
                    if self.actor.can(Permission.BACK_OFFICE)
                    else []
                )
        except KassaError:
            return
        if self.badge is not None and not self.badge.is_deleted:
            count = len(self.missed)
            self.badge.set_text(str(count))
            self.badge.props(f'data-count="{count}"')
            self.badge.set_visibility(count > 0)
        if self.calls_list is not None and not self.calls_list.is_deleted:
            self.paint_calls()

    # --- the popup ----------------------------------------------------------------------

    async def ring(self, call_id: int) -> None:
        """Show the call (once per screen) until someone acts on it or closes it."""
        if call_id in self.popups:
            return
        try:
            async with get_database().read_only() as session:
                card = await load_call_card(
                    session, self.actor, call_id, self.store.phone_region, self.locale
                )
                bill = await open_bill_of(session, self.actor, self.storage.get(BILL_STORAGE_KEY))
        except KassaError:
            return
        if card.call.outcome is not None or call_id in self.popups:
            return
        dialog = self.popup(card, bill)
        self.popups[call_id] = dialog
        try:
            answer = await run(dialog)
        finally:
            self.popups.pop(call_id, None)
        if answer is None:
            self.dismiss(call_id)

    def dismiss(self, call_id: int) -> None:
        dismissed = [*(self.storage.get(DISMISSED_KEY) or ()), call_id]
        self.storage[DISMISSED_KEY] = dismissed[-MAX_DISMISSED:]

    def popup(self, card: CallCard, bill: OpenBill | None) -> ui.dialog:
        _ = self._
        call = card.call
        member = card.summary.member
        with dialog_card(self.host, _("Incoming call"), "phone-call", 680) as dialog:
            # Only the buttons decide: a tap beside the dialog must not lose the call.
            dialog.props("persistent")
            with ui.row().classes("w-full items-center gap-3 flex-nowrap"):
                ui.icon("phone_in_talk", size="44px").classes("text-teal-700 animate-pulse shrink-0")
                with ui.column().classes("gap-0 min-w-0 flex-1"):
                    ui.label(member.name if member else _("Unknown caller")).classes(
                        "text-2xl font-bold truncate"
                    ).props(
                        f'data-testid="phone-caller" data-call-id="{call.id}" '
                        f'data-member-id="{member.id if member else ""}"'
                    )
                    details = [card.number or _("Number withheld"), self.time(call.received_at)]
                    if member is not None:
                        details.insert(1, _("Card {number}").format(number=member.card_number))
                    ui.label(" · ".join(details)).classes("text-base opacity-80").props(
                        'data-testid="phone-number"'
                    )
                    if card.facts:
                        ui.label(" · ".join(card.facts)).classes("text-sm font-bold text-teal-800").props(
                            'data-testid="phone-facts"'
                        )
            if member is not None:
                self.caller_history(card)
            ui.label(
                _("Open on this register: {bill}").format(bill=self.bill_text(bill))
                if bill is not None
                else _("No bill open on this register.")
            ).classes("text-sm rounded bg-slate-100 px-2 py-1").props('data-testid="phone-open-bill"')
            if member is not None:
                self.known_caller_buttons(dialog, card, bill)
            else:
                self.unknown_caller_buttons(dialog, card, bill)
        return dialog

    def caller_history(self, card: CallCard) -> None:
        _ = self._
        summary = card.summary
        if summary.last_orders:
            ui.label(_("Last orders")).classes("text-sm font-bold pt-1")
            with ui.column().classes("w-full gap-1").props('data-testid="phone-last-orders"'):
                for order in summary.last_orders:
                    with ui.row().classes("w-full items-baseline gap-2 flex-nowrap text-sm"):
                        ui.label(self.time(order.opened_at, "yyyy-MM-dd")).classes("opacity-70 shrink-0")
                        ui.label(self.money(order.amount, order.currency)).classes(
                            "font-bold tabular-nums shrink-0"
                        )
                        items = ", ".join(f"{item.name} ×{item.quantity}" for item in order.items)
                        ui.label(items or "—").classes("truncate min-w-0 flex-1").props(
                            'data-testid="phone-last-order"'
                        )
                        if order.status == BillStatus.OPEN:
                            ui.badge(_("open"), color="orange").classes("shrink-0")
        else:
            ui.label(_("No orders yet.")).classes("text-sm opacity-70")
        if summary.usual_items:
            with ui.row().classes("w-full items-center gap-1").props('data-testid="phone-usual-items"'):
                ui.label(_("Usually:")).classes("text-sm font-bold")
                for item in summary.usual_items:
                    ui.chip(f"{item.name} ×{item.usual_quantity}").props(
                        "dense color=teal-1 text-color=teal-10"
                    )

    def action_button(
        self, label: str, icon: str, on_click: Callable[[], Any], testid: str, color: str
    ) -> ui.button:
        """A big button: one to a row on a phone, two on a tablet."""
        return (
            ui.button(label, icon=icon, on_click=on_click)
            .props(f"no-caps unelevated {color}")
            .classes(f"w-full {BIG}")
            .props(f'data-testid="{testid}"')
        )

    def known_caller_buttons(self, dialog: ui.dialog, card: CallCard, bill: OpenBill | None) -> None:
        _ = self._
        call_id = card.call.id
        name = card.summary.member.name if card.summary.member else ""
        with ui.grid().classes(BUTTONS):

            async def select() -> None:
                async def work(session: AsyncSession) -> actions.CallHandled:
                    current = await self.current_bill(session)
                    return await actions.select_caller(
                        session,
                        self.actor,
                        call_id,
                        bill_id=current.id if current else None,
                        version=current.version if current else None,
                    )

                await self.act(work, dialog, lambda done: self.on_bill_text(name, done))

            self.action_button(_("Select customer"), "how_to_reg", select, "phone-select", "color=positive")
            if bill is not None:

                async def new_order() -> None:
                    async def work(session: AsyncSession) -> actions.CallHandled:
                        current = await self.current_bill(session)
                        return await actions.new_order_for_caller(
                            session,
                            self.actor,
                            call_id,
                            bill_id=current.id if current else None,
                            version=current.version if current else None,
                        )

                    await self.act(work, dialog, lambda done: self.new_order_text(name, done))

                self.action_button(
                    _("Select customer for a new order"),
                    "post_add",
                    new_order,
                    "phone-new-order",
                    "color=teal-8",
                )
            if card.summary.can_repeat:

                async def repeat() -> None:
                    async def work(session: AsyncSession) -> actions.CallHandled:
                        return await actions.repeat_last_order(session, self.actor, call_id)

                    await self.act(work, dialog, lambda done: self.repeat_text(name, done))

                self.action_button(_("Repeat last order"), "replay", repeat, "phone-repeat", "color=teal-8")
            self.reserve_button(dialog, card)
            self.ignore_button(dialog, call_id)

    def unknown_caller_buttons(self, dialog: ui.dialog, card: CallCard, bill: OpenBill | None) -> None:
        _ = self._
        call = card.call
        form = ui.column().classes("w-full gap-2").props('data-testid="phone-add-form"')
        form.set_visibility(False)
        with form:
            typed = (
                card.number if call.phone_e164 else "".join(c for c in call.number if c.isdigit() or c == "+")
            )
            phone = (
                ui.input(_("Mobile phone"), value=typed)
                .props("outlined inputmode=tel")
                .classes("w-full")
                .props('data-testid="phone-add-phone"')
            )
            name = (
                ui.input(_("Name"))
                .props("outlined autofocus")
                .classes("w-full")
                .props('data-testid="phone-add-name"')
            )
            privacy = ui.checkbox(_("The customer accepts the privacy policy")).props(
                'data-testid="phone-add-privacy"'
            )
            marketing = ui.checkbox(_("The customer wants offers by SMS"))

            async def add(new_order: bool) -> None:
                async def work(session: AsyncSession) -> actions.CallHandled:
                    current = await self.current_bill(session)
                    return await actions.add_caller(
                        session,
                        self.actor,
                        call.id,
                        members.MemberInput(phone=phone.value or "", name=(name.value or "").strip()),
                        members.RegistrationConsents(
                            privacy_policy_accepted=bool(privacy.value),
                            privacy_policy_version=members.CURRENT_PRIVACY_POLICY_VERSION,
                            marketing_sms=bool(marketing.value),
                        ),
                        bill_id=current.id if current else None,
                        version=current.version if current else None,
                        new_order=new_order,
                    )

                def done_text(done: actions.CallHandled) -> str:
                    member_name = done.member.name if done.member else ""
                    if done.parked_bill is not None:
                        return self.new_order_text(member_name, done)
                    return self.on_bill_text(member_name, done)

                await self.act(work, dialog, done_text)

            with ui.grid().classes(BUTTONS):
                self.action_button(
                    _("Register and select"),
                    "how_to_reg",
                    lambda: add(False),
                    "phone-add-select",
                    "color=positive",
                )
                if bill is not None:
                    self.action_button(
                        _("Register for a new order"),
                        "post_add",
                        lambda: add(True),
                        "phone-add-new-order",
                        "color=teal-8",
                    )
        with ui.grid().classes(BUTTONS):

            def open_form() -> None:
                form.set_visibility(True)
                add_button.set_visibility(False)

            add_button = self.action_button(
                _("Add customer"), "person_add", open_form, "phone-add", "color=positive"
            )
            self.reserve_button(dialog, card)
            self.ignore_button(dialog, call.id)

    def reserve_button(self, dialog: ui.dialog, card: CallCard) -> None:
        """Only when the reservations capability has said how to reserve."""
        handler = reserve_table_handler()
        if handler is None:
            return
        call_id = card.call.id

        async def reserve() -> None:
            dialog.submit(True)  # the reservation form takes the screen
            reservation_id = await handler(self.actor, card.caller(), self.host)
            if reservation_id is None:
                background_tasks.create(self.ring(call_id), name="phone-call", context=self.host)
                return

            async def work(session: AsyncSession) -> actions.CallHandled:
                return await actions.record_reservation(session, self.actor, call_id, reservation_id)

            await self.act(work, None, lambda done: self._("Table reserved."))

        self.action_button(self._("Reserve table"), "event_seat", reserve, "phone-reserve", "color=teal-8")

    def ignore_button(self, dialog: ui.dialog, call_id: int) -> None:
        async def ignore() -> None:
            async def work(session: AsyncSession) -> actions.CallHandled:
                return await actions.ignore(session, self.actor, call_id)

            await self.act(work, dialog, None)

        self.action_button(self._("Ignore"), "phone_disabled", ignore, "phone-ignore", "outline color=grey-8")

    # --- acting -------------------------------------------------------------------------

    async def current_bill(self, session: AsyncSession) -> OpenBill | None:
        """The bill this register shows now (read when the button is tapped)."""
        return await open_bill_of(session, self.actor, self.storage.get(BILL_STORAGE_KEY))

    async def act(
        self,
        work: Work,
        dialog: ui.dialog | None,
        message: Callable[[actions.CallHandled], str] | None,
    ) -> None:
        """Run one action in one unit of work, close the popup, say what was done and show
        the caller's bill."""
        if self.busy.locked():
            return
        async with self.busy:
            try:
                async with get_database().unit_of_work() as session:
                    done = await work(session)
            except actions.CallAlreadyHandled as error:
                if dialog is not None:
                    dialog.submit(True)
                self.error(error)
                return
            except KassaError as error:
                self.error(error)
                return
        if dialog is not None:
            dialog.submit(True)
        _ = self._
        notices: list[tuple[str, str]] = []
        if message is not None:
            notices.append((message(done), "positive"))
        if done.skipped:
            items = ", ".join(
                f"{line.name} ×{line.quantity} ({_(SKIP_REASON_LABELS[line.reason])})"
                for line in done.skipped
            )
            notices.append((_("Left out: {items}").format(items=items), "warning"))
        if done.bill is not None and self.opens_page(done.bill.id):
            # Told on the page that shows the bill: this one goes away.
            self.storage[NOTICES_KEY] = notices
            with self.host:
                ui.navigate.to(f"{REGISTER_PATH}?bill={done.bill.id}")
            return
        for text, kind in notices:
            self.notify(text, kind)

    def opens_page(self, bill_id: int) -> bool:
        """Whether showing the caller's bill takes another page: the selling screen reloads
        a bill it shows by itself (it hears the change)."""
        return not (self.path == REGISTER_PATH and self.storage.get(BILL_STORAGE_KEY) == bill_id)

    def on_bill_text(self, name: str, done: actions.CallHandled) -> str:
        assert done.bill is not None
        return self._("{name} is on bill {number}.").format(name=name, number=done.bill.number)

    def new_order_text(self, name: str, done: actions.CallHandled) -> str:
        assert done.bill is not None
        if done.parked_bill is None:
            return self.on_bill_text(name, done)
        return self._("Bill {parked} is parked (under Open bills); bill {number} is for {name}.").format(
            parked=done.parked_bill.number, number=done.bill.number, name=name
        )

    def repeat_text(self, name: str, done: actions.CallHandled) -> str:
        assert done.bill is not None
        return self._("Bill {number}: the last order of {name} again.").format(
            number=done.bill.number, name=name
        )

    # --- the call list and pairing ------------------------------------------------------

    async def open_calls(self) -> None:
        _ = self._
        if self.calls_list is not None:
            return
        with dialog_card(self.host, _("Calls"), "phone-calls", 560) as dialog:
            dialog.props("position=right full-height")
            self.calls_list = ui.column().classes("w-full gap-2 overflow-y-auto flex-nowrap")
        await self.refresh()
        try:
            await run(dialog)
        finally:
            self.calls_list = None

    def section(self, title: str, count: int | None, testid: str) -> None:
        with ui.row().classes("w-full items-center gap-2 pt-2"):
            ui.label(title).classes("text-base font-bold")
            if count is not None:
                ui.badge(str(count), color="red" if count else "grey-5").props(
                    f'data-testid="{testid}-count"'
                )

    def caller_text(self, row: service.CallRow) -> str:
        number = caller_number(row.call, self.store.phone_region) or self._("Number withheld")
        return f"{row.member_name} · {number}" if row.member_name else number

    def paint_calls(self) -> None:
        _ = self._
        assert self.calls_list is not None
        now = utc_now()
        self.calls_list.clear()
        with self.calls_list:
            self.section(_("Missed calls"), len(self.missed), "phone-missed")
            if not self.missed:
                ui.label(_("No missed calls.")).classes("text-sm opacity-60 px-1")
            for row in self.missed:
                card = ui.element("div").classes(CARD)
                card.props(f'data-testid="phone-missed-call" data-call-id="{row.call.id}"')
                with card:
                    with ui.row().classes("w-full items-baseline gap-2 flex-nowrap"):
                        ui.label(self.caller_text(row)).classes("text-base font-bold truncate flex-1")
                        ui.label(self.time(row.call.received_at)).classes("text-sm opacity-70")
                    with ui.row().classes("w-full gap-2 flex-nowrap"):
                        ui.button(
                            _("Open"),
                            icon="open_in_new",
                            on_click=lambda call_id=row.call.id: self.ring(call_id),
                        ).props("no-caps outline color=teal-8").classes(f"flex-1 {BIG}")
                        ui.button(
                            _("Called back"),
                            icon="phone_callback",
                            on_click=lambda call_id=row.call.id: self.called_back(call_id),
                        ).props("no-caps unelevated color=positive").classes(f"flex-1 {BIG}").props(
                            'data-testid="phone-called-back"'
                        )
            self.section(_("Latest calls"), None, "phone-latest")
            if not self.latest:
                ui.label(_("No calls yet.")).classes("text-sm opacity-60 px-1")
            for row in self.latest:
                with ui.row().classes("w-full items-baseline gap-2 flex-nowrap text-sm px-1"):
                    ui.label(self.time(row.call.received_at)).classes("opacity-70 shrink-0")
                    ui.label(self.caller_text(row)).classes("truncate flex-1 min-w-0")
                    ui.label(_(state_label(row.call, now))).classes(
                        "shrink-0 " + ("text-rose-700 font-bold" if row.is_missed else "opacity-80")
                    )
            if self.actor.can(Permission.BACK_OFFICE):
                self.section(_("Phones of this register"), None, "phone-devices")
                for phone in self.phones:
                    last = phone.assistant.last_call_at
                    ui.label(
                        phone.assistant.name
                        + (
                            " · " + _("last call {time}").format(time=self.time(last, "MM-dd HH:mm"))
                            if last
                            else ""
                        )
                    ).classes("text-sm px-1").props('data-testid="phone-device"')
                if not self.phones:
                    ui.label(_("No phone is paired with this register.")).classes("text-sm opacity-60 px-1")
                ui.button(_("Pair phone"), icon="phonelink_ring", on_click=self.pair_phone).props(
                    "no-caps unelevated color=teal-8"
                ).classes(BIG).props('data-testid="phone-pair"')

    async def called_back(self, call_id: int) -> None:
        async def work(session: AsyncSession) -> actions.CallHandled:
            return await actions.mark_called_back(session, self.actor, call_id)

        await self.act(work, None, None)
        await self.refresh()

    async def pair_phone(self) -> None:
        """Show a pairing code; it closes by itself once a phone has used it."""
        _ = self._
        try:
            async with get_database().unit_of_work() as session:
                issued = await service.create_pairing_code(session, self.actor, self.register_id)
        except KassaError as error:
            self.error(error)
            return
        code = issued.code
        with dialog_card(self.host, _("Pair phone"), "phone-pairing", 460) as dialog:
            ui.label(
                _("Type this code into the phone app (or the PBX bridge) to pair it with this register:")
            ).classes("text-base")
            ui.label(f"{code[:3]} {code[3:]}").classes(
                "w-full text-center text-6xl font-mono font-bold tracking-widest text-teal-900 py-2"
            ).props(f'data-testid="phone-pairing-code" data-code="{code}"')
            left = ui.label().classes("text-center text-sm").props('data-testid="phone-pairing-left"')
            ui.label(f'kassa phone pair {code} --name "…"').classes(
                "text-xs font-mono opacity-60 text-center"
            )

            def tick() -> None:
                seconds = int((issued.expires_at - utc_now()).total_seconds())
                if seconds <= 0:
                    left.set_text(_("The code has expired; show a new one."))
                    left.classes("text-rose-700")
                    return
                left.set_text(
                    _("Valid for {minutes}:{seconds:02d}").format(minutes=seconds // 60, seconds=seconds % 60)
                )

            tick()
            ui.timer(1.0, tick)
        self.pairing = dialog
        try:
            await run(dialog)
        finally:
            self.pairing = None

    async def paired(self, name: str) -> None:
        if self.pairing is not None:
            self.pairing.submit(True)
            self.notify(self._("{name} is paired with this register.").format(name=name), "positive")
        await self.refresh()


def phone_header_item(context: RegisterContext) -> None:
    """The calls button in the register header (a badge counts missed calls), and the
    popup of this register's incoming calls."""
    if not context.actor.can(Permission.MEMBER_VIEW):
        return
    _ = gettext()
    host = ui.element("div")
    desk = PhoneDesk(context, host, app.storage.user, ui.context.client.page.path)
    button = header_button(_("Calls"), "phone_in_talk", desk.open_calls).props('data-testid="phone-calls"')
    with button:
        desk.badge = ui.badge("0", color="red").props('floating data-testid="phone-missed-badge"')
    desk.badge.set_visibility(False)
    subscribe_for_this_page(service.register_topic(context.register.id), desk.on_event)
    ui.timer(0.1, desk.start, once=True)
    ui.timer(BADGE_REFRESH_SECONDS, desk.refresh)


REGISTER_HEADER_ITEMS.append(phone_header_item)
