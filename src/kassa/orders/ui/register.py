"""The register screen, ``/register``: category tabs and the product grid (with a search
box a barcode scanner types into) on the left, the bill on the right; on portrait tablets
and phones the bill sits below the menu and a footer keeps its total in sight."""

from __future__ import annotations

from nicegui import app, ui

from kassa.catalog.menu import get_store_menu
from kassa.core.database import get_database
from kassa.deliveries.ui import dead_messages_chip, open_deliveries_dialog
from kassa.orders.ui.menu import menu_panel, search_box
from kassa.orders.ui.panel import render_bill_panel
from kassa.orders.ui.screen import BILL_STORAGE_KEY, RegisterScreen
from kassa.orders.ui.widgets import view_switch
from kassa.printing.ui import print_queue_chip
from kassa.stores.service import store_topic
from kassa.web.layout import current_locale, load_register_context, register_frame, subscribe_for_this_page


@ui.page("/register", title="Kassa · register")
async def register_page(bill: int | None = None) -> None:
    """The register. ``?bill=ID`` shows that bill (the floor and the queue link here)."""
    context = await load_register_context()
    if context is None:
        ui.navigate.to("/")
        return
    locale = current_locale()
    storage = app.storage.user
    async with get_database().read_only() as session:
        menu = await get_store_menu(session, context.actor, context.store.id, locale=locale)
    screen = RegisterScreen(context, menu, locale, storage)
    _ = screen._
    with register_frame(context):
        screen.root = ui.column().classes("w-full gap-2")
        with screen.root, ui.element("div").classes("w-full flex flex-col lg:flex-row gap-3 items-start"):
            with ui.column().classes("w-full lg:flex-1 min-w-0 gap-2"):
                with ui.row().classes("w-full items-center gap-2"):
                    view_switch("/register")
                    on_print_event = await print_queue_chip(
                        context.store.id,
                        _,
                        on_click=lambda: open_deliveries_dialog(
                            context.actor, context.store.id, context.store.timezone
                        ),
                    )
                    on_dead_event = await dead_messages_chip(
                        context.actor, context.store.id, context.store.timezone
                    )
                    ui.space()
                    search_box(screen)
                menu_panel(screen)
            # On a landscape tablet the bill stays in view (its lines scroll) while the menu scrolls.
            panel = (
                ui.column()
                .classes(
                    "w-full lg:w-[400px] xl:w-[440px] shrink-0 gap-2 p-3 bg-white rounded-xl shadow-md"
                    " border border-slate-200 lg:sticky lg:top-[72px] lg:h-[calc(100dvh-88px)]"
                    " flex-nowrap"
                )
                .props('data-testid="bill-panel"')
            )
    with ui.footer().classes("lg:hidden bg-teal-900 text-white px-3 py-1 items-center gap-2 flex-nowrap"):
        footer_label = ui.label().classes("text-base truncate flex-1").props('data-testid="footer-summary"')
        ui.button(
            _("Bill"),
            icon="receipt",
            on_click=lambda: ui.run_javascript(
                "document.querySelector('[data-testid=\"bill-panel\"]').scrollIntoView({behavior: 'smooth'})"
            ),
        ).props("no-caps unelevated color=white text-color=teal-10").classes("min-h-[44px]").props(
            'data-testid="footer-show-bill"'
        )
    screen.render_bill = lambda: render_bill_panel(screen, panel, footer_label)
    subscribe_for_this_page(store_topic(context.store.id), screen.on_event)
    subscribe_for_this_page(store_topic(context.store.id), on_print_event)
    subscribe_for_this_page(store_topic(context.store.id), on_dead_event)
    stored = storage.get(BILL_STORAGE_KEY)
    await screen.show_bill(bill if bill is not None else stored, only_open=bill is None)
    await screen.refresh_open_count()
