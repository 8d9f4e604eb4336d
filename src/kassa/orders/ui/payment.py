"""The pay dialog: what is due (and the even-split shares), one tender after another until
the bill is paid, then the change and the receipt.

Every payment step gets a fresh idempotency key when it opens; a second tap on the same
step sends the same key, so the service answers with the first payment instead of taking
the money twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.database import get_database
from kassa.core.errors import KassaError, StaleVersion
from kassa.orders import receipts
from kassa.orders.ui.screen import RegisterScreen
from kassa.orders.ui.view import (
    PAYMENT_STATUS_LABELS,
    TENDER_LABELS,
    BillView,
    amount_text,
    cash_plan,
    parse_amount,
    press_key,
)
from kassa.orders.ui.widgets import dialog_card, keypad, qr_svg, run, selected_props
from kassa.payments import service as payments
from kassa.payments.models import Payment, PaymentStatus, Tender

TENDERS = (
    (Tender.CASH, "payments"),
    (Tender.CARD, "credit_card"),
    (Tender.WECHAT_PAY, "qr_code_2"),
    (Tender.ALIPAY, "qr_code_scanner"),
)
MEMBER_TENDERS = ((Tender.STORED_VALUE, "account_balance_wallet"), (Tender.POINTS, "stars"))
CASH_NOTES = (5000, 10000)  # the quick buttons: ¥50, ¥100
CANCELLED_STATUSES = frozenset({PaymentStatus.FAILED, PaymentStatus.VOIDED})


def new_idempotency_key() -> str:
    return "ui-" + secrets.token_urlsafe(18)


async def print_receipt(screen: RegisterScreen, bill_id: int) -> None:
    """Queue the receipt; a second press prints a copy (the first is printed once)."""
    is_copy = bill_id in screen.printed_bill_ids
    try:
        async with get_database().unit_of_work() as session:
            await receipts.print_receipt(session, screen.actor, bill_id, is_copy=is_copy)
    except KassaError as error:
        screen.error(error)
        return
    screen.printed_bill_ids.add(bill_id)
    screen.notify(
        screen._("A copy of the receipt is printing.") if is_copy else screen._("The receipt is printing."),
        "positive",
    )


class PayDialog:
    """One pay dialog over the shown bill; it follows the bill as payments land."""

    def __init__(self, screen: RegisterScreen) -> None:
        self.screen = screen
        self._ = screen._
        self.currency = screen.store.currency
        self.tender = Tender.CASH
        self.key = new_idempotency_key()
        self.cash_text = ""
        self.share_index: int | None = None
        self.waiting_payment_id: int | None = None
        self.bill_id = screen.view.id if screen.view else 0
        self.paint_cash: Callable[[], None] = lambda: None
        # The share and tender buttons stay on screen while only their state changes: a
        # button drawn anew on every choice would swallow a tap that lands mid-redraw.
        self.share_buttons: dict[int | None, ui.button] = {}
        self.drawn_shares: tuple[int, ...] = ()
        self.tender_buttons: dict[Tender, ui.button] = {}
        self.drawn_tenders: tuple[Tender, ...] = ()

    # --- state -----------------------------------------------------------------------

    @property
    def view(self) -> BillView | None:
        view = self.screen.view
        return view if view is not None and view.id == self.bill_id else None

    def share_amount(self) -> int | None:
        view = self.view
        if view is None or self.share_index is None or not view.bill.split_shares:
            return None
        return view.bill.split_shares[self.share_index]

    def target(self) -> int:
        """What this step pays by default: the chosen share, else all that is due."""
        view = self.view
        if view is None:
            return 0
        share = self.share_amount()
        return min(share, view.due) if share is not None else view.due

    def new_step(self) -> None:
        self.key = new_idempotency_key()

    # --- building --------------------------------------------------------------------

    def build(self) -> ui.dialog:
        _ = self._
        view = self.view
        assert view is not None
        with dialog_card(
            self.screen.root, _("Pay bill {number}").format(number=view.bill.number), "pay", 760
        ) as dialog:
            dialog.props("persistent")
            self.dialog = dialog
            with ui.row().classes("w-full items-baseline justify-between"):
                ui.label(_("Due")).classes("text-lg")
                self.due_label = (
                    ui.label()
                    .classes("text-4xl font-bold tabular-nums text-teal-900")
                    .props('data-testid="pay-due"')
                )
            self.shares_row = ui.row().classes("w-full gap-2")
            self.tender_row = ui.row().classes("w-full gap-2 flex-nowrap")
            self.body = ui.column().classes("w-full gap-2")
            self.payments_list = (
                ui.column().classes("w-full gap-0 text-sm").props('data-testid="pay-payments"')
            )
        self.paint()
        self.screen.on_bill_reloaded.append(self.paint)
        return dialog

    def paint(self) -> None:
        """Redraw from the bill as it is now (called after every reload)."""
        if self.dialog.is_deleted:
            return
        view = self.view
        if view is None:
            return
        self.due_label.set_text(self.screen.money(max(view.due, 0)))
        self.paint_payments(view)
        if not view.is_open:
            self.paint_done(view)
            return
        self.paint_shares(view)
        self.paint_tenders()
        self.paint_body()

    def paint_shares(self, view: BillView) -> None:
        _ = self._
        shares = tuple(view.bill.split_shares or ())
        paid = view.paid_share_indexes
        if self.share_index is not None and (not shares or self.share_index in paid):
            self.share_index = None
        if shares != self.drawn_shares:
            self.shares_row.clear()
            self.share_buttons = {}
            self.drawn_shares = shares
            if shares:
                with self.shares_row:
                    ui.label(_("Pay:")).classes("text-sm self-center")
                    self.share_buttons[None] = (
                        ui.button(_("Everything"), on_click=lambda: self.pick_share(None))
                        .props('no-caps unelevated data-testid="pay-share-all"')
                        .classes("min-h-[44px]")
                    )
                    for number in range(len(shares)):
                        self.share_buttons[number] = (
                            ui.button(on_click=lambda number=number: self.pick_share(number))
                            .props(f'no-caps unelevated data-testid="pay-share-{number}"')
                            .classes("min-h-[44px]")
                        )
        for index, button in self.share_buttons.items():
            is_selected = index == self.share_index
            button.props(
                selected_props(is_selected) + f' aria-pressed="{"true" if is_selected else "false"}"'
            )
            if index is not None:
                label = _("Share {number}: {amount}").format(
                    number=index + 1, amount=self.screen.money(shares[index])
                )
                button.set_text(label + (" ✓" if index in paid else ""))
                button.set_enabled(index not in paid)

    def pick_share(self, index: int | None) -> None:
        """Pay one guest's share (or everything that is due) in this step."""
        if index == self.share_index:
            return
        self.share_index = index
        self.cash_text = ""
        self.new_step()
        self.paint()

    def paint_tenders(self) -> None:
        _ = self._
        view = self.view
        # The member's stored value and points, when a member is on the bill.
        member_tenders = MEMBER_TENDERS if view is not None and view.member is not None else ()
        tenders = (*TENDERS, *member_tenders)
        if tuple(tender for tender, _icon in tenders) != self.drawn_tenders:
            self.tender_row.clear()
            self.tender_buttons = {}
            self.drawn_tenders = tuple(tender for tender, _icon in tenders)
            with self.tender_row:
                for tender, icon in tenders:
                    self.tender_buttons[tender] = (
                        ui.button(
                            _(TENDER_LABELS[tender]),
                            icon=icon,
                            on_click=lambda tender=tender: self.pick_tender(tender),
                        )
                        .props(f'no-caps unelevated stack data-testid="tender-{tender.value}"')
                        .classes("flex-1 min-h-[64px] px-1")
                    )
        for tender, button in self.tender_buttons.items():
            is_selected = tender == self.tender
            button.props(
                selected_props(is_selected) + f' aria-pressed="{"true" if is_selected else "false"}"'
            )

    def pick_tender(self, tender: Tender) -> None:
        if tender == self.tender:
            return
        self.tender = tender
        self.cash_text = ""
        self.waiting_payment_id = None
        self.new_step()
        self.paint()

    def paint_body(self) -> None:
        self.body.clear()
        with self.body:
            if self.tender == Tender.CASH:
                self.cash_body()
            elif self.tender == Tender.CARD:
                self.card_body()
            elif self.tender in (Tender.STORED_VALUE, Tender.POINTS):
                self.member_body()
            else:
                self.wallet_body()

    def paint_payments(self, view: BillView) -> None:
        _ = self._
        self.payments_list.clear()
        if not view.payments:
            return
        with self.payments_list:
            ui.label(_("Payments")).classes("text-xs uppercase opacity-60 pt-2")
            for payment in view.payments:
                with ui.row().classes("w-full justify-between").props('data-testid="pay-payment"'):
                    text = f"{_(TENDER_LABELS[payment.tender])} · {_(PAYMENT_STATUS_LABELS[payment.status])}"
                    if payment.change:
                        text += " · " + _("change {amount}").format(amount=self.screen.money(payment.change))
                    ui.label(text).classes(
                        "line-through opacity-50" if payment.status in CANCELLED_STATUSES else ""
                    )
                    ui.label(self.screen.money(payment.amount)).classes("tabular-nums")

    # --- cash --------------------------------------------------------------------------

    def cash_body(self) -> None:
        """Left: what was handed over, the change (or what stays due), quick notes; right:
        the keypad. Stacked on a phone."""
        _ = self._
        view = self.view
        assert view is not None
        with ui.element("div").classes("w-full grid grid-cols-1 md:grid-cols-2 gap-3"):
            with ui.column().classes("w-full gap-2"):
                with ui.row().classes("w-full items-baseline justify-between"):
                    ui.label(_("Cash received")).classes("text-base")
                    tendered_label = (
                        ui.label()
                        .classes("text-3xl font-bold tabular-nums")
                        .props('data-testid="cash-tendered"')
                    )
                with ui.row().classes("w-full items-baseline justify-between"):
                    outcome_label = ui.label().classes("text-base")
                    outcome_amount = ui.label().classes("text-xl font-bold tabular-nums")
                exact = cash_plan(view.due, view.due, self.currency, self.share_amount())
                exact_amount = exact.payable if exact else self.target()
                with ui.element("div").classes("w-full grid grid-cols-3 md:grid-cols-1 gap-2"):
                    ui.button(
                        _("Exact {amount}").format(amount=self.screen.money(exact_amount)),
                        on_click=lambda: self.set_cash(amount_text(exact_amount, self.currency)),
                    ).props("no-caps unelevated color=teal-1 text-color=teal-10").classes(
                        "min-h-[52px]"
                    ).props('data-testid="cash-exact"')
                    for note in CASH_NOTES:
                        ui.button(
                            self.screen.money(note),
                            on_click=lambda note=note: self.set_cash(amount_text(note, self.currency)),
                        ).props("no-caps unelevated color=teal-1 text-color=teal-10").classes(
                            "min-h-[52px]"
                        ).props(f'data-testid="cash-{note // 100}"')
            with ui.column().classes("w-full gap-2"):
                keypad(self.cash_key, testid_prefix="cash-key")
                ok = (
                    ui.button(icon="check", on_click=self.take_cash)
                    .props("no-caps unelevated color=positive")
                    .classes("w-full min-h-[60px] text-lg")
                    .props('data-testid="cash-ok"')
                )

        def paint() -> None:
            current = self.view
            if current is None:
                return
            tendered = parse_amount(self.cash_text, self.currency) or 0
            plan = cash_plan(current.due, tendered, self.currency, self.share_amount())
            tendered_label.set_text(self.screen.money(tendered))
            is_partial = plan is not None and plan.is_partial
            outcome_label.set_text(_("Still due afterwards") if is_partial else _("Change"))
            amount = (
                (current.due - plan.payable)
                if plan is not None and is_partial
                else (plan.change if plan else 0)
            )
            outcome_amount.set_text(self.screen.money(amount))
            outcome_amount.classes(
                replace="text-xl font-bold tabular-nums "
                + ("text-orange-800" if is_partial else "text-teal-800")
            )
            outcome_amount.props(f'data-testid="{"cash-rest" if is_partial else "cash-change"}"')
            ok.set_text(_("Take part in cash") if is_partial else _("Take cash"))
            ok.set_enabled(plan is not None)

        self.paint_cash = paint
        paint()

    def set_cash(self, text: str) -> None:
        self.cash_text = text
        self.paint_cash()

    def cash_key(self, key: str) -> None:
        self.cash_text = press_key(self.cash_text, key, self.currency)
        self.paint_cash()

    async def take_cash(self) -> None:
        view = self.view
        if view is None:
            return
        key, version, share_index = self.key, view.version, self.share_index
        tendered = parse_amount(self.cash_text, self.currency) or 0
        plan = cash_plan(view.due, tendered, self.currency, self.share_amount())
        if plan is None:
            return

        async def pay(session: AsyncSession, bill_id: int, expected: int) -> Payment:
            return await payments.take_cash(
                session,
                self.screen.actor,
                bill_id,
                expected,
                tendered=tendered,
                idempotency_key=key,
                amount=plan.amount,
                split_share_index=share_index,
            )

        if await self.screen.act(pay, version=version) is not None:
            self.cash_text = ""
            self.share_index = None
            self.new_step()
            self.paint()

    # --- card --------------------------------------------------------------------------

    def amount_input(self, testid: str) -> ui.input:
        return (
            ui.input(self._("Amount"), value=amount_text(self.target(), self.currency))
            .props("outlined inputmode=decimal autocomplete=off")
            .classes("w-full text-lg")
            .props(f'data-testid="{testid}"')
        )

    def charged_amount(self, field: ui.input) -> tuple[bool, int | None]:
        """(valid, the ``amount`` to pass: None for all that is due or the share)."""
        amount = parse_amount(field.value or "", self.currency)
        if amount is None or amount <= 0:
            self.screen.notify(self._("Type the amount to charge."), "warning")
            return False, None
        return True, None if amount == self.target() else amount

    def card_body(self) -> None:
        _ = self._
        ui.label(_("Charge the card on the terminal, then type its approval code.")).classes(
            "text-sm opacity-80"
        )
        amount = self.amount_input("card-amount")
        code = (
            ui.input(_("Approval code"))
            .props("outlined autocomplete=off maxlength=40")
            .classes("w-full text-lg")
            .props('data-testid="card-approval"')
        )

        async def charge() -> None:
            view = self.view
            if view is None:
                return
            key, version, share_index = self.key, view.version, self.share_index
            is_valid, charged = self.charged_amount(amount)
            if not is_valid:
                return
            approval_code = (code.value or "").strip()

            async def pay(session: AsyncSession, bill_id: int, expected: int) -> Payment:
                return await payments.take_card(
                    session,
                    self.screen.actor,
                    bill_id,
                    expected,
                    approval_code=approval_code,
                    idempotency_key=key,
                    amount=charged,
                    split_share_index=share_index,
                )

            if await self.screen.act(pay, version=version) is not None:
                self.share_index = None
                self.new_step()
                self.paint()

        code.on("keydown.enter", charge)
        ui.button(_("Card paid"), icon="check", on_click=charge).props(
            "no-caps unelevated color=positive"
        ).classes("w-full min-h-[60px] text-lg").props('data-testid="card-ok"')

    # --- the member's stored value and points ---------------------------------------------

    def member_body(self) -> None:
        _ = self._
        view = self.view
        if view is not None and view.member is not None and view.member.facts:
            ui.label(" · ".join(view.member.facts)).classes("text-sm opacity-80").props(
                'data-testid="member-balances"'
            )
        amount = self.amount_input("member-amount")
        tender = self.tender

        async def charge() -> None:
            view = self.view
            if view is None:
                return
            key, version, share_index = self.key, view.version, self.share_index
            is_valid, charged = self.charged_amount(amount)
            if not is_valid:
                return

            async def pay(session: AsyncSession, bill_id: int, expected: int) -> Payment:
                return await payments.take_member_tender(
                    session,
                    self.screen.actor,
                    bill_id,
                    expected,
                    tender=tender,
                    idempotency_key=key,
                    amount=charged,
                    split_share_index=share_index,
                )

            if await self.screen.act(pay, version=version) is not None:
                self.share_index = None
                self.new_step()
                self.paint()

        ui.button(_("Pay from the member's account"), icon="check", on_click=charge).props(
            "no-caps unelevated color=positive"
        ).classes("w-full min-h-[60px] text-lg").props('data-testid="member-pay-ok"')

    # --- WeChat Pay and Alipay ---------------------------------------------------------

    def wallet_body(self) -> None:
        _ = self._
        view = self.view
        assert view is not None
        waiting = next(
            (
                payment
                for payment in view.payments
                if payment.id == self.waiting_payment_id and payment.status == PaymentStatus.PENDING
            ),
            None,
        )
        if waiting is not None:
            self.waiting_body(waiting.qr_code, waiting.amount)
            return
        self.waiting_payment_id = None
        amount = self.amount_input("wallet-amount")
        ui.label(_("Scan the customer's payment code, or show your QR code.")).classes("text-sm opacity-80")
        code = (
            ui.input(_("Payment code"))
            .props("outlined autocomplete=off inputmode=numeric maxlength=32")
            .classes("w-full text-lg")
            .props('data-testid="wallet-code"')
        )

        async def charge_code() -> None:
            text = (code.value or "").strip()
            if not text:
                self.screen.notify(_("Scan or type the payment code."), "warning")
                return
            await self.start_wallet(amount, text)

        code.on("keydown.enter", charge_code)
        with ui.row().classes("w-full gap-2 flex-nowrap"):
            ui.button(_("Charge the code"), icon="check", on_click=charge_code).props(
                "no-caps unelevated color=positive"
            ).classes("flex-1 min-h-[60px] text-lg").props('data-testid="wallet-charge"')
            ui.button(_("Show QR"), icon="qr_code_2", on_click=lambda: self.start_wallet(amount, None)).props(
                "no-caps outline color=teal-8"
            ).classes("flex-1 min-h-[60px] text-lg").props('data-testid="wallet-qr"')

    def waiting_body(self, qr_code: str | None, amount: int) -> None:
        _ = self._
        if qr_code:
            ui.label(
                _("Let the customer scan this with {tender}: {amount}").format(
                    tender=_(TENDER_LABELS[self.tender]), amount=self.screen.money(amount)
                )
            ).classes("text-base text-center w-full")
            ui.html(qr_svg(qr_code)).classes("w-56 h-56 self-center").props('data-testid="wallet-qr-code"')
        with ui.row().classes("w-full items-center justify-center gap-2"):
            ui.spinner(size="24px")
            ui.label(_("Waiting for the payment…")).classes("text-base").props('data-testid="wallet-waiting"')
        with ui.row().classes("w-full gap-2 flex-nowrap"):
            ui.button(_("Check again"), icon="refresh", on_click=self.refresh_wallet).props(
                "no-caps unelevated color=teal-8"
            ).classes("flex-1 min-h-[56px]").props('data-testid="wallet-refresh"')
            ui.button(_("Cancel this payment"), icon="close", on_click=self.cancel_wallet).props(
                "no-caps outline color=negative"
            ).classes("flex-1 min-h-[56px]").props('data-testid="wallet-cancel"')

    async def start_wallet(self, amount_field: ui.input, payment_code: str | None) -> None:
        """Store the pending payment (one unit of work), then ask the provider (outside any
        transaction; ``charge_wallet`` stores the outcome in its own)."""
        _ = self._
        view = self.view
        if view is None or self.screen.lock.locked():
            return
        key, version, share_index, tender = self.key, view.version, self.share_index, self.tender
        is_valid, charged = self.charged_amount(amount_field)
        if not is_valid:
            return
        payment: Payment | None = None
        async with self.screen.lock:
            try:
                async with get_database().unit_of_work() as session:
                    payment, charge = await payments.start_wallet_payment(
                        session,
                        self.screen.actor,
                        view.id,
                        version,
                        tender=tender,
                        idempotency_key=key,
                        payment_code=payment_code,
                        amount=charged,
                        split_share_index=share_index,
                    )
                if charge is not None:
                    payment = await payments.charge_wallet(get_database(), self.screen.actor, charge)
            except StaleVersion:
                self.screen.notify(
                    _("The bill was changed on another screen and is reloaded. Check it and try again."),
                    "warning",
                )
            except KassaError as error:
                self.screen.error(error)
            if payment is not None:
                self.new_step()
            await self.screen.reload()
        if payment is None:
            return
        self.after_wallet(payment)

    def after_wallet(self, payment: Payment) -> None:
        _ = self._
        if payment.status == PaymentStatus.SUCCEEDED:
            self.waiting_payment_id = None
            self.screen.notify(
                _("{tender} paid.").format(tender=_(TENDER_LABELS[payment.tender])), "positive"
            )
        elif payment.status == PaymentStatus.FAILED:
            self.waiting_payment_id = None
            self.screen.notify(
                _("The payment failed: {reason}").format(reason=payment.failure_reason or ""), "negative"
            )
        elif payment.status == PaymentStatus.PENDING:
            self.waiting_payment_id = payment.id
        self.paint()

    async def refresh_wallet(self) -> None:
        payment_id = self.waiting_payment_id
        if payment_id is None or self.screen.lock.locked():
            return
        payment: Payment | None = None
        async with self.screen.lock:
            try:
                payment = await payments.refresh_payment(get_database(), self.screen.actor, payment_id)
            except KassaError as error:
                self.screen.error(error)
            await self.screen.reload()
        if payment is not None:
            if payment.status == PaymentStatus.PENDING:
                self.screen.notify(self._("Not paid yet."), "info")
            self.after_wallet(payment)

    async def cancel_wallet(self) -> None:
        view = self.view
        payment_id = self.waiting_payment_id
        if view is None or payment_id is None:
            return
        version = view.version
        reason = self._("Cancelled at the register")

        async def cancel(session: AsyncSession, bill_id: int, expected: int) -> Payment:
            return await payments.void_payment(
                session, self.screen.actor, bill_id, expected, payment_id, reason
            )

        if await self.screen.act(cancel, version=version) is not None:
            self.waiting_payment_id = None
            self.new_step()
            self.paint()

    # --- paid --------------------------------------------------------------------------

    def paint_done(self, view: BillView) -> None:
        _ = self._
        self.shares_row.clear()
        self.tender_row.clear()
        self.body.clear()
        with self.body:
            ui.icon("check_circle", size="64px").classes("text-positive self-center")
            ui.label(_("Paid — change {change}").format(change=self.screen.money(view.change_given))).classes(
                "text-3xl font-bold text-center w-full"
            ).props('data-testid="pay-done"')
            with ui.row().classes("w-full gap-2 flex-nowrap"):
                ui.button(
                    _("Print receipt"), icon="print", on_click=lambda: print_receipt(self.screen, view.id)
                ).props("no-caps unelevated color=teal-8").classes("flex-1 min-h-[60px] text-lg").props(
                    'data-testid="print-receipt"'
                )
                ui.button(_("Next customer"), icon="arrow_forward", on_click=self.finish).props(
                    "no-caps unelevated color=positive"
                ).classes("flex-1 min-h-[60px] text-lg").props('data-testid="pay-finish"')

    async def finish(self) -> None:
        self.dialog.submit(True)
        await self.screen.show_bill(None)


async def pay_dialog(screen: RegisterScreen) -> None:
    if screen.view is None or not screen.view.is_open:
        return
    pay = PayDialog(screen)
    dialog = pay.build()
    try:
        await run(dialog)
    finally:
        if pay.paint in screen.on_bill_reloaded:
            screen.on_bill_reloaded.remove(pay.paint)
