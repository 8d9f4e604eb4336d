"""Asking for a return (退菜) on the register: from a line of an open bill, or from a paid
bill. Pick the dishes and how many, whether they were made, why, and (for the SMS) the
customer's phone; the request then waits in the approval queue."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from kassa.core.auth import Permission
from kassa.core.database import get_database
from kassa.core.errors import KassaError
from kassa.core.i18n import N_
from kassa.orders.ui.hooks import LINE_ACTIONS, PAID_BILL_ACTIONS, RegisterAction
from kassa.orders.ui.screen import RegisterScreen
from kassa.orders.ui.view import LineView
from kassa.orders.ui.widgets import choice_button, dialog_card, run, selected_props
from kassa.returns import service
from kassa.returns.settings import reason_name


def _can_request(screen: RegisterScreen, line: LineView | None) -> bool:
    return screen.actor.can(Permission.RETURN_REQUEST)


async def return_dialog(screen: RegisterScreen, line: LineView | None) -> None:
    """The return request; ``line``: the line it was asked from (one of it is preselected)."""
    _ = screen._
    view = screen.view
    if view is None:
        return
    try:
        async with get_database().read_only() as session:
            returnable = await service.returnable_quantities(session, screen.actor, view.id)
            rules = await service.settings_of(session, screen.store.id)
    except KassaError as error:
        screen.error(error)
        return
    lines = [item for item in view.active_lines if returnable.get(item.id, 0) > 0]
    if not lines:
        screen.notify(_("Nothing left to return on this bill."), "warning")
        return
    quantities = {item.id: 0 for item in lines}
    made = {item.id: item.is_sent for item in lines}
    if line is not None and line.id in quantities:
        quantities[line.id] = 1
    state: dict[str, Any] = {"reason": None}
    title = _("Return dishes · bill {number}").format(number=view.bill.number)
    with dialog_card(screen.root, title, "return", 560) as dialog:
        with ui.column().classes("w-full gap-0 max-h-[40vh] overflow-y-auto flex-nowrap"):
            quantity_labels: dict[int, ui.label] = {}
            made_switches: dict[int, ui.switch] = {}
            for item in lines:
                with (
                    ui.row()
                    .classes("w-full items-center gap-2 flex-nowrap border-b border-slate-100 py-1")
                    .props(f'data-testid="return-line" data-line-id="{item.id}"')
                ):
                    with ui.column().classes("gap-0 flex-1 min-w-0"):
                        ui.label(item.name).classes("text-base font-medium truncate w-full")
                        ui.label(
                            _("{count} can be returned").format(count=returnable[item.id])
                            + f" · {screen.money(item.unit_price)}"
                        ).classes("text-xs opacity-70 truncate w-full")
                        made_switches[item.id] = (
                            ui.switch(_("Already made"), value=made[item.id])
                            .props("dense color=orange-8")
                            .classes("text-sm min-h-[40px]")
                            .props('data-testid="return-line-made"')
                            .on_value_change(
                                lambda event, item=item: made.__setitem__(item.id, bool(event.value))
                            )
                        )
                    ui.button(icon="remove", on_click=lambda item=item: change(item, -1)).props(
                        "flat round color=grey-8"
                    ).classes("w-12 h-12").props('data-testid="return-line-minus"')
                    quantity_labels[item.id] = (
                        ui.label()
                        .classes("w-12 text-center text-lg font-bold")
                        .props('data-testid="return-line-qty"')
                    )
                    ui.button(icon="add", on_click=lambda item=item: change(item, 1)).props(
                        "flat round color=teal-8"
                    ).classes("w-12 h-12").props('data-testid="return-line-plus"')
        ui.label(_("Reason")).classes("text-sm font-bold")
        reason_buttons: dict[str, ui.button] = {}
        with ui.grid().classes("w-full gap-2 grid-cols-2 sm:grid-cols-3"):
            for reason in rules.reasons:
                code = str(reason.get("code"))
                reason_buttons[code] = choice_button(
                    reason_name(rules, code, screen.locale),
                    lambda code=code: pick_reason(code),
                    is_selected=False,
                    testid=f"return-reason-{code}",
                )
        note = (
            ui.input(_("Note (optional)"))
            .props("outlined dense maxlength=500")
            .classes("w-full")
            .props('data-testid="return-note"')
        )
        phone = (
            ui.input(_("Customer's phone, for the SMS (optional)"), value=view.bill.delivery_phone or "")
            .props("outlined dense type=tel maxlength=40")
            .classes("w-full")
            .props('data-testid="return-phone"')
        )
        missing = ui.label().classes("text-sm text-rose-700")
        submit_button = (
            ui.button(_("Ask for the return"), icon="undo", on_click=lambda: submit())
            .props("no-caps unelevated color=positive")
            .classes("min-h-[56px] text-lg")
            .props('data-testid="return-submit"')
        )

        def paint() -> None:
            for item in lines:
                quantity_labels[item.id].set_text(f"{quantities[item.id]}/{returnable[item.id]}")
                made_switches[item.id].set_visibility(quantities[item.id] > 0)
            for code, button in reason_buttons.items():
                is_selected = state["reason"] == code
                button.props(f'{selected_props(is_selected)} aria-pressed="{str(is_selected).lower()}"')
            problems = []
            if not any(quantities.values()):
                problems.append(_("choose what goes back"))
            if state["reason"] is None:
                problems.append(_("choose a reason"))
            missing.set_text("; ".join(problems))
            submit_button.set_enabled(not problems)

        def change(item: LineView, step: int) -> None:
            quantities[item.id] = min(returnable[item.id], max(0, quantities[item.id] + step))
            paint()

        def pick_reason(code: str) -> None:
            state["reason"] = code
            paint()

        async def submit() -> None:
            wanted = [
                service.LineToReturn(line_id, quantity, made[line_id])
                for line_id, quantity in quantities.items()
                if quantity > 0
            ]
            if not wanted or state["reason"] is None:
                return
            submit_button.set_enabled(False)
            try:
                async with get_database().unit_of_work() as session:
                    request = await service.request_return(
                        session,
                        screen.actor,
                        view.id,
                        wanted,
                        reason_code=str(state["reason"]),
                        reason_text=note.value or "",
                        customer_phone=phone.value or None,
                    )
            except KassaError as error:
                screen.error(error)
                paint()
                return
            dialog.submit(request.id)

        paint()
    return_id = await run(dialog)
    if return_id is None:
        return
    screen.notify(_("Return R{number} waits for approval.").format(number=return_id), "positive")
    if view.is_open:
        # Asking holds the bill (its version moves on): show the bill as it is now.
        await screen.reload()


LINE_ACTIONS.append(RegisterAction(N_("Return"), "undo", "line-return", return_dialog, _can_request))
PAID_BILL_ACTIONS.append(
    RegisterAction(N_("Return dishes"), "undo", "paid-bill-return", return_dialog, _can_request)
)
