"""Shared UI pieces: who is logged in on this browser, and the two frames.

The browser keeps its state in ``app.storage.user`` (server-side, keyed by a signed
cookie): the device token of the register this device was set up as, the register and
back-office session tokens, and the language. Tokens are kept sealed
(``kassa.web.sealed``), never raw: use ``store_token`` / ``stored_token`` /
``forget_token``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nicegui import app, ui

from kassa.core.auth import Actor, Permission, Role
from kassa.core.database import get_database
from kassa.core.errors import KassaError
from kassa.core.events import Event, get_event_bus
from kassa.core.i18n import LOCALE_NAMES, N_, SUPPORTED_LOCALES, format_datetime, normalize_locale, translator
from kassa.core.settings import get_settings
from kassa.staff import service as staff_service
from kassa.stores import devices
from kassa.stores import service as store_service
from kassa.stores.models import Register, Store
from kassa.web.sealed import seal, unseal

# Storage keys, not secrets.
DEVICE_TOKEN_KEY = "register_device_token"  # noqa: S105
REGISTER_TOKEN_KEY = "register_token"  # noqa: S105
BACKOFFICE_TOKEN_KEY = "backoffice_token"  # noqa: S105
LOCALE_KEY = "locale"


ROLE_LABELS = {
    Role.OWNER: N_("Owner"),
    Role.MANAGER: N_("Manager"),
    Role.CASHIER: N_("Cashier"),
    Role.WAITER: N_("Waiter"),
}


def role_label(role: Role | None, _: Callable[[str], str]) -> str:
    return _(ROLE_LABELS[role]) if role else ""


def current_locale() -> str:
    return normalize_locale(app.storage.user.get(LOCALE_KEY), get_settings().default_locale)


def gettext() -> Callable[[str], str]:
    return translator(current_locale())


def notify_error(error: KassaError) -> None:
    ui.notify(error.detail, type="negative", position="top", multi_line=True)


def language_switch() -> None:
    """Flip between the supported languages and redraw the page."""
    locale = current_locale()
    other = next(item for item in SUPPORTED_LOCALES if item != locale)

    def switch() -> None:
        app.storage.user[LOCALE_KEY] = other
        ui.navigate.reload()

    header_button(LOCALE_NAMES[other], "translate", switch).props('data-testid="language-switch"')


def header_button(text: str, icon: str, on_click: Callable[[], Any]) -> ui.button:
    """A header button whose label hides on phones (the icon stays), so the store name fits."""
    with (
        ui.button(icon=icon, on_click=on_click)
        .props("flat color=white")
        .classes("min-h-[48px] max-sm:px-2") as button
    ):
        ui.label(text).classes("ml-2 max-sm:hidden")
    return button


def store_token(token_key: str, token: str) -> None:
    """Keep a token in this browser's storage, sealed."""
    app.storage.user[token_key] = seal(token)


def stored_token(token_key: str) -> str | None:
    """The token kept under ``token_key``; a value that does not unseal is dropped."""
    if token_key not in app.storage.user:
        return None
    token = unseal(app.storage.user.get(token_key))
    if token is None:
        app.storage.user.pop(token_key, None)
    return token


def forget_token(token_key: str) -> str | None:
    """Drop the token kept under ``token_key``; the token it was, if any."""
    return unseal(app.storage.user.pop(token_key, None))


async def actor_from_token(token_key: str) -> Actor | None:
    token = stored_token(token_key)
    if not token:
        return None
    try:
        async with get_database().read_only() as session:
            return await staff_service.authenticate(session, token)
    except KassaError:
        app.storage.user.pop(token_key, None)
        return None


async def this_device() -> devices.DeviceIdentity | None:
    """The register this browser was set up as, or None (never set up, or revoked)."""
    token = stored_token(DEVICE_TOKEN_KEY)
    if not token:
        return None
    try:
        async with get_database().read_only() as session:
            return await devices.authenticate_device(session, token)
    except KassaError:
        app.storage.user.pop(DEVICE_TOKEN_KEY, None)
        return None


def subscribe_for_this_page(topic: str, handler: Callable[[Event], Any]) -> None:
    """Listen on the event bus while this browser tab is open."""
    subscription = get_event_bus().subscribe(topic, handler)
    ui.context.client.on_delete(subscription.cancel)


@dataclass
class RegisterContext:
    actor: Actor
    store: Store
    register: Register


async def logout(token_key: str, target: str) -> None:
    token = forget_token(token_key)
    if token:
        try:
            async with get_database().unit_of_work() as session:
                actor = await staff_service.authenticate(session, token)
                await staff_service.logout(session, actor, token)
        except KassaError:
            pass  # the session was over already
    ui.navigate.to(target)


# Pieces that capabilities add to the register header (the returns queue badge), called
# inside the header on every register page; registered when the capability's UI is imported.
REGISTER_HEADER_ITEMS: list[Callable[[RegisterContext], None]] = []


@contextmanager
def register_frame(context: RegisterContext) -> Iterator[None]:
    """The register screen's frame: store, register, staff, clock, language, log out."""
    _ = gettext()
    locale = current_locale()
    with ui.header().classes(
        "items-center gap-3 max-sm:gap-0 px-3 max-sm:px-1 py-1 bg-teal-800 text-white flex-nowrap"
    ):
        store_label = (
            ui.label(context.store.name)
            .classes("text-lg font-bold truncate")
            .props('data-testid="store-name"')
        )
        ui.label(context.register.name).classes("text-sm opacity-80 whitespace-nowrap max-sm:hidden").props(
            'data-testid="register-name"'
        )
        ui.space()
        ui.label(f"{context.actor.display_name} · {role_label(context.actor.role, _)}").classes(
            "text-sm whitespace-nowrap max-sm:hidden"
        ).props('data-testid="staff-name"')
        clock = (
            ui.label()
            .classes("text-sm tabular-nums whitespace-nowrap max-sm:hidden")
            .props('data-testid="clock"')
        )

        def tick() -> None:
            clock.set_text(
                format_datetime(datetime.now().astimezone(), context.store.timezone, locale, "HH:mm:ss")
            )

        tick()
        ui.timer(1.0, tick)
        for header_item in REGISTER_HEADER_ITEMS:
            header_item(context)
        language_switch()
        header_button(_("Log out"), "logout", lambda: logout(REGISTER_TOKEN_KEY, "/")).props(
            'data-testid="logout"'
        )

    def on_store_event(event: Event) -> None:
        if event.name == "store.updated":
            store_label.set_text(str(event.payload.get("name", store_label.text)))

    subscribe_for_this_page(store_service.store_topic(context.store.id), on_store_event)
    with ui.column().classes("w-full p-2 sm:p-4 gap-3"):
        yield


BACKOFFICE_SECTIONS = (
    ("/backoffice/catalog", "Catalog", "restaurant_menu", Permission.BACK_OFFICE),
    ("/backoffice/members", "Members", "people", Permission.BACK_OFFICE),
    ("/backoffice/loyalty", "Loyalty", "loyalty", Permission.BACK_OFFICE),
    ("/backoffice/reports", "Reports", "insights", Permission.REPORT_VIEW),
    ("/backoffice/staff", "Staff", "badge", Permission.STAFF_VIEW),
    ("/backoffice/devices", N_("Devices"), "point_of_sale", Permission.DEVICE_MANAGE),
    ("/backoffice/api-keys", N_("API keys"), "key", Permission.API_KEY_MANAGE),
    ("/backoffice/settings", "Settings", "settings", Permission.BACK_OFFICE),
    ("/backoffice/returns", "Returns", "assignment_return", Permission.RETURN_APPROVE),
    ("/backoffice/reservations", "Reservations", "event", Permission.BACK_OFFICE),
    ("/backoffice/messages", "Messages", "sms", Permission.BACK_OFFICE),
    ("/backoffice/deliveries", N_("Failed messages"), "sms_failed", Permission.MESSAGE_RESEND),
    ("/backoffice/templates", "Templates", "edit_note", Permission.SETTINGS_MANAGE),
    ("/backoffice/payments", "Payment providers", "account_balance_wallet", Permission.SETTINGS_MANAGE),
    ("/backoffice/calls", "Calls", "phone_in_talk", Permission.BACK_OFFICE),
    ("/backoffice/feedback", "Feedback", "rate_review", Permission.BACK_OFFICE),
)


@contextmanager
def backoffice_frame(actor: Actor, title: str) -> Iterator[None]:
    """The back office: a header and the section navigation (a drawer on phones)."""
    _ = gettext()
    with ui.header().classes("items-center gap-2 px-3 bg-indigo-900 text-white flex-nowrap"):
        drawer_button = (
            ui.button(icon="menu").props("flat color=white").classes("lg:hidden").props('data-testid="menu"')
        )
        ui.label(_("Kassa back office")).classes("text-lg font-bold truncate")
        ui.space()
        ui.label(actor.display_name).classes("text-sm max-sm:hidden")
        language_switch()
        ui.button(
            _("Log out"), icon="logout", on_click=lambda: logout(BACKOFFICE_TOKEN_KEY, "/backoffice/login")
        ).props("flat color=white").props('data-testid="logout"')
    with ui.left_drawer(value=None).classes("bg-slate-100").props("breakpoint=1024") as drawer:
        for path, label, icon, permission in BACKOFFICE_SECTIONS:
            if actor.can(permission):
                ui.button(_(label), icon=icon, on_click=lambda target=path: ui.navigate.to(target)).props(
                    "flat align=left no-caps"
                ).classes("w-full min-h-[48px] text-base").props(
                    f'data-testid="nav-{label.lower().replace(" ", "-")}"'
                )
    drawer_button.on_click(drawer.toggle)
    with ui.column().classes("w-full p-3 sm:p-6 gap-4"):
        ui.label(title).classes("text-2xl font-bold")
        yield


async def load_register_context() -> RegisterContext | None:
    """The logged-in register session of this browser, or None (the caller redirects). The
    browser must still be set up as that register: a revoked device loses its register."""
    actor = await actor_from_token(REGISTER_TOKEN_KEY)
    if actor is None or actor.register_id is None or actor.store_id is None:
        return None
    device = await this_device()
    if device is None or device.register.id != actor.register_id:
        return None
    async with get_database().read_only() as session:
        register = await store_service.get_register(session, actor.register_id)
        store = await store_service.get_store(session, actor, actor.store_id)
    return RegisterContext(actor=actor, store=store, register=register)


async def require_backoffice_actor(permission: Permission = Permission.BACK_OFFICE) -> Actor | None:
    """The back-office actor of this browser; else redirect (to log in, or to the overview)."""
    actor = await actor_from_token(BACKOFFICE_TOKEN_KEY)
    if actor is None:
        ui.navigate.to("/backoffice/login")
        return None
    if not actor.can(permission):
        ui.navigate.to("/backoffice")
        return None
    return actor


def chosen_store(stores: Sequence[Store], actor: Actor, wanted: int | None) -> Store | None:
    """The store a back-office page shows: the one asked for (``?store=``), else the actor's,
    else the first."""
    by_id = {store.id: store for store in stores}
    for candidate in (wanted, actor.store_id):
        if candidate is not None and candidate in by_id:
            return by_id[candidate]
    return stores[0] if stores else None


def store_switch(stores: Sequence[Store], current: Store, path: str) -> None:
    """Owners see every store: a select that reloads ``path`` for the chosen one."""
    if len(stores) < 2:
        return
    _ = gettext()
    ui.select(
        {store.id: store.name for store in stores},
        value=current.id,
        label=_("Store"),
        on_change=lambda event: ui.navigate.to(f"{path}?store={event.value}"),
    ).props("outlined dense").classes("w-64").props('data-testid="store-switch"')
