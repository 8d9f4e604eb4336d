"""Login screens: the register's PIN pad, the device set-up, the back-office login, and the
staff list."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import datetime

from nicegui import ui

from kassa.core.auth import ROLE_PERMISSIONS, Actor, Permission, Role
from kassa.core.database import get_database
from kassa.core.errors import KassaError, PermissionDenied
from kassa.core.i18n import format_datetime
from kassa.staff import service as staff_service
from kassa.staff.models import StaffMember
from kassa.staff.service import LoginResult
from kassa.stores import devices
from kassa.web.layout import (
    BACKOFFICE_TOKEN_KEY,
    DEVICE_TOKEN_KEY,
    REGISTER_TOKEN_KEY,
    actor_from_token,
    backoffice_frame,
    current_locale,
    gettext,
    language_switch,
    load_register_context,
    logout,
    notify_error,
    require_backoffice_actor,
    role_label,
    store_token,
    stored_token,
    this_device,
)

PIN_LENGTH_MAX = 6


def lockout_notice(error: KassaError, _: Callable[[str], str]) -> str | None:
    """What the login page says about a lockout: until when (the server's clock), and how
    long that is from now; None for other errors."""
    until = error.extra.get("locked_until")
    if not isinstance(until, str):
        return None
    moment = datetime.fromisoformat(until).astimezone()
    minutes = max(1, math.ceil(int(error.extra.get("retry_after", 60)) / 60))
    if error.status == 429:
        text = _("Too many failed logins from this network. Try again after {time} (in {minutes} min).")
    else:
        text = _("Too many failed logins for this e-mail address. Try again after {time} (in {minutes} min).")
    return text.format(time=moment.strftime("%H:%M"), minutes=minutes)


def password_form(
    _: Callable[[str], str], submit_label: str, on_login: Callable[[LoginResult], Awaitable[None]]
) -> None:
    """E-mail and password fields with a login button; a lockout stays on the page (until
    when), other refusals are notified."""
    address = ui.context.client.ip or None
    email = (
        ui.input(_("E-mail")).props("outlined type=email autocomplete=username").props('data-testid="email"')
    )
    locked = ui.label().classes("text-negative font-bold").props('data-testid="login-locked"')
    locked.set_visibility(False)

    async def submit() -> None:
        async with get_database().unit_of_work() as session:
            result = await staff_service.login_with_password(
                session, email.value or "", password.value or "", address
            )
        if result.error is not None:
            notice = lockout_notice(result.error, _)
            locked.set_text(notice or "")
            locked.set_visibility(notice is not None)
            if notice is None:
                notify_error(result.error)
            return
        locked.set_visibility(False)
        await on_login(result)

    password = (
        ui.input(_("Password"), password=True)
        .props("outlined autocomplete=current-password")
        .on("keydown.enter", submit)
        .props('data-testid="password"')
    )
    locked.move(target_index=-1)
    ui.button(submit_label, on_click=submit).classes("min-h-[48px]").props('data-testid="login"')


@ui.page("/setup", title="Kassa · set up this register")
async def register_setup_page() -> None:
    """Set this device up as a register. An owner or manager says who they are (this
    browser's back-office login, or e-mail and password here) and picks the register; the
    device gets a token of its own, and staff then log in on it by PIN."""
    _ = gettext()
    actor = await actor_from_token(BACKOFFICE_TOKEN_KEY)
    if actor is not None and not actor.can(Permission.DEVICE_MANAGE):
        actor = None
    current = await this_device()
    with ui.column().classes("w-full max-w-xl mx-auto p-4 gap-4"):
        with ui.row().classes("w-full items-center"):
            ui.label(_("Set up this device as a register")).classes("text-2xl font-bold")
            ui.space()
            language_switch()
        if current is not None:
            ui.label(
                _("This device is {register} of {store}.").format(
                    register=current.register.name, store=current.store.name
                )
            ).classes("text-base").props('data-testid="current-register"')
        body = ui.column().classes("w-full gap-3 items-stretch")

    async def show_registers(setter: Actor, session_token: str | None) -> None:
        """The registers ``setter`` may set this device up as; ``session_token`` is the
        login made on this page only, ended once the choice is made."""
        async with get_database().read_only() as session:
            registers = await devices.registers_to_set_up(session, setter)
        body.clear()
        with body:
            ui.label(_("Which register is this device?")).classes("text-xl font-bold")
            for register, store in registers:

                async def choose(register_id: int = register.id) -> None:
                    try:
                        async with get_database().unit_of_work() as session:
                            issued = await devices.set_up_device(
                                session,
                                setter,
                                register_id,
                                _("Browser set up by {name}").format(name=setter.display_name),
                            )
                            if session_token is not None:
                                await staff_service.logout(session, setter, session_token)
                    except KassaError as error:
                        notify_error(error)
                        return
                    store_token(DEVICE_TOKEN_KEY, issued.token)
                    await logout(REGISTER_TOKEN_KEY, "/")

                ui.button(f"{store.name} · {register.name}", on_click=choose).props(
                    "no-caps unelevated"
                ).classes("w-full min-h-[64px] text-lg").props(f'data-testid="register-{register.id}"')
            if not registers:
                ui.label(_("No register exists yet. Create one in the back office."))

    if actor is not None:
        await show_registers(actor, None)
        return

    async def logged_in(result: LoginResult) -> None:
        assert result.token is not None
        async with get_database().read_only() as session:
            setter = await staff_service.authenticate(session, result.token)
        if not setter.can(Permission.DEVICE_MANAGE):
            notify_error(PermissionDenied(_("Only an owner or a manager sets up a register.")))
            return
        await show_registers(setter, result.token)

    with body:
        ui.label(_("An owner or a manager logs in once to set this device up.")).classes("text-base")
        password_form(_, _("Continue"), logged_in)


@ui.page("/", title="Kassa")
async def pin_login_page() -> None:
    """The PIN pad: tap your name, type your PIN."""
    _ = gettext()
    device = await this_device()
    if device is None:
        ui.navigate.to("/setup")
        return
    if await load_register_context() is not None:
        ui.navigate.to("/register")
        return
    register, store = device.register, device.store
    async with get_database().read_only() as session:
        tiles = await staff_service.list_staff_for_register(session, register.id)

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
                    session, register.id, int(chosen["staff_id"]), pin, stored_token(DEVICE_TOKEN_KEY)
                )
            if result.error is not None:
                notify_error(result.error)
                if result.error.field == devices.DEVICE_HEADER:
                    ui.navigate.to("/setup")
                return
            assert result.token is not None
            store_token(REGISTER_TOKEN_KEY, result.token)
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

    async def logged_in(result: LoginResult) -> None:
        assert result.token is not None
        store_token(BACKOFFICE_TOKEN_KEY, result.token)
        ui.navigate.to("/backoffice")

    with ui.card().classes("w-[400px] max-w-[95vw] mx-auto mt-12 items-stretch gap-3"):
        with ui.row().classes("items-center"):
            ui.label(_("Back office")).classes("text-2xl font-bold")
            ui.space()
            language_switch()
        password_form(_, _("Log in"), logged_in)


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

        if actor.can(Permission.STAFF_MANAGE):
            ui.label(_("Permissions")).classes("text-lg font-bold mt-4")
            ui.label(
                _("Tick what each person may do; you can change only what you may do yourself.")
            ).classes("text-sm text-grey-7")
            for member in members:
                permissions_editor(actor, member, _)


def permissions_editor(actor: Actor, member: StaffMember, _: Callable[[str], str]) -> None:
    """One staff member's permissions as ticks: the role's, plus given, minus withheld.
    What the service would refuse (an owner, yourself, a permission you lack) is read-only."""
    role_permissions = ROLE_PERMISSIONS[member.role]
    current = staff_service.staff_permissions(member)
    is_locked = (member.role == Role.OWNER and actor.role != Role.OWNER) or (
        member.id == actor.staff_id and actor.role != Role.OWNER
    )
    boxes: dict[Permission, ui.checkbox] = {}
    with (
        ui.expansion(f"{member.display_name} · {role_label(member.role, _)}")
        .classes("w-full")
        .props(f'data-testid="permissions-{member.id}"')
    ):
        with ui.grid(columns=2).classes("gap-1"):
            for permission in Permission:
                box = ui.checkbox(permission.value, value=permission in current).props(
                    f'data-testid="permission-{member.id}-{permission.value}"'
                )
                if is_locked or (actor.role != Role.OWNER and not actor.can(permission)):
                    box.disable()
                boxes[permission] = box

        async def save() -> None:
            chosen = frozenset(permission for permission, box in boxes.items() if box.value)
            try:
                async with get_database().unit_of_work() as session:
                    await staff_service.set_staff_permissions(
                        session,
                        actor,
                        member.id,
                        granted=chosen - role_permissions,
                        withheld=role_permissions - chosen,
                    )
            except KassaError as error:
                notify_error(error)
                return
            ui.notify(_("Saved"), type="positive")

        if not is_locked:
            ui.button(_("Save"), on_click=save).props(f'data-testid="permissions-save-{member.id}"')
