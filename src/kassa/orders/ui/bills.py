"""Bills as a whole: a new one (dine-in at a table, takeaway, delivery), the open bills to
resume, moving a bill to another table and merging two."""

from __future__ import annotations

from typing import Any

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.database import get_database, utc_now
from kassa.core.errors import KassaError
from kassa.core.i18n import format_datetime
from kassa.orders import service as orders
from kassa.orders.models import OrderType
from kassa.orders.ui.screen import RegisterScreen
from kassa.orders.ui.view import (
    ORDER_TYPE_LABELS,
    OpenBillRow,
    PaidBillRow,
    TableView,
    age_minutes,
    bill_place,
    load_floor,
    load_open_bills,
    load_paid_bills,
)
from kassa.orders.ui.widgets import choice_button, dialog_card, run
from kassa.web.layout import gettext

GUEST_CHOICES = (1, 2, 3, 4, 5, 6, 8, 10)


async def ask_guests(host: ui.element, title: str) -> int | None:
    """How many guests sit down (dine-in bills need it)."""
    _ = gettext()
    with dialog_card(host, title, "guests", 400) as dialog:
        ui.label(_("How many guests?")).classes("text-base")
        with ui.grid(columns=4).classes("w-full gap-2"):
            for count in GUEST_CHOICES:
                ui.button(str(count), on_click=lambda count=count: dialog.submit(count)).props(
                    "unelevated color=teal-1 text-color=teal-10"
                ).classes("h-14 text-xl").props(f'data-testid="guests-{count}"')
    result = await run(dialog)
    return int(result) if result is not None else None


async def new_bill_dialog(screen: RegisterScreen) -> None:
    """Dine-in (a free table and the guests), takeaway, or delivery (address and phone)."""
    _ = screen._
    async with get_database().read_only() as session:
        areas = await load_floor(session, screen.actor, screen.store.id, screen.context.register.id)
    state: dict[str, Any] = {"type": OrderType.TAKEAWAY, "table": None, "guests": 2}
    with dialog_card(screen.root, _("New bill"), "new-bill", 560) as dialog:
        type_row = ui.row().classes("w-full gap-2 flex-nowrap")
        body = ui.column().classes("w-full gap-2")

        def paint() -> None:
            type_row.clear()
            with type_row:
                for order_type in (OrderType.DINE_IN, OrderType.TAKEAWAY, OrderType.DELIVERY):
                    choice_button(
                        _(ORDER_TYPE_LABELS[order_type]),
                        lambda order_type=order_type: pick_type(order_type),
                        is_selected=state["type"] == order_type,
                        testid=f"order-type-{order_type.value}",
                    ).classes("flex-1")
            body.clear()
            with body:
                if state["type"] == OrderType.DINE_IN:
                    dine_in_fields()
                elif state["type"] == OrderType.DELIVERY:
                    delivery_fields()
                ui.button(_("Open bill"), icon="check", on_click=submit).props(
                    "no-caps unelevated color=positive"
                ).classes("min-h-[56px] text-lg w-full").props('data-testid="open-bill-ok"')

        def dine_in_fields() -> None:
            ui.label(_("Table")).classes("text-sm font-bold")
            free = [table for area in areas for table in area.tables if not table.is_occupied]
            if not free:
                ui.label(_("Every table is taken.")).classes("text-sm text-rose-700")
            with ui.grid().classes("w-full gap-2 grid-cols-4 sm:grid-cols-6"):
                for table in free:
                    choice_button(
                        table.name,
                        lambda table=table: pick_table(table),
                        is_selected=state["table"] == table.id,
                        testid=f"pick-table-{table.name}",
                    )
            ui.label(_("Guests")).classes("text-sm font-bold")
            with ui.grid(columns=8).classes("w-full gap-1"):
                for count in GUEST_CHOICES:
                    choice_button(
                        str(count),
                        lambda count=count: pick_guests(count),
                        is_selected=state["guests"] == count,
                        testid=f"pick-guests-{count}",
                    ).classes("px-0")

        def delivery_fields() -> None:
            ui.input(_("Delivery address"), value=state.get("address", "")).props(
                "outlined maxlength=300"
            ).classes("w-full").props('data-testid="delivery-address"').on_value_change(
                lambda event: state.__setitem__("address", event.value)
            )
            ui.input(_("Phone"), value=state.get("phone", "")).props(
                "outlined type=tel maxlength=40"
            ).classes("w-full").props('data-testid="delivery-phone"').on_value_change(
                lambda event: state.__setitem__("phone", event.value)
            )

        def pick_type(order_type: OrderType) -> None:
            state["type"] = order_type
            paint()

        def pick_table(table: TableView) -> None:
            state["table"] = table.id
            paint()

        def pick_guests(count: int) -> None:
            state["guests"] = count
            paint()

        async def submit() -> None:
            details: dict[str, Any] = {}
            if state["type"] == OrderType.DINE_IN:
                details = {"table_id": state["table"], "guest_count": state["guests"]}
            elif state["type"] == OrderType.DELIVERY:
                details = {
                    "delivery_address": (state.get("address") or "").strip() or None,
                    "delivery_phone": (state.get("phone") or "").strip() or None,
                }
            if await screen.open_new_bill(state["type"], **details):
                dialog.submit(True)

        paint()
    await run(dialog)


async def resume_bill(screen: RegisterScreen, row: OpenBillRow) -> None:
    """Show an open bill here; a parked one is resumed onto this register first."""
    if row.is_parked:
        try:
            async with get_database().unit_of_work() as session:
                await orders.resume(session, screen.actor, row.id, row.version)
        except KassaError as error:
            screen.error(error)
            return
    await screen.show_bill(row.id)


async def open_bills_dialog(screen: RegisterScreen) -> None:
    """The store's open bills: age, table, staff, total; tap one to work on it."""
    _ = screen._
    async with get_database().read_only() as session:
        rows = await load_open_bills(session, screen.actor, screen.store.id, screen.context.register.id)
        paid = await load_paid_bills(session, screen.actor, screen.store.id)
    now = utc_now()
    with dialog_card(screen.root, _("Open bills"), "open-bills", 520) as dialog:
        dialog.props("position=right full-height")
        if not rows:
            ui.label(_("No open bills.")).classes("opacity-70 p-4")
        with ui.column().classes("w-full gap-2 overflow-y-auto"):
            for row in rows:

                async def pick(row: OpenBillRow = row) -> None:
                    dialog.submit(True)
                    await resume_bill(screen, row)

                is_current = screen.view is not None and screen.view.id == row.id
                # A plain block, not a button: its texts truncate instead of widening the sheet.
                item = (
                    ui.element("div")
                    .classes(
                        "w-full min-h-[64px] rounded-lg border border-slate-200 px-3 py-2 flex items-center"
                        " gap-3 flex-nowrap cursor-pointer select-none active:bg-teal-100 "
                        + ("bg-teal-50" if is_current else "bg-white")
                    )
                    .props(f'role=button data-testid="open-bill-row" data-bill-id="{row.id}"')
                    .on("click", pick)
                )
                with item:
                    with ui.column().classes("gap-0 flex-1 min-w-0 items-start"):
                        place = bill_place(row.order_type, row.table_name, row.pickup_code)
                        ui.label(f"{_(ORDER_TYPE_LABELS[row.order_type])} {place}").classes(
                            "text-base font-bold truncate w-full"
                        )
                        facts = [
                            _("Bill {number}").format(number=row.number),
                            _("{minutes} min").format(minutes=age_minutes(row.opened_at, now)),
                            row.staff_name,
                        ]
                        ui.label(" · ".join(fact for fact in facts if fact)).classes(
                            "text-xs opacity-70 truncate w-full"
                        )
                    if row.is_urgent:
                        ui.badge(_("Urgent"), color="red")
                    if row.is_parked:
                        ui.badge(_("Parked"), color="orange")
                    ui.label(screen.money(row.total)).classes("text-base font-bold tabular-nums")
            if paid:
                ui.label(_("Paid today")).classes("text-base font-bold pt-2")
            for paid_row in paid:
                paid_bill_row(screen, dialog, paid_row)
    await run(dialog)


def paid_bill_row(screen: RegisterScreen, dialog: ui.dialog, row: PaidBillRow) -> None:
    """A paid bill of today: tap it to see it again (to reprint its receipt, or return a dish)."""
    _ = screen._

    async def pick() -> None:
        dialog.submit(True)
        await screen.show_bill(row.id)

    item = (
        ui.element("div")
        .classes(
            "w-full min-h-[56px] rounded-lg border border-slate-200 bg-slate-50 px-3 py-2 flex"
            " items-center gap-3 flex-nowrap cursor-pointer select-none active:bg-teal-100"
        )
        .props(f'role=button data-testid="paid-bill-row" data-bill-id="{row.id}"')
        .on("click", pick)
    )
    with item:
        with ui.column().classes("gap-0 flex-1 min-w-0 items-start"):
            ui.label(f"{_(ORDER_TYPE_LABELS[row.order_type])} {row.place}").classes(
                "text-base truncate w-full"
            )
            facts = [_("Bill {number}").format(number=row.number)]
            if row.closed_at is not None:
                facts.append(format_datetime(row.closed_at, screen.store.timezone, screen.locale, "HH:mm"))
            ui.label(" · ".join(facts)).classes("text-xs opacity-70 truncate w-full")
        ui.label(screen.money(row.total)).classes("text-base tabular-nums")


async def move_table_dialog(screen: RegisterScreen) -> None:
    _ = screen._
    if screen.view is None:
        return
    version = screen.view.version
    async with get_database().read_only() as session:
        areas = await load_floor(session, screen.actor, screen.store.id, screen.context.register.id)
    free = [table for area in areas for table in area.tables if not table.is_occupied]
    with dialog_card(screen.root, _("Move to another table"), "move-table") as dialog:
        if not free:
            ui.label(_("Every table is taken."))
        with ui.grid().classes("w-full gap-2 grid-cols-4"):
            for table in free:
                ui.button(table.name, on_click=lambda table=table: dialog.submit(table.id)).props(
                    "no-caps unelevated color=teal-1 text-color=teal-10"
                ).classes("min-h-[56px]").props(f'data-testid="move-to-{table.name}"')
    table_id = await run(dialog)
    if table_id is None:
        return

    async def move(session: AsyncSession, bill_id: int, expected: int) -> object:
        return await orders.move_to_table(session, screen.actor, bill_id, expected, int(table_id))

    await screen.act(move, version=version)


async def merge_dialog(screen: RegisterScreen) -> None:
    """Move every line of another open bill onto this one."""
    _ = screen._
    if screen.view is None:
        return
    version = screen.view.version
    async with get_database().read_only() as session:
        rows = await load_open_bills(session, screen.actor, screen.store.id, screen.context.register.id)
    others = [row for row in rows if row.id != screen.view.id]
    with dialog_card(screen.root, _("Merge another bill into this one"), "merge") as dialog:
        if not others:
            ui.label(_("No other open bills."))
        for row in others:
            place = bill_place(row.order_type, row.table_name, row.pickup_code)
            ui.button(
                f"{_('Bill {number}').format(number=row.number)} {place} · {screen.money(row.total)}",
                on_click=lambda row=row: dialog.submit(row),
            ).props("no-caps unelevated color=grey-2 text-color=grey-10 align=left").classes(
                "w-full min-h-[56px]"
            )
    source = await run(dialog)
    if source is None:
        return

    async def merge(session: AsyncSession, bill_id: int, expected: int) -> object:
        return await orders.merge(session, screen.actor, bill_id, expected, source.id, source.version)

    await screen.act(merge, version=version)
