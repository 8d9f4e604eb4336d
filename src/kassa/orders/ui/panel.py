"""The bill panel: what the shown bill holds, its totals and the buttons that act on it."""

from __future__ import annotations

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.models import ProductKind
from kassa.core.auth import Permission
from kassa.core.i18n import format_datetime
from kassa.orders import service as orders
from kassa.orders.models import OrderType
from kassa.orders.ui import bills, dialogs, discount, payment
from kassa.orders.ui.hooks import PAID_BILL_ACTIONS, RegisterAction
from kassa.orders.ui.member import member_strip
from kassa.orders.ui.menu import add_product
from kassa.orders.ui.screen import RegisterScreen
from kassa.orders.ui.view import (
    ORDER_TYPE_ICONS,
    ORDER_TYPE_LABELS,
    LineView,
    bill_place,
)

ACTION_BUTTON = "no-caps unelevated stack"


def render_bill_panel(screen: RegisterScreen, container: ui.column, footer_label: ui.label) -> None:
    _ = screen._
    view = screen.view
    container.clear()
    with container:
        if view is None:
            footer_label.set_text(_("No bill open"))
            empty_bill(screen)
            return
        bill = view.bill
        footer_label.set_text(
            _("{place} · {count} items · due {due}").format(
                place=bill_place(bill.order_type, view.table_name, bill.pickup_code) or f"#{bill.number}",
                count=view.item_count,
                due=screen.money(max(view.due, 0)),
            )
        )
        bill_header(screen)
        if not view.is_open:
            closed_bill(screen)
            return
        member_strip(screen)
        with (
            ui.column()
            .classes("w-full gap-1 flex-1 min-h-[120px] overflow-y-auto")
            .props('data-testid="bill-lines"')
        ):
            if not view.lines:
                ui.label(_("Tap a product to add it.")).classes("opacity-60 p-4 self-center")
            for line in view.lines:
                bill_line(screen, line)
        bill_totals(screen)
        bill_actions(screen)


def empty_bill(screen: RegisterScreen) -> None:
    _ = screen._
    with ui.column().classes("w-full items-stretch gap-2 p-2"):
        ui.label(_("No bill open")).classes("text-lg font-bold text-center").props('data-testid="no-bill"')
        ui.label(_("Tap a product to start a takeaway bill, or choose:")).classes(
            "text-sm opacity-70 text-center"
        )
        ui.button(
            _("Takeaway"), icon="takeout_dining", on_click=lambda: screen.open_new_bill(OrderType.TAKEAWAY)
        ).props("no-caps unelevated color=teal-8").classes("min-h-[56px] text-base").props(
            'data-testid="new-takeaway"'
        )
        ui.button(
            _("Table"), icon="table_restaurant", on_click=lambda: ui.navigate.to("/register/floor")
        ).props("no-caps unelevated color=teal-1 text-color=teal-10").classes("min-h-[56px] text-base").props(
            'data-testid="new-dine-in"'
        )
        ui.button(_("New bill…"), icon="add", on_click=lambda: bills.new_bill_dialog(screen)).props(
            "no-caps outline color=teal-8"
        ).classes("min-h-[56px] text-base").props('data-testid="new-bill"')
        open_bills_button(screen)


def open_bills_button(screen: RegisterScreen) -> None:
    _ = screen._
    button = (
        ui.button(icon="receipt_long", on_click=lambda: bills.open_bills_dialog(screen))
        .props("no-caps outline color=teal-8")
        .classes("text-base min-h-[56px]")
        .props('data-testid="open-bills"')
    )

    def paint() -> None:
        if not button.is_deleted:
            button.set_text(_("Open bills ({count})").format(count=screen.open_bill_count))

    paint()
    screen.render_open_count = paint


def bill_header(screen: RegisterScreen) -> None:
    _ = screen._
    assert screen.view is not None
    view = screen.view
    bill = view.bill
    with ui.row().classes("w-full items-center gap-2 flex-nowrap"):
        ui.icon(ORDER_TYPE_ICONS[bill.order_type], size="28px").classes("text-teal-800")
        with ui.column().classes("gap-0 min-w-0 flex-1"):
            details = [_(ORDER_TYPE_LABELS[bill.order_type])]
            place = bill_place(bill.order_type, view.table_name, bill.pickup_code)
            if place:
                details.append(
                    place if bill.order_type == OrderType.DINE_IN else _("pickup {code}").format(code=place)
                )
            title = ui.label(" · ".join(details)).classes("text-lg font-bold truncate")
            title.props(f'data-testid="bill-title" data-bill-id="{bill.id}"')
            facts = [_("Bill {number}").format(number=bill.number)]
            if bill.guest_count:
                facts.append(_("{count} guests").format(count=bill.guest_count))
            facts.append(format_datetime(bill.opened_at, screen.store.timezone, screen.locale, "HH:mm"))
            ui.label(" · ".join(facts)).classes("text-xs opacity-70 truncate").props(
                'data-testid="bill-number"'
            )
        if bill.is_urgent:
            ui.badge(_("Urgent"), color="red").props('data-testid="urgent-badge"')
        if bill.is_parked:
            ui.badge(_("Parked"), color="orange")
        if view.is_open:
            bills_button = ui.button(icon="receipt_long", on_click=lambda: bills.open_bills_dialog(screen))
            bills_button.props("flat round color=teal-8").props('data-testid="header-open-bills"')
            bills_button.tooltip(_("Open bills"))
            with bills_button:
                count_badge = ui.badge(color="orange").props("floating")

            def paint_count() -> None:
                if not count_badge.is_deleted:
                    count_badge.set_text(str(screen.open_bill_count))

            paint_count()
            screen.render_open_count = paint_count
            menu_button = ui.button(icon="more_vert").props("flat round color=grey-8")
            with menu_button.props('data-testid="bill-menu"'), ui.menu():
                ui.menu_item(_("New bill…"), on_click=lambda: bills.new_bill_dialog(screen)).props(
                    'data-testid="menu-new-bill"'
                )
                ui.menu_item(_("Open bills"), on_click=lambda: bills.open_bills_dialog(screen))
                if bill.order_type == OrderType.DINE_IN:
                    ui.menu_item(_("Move to another table"), on_click=lambda: bills.move_table_dialog(screen))
                ui.menu_item(
                    _("Merge another bill into this one"), on_click=lambda: bills.merge_dialog(screen)
                )


def bill_line(screen: RegisterScreen, line: LineView) -> None:
    _ = screen._
    row = ui.row().classes("w-full items-center gap-2 flex-nowrap py-1 border-b border-slate-100")
    row.props(f'data-testid="bill-line" data-line-id="{line.id}"')
    with row:
        with (
            ui.column()
            .classes("gap-0 flex-1 min-w-0 cursor-pointer")
            .on("click", lambda: dialogs.line_dialog(screen, line))
        ):
            with ui.row().classes("items-center gap-1 flex-nowrap w-full"):
                if line.is_sent and not line.is_voided:
                    ui.icon("soup_kitchen", size="16px").classes("text-teal-700").tooltip(
                        _("Sent to the kitchen")
                    )
                name = (
                    ui.label(line.name)
                    .classes("text-base font-medium truncate")
                    .props('data-testid="line-name"')
                )
                if line.is_voided:
                    name.classes("line-through opacity-50")
            if line.modifiers:
                ui.label(", ".join(line.modifiers)).classes("text-xs text-slate-600 truncate w-full")
            if line.note:
                ui.label("✎ " + line.note).classes("text-xs text-amber-800 truncate w-full")
            if line.discount:
                ui.label(
                    _("discount −{amount}").format(amount=screen.money(line.discount))
                    + (f" ({line.discount_reason})" if line.discount_reason else "")
                ).classes("text-xs text-rose-700 truncate w-full")
            if line.is_voided:
                ui.label(_("voided") + (f": {_(line.void_reason)}" if line.void_reason else "")).classes(
                    "text-xs text-rose-700"
                )
        if not line.is_voided:
            with ui.row().classes("items-center gap-0 flex-nowrap"):
                ui.button(icon="remove", on_click=lambda: minus_line(screen, line)).props(
                    "flat round dense color=grey-8"
                ).classes("w-10 h-10").props('data-testid="line-minus"')
                ui.label(str(line.quantity)).classes("w-7 text-center text-lg font-bold").props(
                    'data-testid="line-qty"'
                )
                ui.button(icon="add", on_click=lambda: plus_line(screen, line)).props(
                    "flat round dense color=teal-8"
                ).classes("w-10 h-10").props('data-testid="line-plus"')
        ui.label(screen.money(line.total)).classes(
            "w-20 text-right tabular-nums text-base" + (" line-through opacity-50" if line.is_voided else "")
        ).props('data-testid="line-total"')


async def plus_line(screen: RegisterScreen, line: LineView) -> None:
    """One more: a higher quantity, or, once the kitchen has the line, a new line of the same."""
    if not line.is_sent:

        async def more(session: AsyncSession, bill_id: int, version: int) -> object:
            return await orders.change_line_quantity(
                session, screen.actor, bill_id, version, line.id, line.quantity + 1
            )

        await screen.act(more, queue=True)
        return
    product = screen.products.get(line.product_id)
    if product is None or product.kind == ProductKind.OPEN_PRICE:
        screen.notify(screen._("Add it again from the menu."), "info")
        return
    await add_product(screen, line.product_id, list(line.option_ids), None, line.note)


async def minus_line(screen: RegisterScreen, line: LineView) -> None:
    """One fewer; the last one voids the line (with a reason once the kitchen has it)."""
    if line.is_sent:
        await dialogs.void_dialog(screen, line)
        return
    if line.quantity > 1:

        async def fewer(session: AsyncSession, bill_id: int, version: int) -> object:
            return await orders.change_line_quantity(
                session, screen.actor, bill_id, version, line.id, line.quantity - 1
            )

        await screen.act(fewer, queue=True)
        return

    async def void(session: AsyncSession, bill_id: int, version: int) -> object:
        return await orders.void_line(session, screen.actor, bill_id, version, line.id, "")

    await screen.act(void, queue=True)


def bill_totals(screen: RegisterScreen) -> None:
    _ = screen._
    assert screen.view is not None
    view = screen.view
    bill = view.bill

    def row(label: str, amount: int, testid: str, classes: str = "text-sm") -> None:
        with ui.row().classes(f"w-full items-baseline justify-between {classes}"):
            ui.label(label)
            ui.label(screen.money(amount)).classes("tabular-nums").props(f'data-testid="{testid}"')

    with ui.column().classes("w-full gap-0 border-t border-slate-300 pt-2"):
        row(_("Subtotal"), bill.subtotal_amount, "bill-subtotal")
        if bill.member_discount_amount:
            label = _("Member discount") + (
                f" ({bill.member_discount_label})" if bill.member_discount_label else ""
            )
            row(label, -bill.member_discount_amount, "bill-member-discount", "text-sm text-rose-700")
        if bill.discount_amount:
            label = _("Discount") + (f" ({bill.discount_reason})" if bill.discount_reason else "")
            row(label, -bill.discount_amount, "bill-discount", "text-sm text-rose-700")
        row(_("Total"), bill.total_amount, "bill-total", "text-lg font-bold")
        if bill.rounding_amount:
            row(_("Cash rounding"), bill.rounding_amount, "bill-rounding")
        if bill.paid_amount:
            row(_("Paid"), bill.paid_amount, "bill-paid")
        row(_("Due"), view.due, "bill-due", "text-2xl font-bold text-teal-900")
        if bill.split_shares:
            ui.label(
                _("Split evenly: {shares}").format(
                    shares=" + ".join(screen.money(share) for share in bill.split_shares)
                )
            ).classes("text-xs opacity-70").props('data-testid="bill-split-shares"')


def bill_actions(screen: RegisterScreen) -> None:
    _ = screen._
    assert screen.view is not None
    view = screen.view
    bill = view.bill
    actor = screen.actor
    with ui.grid(columns=3).classes("w-full gap-2"):
        send = (
            ui.button(
                _("Send ({count})").format(count=view.unsent_count) if view.unsent_count else _("Kitchen"),
                icon="soup_kitchen",
                on_click=lambda: send_to_kitchen(screen),
            )
            .props(ACTION_BUTTON + " color=orange-8")
            .classes("min-h-[60px]")
            .props('data-testid="send-kitchen"')
        )
        send.set_enabled(view.unsent_count > 0)
        ui.button(_("Park"), icon="pause_circle", on_click=lambda: park(screen)).props(
            ACTION_BUTTON + " color=blue-grey-6"
        ).classes("min-h-[60px]").props('data-testid="park"')
        ui.button(_("Urgent"), icon="priority_high", on_click=lambda: toggle_urgent(screen)).props(
            ACTION_BUTTON + (" color=red-7" if bill.is_urgent else " color=blue-grey-6")
        ).classes("min-h-[60px]").props(
            f'data-testid="urgent" aria-pressed="{"true" if bill.is_urgent else "false"}"'
        )
        discount_button = (
            ui.button(_("Discount"), icon="percent", on_click=lambda: discount.discount_dialog(screen, None))
            .props(ACTION_BUTTON + " color=blue-grey-6")
            .classes("min-h-[60px]")
            .props('data-testid="discount"')
        )
        discount_button.set_enabled(actor.can(Permission.BILL_DISCOUNT) and bool(view.active_lines))
        split = (
            ui.button(_("Split"), icon="call_split", on_click=lambda: dialogs.split_dialog(screen))
            .props(ACTION_BUTTON + " color=blue-grey-6")
            .classes("min-h-[60px]")
            .props('data-testid="split"')
        )
        split.set_enabled(bool(view.active_lines))
        if bill.total_amount == 0 and bill.paid_amount == 0:
            close = (
                ui.button(_("Close"), icon="close", on_click=lambda: close_empty(screen))
                .props(ACTION_BUTTON + " color=grey-7")
                .classes("min-h-[60px]")
                .props('data-testid="close-empty"')
            )
            close.set_enabled(actor.can(Permission.PAYMENT_TAKE))
        else:
            pay = (
                ui.button(_("Pay"), icon="payments", on_click=lambda: payment.pay_dialog(screen))
                .props(ACTION_BUTTON + " color=positive")
                .classes("min-h-[60px] text-lg")
                .props('data-testid="pay"')
            )
            pay.set_enabled(actor.can(Permission.PAYMENT_TAKE))


def closed_bill(screen: RegisterScreen) -> None:
    _ = screen._
    assert screen.view is not None
    view = screen.view
    with ui.column().classes("w-full items-stretch gap-2 p-2"):
        ui.label(_("Paid — change {change}").format(change=screen.money(view.change_given))).classes(
            "text-xl font-bold text-positive text-center"
        ).props('data-testid="bill-closed"')
        ui.button(
            _("Print receipt"), icon="print", on_click=lambda: payment.print_receipt(screen, view.id)
        ).props("no-caps unelevated color=teal-8").classes("min-h-[56px]").props(
            'data-testid="panel-print-receipt"'
        )
        for action in PAID_BILL_ACTIONS:
            if action.is_shown(screen, None):
                paid_bill_action(screen, action)
        ui.button(_("Next customer"), icon="add", on_click=lambda: screen.show_bill(None)).props(
            "no-caps outline color=teal-8"
        ).classes("min-h-[56px]").props('data-testid="next-customer"')


def paid_bill_action(screen: RegisterScreen, action: RegisterAction) -> None:
    async def click() -> None:
        await action.on_click(screen, None)

    ui.button(screen._(action.label), icon=action.icon, on_click=click).props(
        "no-caps outline color=teal-8"
    ).classes("min-h-[56px]").props(f'data-testid="{action.testid}"')


# --- bill actions -------------------------------------------------------------------------


async def send_to_kitchen(screen: RegisterScreen) -> None:
    assert screen.view is not None

    async def send(session: AsyncSession, bill_id: int, version: int) -> object:
        return await orders.send_to_kitchen(session, screen.actor, bill_id, version)

    await screen.act(
        send,
        version=screen.view.version,
        success=screen._("Sent to the kitchen."),
    )


async def toggle_urgent(screen: RegisterScreen) -> None:
    assert screen.view is not None
    is_urgent = not screen.view.bill.is_urgent

    async def urgent(session: AsyncSession, bill_id: int, version: int) -> object:
        return await orders.set_urgent(session, screen.actor, bill_id, version, is_urgent)

    await screen.act(urgent, version=screen.view.version)


async def park(screen: RegisterScreen) -> None:
    assert screen.view is not None
    number = screen.view.bill.number

    async def park_bill(session: AsyncSession, bill_id: int, version: int) -> object:
        return await orders.park(session, screen.actor, bill_id, version)

    if await screen.act(park_bill, version=screen.view.version) is not None:
        await screen.show_bill(None)
        screen.notify(
            screen._("Bill {number} is parked; find it under Open bills.").format(number=number), "info"
        )


async def close_empty(screen: RegisterScreen) -> None:
    assert screen.view is not None

    async def close(session: AsyncSession, bill_id: int, version: int) -> object:
        return await orders.close(session, screen.actor, bill_id, version)

    if await screen.act(close, version=screen.view.version) is not None:
        await screen.show_bill(None)
