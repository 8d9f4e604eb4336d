"""The back office's API keys page (owners): make a key for an integration, limited to
chosen stores and permissions (shown once), see when each was last used, revoke one."""

from __future__ import annotations

from nicegui import ui

from kassa.api_keys import service
from kassa.core.auth import Permission
from kassa.core.database import get_database
from kassa.core.errors import KassaError
from kassa.core.i18n import format_datetime
from kassa.stores import service as store_service
from kassa.web.layout import backoffice_frame, current_locale, gettext, notify_error, require_backoffice_actor


@ui.page("/backoffice/api-keys", title="Kassa · API keys")
async def api_keys_page() -> None:
    _ = gettext()
    actor = await require_backoffice_actor(Permission.API_KEY_MANAGE)
    if actor is None:
        return
    locale = current_locale()
    async with get_database().read_only() as session:
        keys = await service.list_api_keys(session, actor)
        stores = await store_service.list_stores(session, actor)
    store_names = {store.id: store.name for store in stores}
    with backoffice_frame(actor, _("API keys")):
        ui.label(
            _(
                "An integration (an online shop, an accounting export, a script) calls the API "
                "with a key: 'Authorization: Bearer kassa_...'. It may do only what you choose "
                "here, in the stores you choose. The key is shown once."
            )
        ).classes("text-sm opacity-80 max-w-2xl")
        with ui.card().classes("w-full max-w-2xl items-stretch gap-2"):
            ui.label(_("New key")).classes("text-lg font-bold")
            name = ui.input(_("Name")).props('outlined data-testid="api-key-name"')
            chosen_stores = ui.select(
                store_names, multiple=True, label=_("Stores"), value=list(store_names)[:1]
            ).props('outlined use-chips data-testid="api-key-stores"')
            chosen_permissions = ui.select(
                [permission.value for permission in service.grantable_permissions()],
                multiple=True,
                label=_("Permissions"),
            ).props('outlined use-chips data-testid="api-key-permissions"')

            async def create() -> None:
                try:
                    async with get_database().unit_of_work() as session:
                        issued = await service.create_api_key(
                            session,
                            actor,
                            name=name.value or "",
                            permissions=list(chosen_permissions.value or []),
                            store_ids=list(chosen_stores.value or []),
                        )
                except KassaError as error:
                    notify_error(error)
                    return
                with ui.dialog() as shown, ui.card().classes("items-stretch gap-2"):
                    ui.label(_("Copy the key now: it is not shown again.")).classes("font-bold")
                    ui.input(value=issued.key).props('readonly outlined data-testid="api-key-value"').classes(
                        "w-[28rem] max-w-full font-mono"
                    )
                    ui.button(_("Done"), on_click=lambda: ui.navigate.reload()).props(
                        'data-testid="api-key-done"'
                    )
                shown.props("persistent")
                shown.open()

            ui.button(_("Create key"), icon="add", on_click=create).props(
                'unelevated data-testid="api-key-create"'
            ).classes("min-h-[48px]")
        for key in keys:
            with (
                ui.card().classes("w-full max-w-2xl").props(f'data-testid="api-key-{key.id}"'),
                ui.row().classes("w-full items-center gap-3"),
            ):
                with ui.column().classes("gap-0"):
                    ui.label(f"{key.name} · {key.display_prefix}…").classes("text-base font-bold")
                    ui.label(
                        ", ".join(store_names.get(store_id, str(store_id)) for store_id in key.store_ids)
                    )
                    ui.label(", ".join(key.permissions)).classes("text-xs")
                    used = (
                        format_datetime(key.last_used_at, "UTC", locale, "short")
                        if key.last_used_at
                        else _("never")
                    )
                    ui.label(_("Last used: {time}").format(time=used)).classes("text-xs opacity-70")
                ui.space()

                async def revoke(api_key_id: int = key.id) -> None:
                    try:
                        async with get_database().unit_of_work() as session:
                            await service.revoke_api_key(session, actor, api_key_id)
                    except KassaError as error:
                        notify_error(error)
                        return
                    ui.navigate.reload()

                ui.button(_("Revoke"), icon="block", on_click=revoke).props(
                    f'flat color=negative data-testid="revoke-api-key-{key.id}"'
                )
