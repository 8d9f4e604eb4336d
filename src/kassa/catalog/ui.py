"""Back-office pages to edit the catalog: the product list, the product editor (also for a
new product), and per store: sold there or not, its own price, counted stock, sold out.

Every change goes through the catalog services in its own unit of work; the stock shown
follows the registers' sales live (``product.stock_changed`` on the store's topic).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from kassa.catalog import service as catalog
from kassa.catalog.models import Product, ProductKind, StoreProduct
from kassa.catalog.transfer import format_price, parse_price
from kassa.core.auth import Actor, Permission
from kassa.core.database import get_database
from kassa.core.errors import KassaError
from kassa.core.events import Event
from kassa.core.i18n import N_, format_money
from kassa.core.money import Money
from kassa.stores import service as store_service
from kassa.stores.models import Store
from kassa.web.layout import (
    backoffice_frame,
    current_locale,
    gettext,
    notify_error,
    require_backoffice_actor,
    subscribe_for_this_page,
)

KIND_LABELS = {
    ProductKind.STANDARD: N_("Standard"),
    ProductKind.COMBO: N_("Combo"),
    ProductKind.SERVICE: N_("Service"),
    ProductKind.OPEN_PRICE: N_("Open price"),
}
UNITS = ("piece", "cup", "portion", "bottle", "kg", "g")
TOUCH = "min-h-[48px]"


@ui.page("/backoffice/catalog/products", title="Kassa · products")
async def products_page() -> None:
    """Every product by category; tap one to edit it."""
    actor = await require_backoffice_actor(Permission.CATALOG_MANAGE)
    if actor is None:
        return
    _ = gettext()
    locale = current_locale()
    async with get_database().read_only() as session:
        categories = {category.id: category for category in await catalog.list_categories(session, actor)}
        products = await catalog.list_products(session, actor, include_archived=True)
    with backoffice_frame(actor, _("Manage products")):
        with ui.row().classes("w-full items-center gap-2"):
            ui.button(
                _("New product"), icon="add", on_click=lambda: ui.navigate.to("/backoffice/catalog/new")
            ).classes(TOUCH).props('unelevated data-testid="new-product"')
            search = (
                ui.input(placeholder=_("Search name or SKU"))
                .props("outlined dense clearable")
                .classes("grow max-w-md")
            )
        listing = ui.list().props("bordered separator").classes("w-full max-w-3xl bg-white rounded")

        def show() -> None:
            listing.clear()
            text = (search.value or "").strip().lower()
            with listing:
                for product in products:
                    name = catalog.localized_name(product.name, product.name_translations, locale)
                    if text and text not in name.lower() and text not in product.sku.lower():
                        continue
                    category = categories[product.category_id]
                    with (
                        ui.item(
                            on_click=lambda target=product.id: ui.navigate.to(
                                f"/backoffice/catalog/edit/{target}"
                            )
                        )
                        .classes(TOUCH)
                        .props(f'clickable data-testid="product-{product.sku}"')
                    ):
                        with ui.item_section():
                            ui.item_label(name).classes("text-base font-bold")
                            ui.item_label(
                                f"{catalog.localized_name(category.name, category.name_translations, locale)}"
                                f" · {product.sku} · {_(KIND_LABELS[product.kind])}"
                            ).props("caption")
                        with ui.item_section().props("side"):
                            ui.label(format_money(Money(product.price_amount, product.currency), locale))
                            if not product.is_active:
                                ui.badge(_("Archived"), color="grey")

        search.on_value_change(show)
        show()


@ui.page("/backoffice/catalog/new", title="Kassa · new product")
async def new_product_page() -> None:
    await _product_page(None)


@ui.page("/backoffice/catalog/edit/{product_id}", title="Kassa · product")
async def edit_product_page(product_id: int) -> None:
    await _product_page(product_id)


async def _product_page(product_id: int | None) -> None:
    actor = await require_backoffice_actor(Permission.CATALOG_MANAGE)
    if actor is None:
        return
    _ = gettext()
    locale = current_locale()
    async with get_database().read_only() as session:
        categories = await catalog.list_categories(session, actor)
        groups = await catalog.list_modifier_groups(session, actor)
        stores = await store_service.list_stores(session, actor)
        vat_choices: dict[str, str] = {}
        default_vat_code = ""
        for store in stores:
            for rate in await store_service.list_vat_rates(session, store.id):
                vat_choices.setdefault(rate.code, f"{rate.label} ({rate.code})")
                if rate.is_default and not default_vat_code:
                    default_vat_code = rate.code
        product: Product | None = None
        group_ids: list[int] = []
        store_rows: dict[int, StoreProduct] = {}
        if product_id is not None:
            try:
                product = await catalog.get_product(session, actor, product_id)
            except KassaError:
                product = None
            if product is not None:
                group_ids = (await catalog.modifier_group_ids_by_product(session, [product.id]))[product.id]
                for store in stores:
                    store_rows[store.id] = await catalog.get_store_product(
                        session, actor, store.id, product.id
                    )
    title = _("New product") if product_id is None else _("Edit product")
    with backoffice_frame(actor, title):
        ui.button(
            _("All products"),
            icon="arrow_back",
            on_click=lambda: ui.navigate.to("/backoffice/catalog/products"),
        ).props("flat no-caps").classes(TOUCH)
        if product_id is not None and product is None:
            ui.label(_("This product does not exist.")).classes("text-base")
            return
        if not categories:
            ui.label(_("Create a category first.")).classes("text-base")
            return
        currency = product.currency if product is not None else (stores[0].currency if stores else "CNY")
        editor = _ProductEditor(
            actor, product, categories, groups, vat_choices, default_vat_code, group_ids, currency, locale
        )
        editor.build()
        if product is not None:
            ui.label(_("In the stores")).classes("text-xl font-bold mt-2")
            with ui.grid().classes("w-full max-w-3xl gap-3 grid-cols-1 md:grid-cols-2"):
                for store in stores:
                    _store_card(actor, store, product, store_rows[store.id])


class _ProductEditor:
    """The product's definition: one form, saved at once through ``save_product``."""

    def __init__(
        self,
        actor: Actor,
        product: Product | None,
        categories: Any,
        groups: list[Any],
        vat_choices: dict[str, str],
        default_vat_code: str,
        group_ids: list[int],
        currency: str,
        locale: str,
    ) -> None:
        self.actor = actor
        self.product = product
        self.categories = categories
        self.groups = groups
        self.vat_choices = vat_choices or {"standard": "standard"}
        self.default_vat_code = default_vat_code or next(iter(self.vat_choices))
        self.group_ids = group_ids
        self.currency = currency
        self.locale = locale
        self.inputs: dict[str, Any] = {}

    def build(self) -> None:
        _ = gettext()
        product = self.product
        data = catalog.product_input_of(product) if product is not None else None
        with ui.card().classes("w-full max-w-3xl items-stretch gap-3").props('data-testid="product-form"'):
            with ui.grid().classes("w-full gap-3 grid-cols-1 sm:grid-cols-2"):
                self.inputs["name"] = self._input(_("Product name"), data.name if data else "", "name")
                self.inputs["translations"] = self._input(
                    _("Name in English"), (data.translations.get("en", "") if data else ""), "name-en"
                )
                self.inputs["category_id"] = (
                    ui.select(
                        {
                            category.id: catalog.localized_name(
                                category.name, category.name_translations, self.locale
                            )
                            for category in self.categories
                        },
                        label=_("Category"),
                        value=data.category_id if data else self.categories[0].id,
                    )
                    .props('outlined data-testid="category"')
                    .classes(TOUCH)
                )
                self.inputs["kind"] = (
                    ui.select(
                        {kind.value: _(label) for kind, label in KIND_LABELS.items()},
                        label=_("Kind"),
                        value=(data.kind if data else ProductKind.STANDARD).value,
                        on_change=self._show_kind_fields,
                    )
                    .props('outlined data-testid="kind"')
                    .classes(TOUCH)
                )
                self.inputs["sku"] = self._input("SKU", data.sku if data else "", "sku")
                self.inputs["barcode"] = self._input(
                    _("Barcode"), (data.barcode or "") if data else "", "barcode"
                )
                self.inputs["price_amount"] = self._input(
                    _("Price") + f" ({self.currency})",
                    format_price(data.price.amount, self.currency) if data else "",
                    "price",
                    inputmode="decimal",
                )
                vat_code = data.vat_rate_code if data else self.default_vat_code
                self.inputs["vat_rate_code"] = (
                    ui.select({vat_code: vat_code, **self.vat_choices}, label=_("VAT rate"), value=vat_code)
                    .props('outlined data-testid="vat"')
                    .classes(TOUCH)
                )
                self.inputs["unit"] = (
                    ui.select(
                        sorted({*UNITS, data.unit} if data else set(UNITS)),
                        label=_("Unit"),
                        value=data.unit if data else "piece",
                        new_value_mode="add-unique",
                    )
                    .props('outlined data-testid="unit"')
                    .classes(TOUCH)
                )
                self.inputs["image_url"] = self._input(
                    _("Image address"), data.image_url if data else "", "image"
                )
                self.inputs["duration_minutes"] = self._input(
                    _("Duration (minutes)"),
                    str(data.duration_minutes) if data and data.duration_minutes else "",
                    "duration",
                    inputmode="numeric",
                )
                self.inputs["min_price_amount"] = self._input(
                    _("Lowest price"),
                    format_price(data.min_price.amount, self.currency) if data and data.min_price else "",
                    "min-price",
                    inputmode="decimal",
                )
                self.inputs["max_price_amount"] = self._input(
                    _("Highest price"),
                    format_price(data.max_price.amount, self.currency) if data and data.max_price else "",
                    "max-price",
                    inputmode="decimal",
                )
            self.inputs["modifier_group_ids"] = (
                ui.select(
                    {
                        group.id: catalog.localized_name(group.name, group.name_translations, self.locale)
                        for group, _o in self.groups
                    },
                    label=_("Choices offered (in this order)"),
                    value=[
                        group_id
                        for group_id in self.group_ids
                        if any(group.id == group_id for group, _o in self.groups)
                    ],
                    multiple=True,
                )
                .props('outlined use-chips data-testid="groups"')
                .classes("w-full")
            )
            self.is_active = ui.switch(_("On sale"), value=data.is_active if data else True).props(
                'data-testid="active"'
            )
            ui.button(_("Save"), icon="save", on_click=self.save).classes(TOUCH).props(
                'unelevated data-testid="product-save"'
            )
        self._show_kind_fields()

    def _input(self, label: str, value: str, test_id: str, *, inputmode: str = "text") -> ui.input:
        return (
            ui.input(label, value=value)
            .props(f'outlined inputmode={inputmode} data-testid="{test_id}"')
            .classes(TOUCH)
        )

    def _show_kind_fields(self) -> None:
        kind = ProductKind(self.inputs["kind"].value)
        self.inputs["duration_minutes"].set_visibility(kind == ProductKind.SERVICE)
        self.inputs["min_price_amount"].set_visibility(kind == ProductKind.OPEN_PRICE)
        self.inputs["max_price_amount"].set_visibility(kind == ProductKind.OPEN_PRICE)

    def _money(self, key: str, problems: dict[str, str]) -> Money | None:
        text = (self.inputs[key].value or "").strip()
        if not text:
            return None
        try:
            return parse_price(text, self.currency)
        except ValueError as error:
            problems[key] = str(error)
            return None

    def _show_problems(self, problems: dict[str, str]) -> None:
        for key, element in self.inputs.items():
            element.props(remove="error error-message")
            if key in problems:
                element.props(f"error error-message={problems[key]!r}")

    async def save(self) -> None:
        _ = gettext()
        problems: dict[str, str] = {}
        price = self._money("price_amount", problems)
        if price is None and "price_amount" not in problems:
            problems["price_amount"] = _("Type a price like 18.00")
        kind = ProductKind(self.inputs["kind"].value)
        duration_text = (self.inputs["duration_minutes"].value or "").strip()
        if kind == ProductKind.SERVICE and not duration_text.isdigit():
            problems["duration_minutes"] = _("Whole minutes, like 45")
        min_price = self._money("min_price_amount", problems) if kind == ProductKind.OPEN_PRICE else None
        max_price = self._money("max_price_amount", problems) if kind == ProductKind.OPEN_PRICE else None
        self._show_problems(problems)
        if problems or price is None:
            return
        translations = dict(catalog.product_input_of(self.product).translations) if self.product else {}
        english = (self.inputs["translations"].value or "").strip()
        if english:
            translations["en"] = english
        else:
            translations.pop("en", None)
        data = catalog.ProductInput(
            category_id=int(self.inputs["category_id"].value),
            name=self.inputs["name"].value or "",
            sku=self.inputs["sku"].value or "",
            price=price,
            vat_rate_code=self.inputs["vat_rate_code"].value or "",
            translations=translations,
            barcode=(self.inputs["barcode"].value or "").strip() or None,
            unit=self.inputs["unit"].value or "piece",
            image_url=self.inputs["image_url"].value or "",
            kind=kind,
            duration_minutes=int(duration_text) if kind == ProductKind.SERVICE else None,
            min_price=min_price,
            max_price=max_price,
            sort_order=self.product.sort_order if self.product else 0,
            is_active=bool(self.is_active.value),
        )
        group_ids = [int(group_id) for group_id in self.inputs["modifier_group_ids"].value or []]
        try:
            async with get_database().unit_of_work() as session:
                product = await catalog.save_product(
                    session, self.actor, data, product_id=self.product.id if self.product else None
                )
                if group_ids != self.group_ids:
                    await catalog.set_product_modifier_groups(session, self.actor, product.id, group_ids)
        except KassaError as error:
            self._show_problems({problem.field: problem.reason for problem in error.errors})
            notify_error(error)
            return
        self.group_ids = group_ids
        ui.notify(_("Saved"), type="positive")
        if self.product is None:
            ui.navigate.to(f"/backoffice/catalog/edit/{product.id}")


def _store_card(actor: Actor, store: Store, product: Product, row: StoreProduct) -> None:
    """One store's switches for the product: sold here, own price, stock, sold out."""
    _ = gettext()

    async def run(change: Callable[[Any], Any], success: str | None = None) -> bool:
        try:
            async with get_database().unit_of_work() as session:
                await change(session)
        except KassaError as error:
            notify_error(error)
            return False
        if success:
            ui.notify(success, type="positive")
        return True

    with ui.card().classes("w-full items-stretch gap-2").props(f'data-testid="store-{store.id}"'):
        ui.label(store.name).classes("text-lg font-bold")

        async def toggle_available(event: Any) -> None:
            await run(
                lambda session: catalog.update_store_product(
                    session, actor, store.id, product.id, is_available=bool(event.value)
                )
            )

        ui.switch(_("Sold in this store"), value=row.is_available, on_change=toggle_available).props(
            'data-testid="available"'
        )
        if product.kind != ProductKind.OPEN_PRICE:
            with ui.row().classes("w-full items-center gap-2 flex-nowrap"):
                store_price = (
                    ui.input(
                        _("Price in this store"),
                        value=format_price(row.price_amount, product.currency),
                        placeholder=format_price(product.price_amount, product.currency),
                    )
                    .props('outlined dense inputmode=decimal data-testid="store-price"')
                    .classes("grow")
                )

                async def save_price() -> None:
                    text = (store_price.value or "").strip()
                    try:
                        price = parse_price(text, product.currency) if text else None
                    except ValueError as error:
                        ui.notify(str(error), type="negative")
                        return
                    await run(
                        lambda session: catalog.update_store_product(
                            session, actor, store.id, product.id, price=price
                        ),
                        _("Saved"),
                    )

                ui.button(_("Save price"), on_click=save_price).props(
                    'flat no-caps data-testid="store-price-save"'
                ).classes(TOUCH)
            catalog_price = format_money(Money(product.price_amount, product.currency), current_locale())
            ui.label(_("Leave empty for the catalog price ({price}).").format(price=catalog_price)).classes(
                "text-xs opacity-70"
            )

        async def toggle_sold_out(event: Any) -> None:
            await run(
                lambda session: catalog.set_sold_out(session, actor, store.id, product.id, bool(event.value))
            )

        sold_out = ui.switch(_("Sold out"), value=row.is_marked_sold_out, on_change=toggle_sold_out).props(
            'color=negative data-testid="sold-out"'
        )
        stock_label = ui.label().classes("text-base font-bold").props('data-testid="stock"')

        def show_stock(quantity: int | None, is_sold_out: bool) -> None:
            if quantity is None:
                stock_label.set_text(_("Stock is not counted"))
            else:
                text = _("In stock: {quantity}").format(quantity=quantity)
                stock_label.set_text(text + (" · " + _("sold out") if is_sold_out else ""))
            stock_label.classes(replace="text-base font-bold" + (" text-red-700" if is_sold_out else ""))
            stop_button.set_visibility(quantity is not None)

        quantity_input = (
            ui.number(_("Quantity"), value=None, min=0, precision=0, format="%d")
            .props('outlined inputmode=numeric data-testid="stock-quantity"')
            .classes("w-full")
        )

        def amount() -> int | None:
            if quantity_input.value is None or int(quantity_input.value) != quantity_input.value:
                ui.notify(_("Type a whole number"), type="warning")
                return None
            return int(quantity_input.value)

        async def count() -> None:
            value = amount()
            if value is not None and await run(
                lambda session: catalog.count_stock(session, actor, store.id, product.id, value), _("Counted")
            ):
                show_stock(value, value <= 0 or bool(sold_out.value))

        async def adjust(sign: int) -> None:
            value = amount()
            if not value:
                return
            reason = "restock" if sign > 0 else "correction"
            await run(
                lambda session: catalog.adjust_stock(
                    session, actor, store.id, product.id, sign * value, reason=reason
                ),
                _("Saved"),
            )

        with ui.grid(columns=3).classes("w-full gap-2"):
            ui.button(_("Set count"), on_click=count).props(
                'unelevated no-caps data-testid="stock-count"'
            ).classes(TOUCH)
            ui.button(_("Add"), icon="add", on_click=lambda: adjust(1)).props(
                'outline no-caps data-testid="stock-add"'
            ).classes(TOUCH)
            ui.button(_("Remove"), icon="remove", on_click=lambda: adjust(-1)).props(
                'outline no-caps data-testid="stock-remove"'
            ).classes(TOUCH)

        async def stop_counting() -> None:
            if await run(
                lambda session: catalog.update_store_product(
                    session, actor, store.id, product.id, is_stock_tracked=False
                )
            ):
                show_stock(None, bool(sold_out.value))

        stop_button = (
            ui.button(_("Stop counting stock"), on_click=stop_counting)
            .props('flat no-caps color=grey-8 data-testid="stock-stop"')
            .classes(TOUCH)
        )
        show_stock(row.stock_quantity if row.is_stock_tracked else None, row.is_sold_out)

    def on_event(event: Event) -> None:
        # Sales at the registers (and other managers) change the stock: show it at once.
        if event.name == "product.stock_changed" and event.payload.get("product_id") == product.id:
            show_stock(event.payload.get("quantity"), bool(event.payload.get("is_sold_out")))

    subscribe_for_this_page(store_service.store_topic(store.id), on_event)
