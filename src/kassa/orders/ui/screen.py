"""The register screen's state and actions: the bill it shows, the menu's sold-out marks,
and one way to run a bill action (one unit of work, the version shown, errors told)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, TypeVar

from nicegui import background_tasks, ui
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.menu import MenuProduct, StoreMenu
from kassa.core.database import get_database
from kassa.core.errors import Conflict, KassaError, StaleVersion
from kassa.core.events import Event
from kassa.core.i18n import format_money
from kassa.core.money import Money
from kassa.orders import service as orders
from kassa.orders.models import OrderType
from kassa.orders.ui.view import BillView, load_bill_view, load_open_bills
from kassa.web.layout import RegisterContext, gettext, notify_error

T = TypeVar("T")
BILL_STORAGE_KEY = "register_bill_id"
BillAction = Callable[[AsyncSession, int, int], Awaitable[T]]


@dataclass
class ProductTile:
    button: ui.button
    sold_out_badge: ui.label
    stock_label: ui.label


class RegisterScreen:
    """One browser tab's register: what it shows and what its buttons do.

    Actions run one at a time (``lock``). A tap that arrives while another action runs is
    dropped (a double tap sends to the kitchen once), except adding products, which queue
    (two taps add two). Each action names the bill version the screen showed; a stale one
    reloads the bill and says so.
    """

    def __init__(
        self, context: RegisterContext, menu: StoreMenu, locale: str, storage: MutableMapping[str, Any]
    ) -> None:
        self.context = context
        self.actor = context.actor
        self.store = context.store
        self.menu = menu
        self.locale = locale
        self.storage = storage
        self._ = gettext()
        self.view: BillView | None = None
        self.lock = asyncio.Lock()
        self.tiles: dict[int, list[ProductTile]] = {}
        self.products: dict[int, MenuProduct] = {
            product.id: product for category in menu.categories for product in category.products
        }
        self.sold_out = {product.id: product.is_sold_out for product in self.products.values()}
        self.stock = {product.id: product.stock_quantity for product in self.products.values()}
        self.open_bill_count = 0
        self.last_error: KassaError | None = None
        self.printed_bill_ids: set[int] = set()
        # Set by the page once its elements exist; ``root`` is never cleared, so dialogs and
        # notifications made from a handler whose button was redrawn still have a home.
        self.root: ui.element
        self.render_bill: Callable[[], None] = lambda: None
        self.render_open_count: Callable[[], None] = lambda: None
        self.show_search_results: Callable[[str], None] = lambda text: None
        self.on_bill_reloaded: list[Callable[[], None]] = []

    # --- display helpers ----------------------------------------------------------------

    def money(self, amount: int) -> str:
        return format_money(Money(amount, self.store.currency), self.locale)

    def notify(self, message: str, kind: str = "info") -> None:
        with self.root:
            # Good news goes quickly; problems stay until read.
            timeout = 2500 if kind == "positive" else 6000
            ui.notify(message, type=kind, position="top", multi_line=True, timeout=timeout)  # type: ignore[arg-type]

    def error(self, error: KassaError) -> None:
        with self.root:
            notify_error(error)

    # --- the bill shown -----------------------------------------------------------------

    async def show_bill(self, bill_id: int | None, *, only_open: bool = False) -> None:
        """Load a bill into the panel (None: no bill). ``only_open`` skips a closed one."""
        view = None
        if bill_id is not None:
            try:
                async with get_database().read_only() as session:
                    view = await load_bill_view(session, self.actor, bill_id, self.locale)
            except KassaError as error:
                self.error(error)
            if view is not None and only_open and not view.is_open:
                view = None
        self.view = view
        if view is not None and view.is_open:
            self.storage[BILL_STORAGE_KEY] = view.id
        else:
            self.storage.pop(BILL_STORAGE_KEY, None)
        self.render_bill()
        for callback in list(self.on_bill_reloaded):
            callback()

    async def reload(self) -> None:
        await self.show_bill(self.view.id if self.view else None)

    async def refresh_open_count(self) -> None:
        try:
            async with get_database().read_only() as session:
                rows = await load_open_bills(session, self.actor, self.store.id, self.context.register.id)
        except KassaError:
            return
        self.open_bill_count = len(rows)
        self.render_open_count()

    async def act(
        self,
        action: BillAction[T],
        *,
        version: int | None = None,
        queue: bool = False,
        success: str | None = None,
    ) -> T | None:
        """Run ``action(session, bill_id, version)`` on the shown bill in one unit of work,
        then reload the bill. ``version``: the one the cashier saw (default: the one shown
        when the action gets its turn)."""
        self.last_error = None
        if self.view is None or (self.lock.locked() and not queue):
            return None
        async with self.lock:
            view = self.view
            if view is None or not view.is_open:
                return None
            expected = view.version if version is None else version
            try:
                async with get_database().unit_of_work() as session:
                    result = await action(session, view.id, expected)
            except StaleVersion as error:
                self.last_error = error
                await self.reload()
                self.notify(
                    self._("The bill was changed on another screen and is reloaded. Check it and try again."),
                    "warning",
                )
                return None
            except Conflict as error:
                self.last_error = error
                self.error(error)
                await self.reload()
                return None
            except KassaError as error:
                self.last_error = error
                self.error(error)
                return None
            await self.reload()
        if success:
            self.notify(success, "positive")
        return result

    async def open_new_bill(
        self, order_type: OrderType, *, unless_shown: bool = False, **details: Any
    ) -> bool:
        """Open a bill on this register and show it. A second tap while it opens is dropped;
        ``unless_shown``: wait for the running action, and open none if a bill is shown by then
        (two quick taps on the first product make one bill)."""
        if self.lock.locked() and not unless_shown:
            return False
        async with self.lock:
            if unless_shown and self.view is not None and self.view.is_open:
                return True
            try:
                async with get_database().unit_of_work() as session:
                    bill = await orders.open_bill(session, self.actor, order_type=order_type, **details)
            except KassaError as error:
                self.error(error)
                return False
            await self.show_bill(bill.id)
        return True

    # --- live updates -------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Store events: stock marks change in place; a change of the shown bill reloads it."""
        payload = event.payload
        if event.name in ("product.stock_changed", "product.store_settings_changed"):
            product_id = int(payload.get("product_id", 0))
            quantity = (
                payload.get("quantity")
                if event.name == "product.stock_changed"
                else self.stock.get(product_id)
            )
            self.set_stock(product_id, bool(payload.get("is_sold_out")), quantity)
            return
        if not event.name.startswith("bill."):
            return
        background_tasks.create(self._after_bill_event(payload), name="register-bill-event")

    async def _after_bill_event(self, payload: dict[str, Any]) -> None:
        view = self.view
        if view is not None and payload.get("bill_id") == view.id:
            async with self.lock:
                current = self.view
                if (
                    current is not None
                    and current.id == view.id
                    and (
                        int(payload.get("version") or 0) > current.version
                        or payload.get("status") != current.bill.status
                    )
                ):
                    await self.reload()
        await self.refresh_open_count()

    def set_stock(self, product_id: int, is_sold_out: bool, quantity: Any) -> None:
        if product_id not in self.products:
            return
        self.sold_out[product_id] = is_sold_out
        self.stock[product_id] = int(quantity) if isinstance(quantity, int) else None
        self.tiles[product_id] = [
            tile for tile in self.tiles.get(product_id, []) if not tile.button.is_deleted
        ]
        for tile in self.tiles[product_id]:
            self.paint_tile(product_id, tile)

    def paint_tile(self, product_id: int, tile: ProductTile) -> None:
        is_sold_out = self.sold_out.get(product_id, False)
        quantity = self.stock.get(product_id)
        tile.button.set_enabled(not is_sold_out)
        tile.button.classes(
            add="opacity-50" if is_sold_out else "", remove="" if is_sold_out else "opacity-50"
        )
        tile.button.props(f'data-sold-out="{"true" if is_sold_out else "false"}"')
        tile.sold_out_badge.set_visibility(is_sold_out)
        tile.stock_label.set_visibility(quantity is not None and not is_sold_out)
        if quantity is not None:
            tile.stock_label.set_text(self._("{count} left").format(count=quantity))
