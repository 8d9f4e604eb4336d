"""The NiceGUI UI on the FastAPI app: the back office pages, and mounting every capability's
pages (the register screens live in ``kassa.orders.ui``)."""

from __future__ import annotations

from fastapi import FastAPI
from nicegui import ui

from kassa.catalog import service as catalog_service
from kassa.core.auth import Permission
from kassa.core.database import get_database
from kassa.core.errors import KassaError
from kassa.core.i18n import format_money
from kassa.core.money import Money
from kassa.core.settings import Settings
from kassa.stores import service as store_service
from kassa.web.layout import (
    backoffice_frame,
    current_locale,
    gettext,
    notify_error,
    require_backoffice_actor,
)


@ui.page("/backoffice", title="Kassa · back office")
async def backoffice_home_page() -> None:
    actor = await require_backoffice_actor()
    if actor is None:
        return
    _ = gettext()
    async with get_database().read_only() as session:
        stores = await store_service.list_stores(session, actor)
    with backoffice_frame(actor, _("Overview")):
        for store in stores:
            with ui.card().classes("w-full max-w-xl").props('data-testid="store-card"'):
                ui.label(store.name).classes("text-lg font-bold")
                ui.label(store.address).classes("text-sm opacity-70")
                ui.label(f"{store.currency} · {store.timezone} · {store.locale}").classes("text-sm")


@ui.page("/backoffice/catalog", title="Kassa · catalog")
async def catalog_page() -> None:
    actor = await require_backoffice_actor()
    if actor is None:
        return
    _ = gettext()
    locale = current_locale()
    async with get_database().read_only() as session:
        menu = await catalog_service.list_menu(session, actor)
    with backoffice_frame(actor, _("Catalog")):
        if actor.can(Permission.CATALOG_MANAGE):
            ui.button(
                _("Manage products"),
                icon="edit",
                on_click=lambda: ui.navigate.to("/backoffice/catalog/products"),
            ).props('unelevated data-testid="manage-products"').classes("min-h-[48px]")
        rows = [
            {
                "id": product.id,
                "category": catalog_service.localized_name(category.name, category.name_translations, locale),
                "name": catalog_service.localized_name(product.name, product.name_translations, locale),
                "sku": product.sku,
                "price": format_money(Money(product.price_amount, product.currency), locale),
            }
            for category, product in menu
        ]
        ui.table(
            columns=[
                {"name": "category", "label": _("Category"), "field": "category", "align": "left"},
                {"name": "name", "label": _("Product"), "field": "name", "align": "left"},
                {"name": "sku", "label": "SKU", "field": "sku", "align": "left"},
                {"name": "price", "label": _("Price"), "field": "price", "align": "right"},
            ],
            rows=rows,
            row_key="id",
        ).classes("w-full").props('data-testid="catalog-table"')


@ui.page("/backoffice/settings", title="Kassa · settings")
async def settings_page() -> None:
    actor = await require_backoffice_actor()
    if actor is None:
        return
    _ = gettext()
    async with get_database().read_only() as session:
        stores = await store_service.list_stores(session, actor)
        rates = {store.id: await store_service.list_vat_rates(session, store.id) for store in stores}
    with backoffice_frame(actor, _("Settings")):
        for store in stores:
            with (
                ui.card().classes("w-full max-w-xl items-stretch gap-2").props('data-testid="store-settings"')
            ):
                name = (
                    ui.input(_("Store name"), value=store.name)
                    .props("outlined")
                    .props('data-testid="store-name-input"')
                )
                address = ui.input(_("Address"), value=store.address).props("outlined")
                phone = ui.input(_("Phone"), value=store.phone).props("outlined")
                ui.label(
                    _("VAT rates")
                    + ": "
                    + ", ".join(f"{rate.label} ({rate.code})" for rate in rates[store.id])
                ).classes("text-sm")

                async def save(store_id: int = store.id, name=name, address=address, phone=phone) -> None:  # type: ignore[no-untyped-def]
                    try:
                        async with get_database().unit_of_work() as session:
                            await store_service.update_store(
                                session,
                                actor,
                                store_id,
                                name=name.value,
                                address=address.value,
                                phone=phone.value,
                            )
                    except KassaError as error:
                        notify_error(error)
                        return
                    ui.notify(_("Saved"), type="positive")

                button = ui.button(_("Save"), on_click=save).props('data-testid="store-save"')
                button.set_enabled(actor.can(Permission.STORE_MANAGE))


@ui.page("/backoffice/reports", title="Kassa · reports")
async def reports_page() -> None:
    actor = await require_backoffice_actor(Permission.REPORT_VIEW)
    if actor is None:
        return
    _ = gettext()
    with backoffice_frame(actor, _("Reports")):
        ui.label(_("Sales reports appear here once the register takes orders.")).classes(
            "text-base opacity-70"
        )


def mount_ui(app: FastAPI, settings: Settings) -> None:
    """Serve the NiceGUI pages from ``app``; NiceGUI allows this once per process."""
    from kassa.api_keys import ui as api_keys_ui  # noqa: F401 - the back office's API keys page
    from kassa.catalog import ui as catalog_ui  # noqa: F401 - importing registers its pages
    from kassa.deliveries import ui as deliveries_ui  # noqa: F401 - the failed messages page
    from kassa.loyalty import ui as loyalty_ui  # noqa: F401 - importing registers its pages
    from kassa.members import ui as members_ui  # noqa: F401 - importing registers its pages
    from kassa.notifications import ui as notifications_ui  # noqa: F401 - importing registers its pages
    from kassa.orders.ui import floor, register  # noqa: F401 - importing registers their pages
    from kassa.payments import ui as payments_ui  # noqa: F401 - the payment providers page
    from kassa.portal import (
        feedback_ui,  # noqa: F401 - the back office's member feedback page
        reserve_ui,  # noqa: F401 - the member portal's "Book a table" page
    )
    from kassa.portal import ui as portal_ui  # noqa: F401 - the member portal's pages
    from kassa.reservations import ui as reservations_ui  # noqa: F401 - pages, register view, floor marks
    from kassa.returns import ui as returns_ui  # noqa: F401 - pages, register buttons and badge
    from kassa.shifts import ui as shifts_ui  # noqa: F401 - the shift button in the register header
    from kassa.staff import ui as staff_ui  # noqa: F401 - importing registers its pages
    from kassa.stores import ui as stores_ui  # noqa: F401 - the back office's devices page
    from kassa.telephony import ui as telephony_ui  # noqa: F401 - call popup, calls button, call log

    ui.run_with(
        app,
        title="Kassa",
        favicon="🧾",
        storage_secret=settings.resolved_secret_key(),
        show_welcome_message=False,
        reconnect_timeout=10.0,
    )
