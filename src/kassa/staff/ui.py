"""Login screens: the register's PIN pad, the device set-up, the back-office login, and the
staff list."""

from __future__ import annotations

from nicegui import app, ui

from kassa.core.auth import Permission
from kassa.core.database import get_database
from kassa.core.errors import KassaError
from kassa.core.i18n import format_datetime
from kassa.staff import service as staff_service
from kassa.stores import service as store_service
from kassa.web.layout import (
    BACKOFFICE_TOKEN_KEY,
    REGISTER_ID_KEY,
    REGISTER_TOKEN_KEY,
    actor_from_token,
    backoffice_frame,
    current_locale,
    gettext,
    language_switch,
    notify_error,
    require_backoffice_actor,
    role_label,
)

PIN_LENGTH_MAX = 6


@ui.page("/setup", title="Kassa · set up this register")
async def register_setup_page() -> None:
    """Choose which register this device is. It grants nothing: staff still log in by PIN."""
    _ = gettext()
    async with get_database().read_only() as session:
        registers = await store_service.list_all_registers(session)
    with ui.column().classes("w-full max-w-xl mx-auto p-4 gap-4"):
        with ui.row().classes("w-full items-center"):
            ui.label(_("Which register is this device?")).classes("text-2xl font-bold")
            ui.space()
        for register, store in registers:

            def choose(register_id: int = register.id) -> None:
                app.storage.user[REGISTER_ID_KEY] = register_id
                app.storage.user.pop(REGISTER_TOKEN_KEY, None)
                ui.navigate.to("/")

            ui.button(f"{store.name} · {register.name}", on_click=choose).props("no-caps unelevated").classes(
                "w-full min-h-[64px] text-lg"
            ).props(f'data-testid="register-{register.id}"')
        if not registers:
            ui.label(_("No register exists yet. Run `kassa demo` or create one in the back office."))


@ui.page("/", title="Kassa")
async def pin_login_page() -> None:
    """The PIN pad: tap your name, type your PIN."""
    _ = gettext()
    register_id = app.storage.user.get(REGISTER_ID_KEY)
    if register_id is None:
        ui.navigate.to("/setup")
        return
    if await actor_from_token(REGISTER_TOKEN_KEY) is not None:
        ui.navigate.to("/register")
        return
    try:
        async with get_database().read_only() as session:
            register, store = await store_service.get_register_with_store(session, register_id)
            tiles = await staff_service.list_staff_for_register(session, register_id)
    except KassaError:
        app.storage.user.pop(REGISTER_ID_KEY, None)
        ui.navigate.to("/setup")
        return

    chosen: dict[str, int | str | None] = {"staff_id": None, "name": None}
    digits: list[str] = []

    with ui.header().classes("items-center px-3 bg-teal-800 text-white"):
        ui.label(store.name).classes("text-lg font-bold truncate").props('data-testid="store-name"')
        ui.label(register.name).classes("text-sm opacity-80")
        ui.space()
        language_switch()
        ui.button(icon="settings", on_click=lambda: ui.navigate.to("/setup")).props(
            "flat color=white"
        ).tooltip(_("Change register"))

    with ui.column().classes("w-full max-w-3xl mx-auto p-3 gap-3 items-stretch"):
        ui.label(_("Who is working?")).classes("text-xl font-bold")
        with ui.grid().classes("w-full gap-2 grid-cols-2 sm:grid-cols-4"):
            for tile in tiles:

                def pick(staff_id: int = tile.id, name: str = tile.display_name) -> None:
                    chosen["staff_id"] = staff_id
                    chosen["name"] = name
                    digits.clear()
                    pin_title.set_text(_("PIN for {name}").format(name=name))
                    pin_display.set_text("")
                    pin_dialog.open()

                button = ui.button(on_click=pick).props("no-caps unelevated color=teal-1 text-color=teal-10")
                with (
                    button.classes("min-h-[88px]").props(f'data-testid="staff-{tile.id}"'),
                    ui.column().classes("gap-0"),
                ):
                    ui.label(tile.display_name).classes("text-base font-bold")
                    ui.label(role_label(tile.role, _)).classes("text-xs opacity-70")

    with ui.dialog() as pin_dialog, ui.card().classes("w-[340px] max-w-full items-stretch gap-3"):
        pin_title = ui.label().classes("text-lg font-bold text-center")
        pin_display = (
            ui.label()
            .classes("text-3xl tracking-[0.5em] text-center h-10")
            .props('data-testid="pin-display"')
        )

        def press(digit: str) -> None:
            if len(digits) < PIN_LENGTH_MAX:
                digits.append(digit)
                pin_display.set_text("●" * len(digits))

        def clear() -> None:
            digits.clear()
            pin_display.set_text("")

        async def submit() -> None:
            if chosen["staff_id"] is None or not digits:
                return
            pin = "".join(digits)
            clear()
            async with get_database().unit_of_work() as session:
                result = await staff_service.login_with_pin(
                    session, register_id, int(chosen["staff_id"]), pin
                )
            if result.error is not None:
                notify_error(result.error)
                return
            app.storage.user[REGISTER_TOKEN_KEY] = result.token
            pin_dialog.close()
            ui.navigate.to("/register")

        with ui.grid(columns=3).classes("gap-2"):
            for digit in "123456789":
                ui.button(digit, on_click=lambda digit=digit: press(digit)).classes("h-16 text-2xl").props(
                    f'data-testid="pin-{digit}"'
                )
            ui.button(icon="backspace", on_click=clear).classes("h-16").props("color=grey-7").props(
                'data-testid="pin-clear"'
            )
            ui.button("0", on_click=lambda: press("0")).classes("h-16 text-2xl").props('data-testid="pin-0"')
            ui.button(icon="check", on_click=submit).classes("h-16").props("color=positive").props(
                'data-testid="pin-ok"'
            )


@ui.page("/backoffice/login", title="Kassa · back office")
async def backoffice_login_page() -> None:
    _ = gettext()
    if await actor_from_token(BACKOFFICE_TOKEN_KEY) is not None:
        ui.navigate.to("/backoffice")
        return

    async def submit() -> None:
        async with get_database().unit_of_work() as session:
            result = await staff_service.login_with_password(session, email.value or "", password.value or "")
        if result.error is not None:
            notify_error(result.error)
            return
        app.storage.user[BACKOFFICE_TOKEN_KEY] = result.token
        ui.navigate.to("/backoffice")

    with ui.card().classes("w-[400px] max-w-[95vw] mx-auto mt-12 items-stretch gap-3"):
        with ui.row().classes("items-center"):
            ui.label(_("Back office")).classes("text-2xl font-bold")
            ui.space()
            language_switch()
        email = (
            ui.input(_("E-mail"))
            .props("outlined type=email autocomplete=username")
            .props('data-testid="email"')
        )
        password = (
            ui.input(_("Password"), password=True)
            .props("outlined autocomplete=current-password")
            .on("keydown.enter", submit)
            .props('data-testid="password"')
        )
        ui.button(_("Log in"), on_click=submit).classes("min-h-[48px]").props('data-testid="login"')


@ui.page("/backoffice/staff", title="Kassa · staff")
async def staff_page() -> None:
    _ = gettext()
    actor = await require_backoffice_actor(Permission.STAFF_VIEW)
    if actor is None:
        return
    async with get_database().read_only() as session:
        members = await staff_service.list_staff(session, actor)
    locale = current_locale()
    with backoffice_frame(actor, _("Staff")):
        rows = [
            {
                "id": member.id,
                "name": member.display_name,
                "role": role_label(member.role, _),
                "email": member.email or "",
                "locked": format_datetime(member.locked_until, "UTC", locale, "short")
                if member.locked_until
                else "",
            }
            for member in members
        ]
        ui.table(
            columns=[
                {"name": "name", "label": _("Name"), "field": "name", "align": "left"},
                {"name": "role", "label": _("Role"), "field": "role", "align": "left"},
                {"name": "email", "label": _("E-mail"), "field": "email", "align": "left"},
                {"name": "locked", "label": _("Locked until"), "field": "locked", "align": "left"},
            ],
            rows=rows,
            row_key="id",
        ).classes("w-full").props('data-testid="staff-table"')
