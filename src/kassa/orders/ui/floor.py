"""The floor (``/register/floor``): each area's tables where they stand, free or taken
(with the bill's total), live; and the order queue (``/register/queue``): open orders by
type, urgent first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from nicegui import background_tasks, ui
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor
from kassa.core.database import get_database, utc_now
from kassa.core.errors import KassaError
from kassa.core.events import Event
from kassa.core.i18n import format_money
from kassa.core.money import Money
from kassa.orders import service as orders
from kassa.orders.models import OrderType
from kassa.orders.ui.bills import ask_guests
from kassa.orders.ui.view import (
    ORDER_TYPE_ICONS,
    ORDER_TYPE_LABELS,
    AreaView,
    OpenBillRow,
    TableView,
    age_minutes,
    bill_place,
    load_floor,
    load_open_bills,
    queue_of,
)
from kassa.orders.ui.widgets import dialog_card, run, view_switch
from kassa.stores.service import store_topic
from kassa.web.layout import (
    RegisterContext,
    current_locale,
    gettext,
    load_register_context,
    notify_error,
    register_frame,
    subscribe_for_this_page,
)

# Tables sit on a 0-100 grid; keep their centres off the plan's sides.
PLAN_MARGIN = 6
# Vertically a plan is as tall as its rows of tables need: a 72 px table, 60 px from the
# top and bottom edges, and 3 px per grid unit between the highest and the lowest table.
PLAN_EDGE_PX = 60
PLAN_PX_PER_UNIT = 3

# Capabilities above orders mark tables on the floor and may take a tap on a free table
# first (reservations: "reserved 19:00", seat the booked guests); registered when imported.
# A marks loader gives (session, actor, store id) -> {table id: what the table shows};
# a tap handler gives (host, context, table) -> True when it handled the tap.
FloorMarks = Callable[[AsyncSession, Actor, int], Awaitable[dict[int, str]]]
FloorTap = Callable[[ui.element, RegisterContext, TableView], Awaitable[bool]]
FLOOR_MARKS: list[FloorMarks] = []
FLOOR_TAPS: list[FloorTap] = []
# Events that redraw the floor and the queue.
LIVE_EVENT_PREFIXES: list[str] = ["bill."]


def plan_left(value: int) -> float:
    """A 0-100 grid position as a percentage of the plan's width, inside its margins."""
    clamped = min(100, max(0, value))
    return PLAN_MARGIN + clamped * (100 - 2 * PLAN_MARGIN) / 100


def plan_height(tables: Sequence[TableView]) -> int:
    """The plan's height in pixels: only the rows its tables use."""
    if not tables:
        return 2 * PLAN_EDGE_PX
    ys = [table.position_y for table in tables]
    return 2 * PLAN_EDGE_PX + (max(ys) - min(ys)) * PLAN_PX_PER_UNIT


def plan_top(value: int, tables: Sequence[TableView]) -> int:
    """A table's centre in pixels from the top of its plan."""
    return PLAN_EDGE_PX + (value - min(table.position_y for table in tables)) * PLAN_PX_PER_UNIT


class LiveSection:
    """A part of a page drawn from the database and drawn again when a bill changes;
    changes arriving while it draws are folded into one more draw."""

    def __init__(self, container: ui.element, draw: Callable[[], Awaitable[None]]) -> None:
        self.container = container
        self.draw = draw
        self.is_drawing = False
        self.is_due = False

    def on_event(self, event: Event) -> None:
        if event.name.startswith(tuple(LIVE_EVENT_PREFIXES)):
            self.request()

    def request(self) -> None:
        self.is_due = True
        if not self.is_drawing:
            background_tasks.create(self._run(), name="register-live-section")

    async def _run(self) -> None:
        self.is_drawing = True
        try:
            while self.is_due and not self.container.is_deleted:
                self.is_due = False
                await self.draw()
        finally:
            self.is_drawing = False


async def open_row(context: RegisterContext, row: OpenBillRow) -> None:
    """Go to the register with this bill; a parked bill is resumed here first."""
    if row.is_parked:
        try:
            async with get_database().unit_of_work() as session:
                await orders.resume(session, context.actor, row.id, row.version)
        except KassaError as error:
            notify_error(error)
            return
    ui.navigate.to(f"/register?bill={row.id}")


@ui.page("/register/floor", title="Kassa · floor")
async def floor_page() -> None:
    context = await load_register_context()
    if context is None:
        ui.navigate.to("/")
        return
    _ = gettext()
    locale = current_locale()

    def money(amount: int) -> str:
        return format_money(Money(amount, context.store.currency), locale)

    with register_frame(context):
        root = ui.column().classes("w-full gap-3")
        with root:
            with ui.row().classes("w-full items-center gap-2"):
                view_switch("/register/floor")
                ui.space()
                with ui.row().classes("items-center gap-3 text-sm"):
                    ui.label("■").classes("text-emerald-500")
                    ui.label(_("Free"))
                    ui.label("■").classes("text-orange-500")
                    ui.label(_("Taken"))
                    if FLOOR_MARKS:
                        ui.label("■").classes("text-indigo-500")
                        ui.label(_("Reserved"))
            plan = ui.column().classes("w-full gap-4").props('data-testid="floor"')

    async def tap(table: TableView) -> None:
        for handler in FLOOR_TAPS:
            if await handler(root, context, table):
                return
        if not table.is_occupied:
            guests = await ask_guests(root, _("Table {name}").format(name=table.name))
            if guests is None:
                return
            try:
                async with get_database().unit_of_work() as session:
                    bill = await orders.open_bill(
                        session,
                        context.actor,
                        order_type=OrderType.DINE_IN,
                        table_id=table.id,
                        guest_count=guests,
                    )
            except KassaError as error:
                with root:
                    notify_error(error)
                await section.draw()
                return
            ui.navigate.to(f"/register?bill={bill.id}")
            return
        if len(table.bills) == 1:
            with root:
                await open_row(context, table.bills[0])
            return
        with dialog_card(root, _("Table {name}").format(name=table.name), "table-bills") as dialog:
            for row in table.bills:
                ui.button(
                    f"{_('Bill {number}').format(number=row.number)} · {money(row.total)}",
                    on_click=lambda row=row: dialog.submit(row),
                ).props("no-caps unelevated color=grey-2 text-color=grey-10").classes(
                    "w-full min-h-[56px]"
                ).props('data-testid="table-bill"')
        chosen = await run(dialog)
        if chosen is not None:
            with root:
                await open_row(context, chosen)

    drawn: list[tuple[tuple[AreaView, ...], dict[int, str]]] = []  # what the plan shows

    async def draw() -> None:
        try:
            async with get_database().read_only() as session:
                areas = await load_floor(session, context.actor, context.store.id, context.register.id)
                marks: dict[int, str] = {}
                for loader in FLOOR_MARKS:
                    marks.update(await loader(session, context.actor, context.store.id))
        except KassaError as error:
            with root:
                notify_error(error)
            return
        # Most of the store's events leave the floor as it is: redrawing it anyway would
        # swallow a tap on a table that lands mid-redraw.
        if drawn and drawn[-1] == (areas, marks):
            return
        drawn[:] = [(areas, marks)]
        plan.clear()
        with plan:
            if not areas:
                ui.label(_("No tables yet: add areas and tables in the back office.")).classes("opacity-70")
            for area in areas:
                with ui.column().classes("w-full gap-1"):
                    ui.label(area.name).classes("text-lg font-bold")
                    with (
                        ui.element("div")
                        .classes("relative w-full rounded-xl border border-slate-300 bg-slate-50")
                        .style(f"height: {plan_height(area.tables)}px")
                    ):
                        for table in area.tables:
                            table_button(table, plan_top(table.position_y, area.tables), marks.get(table.id))

    def table_button(table: TableView, top: int, mark: str | None) -> None:
        is_taken = table.is_occupied
        color = "orange-6" if is_taken else "indigo-6" if mark else "green-6"
        button = ui.button(on_click=lambda: tap(table)).props(
            f"no-caps unelevated color={color} text-color=white"
        )
        button.classes("absolute w-[19%] max-w-[150px] h-[72px] -translate-x-1/2 -translate-y-1/2 rounded-xl")
        button.props("padding='4px 2px'")
        button.style(f"left: {plan_left(table.position_x):.1f}%; top: {top}px")
        button.props(f'data-testid="table-{table.name}" data-occupied="{"true" if is_taken else "false"}"')
        button.props(f'data-reserved="{"true" if mark else "false"}"')
        if is_taken and mark:
            button.classes("ring-4 ring-indigo-400")  # taken now, and booked soon
        with button, ui.column().classes("items-center gap-0 w-full"):
            ui.label(table.name).classes("text-lg font-bold leading-tight")
            if is_taken:
                ui.label(money(table.total)).classes("text-sm tabular-nums").props(
                    'data-testid="table-total"'
                )
                guests = sum(bill.guest_count or 0 for bill in table.bills)
                if guests:
                    ui.label(_("{count} guests").format(count=guests)).classes("text-xs opacity-90")
            elif mark:
                ui.label(mark).classes(
                    "text-xs leading-tight whitespace-normal line-clamp-2 max-w-full"
                ).props('data-testid="table-mark"')
            else:
                ui.label(_("{count} seats").format(count=table.seats)).classes("text-xs opacity-90")

    section = LiveSection(plan, draw)
    await draw()
    subscribe_for_this_page(store_topic(context.store.id), section.on_event)
    if FLOOR_MARKS:
        ui.timer(60.0, section.request)  # a table shows reserved from a time on


@ui.page("/register/queue", title="Kassa · orders")
async def queue_page() -> None:
    context = await load_register_context()
    if context is None:
        ui.navigate.to("/")
        return
    _ = gettext()
    locale = current_locale()

    def money(amount: int) -> str:
        return format_money(Money(amount, context.store.currency), locale)

    with register_frame(context):
        root = ui.column().classes("w-full gap-3")
        with root:
            view_switch("/register/queue")
            board = (
                ui.grid()
                .classes("w-full gap-3 grid-cols-1 md:grid-cols-2 xl:grid-cols-4")
                .props('data-testid="order-queue"')
            )

    async def draw() -> None:
        try:
            async with get_database().read_only() as session:
                rows = await load_open_bills(session, context.actor, context.store.id, context.register.id)
        except KassaError as error:
            with root:
                notify_error(error)
            return
        board.clear()
        with board:
            for order_type, bills in queue_of(rows).items():
                with (
                    ui.column()
                    .classes("w-full gap-2 bg-slate-50 rounded-xl p-2 border border-slate-200")
                    .props(f'data-testid="queue-{order_type.value}"')
                ):
                    with ui.row().classes("items-center gap-2"):
                        ui.icon(ORDER_TYPE_ICONS[order_type], size="24px").classes("text-teal-800")
                        ui.label(_(ORDER_TYPE_LABELS[order_type])).classes("text-lg font-bold")
                        ui.badge(str(len(bills)), color="teal")
                    if not bills:
                        ui.label(_("None open.")).classes("text-sm opacity-60")
                    for row in bills:
                        order_card(row)

    def order_card(row: OpenBillRow) -> None:
        button = ui.button(on_click=lambda: open_row(context, row)).props(
            "no-caps unelevated align=left color=white text-color=grey-10"
        )
        button.classes(
            "w-full min-h-[72px] rounded-lg border-2 "
            + ("border-red-500" if row.is_urgent else "border-slate-200")
        ).props(f'data-testid="queue-bill" data-bill-id="{row.id}"')
        button.props(f'data-urgent="{"true" if row.is_urgent else "false"}"')
        with button, ui.column().classes("w-full gap-0 items-start"):
            with ui.row().classes("w-full items-center gap-2 flex-nowrap"):
                place = bill_place(row.order_type, row.table_name, row.pickup_code)
                ui.label(place or _("Bill {number}").format(number=row.number)).classes("text-lg font-bold")
                if row.is_urgent:
                    ui.badge(_("Urgent"), color="red")
                if row.is_parked:
                    ui.badge(_("Parked"), color="orange")
                ui.space()
                ui.label(money(row.total)).classes("tabular-nums font-medium")
            minutes = age_minutes(row.opened_at, utc_now())
            facts = [_("Bill {number}").format(number=row.number), _("{minutes} min").format(minutes=minutes)]
            if row.staff_name:
                facts.append(row.staff_name)
            ui.label(" · ".join(facts)).classes("text-xs opacity-70")

    section = LiveSection(board, draw)
    await draw()
    subscribe_for_this_page(store_topic(context.store.id), section.on_event)
    ui.timer(30.0, section.request)  # the ages move on
