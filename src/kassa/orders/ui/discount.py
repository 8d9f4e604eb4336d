"""Discounts on the bill or a line, and a manager's approval by PIN when a discount goes
above the store's limit."""

from __future__ import annotations

from typing import Any

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Role
from kassa.core.database import get_database
from kassa.core.errors import PermissionDenied
from kassa.core.i18n import N_
from kassa.orders import service as orders
from kassa.orders.ui.screen import RegisterScreen
from kassa.orders.ui.view import (
    LineView,
    discount_request,
    parse_amount,
    press_key,
)
from kassa.orders.ui.widgets import choice_button, dialog_card, keypad, pin_pad, run, selected_props
from kassa.staff import service as staff_service
from kassa.web.layout import role_label

DISCOUNT_REASONS = (N_("Regular customer"), N_("Staff meal"), N_("Complaint"), N_("Promotion"))
PERCENT_PRESETS = (5, 10, 20, 50)


async def ask_approver(screen: RegisterScreen) -> Actor | None:
    """A manager approves on the spot: tap your name, type your PIN. A wrong PIN counts
    towards their lockout (committed in its own unit of work)."""
    _ = screen._
    async with get_database().read_only() as session:
        members = await staff_service.list_staff_for_register(session, screen.context.register.id)
    approvers = [member for member in members if member.role in (Role.MANAGER, Role.OWNER)]
    state: dict[str, Any] = {"staff": None, "digits": []}
    with dialog_card(screen.root, _("Manager approval"), "approval", 420) as dialog:
        ui.label(_("This discount needs a manager: tap your name and type your PIN.")).classes("text-sm")
        with ui.grid(columns=2).classes("w-full gap-2"):
            tiles = {}
            for member in approvers:
                tiles[member.id] = choice_button(
                    f"{member.display_name} · {role_label(member.role, _)}",
                    lambda member=member: pick(member.id),
                    is_selected=False,
                    testid=f"approver-{member.id}",
                )
        display = (
            ui.label()
            .classes("text-3xl tracking-[0.5em] text-center h-10")
            .props('data-testid="approver-pin-display"')
        )

        def pick(staff_id: int) -> None:
            state["staff"] = staff_id
            state["digits"].clear()
            display.set_text("")
            for member_id, tile in tiles.items():
                is_selected = member_id == staff_id
                tile.props(selected_props(is_selected))

        def digit(value: str) -> None:
            if len(state["digits"]) < 6:
                state["digits"].append(value)
                display.set_text("●" * len(state["digits"]))

        def clear() -> None:
            state["digits"].clear()
            display.set_text("")

        async def ok() -> None:
            if state["staff"] is None or not state["digits"]:
                screen.notify(_("Tap your name, then type your PIN."), "warning")
                return
            pin = "".join(state["digits"])
            clear()
            async with get_database().unit_of_work() as session:
                result = await staff_service.verify_approver_pin(
                    session, screen.store.id, int(state["staff"]), pin
                )
            # The unit of work has committed the attempt counter; now say what went wrong.
            if result.error is not None:
                screen.error(result.error)
                return
            dialog.submit(staff_service.approver_actor(result, screen.store.id))

        pin_pad(digit, clear, ok)
    approver = await run(dialog)
    return approver if isinstance(approver, Actor) else None


REMOVE = "remove"  # what the dialog answers when the cashier takes the bill discount off


async def discount_dialog(screen: RegisterScreen, line: LineView | None) -> None:
    """A percentage or an amount off the bill (or one line), with a reason. Above the
    store's limit the service asks for a manager, and the dialog asks for their PIN."""
    _ = screen._
    if screen.view is None:
        return
    version = screen.view.version
    currency = screen.store.currency
    state: dict[str, Any] = {"percent": True, "text": ""}
    title = _("Discount on {name}").format(name=line.name) if line else _("Discount on the bill")
    with dialog_card(screen.root, title, "discount", 440) as dialog:
        with ui.row().classes("w-full gap-2 flex-nowrap"):
            percent_button = (
                ui.button("%", on_click=lambda: set_mode(True))
                .classes("flex-1 min-h-[48px]")
                .props('data-testid="discount-percent"')
            )
            amount_button = (
                ui.button(_("Amount"), on_click=lambda: set_mode(False))
                .classes("flex-1 min-h-[48px]")
                .props('data-testid="discount-amount"')
            )
        display = (
            ui.label()
            .classes("text-3xl font-bold text-right tabular-nums h-10")
            .props('data-testid="discount-display"')
        )
        presets = ui.row().classes("w-full gap-2")
        keypad(lambda key: on_key(key), testid_prefix="discount-key")
        reason = (
            ui.input(_("Reason"))
            .props("outlined dense maxlength=200")
            .classes("w-full")
            .props('data-testid="discount-reason"')
        )
        with ui.row().classes("w-full gap-1"):
            for text in DISCOUNT_REASONS:
                ui.button(_(text), on_click=lambda text=text: reason.set_value(_(text))).props(
                    "no-caps outline dense color=grey-8"
                ).classes("min-h-[40px]")
        ui.button(_("Give discount"), icon="check", on_click=lambda: submit()).props(
            "no-caps unelevated color=positive"
        ).classes("min-h-[56px] text-lg").props('data-testid="discount-ok"')
        if line is None and screen.view.bill.discount_reason is not None:
            ui.button(
                _("Remove the bill discount"),
                icon="remove_circle_outline",
                on_click=lambda: dialog.submit(REMOVE),
            ).props("no-caps outline color=negative").classes("min-h-[48px]").props(
                'data-testid="discount-remove"'
            )

        def paint() -> None:
            for button, is_on in ((percent_button, state["percent"]), (amount_button, not state["percent"])):
                button.props("no-caps unelevated " + selected_props(is_on))
            if state["percent"]:
                display.set_text(f"{state['text'] or '0'} %")
            else:
                amount = parse_amount(state["text"], currency)
                display.set_text(screen.money(amount or 0))
            presets.clear()
            if state["percent"]:
                with presets:
                    for value in PERCENT_PRESETS:
                        ui.button(f"{value} %", on_click=lambda value=value: set_text(str(value))).props(
                            "no-caps outline color=teal-8"
                        ).classes("flex-1 min-h-[44px]").props(f'data-testid="discount-preset-{value}"')

        def set_mode(is_percent: bool) -> None:
            state["percent"] = is_percent
            state["text"] = ""
            paint()

        def set_text(text: str) -> None:
            state["text"] = text
            paint()

        def on_key(key: str) -> None:
            state["text"] = press_key(state["text"], key, "XXX" if state["percent"] else currency)
            paint()

        def submit() -> None:
            request = discount_request(
                state["percent"], state["text"], (reason.value or "").strip(), currency
            )
            if request is None:
                screen.notify(_("Type the discount first."), "warning")
                return
            dialog.submit(request)

        paint()
    request = await run(dialog)
    if request is None:
        return
    if request == REMOVE:

        async def remove(session: AsyncSession, bill_id: int, expected: int) -> object:
            return await orders.remove_bill_discount(session, screen.actor, bill_id, expected)

        await screen.act(remove, version=version)
        return

    async def give(approver: Actor | None) -> bool:
        async def discount(session: AsyncSession, bill_id: int, expected: int) -> object:
            if line is None:
                return await orders.discount_bill(session, screen.actor, bill_id, expected, request, approver)
            return await orders.discount_line(
                session, screen.actor, bill_id, expected, line.id, request, approver
            )

        return await screen.act(discount, version=version) is not None

    if await give(None):
        return
    error = screen.last_error
    if isinstance(error, PermissionDenied) and error.extra.get("needs_approval"):
        approver = await ask_approver(screen)
        if approver is not None and await give(approver):
            screen.notify(_("Discount approved by {name}.").format(name=approver.display_name), "positive")
