"""The back office's list of devices set up as registers: when each was last seen, and
revoking one (a stolen tablet, a PC given away)."""

from __future__ import annotations

from nicegui import ui

from kassa.core.auth import Permission
from kassa.core.database import get_database
from kassa.core.errors import KassaError
from kassa.core.i18n import format_datetime
from kassa.stores import devices
from kassa.web.layout import backoffice_frame, current_locale, gettext, notify_error, require_backoffice_actor


@ui.page("/backoffice/devices", title="Kassa · devices")
async def devices_page() -> None:
    _ = gettext()
    actor = await require_backoffice_actor(Permission.DEVICE_MANAGE)
    if actor is None:
        return
    locale = current_locale()
    async with get_database().read_only() as session:
        rows = await devices.list_devices(session, actor)
    with backoffice_frame(actor, _("Devices")):
        ui.label(
            _(
                "Each tablet or PC used as a register was set up by an owner or a manager "
                "(open it at /setup). Revoke a device that is lost or no longer used: its "
                "register screen asks to be set up again."
            )
        ).classes("text-sm opacity-80 max-w-2xl")
        if not rows:
            ui.label(_("No device is set up as a register yet.")).props('data-testid="no-devices"')
        for row in rows:
            device = row.device
            with (
                ui.card().classes("w-full max-w-2xl").props(f'data-testid="device-{device.id}"'),
                ui.row().classes("w-full items-center gap-3"),
            ):
                with ui.column().classes("gap-0"):
                    ui.label(f"{row.store_name} · {row.register_name}").classes("text-base font-bold")
                    ui.label(device.name).classes("text-sm")
                    seen = (
                        format_datetime(device.last_seen_at, "UTC", locale, "short")
                        if device.last_seen_at
                        else _("never")
                    )
                    ui.label(_("Last seen: {time}").format(time=seen)).classes("text-xs opacity-70")
                ui.space()

                async def revoke(device_id: int = device.id) -> None:
                    try:
                        async with get_database().unit_of_work() as session:
                            await devices.revoke_device(session, actor, device_id)
                    except KassaError as error:
                        notify_error(error)
                        return
                    ui.notify(_("Revoked"), type="positive")
                    ui.navigate.reload()

                ui.button(_("Revoke"), icon="block", on_click=revoke).props(
                    f'flat color=negative data-testid="revoke-device-{device.id}"'
                )
