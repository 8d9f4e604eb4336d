"""The back office's phone assistant pages: the call log (``/backoffice/calls``: every call
with its number, member, register, phone and outcome; missed calls to call back) and the
paired phones per register (``/backoffice/phones``: pair, unpair)."""

from __future__ import annotations

from typing import Any

from nicegui import background_tasks, ui

from kassa.core.auth import Actor, Permission
from kassa.core.database import get_database, utc_now
from kassa.core.errors import KassaError
from kassa.core.events import Event
from kassa.core.i18n import format_datetime
from kassa.orders.ui.widgets import dialog_card, run
from kassa.stores import service as store_service
from kassa.stores.models import Register, Store
from kassa.telephony import actions, service
from kassa.telephony.ui.view import caller_number, state_label
from kassa.web.layout import (
    backoffice_frame,
    chosen_store,
    current_locale,
    gettext,
    notify_error,
    require_backoffice_actor,
    store_switch,
    subscribe_for_this_page,
)

TOUCH = "min-h-[48px]"
LOG_LIMIT = 200
LOG_EVENTS = frozenset({service.CALL_EVENT, service.CALL_HANDLED_EVENT})


async def _stores(actor: Actor, wanted: int | None) -> tuple[list[Store], Store | None]:
    async with get_database().read_only() as session:
        stores = list(await store_service.list_stores(session, actor))
    return stores, chosen_store(stores, actor, wanted)


@ui.page("/backoffice/calls", title="Kassa · calls")
async def calls_page(store: int | None = None, missed: bool = False) -> None:
    actor = await require_backoffice_actor()
    if actor is None:
        return
    _ = gettext()
    locale = current_locale()
    stores, current = await _stores(actor, store)
    with backoffice_frame(actor, _("Calls")):
        if current is None:
            ui.label(_("No store yet.")).classes("opacity-70")
            return
        async with get_database().read_only() as session:
            registers = await service.store_registers(session, actor, current.id)
        state = {"missed": missed}
        with ui.row().classes("w-full items-center gap-3"):
            store_switch(stores, current, "/backoffice/calls")
            ui.switch(
                _("Missed calls only"),
                value=missed,
                on_change=lambda event: show(missed_only=bool(event.value)),
            ).props('data-testid="calls-missed-only"')
            ui.space()
            ui.button(
                _("Paired phones"),
                icon="phonelink_ring",
                on_click=lambda: ui.navigate.to(f"/backoffice/phones?store={current.id}"),
            ).props("no-caps outline").classes(TOUCH).props('data-testid="calls-phones"')
        ui.label(
            _("A call nobody acted on within {minutes} minutes is missed: call the customer back.").format(
                minutes=int(service.MISSED_AFTER.total_seconds() // 60)
            )
        ).classes("text-sm opacity-70")
        table = (
            ui.table(
                columns=[
                    {"name": "time", "label": _("Time"), "field": "time", "align": "left"},
                    {"name": "number", "label": _("Number"), "field": "number", "align": "left"},
                    {"name": "member", "label": _("Member"), "field": "member", "align": "left"},
                    {"name": "register", "label": _("Register"), "field": "register", "align": "left"},
                    {"name": "phone", "label": _("Device"), "field": "phone", "align": "left"},
                    {"name": "outcome", "label": _("Outcome"), "field": "outcome", "align": "left"},
                    {"name": "action", "label": "", "field": "action", "align": "right"},
                ],
                rows=[],
                row_key="id",
                pagination=50,
            )
            .classes("w-full")
            .props('data-testid="calls-table" flat bordered')
        )
        table.add_slot(
            "body-cell-outcome",
            """<q-td :props="props">
                <span :class="props.row.is_missed ? 'text-negative text-weight-bold' : ''"
                      :data-testid="'call-outcome-' + props.row.id">{{ props.row.outcome }}</span>
            </q-td>""",
        )
        called_back_label = _("Called back")
        table.add_slot(
            "body-cell-action",
            f"""<q-td :props="props">
                <q-btn v-if="props.row.is_missed" no-caps unelevated color="positive" icon="phone_callback"
                       label="{called_back_label}" :data-testid="'call-called-back-' + props.row.id"
                       @click="() => $parent.$emit('called_back', props.row)" />
            </q-td>""",
        )

        async def show(missed_only: bool | None = None) -> None:
            if missed_only is not None:
                state["missed"] = missed_only
            try:
                async with get_database().read_only() as session:
                    rows = await service.list_calls(
                        session, actor, current.id, missed_only=state["missed"], limit=LOG_LIMIT
                    )
            except KassaError as error:
                notify_error(error)
                return
            now = utc_now()
            table.rows = [
                {
                    "id": row.call.id,
                    "time": format_datetime(
                        row.call.received_at, current.timezone, locale, "yyyy-MM-dd HH:mm"
                    ),
                    "number": caller_number(row.call, current.phone_region) or _("Number withheld"),
                    "member": row.member_name or "",
                    "register": row.register_name,
                    "phone": row.assistant_name,
                    "outcome": _(state_label(row.call, now)),
                    "is_missed": row.is_missed,
                }
                for row in rows
            ]
            table.update()

        async def called_back(event: Any) -> None:
            call_id = int(event.args["id"])
            try:
                async with get_database().unit_of_work() as session:
                    await actions.mark_called_back(session, actor, call_id)
            except KassaError as error:
                notify_error(error)
            await show()

        table.on("called_back", called_back)

        def on_event(event: Event) -> None:
            if event.name in LOG_EVENTS:
                background_tasks.create(show(), name="call-log", context=table)

        # Calls are pushed per register: listen to each of the store's.
        for register in registers:
            subscribe_for_this_page(service.register_topic(register.id), on_event)
        await show()


@ui.page("/backoffice/phones", title="Kassa · phones")
async def phones_page(store: int | None = None) -> None:
    actor = await require_backoffice_actor(Permission.BACK_OFFICE)
    if actor is None:
        return
    _ = gettext()
    locale = current_locale()
    stores, current = await _stores(actor, store)
    with backoffice_frame(actor, _("Paired phones")):
        if current is None:
            ui.label(_("No store yet.")).classes("opacity-70")
            return
        with ui.row().classes("w-full items-center gap-3"):
            store_switch(stores, current, "/backoffice/phones")
            ui.button(
                _("Call log"),
                icon="phone_in_talk",
                on_click=lambda: ui.navigate.to(f"/backoffice/calls?store={current.id}"),
            ).props("no-caps outline").classes(TOUCH)
        ui.label(
            _(
                "A phone paired with a register shows its calls there. Pair one with a code shown here "
                "or on the register (Calls › Pair phone); unpair a lost or replaced phone: "
                "it is refused from then on."
            )
        ).classes("text-sm opacity-70 max-w-3xl")
        cards = ui.column().classes("w-full gap-3")

        async def show() -> None:
            try:
                async with get_database().read_only() as session:
                    registers = await service.store_registers(session, actor, current.id)
                    phones = await service.list_assistants(session, actor, current.id)
            except KassaError as error:
                notify_error(error)
                return
            cards.clear()
            with cards:
                for register in registers:
                    register_card(
                        register, [row for row in phones if row.assistant.register_id == register.id]
                    )

        def register_card(register: Register, phones: list[service.AssistantRow]) -> None:
            with (
                ui.card()
                .classes("w-full max-w-3xl gap-2")
                .props(f'data-testid="phones-register" data-register-id="{register.id}"')
            ):
                with ui.row().classes("w-full items-center gap-2"):
                    ui.label(register.name).classes("text-lg font-bold")
                    ui.space()
                    ui.button(_("Pair phone"), icon="phonelink_ring", on_click=lambda: pair(register)).props(
                        "no-caps unelevated color=teal-8"
                    ).classes(TOUCH).props(f'data-testid="phones-pair-{register.id}"')
                if not phones:
                    ui.label(_("No phone is paired with this register.")).classes("text-sm opacity-60")
                for row in phones:
                    phone = row.assistant
                    with (
                        ui.row()
                        .classes("w-full items-center gap-2 flex-nowrap border-t border-slate-100 pt-2")
                        .props(f'data-testid="phones-device" data-assistant-id="{phone.id}"')
                    ):
                        with ui.column().classes("gap-0 flex-1 min-w-0"):
                            ui.label(phone.name).classes("text-base font-bold truncate")
                            facts = [
                                _("paired {time}").format(
                                    time=format_datetime(
                                        phone.created_at, current.timezone, locale, "yyyy-MM-dd HH:mm"
                                    )
                                )
                            ]
                            if phone.last_call_at is not None:
                                facts.append(
                                    _("last call {time}").format(
                                        time=format_datetime(
                                            phone.last_call_at, current.timezone, locale, "yyyy-MM-dd HH:mm"
                                        )
                                    )
                                )
                            ui.label(" · ".join(facts)).classes("text-xs opacity-70")
                        ui.button(
                            _("Unpair"),
                            icon="link_off",
                            on_click=lambda phone=phone: unpair(phone.id, phone.name),
                        ).props("no-caps outline color=negative").classes(TOUCH).props(
                            f'data-testid="phones-unpair-{phone.id}"'
                        )

        async def unpair(assistant_id: int, name: str) -> None:
            with dialog_card(cards, _("Unpair {name}?").format(name=name), "phones-unpair", 420) as dialog:
                ui.label(_("Its calls stop showing on the register. To use it again, pair it anew.")).classes(
                    "text-sm"
                )
                ui.button(_("Unpair"), icon="link_off", on_click=lambda: dialog.submit(True)).props(
                    "no-caps unelevated color=negative"
                ).classes(TOUCH).props('data-testid="phones-unpair-ok"')
            if not await run(dialog):
                return
            try:
                async with get_database().unit_of_work() as session:
                    await service.revoke_assistant(session, actor, assistant_id)
            except KassaError as error:
                notify_error(error)
                return
            ui.notify(_("{name} is unpaired.").format(name=name), type="positive")
            await show()

        async def pair(register: Register) -> None:
            try:
                async with get_database().unit_of_work() as session:
                    issued = await service.create_pairing_code(session, actor, register.id)
            except KassaError as error:
                notify_error(error)
                return
            code = issued.code
            expires = format_datetime(issued.expires_at, current.timezone, locale, "HH:mm")
            with dialog_card(
                cards, _("Pair a phone with {register}").format(register=register.name), "phones-code", 460
            ) as dialog:
                ui.label(f"{code[:3]} {code[3:]}").classes(
                    "w-full text-center text-6xl font-mono font-bold tracking-widest text-teal-900 py-2"
                ).props(f'data-testid="phones-pairing-code" data-code="{code}"')
                ui.label(
                    _("Type it into the phone app before {time}; it works once.").format(time=expires)
                ).classes("text-sm text-center")
            await run(dialog)
            await show()

        await show()
