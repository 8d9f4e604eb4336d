"""The returns queue on the register, for cashiers and managers: a header badge counting
what waits (live, from the store's events), and a drawer listing returns to approve or
reject (a manager's PIN or SMS code above the store's limit), disputed or escalated
returns for managers, and cash and card refunds to hand over. An approval shows the
return slip."""

from __future__ import annotations

import asyncio
from typing import Any

from nicegui import background_tasks, ui

from kassa.core.auth import Permission, Role
from kassa.core.database import get_database
from kassa.core.errors import KassaError, PermissionDenied
from kassa.core.events import Event
from kassa.core.i18n import format_datetime, format_money
from kassa.core.money import Money
from kassa.orders.ui.view import TENDER_LABELS
from kassa.orders.ui.widgets import choice_button, dialog_card, pin_pad, run, selected_props
from kassa.payments import refunds as payment_refunds
from kassa.payments.models import Tender
from kassa.printing.escpos_render import render_text
from kassa.printing.layout import PaperWidth
from kassa.returns import service
from kassa.returns.models import Confirmation
from kassa.returns.ui.view import (
    CONFIRMATION_LABELS,
    REFUND_STATE_LABELS,
    PayoutItem,
    QueueView,
    ReturnItem,
    load_items,
    load_queue,
)
from kassa.staff import service as staff_service
from kassa.stores.service import store_topic
from kassa.web.layout import (
    REGISTER_HEADER_ITEMS,
    RegisterContext,
    current_locale,
    gettext,
    header_button,
    notify_error,
    subscribe_for_this_page,
)

QUEUE_EVENTS = frozenset({"return.requested", service.QUEUE_EVENT, "refund.changed"})
CARD = "w-full rounded-lg border border-slate-200 bg-white p-3 flex flex-col gap-1"
BIG = "min-h-[56px] text-base"


class ReturnsQueue:
    """One register tab's returns queue: the badge, and the drawer while it is open."""

    def __init__(self, context: RegisterContext, host: ui.element) -> None:
        self.context = context
        self.actor = context.actor
        self.store = context.store
        self.locale = current_locale()
        self._ = gettext()
        # Dialogs and notifications live here: the header is never redrawn.
        self.host = host
        self.badge: ui.badge | None = None
        self.content: ui.column | None = None
        self.view = QueueView((), ())
        self.staff_names: dict[int, str] = {}
        # One decision at a time: a second tap while one runs is dropped (one approval).
        self.busy = asyncio.Lock()

    # --- display helpers ----------------------------------------------------------------

    def money(self, amount: int) -> str:
        return format_money(Money(amount, self.store.currency), self.locale)

    def time(self, moment: Any) -> str:
        return format_datetime(moment, self.store.timezone, self.locale, "HH:mm")

    def notify(self, message: str, kind: str = "info") -> None:
        with self.host:
            ui.notify(message, type=kind, position="top", multi_line=True)  # type: ignore[arg-type]

    def error(self, error: KassaError) -> None:
        with self.host:
            notify_error(error)

    # --- loading and live updates -------------------------------------------------------

    async def refresh(self) -> None:
        try:
            async with get_database().read_only() as session:
                if not self.staff_names:
                    members = await staff_service.list_staff_for_register(session, self.context.register.id)
                    self.staff_names = {member.id: member.display_name for member in members}
                self.view = await load_queue(
                    session, self.actor, self.store.id, self.staff_names, self.locale
                )
        except KassaError:
            return
        if self.badge is not None and not self.badge.is_deleted:
            self.badge.set_text(str(self.view.count))
            self.badge.props(f'data-count="{self.view.count}"')
            self.badge.set_visibility(self.view.count > 0)
        if self.content is not None and not self.content.is_deleted:
            self.paint()

    def on_event(self, event: Event) -> None:
        if event.name in QUEUE_EVENTS:
            # Published from another request's context: refresh as a background task.
            background_tasks.create(self.refresh(), name="returns-queue")

    # --- the drawer ---------------------------------------------------------------------

    async def open(self) -> None:
        _ = self._
        if self.content is not None:
            return
        with dialog_card(self.host, _("Returns"), "returns", 560) as dialog:
            dialog.props("position=right full-height")
            self.content = ui.column().classes("w-full gap-2 overflow-y-auto flex-nowrap")
        await self.refresh()
        try:
            await run(dialog)
        finally:
            self.content = None

    def paint(self) -> None:
        _ = self._
        assert self.content is not None
        view = self.view
        pending = [item for item in view.returns if item.is_pending]
        others = [item for item in view.returns if not item.is_pending]
        self.content.clear()
        with self.content:
            self.section(_("To approve"), len(pending), "queue-pending")
            if not pending:
                ui.label(_("No returns wait for approval.")).classes("text-sm opacity-60 px-1")
            for item in pending:
                self.return_card(item)
            if others:
                self.section(_("Needs a manager"), len(others), "queue-manager")
                for item in others:
                    self.return_card(item)
            self.section(_("Refunds to pay out"), len(view.payouts), "queue-payouts")
            if not view.payouts:
                ui.label(_("No refunds to hand over.")).classes("text-sm opacity-60 px-1")
            for payout in view.payouts:
                self.payout_card(payout)

    def section(self, title: str, count: int, testid: str) -> None:
        with ui.row().classes("w-full items-center gap-2 pt-2"):
            ui.label(title).classes("text-base font-bold")
            ui.badge(str(count), color="teal-8" if count else "grey-5").props(f'data-testid="{testid}-count"')

    def return_card(self, item: ReturnItem) -> None:
        _ = self._
        request = item.request
        card = ui.element("div").classes(CARD)
        card.props(f'data-testid="queue-return" data-return-id="{item.id}"')
        with card:
            with ui.row().classes("w-full items-baseline gap-2 flex-nowrap"):
                ui.label(f"{item.number} · {_('Bill {number}').format(number=item.bill_number)}").classes(
                    "text-sm opacity-70 truncate"
                )
                ui.space()
                ui.label(self.money(request.amount)).classes("text-lg font-bold tabular-nums").props(
                    'data-testid="queue-return-amount"'
                )
            ui.label(item.dishes).classes("text-base font-bold").props('data-testid="queue-return-dishes"')
            made = [line.name for line in item.lines if line.was_prepared]
            if made:
                ui.label(_("Made already: {dishes}").format(dishes=", ".join(made))).classes(
                    "text-xs text-amber-800"
                )
            reason = item.reason + (f" — {request.reason_text}" if request.reason_text else "")
            ui.label(reason).classes("text-sm").props('data-testid="queue-return-reason"')
            facts = [
                _("asked by {name}").format(name=item.requested_by or "?"),
                self.time(request.requested_at),
                _("paid bill") if request.bill_was_paid else _("open bill"),
            ]
            if request.customer_phone:
                facts.append(request.customer_phone)
            ui.label(" · ".join(facts)).classes("text-xs opacity-70")
            if item.is_pending:
                with ui.row().classes("w-full gap-2 flex-nowrap pt-1"):
                    ui.button(_("Reject"), icon="close", on_click=lambda: self.reject(item)).props(
                        "no-caps outline color=negative"
                    ).classes(f"flex-1 {BIG}").props('data-testid="queue-reject"')
                    ui.button(_("Approve"), icon="check", on_click=lambda: self.approve(item)).props(
                        "no-caps unelevated color=positive"
                    ).classes(f"flex-1 {BIG}").props('data-testid="queue-approve"')
                if request.bill_was_paid and self.actor.can(Permission.REFUND_DIRECT):
                    ui.button(
                        _("Approve, refund all in cash…"),
                        icon="payments",
                        on_click=lambda: self.approve_in_cash(item),
                    ).props("no-caps outline color=teal-8").classes(f"w-full {BIG}").props(
                        'data-testid="queue-approve-cash"'
                    )
                return
            ui.label(
                _(CONFIRMATION_LABELS[request.confirmation])
                + " · "
                + _(REFUND_STATE_LABELS[request.refund_state])
            ).classes("text-sm font-bold text-rose-800").props('data-testid="queue-return-state"')
            if item.needs_manager:
                with ui.row().classes("w-full gap-2 flex-nowrap pt-1"):
                    ui.button(_("No refund"), on_click=lambda: self.resolve(item, refund=False)).props(
                        "no-caps outline color=negative"
                    ).classes(f"flex-1 {BIG}").props('data-testid="queue-no-refund"')
                    ui.button(_("Refund anyway"), on_click=lambda: self.resolve(item, refund=True)).props(
                        "no-caps unelevated color=positive"
                    ).classes(f"flex-1 {BIG}").props('data-testid="queue-refund-anyway"')

    def payout_card(self, payout: PayoutItem) -> None:
        _ = self._
        refund = payout.refund
        card = ui.element("div").classes(CARD)
        card.props(f'data-testid="queue-payout" data-refund-id="{refund.id}"')
        with card:
            with ui.row().classes("w-full items-baseline gap-2 flex-nowrap"):
                ui.label(_(TENDER_LABELS[refund.tender])).classes("text-base font-bold")
                ui.space()
                ui.label(self.money(refund.amount)).classes("text-lg font-bold tabular-nums")
            facts = [_("Bill {number}").format(number=payout.bill_number), self.time(refund.created_at)]
            if payout.return_number:
                facts.insert(0, payout.return_number)
            ui.label(" · ".join(facts)).classes("text-xs opacity-70")
            if refund.tender == Tender.CASH:
                ui.button(
                    _("Paid out from the drawer"),
                    icon="payments",
                    on_click=lambda: self.pay_out(payout, None),
                ).props("no-caps unelevated color=positive").classes(BIG).props(
                    'data-testid="queue-paid-out"'
                )
            else:
                ui.button(
                    _("Refunded on the card terminal…"),
                    icon="credit_card",
                    on_click=lambda: self.card_payout(payout),
                ).props("no-caps unelevated color=positive").classes(BIG).props(
                    'data-testid="queue-card-refund"'
                )

    # --- decisions ----------------------------------------------------------------------

    async def approve(self, item: ReturnItem) -> None:
        if self.busy.locked():
            return
        async with self.busy:
            await self._approve(item)

    async def _approve(self, item: ReturnItem) -> None:
        try:
            async with get_database().unit_of_work() as session:
                await service.approve(session, self.actor, item.id)
        except PermissionDenied as error:
            if error.field != "manager":
                self.error(error)
                return
            if not await self.manager_dialog(item, error):
                return
        except KassaError as error:
            self.error(error)
            await self.refresh()
            return
        await self.refresh()
        await self.slip_dialog(item.id)

    async def approve_in_cash(self, item: ReturnItem) -> None:
        """A manager sends the whole refund to cash (the card terminal is down, say) instead
        of the bill's tenders, with a reason: recorded, audited and on the Z report."""
        _ = self._
        with dialog_card(self.host, _("Refund all in cash"), "return-direct", 440) as dialog:
            ui.label(
                _("The refund goes back in cash instead of the tenders the bill was paid with.")
            ).classes("text-sm")
            reason = (
                ui.input(_("Reason"))
                .props("outlined maxlength=300")
                .classes("w-full")
                .props('data-testid="return-direct-reason"')
            )
            ok = (
                ui.button(
                    _("Approve"), icon="check", on_click=lambda: dialog.submit((reason.value or "").strip())
                )
                .props("no-caps unelevated color=positive")
                .classes(BIG)
                .props('data-testid="return-direct-ok"')
            )
            ok.bind_enabled_from(reason, "value", backward=lambda value: bool((value or "").strip()))
        why = await run(dialog)
        if not why or self.busy.locked():
            return
        async with self.busy:
            try:
                async with get_database().unit_of_work() as session:
                    await service.approve(
                        session,
                        self.actor,
                        item.id,
                        refund_to=payment_refunds.RefundDirection(Tender.CASH, str(why)),
                    )
            except KassaError as error:
                self.error(error)
                await self.refresh()
                return
            await self.refresh()
        await self.slip_dialog(item.id)

    async def manager_dialog(self, item: ReturnItem, refusal: PermissionDenied) -> bool:
        """Above the store's limit: a manager types their PIN here, or one far away gets a
        code by SMS. The check and the approval are one unit of work; a wrong PIN or code
        still counts against the manager (committed, then told)."""
        _ = self._
        async with get_database().read_only() as session:
            members = await staff_service.list_staff_for_register(session, self.context.register.id)
        managers = [member for member in members if member.role in (Role.MANAGER, Role.OWNER)]
        names = {member.id: member.display_name for member in managers}
        state: dict[str, Any] = {"staff": None, "digits": []}
        limit = int(refusal.extra.get("threshold", 0))
        with dialog_card(self.host, _("Manager approval"), "return-approval", 440) as dialog:
            ui.label(
                _("{number} is worth {amount}, above the {limit} a cashier may approve.").format(
                    number=item.number, amount=self.money(item.request.amount), limit=self.money(limit)
                )
                + " "
                + _("A manager types their PIN here, or approves with a code sent to their phone.")
            ).classes("text-sm")
            tiles: dict[int, ui.button] = {}
            with ui.grid().classes("w-full gap-2 grid-cols-1 sm:grid-cols-2"):
                for member in managers:
                    tiles[member.id] = choice_button(
                        member.display_name,
                        lambda member=member: pick(member.id),
                        is_selected=False,
                        testid=f"approver-{member.id}",
                    )
            display = (
                ui.label()
                .classes("text-3xl tracking-[0.5em] text-center h-10")
                .props('data-testid="approver-pin-display"')
            )

            def pick(staff_id: int) -> None:
                state["staff"] = staff_id
                clear()
                for member_id, tile in tiles.items():
                    tile.props(selected_props(member_id == staff_id))

            def digit(value: str) -> None:
                if len(state["digits"]) < 6:
                    state["digits"].append(value)
                    display.set_text("●" * len(state["digits"]))

            def clear() -> None:
                state["digits"].clear()
                display.set_text("")

            async def authorize(pin: str | None = None, sms_code: str | None = None) -> None:
                check = None
                try:
                    async with get_database().unit_of_work() as session:
                        check = await service.authorize_manager(
                            session, self.actor, item.id, int(state["staff"]), pin=pin, sms_code=sms_code
                        )
                        if check.error is None:
                            await service.approve(
                                session,
                                self.actor,
                                item.id,
                                manager=check.manager,
                                approval_method=check.method,
                            )
                except KassaError as error:
                    self.error(error)
                    return
                if check.error is not None:
                    # The unit of work has committed the wrong attempt; now say what went wrong.
                    self.error(check.error)
                    return
                dialog.submit(True)

            async def pin_ok() -> None:
                if state["staff"] is None or not state["digits"]:
                    self.notify(_("Tap your name, then type your PIN."), "warning")
                    return
                pin = "".join(state["digits"])
                clear()
                await authorize(pin=pin)

            pin_pad(digit, clear, pin_ok)
            ui.separator()
            send = (
                ui.button(_("Send code by SMS"), icon="sms", on_click=lambda: send_code())
                .props("no-caps outline color=teal-8")
                .classes("min-h-[48px]")
                .props('data-testid="return-send-code"')
            )
            with ui.row().classes("w-full gap-2 flex-nowrap items-center") as code_row:
                code = (
                    ui.input(_("6-digit code"))
                    .props("outlined dense inputmode=numeric maxlength=6 autocomplete=one-time-code")
                    .classes("flex-1")
                    .props('data-testid="return-sms-code"')
                )
                ui.button(
                    _("Approve"),
                    icon="check",
                    on_click=lambda: authorize(sms_code=(code.value or "").strip()),
                ).props("no-caps unelevated color=positive").classes("min-h-[48px]").props(
                    'data-testid="return-code-ok"'
                )
            code_row.set_visibility(False)

            async def send_code() -> None:
                if state["staff"] is None:
                    self.notify(_("Choose the manager first."), "warning")
                    return
                try:
                    async with get_database().unit_of_work() as session:
                        await service.send_manager_code(session, self.actor, item.id, int(state["staff"]))
                except KassaError as error:
                    self.error(error)
                    return
                self.notify(
                    _("A code was sent to {name}'s phone.").format(name=names.get(state["staff"], "")),
                    "positive",
                )
                send.set_text(_("Send a new code"))
                code_row.set_visibility(True)

        approved = await run(dialog)
        if approved:
            self.notify(
                _("{number} approved by {name}.").format(
                    number=item.number, name=names.get(state["staff"], "")
                ),
                "positive",
            )
        return bool(approved)

    async def reject(self, item: ReturnItem) -> None:
        _ = self._
        comment = await self.ask_comment(
            _("Reject {number}").format(number=item.number),
            _("Say why the return is rejected."),
            _("Reject"),
            "negative",
        )
        if comment is None:
            return
        try:
            async with get_database().unit_of_work() as session:
                await service.reject(session, self.actor, item.id, comment)
        except KassaError as error:
            self.error(error)
        await self.refresh()

    async def resolve(self, item: ReturnItem, *, refund: bool) -> None:
        _ = self._
        comment = await self.ask_comment(
            _("Refund {number} anyway").format(number=item.number)
            if refund
            else _("No refund for {number}").format(number=item.number),
            _("Say how it was settled with the customer."),
            _("Refund anyway") if refund else _("No refund"),
            "positive" if refund else "negative",
        )
        if comment is None:
            return
        try:
            async with get_database().unit_of_work() as session:
                await service.resolve(session, self.actor, item.id, refund=refund, comment=comment)
        except KassaError as error:
            self.error(error)
        await self.refresh()

    async def ask_comment(self, title: str, prompt: str, action: str, color: str) -> str | None:
        with dialog_card(self.host, title, "return-comment", 440) as dialog:
            ui.label(prompt).classes("text-sm")
            text = (
                ui.input(self._("Comment"))
                .props("outlined maxlength=500 autofocus")
                .classes("w-full")
                .props('data-testid="return-comment"')
            )
            ok = (
                ui.button(action, on_click=lambda: dialog.submit((text.value or "").strip()))
                .props(f"no-caps unelevated color={color}")
                .classes(BIG)
                .props('data-testid="return-comment-ok"')
            )
            ok.bind_enabled_from(text, "value", backward=lambda value: bool((value or "").strip()))
        answer = await run(dialog)
        return str(answer) if answer else None

    # --- the slip -----------------------------------------------------------------------

    async def slip_dialog(self, return_id: int) -> None:
        """The approved return's slip as printed, with a reprint (marked COPY)."""
        _ = self._
        try:
            async with get_database().read_only() as session:
                request = await service.get_return(session, self.actor, return_id)
                text = render_text(await service.slip_document(session, request), PaperWidth.WIDTH_80_MM)
                (item,) = await load_items(session, self.actor, [request], self.staff_names, self.locale)
        except KassaError as error:
            self.error(error)
            return
        with dialog_card(
            self.host, _("{number} approved").format(number=item.number), "return-slip", 520
        ) as dialog:
            facts = [_(REFUND_STATE_LABELS[request.refund_state])]
            if request.bill_was_paid:
                facts.append(self.money(request.amount))
            ui.label(" · ".join(facts)).classes("text-base font-bold").props(
                'data-testid="return-slip-refund"'
            )
            if request.confirmation == Confirmation.AWAITING and request.customer_phone:
                ui.label(
                    _("The customer gets an SMS at {phone} to confirm.").format(phone=request.customer_phone)
                ).classes("text-sm")
            if request.slip_printed_at is None:
                ui.label(_("No receipt printer here: the slip was not printed.")).classes(
                    "text-sm text-amber-800"
                )
            with ui.element("div").classes(
                "w-full max-h-[55vh] overflow-auto rounded border bg-slate-50 p-2"
            ):
                ui.label(text).classes("font-mono whitespace-pre text-[10px] sm:text-xs leading-snug").props(
                    'data-testid="return-slip-text"'
                )
            with ui.row().classes("w-full gap-2 flex-nowrap"):
                ui.button(_("Print again"), icon="print", on_click=lambda: self.reprint(return_id)).props(
                    "no-caps outline color=teal-8"
                ).classes(f"flex-1 {BIG}").props('data-testid="return-slip-print"')
                ui.button(_("Done"), icon="check", on_click=lambda: dialog.submit(True)).props(
                    "no-caps unelevated color=teal-8"
                ).classes(f"flex-1 {BIG}").props('data-testid="return-slip-done"')
        await run(dialog)

    async def reprint(self, return_id: int) -> None:
        try:
            async with get_database().unit_of_work() as session:
                await service.reprint_slip(session, self.actor, return_id)
        except KassaError as error:
            self.error(error)
            return
        self.notify(self._("The slip is printing again (COPY)."), "positive")

    # --- refunds to hand over -----------------------------------------------------------

    async def pay_out(self, payout: PayoutItem, approval_code: str | None) -> None:
        try:
            async with get_database().unit_of_work() as session:
                await payment_refunds.pay_out(
                    session, self.actor, payout.refund.id, approval_code=approval_code
                )
        except KassaError as error:
            self.error(error)
            await self.refresh()
            return
        self.notify(
            self._("{amount} refunded: {tender}.").format(
                amount=self.money(payout.refund.amount), tender=self._(TENDER_LABELS[payout.refund.tender])
            ),
            "positive",
        )
        await self.refresh()

    async def card_payout(self, payout: PayoutItem) -> None:
        _ = self._
        with dialog_card(self.host, _("Card refund"), "card-refund", 420) as dialog:
            ui.label(
                _("Refund {amount} on the card terminal, then type the approval code it prints.").format(
                    amount=self.money(payout.refund.amount)
                )
            ).classes("text-sm")
            code = (
                ui.input(_("Approval code"))
                .props("outlined maxlength=40 autofocus")
                .classes("w-full")
                .props('data-testid="card-refund-code"')
            )
            ok = (
                ui.button(_("Done"), icon="check", on_click=lambda: dialog.submit((code.value or "").strip()))
                .props("no-caps unelevated color=positive")
                .classes(BIG)
                .props('data-testid="card-refund-ok"')
            )
            ok.bind_enabled_from(code, "value", backward=lambda value: bool((value or "").strip()))
        answer = await run(dialog)
        if answer:
            await self.pay_out(payout, str(answer))


def returns_header_item(context: RegisterContext) -> None:
    """The badge in the register header, for those who approve returns."""
    if not context.actor.can(Permission.RETURN_APPROVE):
        return
    _ = gettext()
    host = ui.element("div")
    queue = ReturnsQueue(context, host)
    button = header_button(_("Returns"), "assignment_return", queue.open).props('data-testid="returns-queue"')
    with button:
        queue.badge = ui.badge("0", color="red").props('floating data-testid="returns-badge"')
    queue.badge.set_visibility(False)
    subscribe_for_this_page(store_topic(context.store.id), queue.on_event)
    ui.timer(0.1, queue.refresh, once=True)


REGISTER_HEADER_ITEMS.append(returns_header_item)
