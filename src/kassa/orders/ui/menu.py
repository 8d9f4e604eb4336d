"""The menu side of the register: category tabs, the product grid with live sold-out marks,
the search box a barcode scanner types into, and adding a tapped product."""

from __future__ import annotations

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.menu import MenuProduct
from kassa.catalog.models import ProductKind
from kassa.core.money import Money
from kassa.orders import service as orders
from kassa.orders.models import OrderType
from kassa.orders.ui import dialogs
from kassa.orders.ui.screen import ProductTile, RegisterScreen
from kassa.orders.ui.view import (
    find_by_code,
    search_menu,
)


def product_tile(screen: RegisterScreen, product: MenuProduct) -> None:
    _ = screen._
    button = (
        ui.button(on_click=lambda: tap_product(screen, product))
        .props("no-caps unelevated color=white text-color=grey-10 align=left padding='8px 10px'")
        .classes("w-full min-h-[84px] border border-slate-200 rounded-lg shadow-sm")
        .props(f'data-testid="product" data-sku="{product.sku}"')
    )
    with button, ui.column().classes("w-full h-full gap-1 items-start justify-between text-left"):
        ui.label(product.display_name).classes("text-base font-bold leading-tight line-clamp-2 break-all")
        with ui.row().classes("w-full items-center gap-1 flex-nowrap"):
            price = (
                _("Open price")
                if product.kind == ProductKind.OPEN_PRICE
                else screen.money(product.price.amount)
            )
            ui.label(price).classes("text-sm text-teal-800 font-medium whitespace-nowrap")
            if product.modifier_groups:
                ui.icon("tune", size="16px").classes("text-slate-400")
            ui.space()
            badge = (
                ui.label(_("Sold out"))
                .classes("text-xs font-bold text-white bg-red-600 rounded px-1 whitespace-nowrap")
                .props('data-testid="sold-out"')
            )
            stock = ui.label().classes("text-xs text-slate-500 whitespace-nowrap")
    tile = ProductTile(button, badge, stock)
    screen.tiles.setdefault(product.id, []).append(tile)
    screen.paint_tile(product.id, tile)


def product_grid(screen: RegisterScreen, products: list[MenuProduct]) -> None:
    with ui.grid().classes("w-full gap-2 grid-cols-2 sm:grid-cols-3 md:grid-cols-4 xl:grid-cols-5"):
        for product in products:
            product_tile(screen, product)


def menu_panel(screen: RegisterScreen) -> None:
    _ = screen._
    categories = screen.menu.categories
    with ui.column().classes("w-full gap-0"):
        with (
            ui.tabs()
            .classes("w-full text-teal-900")
            .props("align=left mobile-arrows outside-arrows dense no-caps inline-label") as tabs
        ):
            for category in categories:
                ui.tab(str(category.id), label=category.display_name).classes("min-h-[48px]").props(
                    f'data-testid="category-{category.id}"'
                )
        panels = ui.tab_panels(tabs, value=str(categories[0].id) if categories else None).classes(
            "w-full bg-transparent"
        )
        with panels:
            for category in categories:
                with ui.tab_panel(str(category.id)).classes("p-0 pt-2"):
                    product_grid(screen, list(category.products))
        results = ui.column().classes("w-full gap-2 pt-2").props('data-testid="search-results"')
        results.set_visibility(False)
        if not categories:
            ui.label(_("The menu is empty: add products in the back office.")).classes("opacity-70 p-4")

    def show_results(text: str) -> None:
        results.clear()
        has_text = bool(text.strip())
        panels.set_visibility(not has_text)
        tabs.set_visibility(not has_text)
        results.set_visibility(has_text)
        if not has_text:
            return
        found = search_menu(screen.menu, text)
        with results:
            if found:
                product_grid(screen, found)
            else:
                ui.label(_("No product matches “{text}”.").format(text=text)).classes("opacity-70 p-2")

    screen.show_search_results = show_results


def search_box(screen: RegisterScreen) -> ui.input:
    """Type to filter the menu; a scanner types the barcode and Enter adds that product."""
    _ = screen._

    async def on_enter() -> None:
        text = (search.value or "").strip()
        if not text:
            return
        product = find_by_code(screen.menu, text)
        if product is None:
            found = search_menu(screen.menu, text)
            product = found[0] if len(found) == 1 else None
        if product is None:
            screen.notify(_("No product with the code “{code}”.").format(code=text), "warning")
            return
        search.set_value("")
        await tap_product(screen, product)

    search = (
        ui.input(placeholder=_("Search or scan a barcode"))
        .props("outlined dense clearable autocomplete=off")
        .classes("w-full sm:w-80")
        .props('data-testid="product-search"')
    )
    with search.add_slot("prepend"):
        ui.icon("qr_code_scanner")
    search.on("keydown.enter", on_enter)
    search.on_value_change(lambda event: screen.show_search_results(event.value or ""))
    return search


async def tap_product(screen: RegisterScreen, product: MenuProduct) -> None:
    """Add one of a product: ask the open price, then the options, when it has them."""
    _ = screen._
    if screen.sold_out.get(product.id):
        screen.notify(_("{name} is sold out.").format(name=product.display_name), "warning")
        return
    open_price = None
    if product.kind == ProductKind.OPEN_PRICE:
        open_price = await dialogs.ask_open_price(screen, product)
        if open_price is None:
            return
    chosen: list[int] = []
    note = ""
    if product.modifier_groups:
        answer = await dialogs.ask_modifiers(screen, product, open_price)
        if answer is None:
            return
        chosen, note = answer
    await add_product(screen, product.id, chosen, open_price, note)


async def add_product(
    screen: RegisterScreen, product_id: int, option_ids: list[int], open_price: int | None, note: str = ""
) -> None:
    # Counter service: with no bill on screen, the first product opens a takeaway bill.
    is_shown = screen.view is not None and screen.view.is_open
    if not is_shown and not await screen.open_new_bill(OrderType.TAKEAWAY, unless_shown=True):
        return
    currency = screen.store.currency

    async def add(session: AsyncSession, bill_id: int, version: int) -> object:
        return await orders.add_line(
            session,
            screen.actor,
            bill_id,
            version,
            product_id=product_id,
            modifier_option_ids=option_ids,
            open_price=Money(open_price, currency) if open_price is not None else None,
            note=note,
        )

    await screen.act(add, queue=True)
