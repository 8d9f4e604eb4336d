"""Dead messages on screen: a red chip on the register and a back-office page, each a
list of what Kassa gave up on (what, when, why) with "Send again" and "Cancel"; on the
register the receipts still waiting for a printer are listed too, to cancel one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from nicegui import background_tasks, ui

from kassa.core.auth import Actor, Permission
from kassa.core.database import get_database, utc_now
from kassa.core.errors import KassaError
from kassa.core.events import Event
from kassa.core.i18n import N_, format_datetime
from kassa.core.outbox import DEAD_EVENT, DELIVERED_EVENT, RETRYING_EVENT
from kassa.deliveries import service
from kassa.stores import service as store_service
from kassa.web.layout import (
    backoffice_frame,
    chosen_store,
    current_locale,
    gettext,
    notify_error,
    require_backoffice_actor,
    store_switch,
)

# A message given up on stays on the register's chip for a shift.
DEAD_SHOWN_FOR = timedelta(hours=12)

KIND_LABELS = {
    "print.document": N_("Print job"),
    "notification.send": N_("Text message"),
}


def kind_label(kind: str, _: Callable[[str], str]) -> str:
    label = KIND_LABELS.get(kind)
    return _(label) if label else kind


class DeliveryList:
    """The dead (and, ``with_waiting``, the waiting) messages of a store, with their buttons."""

    def __init__(self, actor: Actor, store_id: int, timezone: str, *, with_waiting: bool) -> None:
        self.actor = actor
        self.store_id = store_id
        self.timezone = timezone
        self.with_waiting = with_waiting
        self.locale = current_locale()
        self._ = gettext()
        self.root = ui.column().classes("w-full gap-2").props('data-testid="deliveries"')

    async def refresh(self) -> None:
        _ = self._
        async with get_database().read_only() as session:
            dead = await service.list_deliveries(session, self.actor, self.store_id)
            waiting = (
                await service.list_deliveries(session, self.actor, self.store_id, is_waiting=True)
                if self.with_waiting
                else []
            )
        self.root.clear()
        with self.root:
            ui.label(_("Could not be sent")).classes("text-base font-bold")
            if not dead:
                ui.label(_("Nothing was given up on.")).classes("text-sm opacity-70").props(
                    'data-testid="no-dead-messages"'
                )
            for item in dead:
                self.card(item, can_resend=True)
            if self.with_waiting:
                ui.label(_("Waiting to be sent")).classes("text-base font-bold pt-2")
                if not waiting:
                    ui.label(_("Nothing is waiting.")).classes("text-sm opacity-70")
                for item in waiting:
                    self.card(item, can_resend=False)

    def card(self, item: service.Delivery, *, can_resend: bool) -> None:
        _ = self._
        when = format_datetime(item.created_at, self.timezone, self.locale, "yyyy-MM-dd HH:mm")
        with (
            ui.card().classes("w-full").props(f'data-testid="delivery-{item.id}"'),
            ui.row().classes("w-full items-center gap-3 flex-nowrap"),
        ):
            with ui.column().classes("gap-0 min-w-0 flex-1"):
                ui.label(f"{kind_label(item.kind, _)} · {item.subject}").classes("font-bold truncate")
                ui.label(
                    _("Queued {time}, {attempts} attempts").format(time=when, attempts=item.attempts)
                ).classes("text-xs opacity-70")
                if item.last_error:
                    ui.label(item.last_error).classes("text-xs text-red-800 break-all")
            if can_resend:
                ui.button(
                    _("Send again"), icon="replay", on_click=lambda i=item.id: self.act(i, resend=True)
                ).props(f'unelevated no-caps data-testid="resend-{item.id}"')
            ui.button(_("Cancel"), icon="block", on_click=lambda i=item.id: self.act(i, resend=False)).props(
                f'flat no-caps color=negative data-testid="cancel-delivery-{item.id}"'
            )

    async def act(self, message_id: int, *, resend: bool) -> None:
        try:
            async with get_database().unit_of_work() as session:
                if resend:
                    await service.resend(session, self.actor, message_id)
                else:
                    await service.cancel(session, self.actor, message_id)
        except KassaError as error:
            notify_error(error)
        else:
            ui.notify(self._("Queued again") if resend else self._("Cancelled"), type="positive")
        await self.refresh()


async def open_deliveries_dialog(actor: Actor, store_id: int, timezone: str) -> None:
    """The register's dialog: what could not be sent, and the receipts still waiting."""
    _ = gettext()
    if not actor.can(Permission.MESSAGE_RESEND):
        ui.notify(_("Ask a cashier or a manager to look at this."), type="warning")
        return
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-2xl"):
        listing = DeliveryList(actor, store_id, timezone, with_waiting=True)
        ui.button(_("Close"), on_click=dialog.close).props("flat no-caps")
    await listing.refresh()
    dialog.open()


async def dead_messages_chip(actor: Actor, store_id: int, timezone: str) -> Callable[[Event], None]:
    """A red chip on the register while a message of the last shift could not be sent;
    a tap opens the list. Returns the event handler that keeps it current."""
    _ = gettext()
    chip = (
        ui.button(on_click=lambda: open_deliveries_dialog(actor, store_id, timezone))
        .props('unelevated no-caps color=red-2 text-color=red-10 data-testid="dead-messages"')
        .classes("text-sm font-bold")
    )

    async def refresh() -> None:
        if not actor.can(Permission.MESSAGE_RESEND):
            chip.set_visibility(False)
            return
        async with get_database().read_only() as session:
            count = await service.count_dead(session, actor, store_id, since=utc_now() - DEAD_SHOWN_FOR)
        chip.set_text(_("{count} messages could not be sent").format(count=count))
        chip.set_visibility(count > 0)

    def on_event(event: Event) -> None:
        if event.name in (DELIVERED_EVENT, RETRYING_EVENT, DEAD_EVENT):
            background_tasks.create(refresh(), name="dead-messages-chip")

    await refresh()
    return on_event


@ui.page("/backoffice/deliveries", title="Kassa · failed messages")
async def deliveries_page(store: int | None = None) -> None:
    _ = gettext()
    actor = await require_backoffice_actor(Permission.MESSAGE_RESEND)
    if actor is None:
        return
    async with get_database().read_only() as session:
        stores = await store_service.list_stores(session, actor)
    current = chosen_store(stores, actor, store)
    with backoffice_frame(actor, _("Failed messages")):
        if current is None:
            ui.label(_("No store yet."))
            return
        store_switch(stores, current, "/backoffice/deliveries")
        ui.label(
            _(
                "Receipts, kitchen tickets and text messages Kassa gave up on, with the reason. "
                "Send one again once the printer or the gateway works, or cancel it."
            )
        ).classes("text-sm opacity-80 max-w-2xl")
        listing = DeliveryList(actor, current.id, current.timezone, with_waiting=True)
    await listing.refresh()
