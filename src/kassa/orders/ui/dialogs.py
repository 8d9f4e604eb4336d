"""The register's dialogs for one product or line: open prices, options, a line's details
and its void, and splitting the bill."""

from __future__ import annotations

from typing import Any

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.menu import MenuProduct
from kassa.core.auth import Permission
from kassa.core.i18n import N_
from kassa.orders import service as orders
from kassa.orders.totals import even_shares
from kassa.orders.ui.discount import discount_dialog
from kassa.orders.ui.hooks import LINE_ACTIONS, RegisterAction
from kassa.orders.ui.screen import RegisterScreen
from kassa.orders.ui.view import (
    LineView,
    default_choice,
    parse_amount,
    press_key,
    priced_with,
    split_parts,
    toggle_option,
    unsatisfied_groups,
)
from kassa.orders.ui.widgets import choice_button, dialog_card, keypad, run, selected_props

VOID_REASONS = (N_("Customer changed their mind"), N_("Wrong item"), N_("Kitchen could not make it"))
EVEN_SPLIT_CHOICES = (2, 3, 4, 5, 6)


# --- adding a product ---------------------------------------------------------------------


async def ask_open_price(screen: RegisterScreen, product: MenuProduct) -> int | None:
    """The amount of an open-price item, typed on a keypad."""
    _ = screen._
    currency = screen.store.currency
    state = {"text": ""}
    with dialog_card(screen.root, product.display_name, "open-price", 360) as dialog:
        bounds = []
        if product.min_price is not None:
            bounds.append(_("at least {amount}").format(amount=screen.money(product.min_price.amount)))
        if product.max_price is not None:
            bounds.append(_("at most {amount}").format(amount=screen.money(product.max_price.amount)))
        if bounds:
            ui.label(", ".join(bounds)).classes("text-sm opacity-70")
        display = (
            ui.label()
            .classes("text-3xl font-bold text-right tabular-nums h-10")
            .props('data-testid="open-price-display"')
        )

        def paint() -> None:
            amount = parse_amount(state["text"], currency)
            display.set_text(screen.money(amount) if amount is not None else "")
            ok.set_enabled(amount is not None)

        def on_key(key: str) -> None:
            state["text"] = press_key(state["text"], key, currency)
            paint()

        keypad(on_key, testid_prefix="open-price-key")
        ok = (
            ui.button(
                _("Add"), icon="check", on_click=lambda: dialog.submit(parse_amount(state["text"], currency))
            )
            .props("unelevated color=positive")
            .classes("min-h-[56px] text-lg")
            .props('data-testid="open-price-ok"')
        )
        paint()
    result = await run(dialog)
    return int(result) if result is not None else None


async def ask_modifiers(
    screen: RegisterScreen, product: MenuProduct, open_price: int | None
) -> tuple[list[int], str] | None:
    """The product's options (required groups must be chosen) and a note for the kitchen."""
    _ = screen._
    groups = product.modifier_groups
    chosen = default_choice(groups)
    buttons: dict[int, ui.button] = {}
    with dialog_card(screen.root, product.display_name, "modifiers", 560) as dialog:
        with ui.column().classes("w-full gap-3 max-h-[60vh] overflow-y-auto"):
            for group in groups:
                rule = _("required") if group.is_required or group.min_choices else _("optional")
                if group.max_choices > 1:
                    rule += " · " + _("up to {count}").format(count=group.max_choices)
                with ui.row().classes("items-baseline gap-2"):
                    ui.label(group.display_name).classes("text-base font-bold")
                    ui.label(rule).classes("text-xs opacity-70").props(f'data-testid="group-rule-{group.id}"')
                with ui.row().classes("w-full gap-2"):
                    for option in group.options:
                        label = option.display_name
                        if option.price_delta.amount:
                            sign = "+" if option.price_delta.amount > 0 else "−"
                            label += f" {sign}{screen.money(abs(option.price_delta.amount))}"
                        if option.is_sold_out:
                            label += " · " + _("Sold out")
                        button = choice_button(
                            label,
                            lambda group=group, option=option: choose(group, option.id),
                            is_selected=False,
                            testid="modifier-option",
                        ).props(f'data-option-id="{option.id}"')
                        button.set_enabled(not option.is_sold_out)
                        buttons[option.id] = button
        note = (
            ui.input(_("Note for the kitchen"))
            .props("outlined dense maxlength=300")
            .classes("w-full")
            .props('data-testid="line-note-input"')
        )
        with ui.row().classes("w-full items-center gap-2 flex-nowrap"):
            missing = ui.label().classes("text-sm text-rose-700 flex-1")
            ok = (
                ui.button(on_click=lambda: dialog.submit((list(chosen), (note.value or "").strip())))
                .props("no-caps unelevated color=positive")
                .classes("min-h-[56px] text-lg")
                .props('data-testid="modifier-ok"')
            )

        def paint() -> None:
            for option_id, button in buttons.items():
                is_selected = option_id in chosen
                button.props(
                    f"color={'teal-8' if is_selected else 'grey-2'} "
                    f"text-color={'white' if is_selected else 'grey-10'} "
                    f'aria-pressed="{"true" if is_selected else "false"}"'
                )
            problems = unsatisfied_groups(groups, chosen)
            missing.set_text(
                _("Choose: {groups}").format(groups=", ".join(group.display_name for group in problems))
                if problems
                else ""
            )
            base = open_price if open_price is not None else product.price.amount
            price = base + priced_with(product, groups, chosen) - product.price.amount
            ok.set_text(_("Add · {price}").format(price=screen.money(price)))
            ok.set_enabled(not problems)

        def choose(group: Any, option_id: int) -> None:
            chosen[:] = toggle_option(group, chosen, option_id)
            paint()

        paint()
    result = await run(dialog)
    return result if result is not None else None


# --- a line: details and void -------------------------------------------------------------


async def line_dialog(screen: RegisterScreen, line: LineView) -> None:
    _ = screen._
    if screen.view is None or not screen.view.is_open:
        return
    with dialog_card(screen.root, line.name, "line") as dialog:
        ui.label(f"{line.quantity} × {screen.money(line.unit_price)} = {screen.money(line.total)}").classes(
            "text-base tabular-nums"
        )
        if line.modifiers:
            ui.label(", ".join(line.modifiers)).classes("text-sm")
        if line.note:
            ui.label(_("Note: {note}").format(note=line.note)).classes("text-sm text-amber-800")
        ui.label(_("Sent to the kitchen") if line.is_sent else _("Not sent to the kitchen yet")).classes(
            "text-sm opacity-70"
        )
        if line.is_voided:
            ui.label(_("voided") + (f": {_(line.void_reason)}" if line.void_reason else "")).classes(
                "text-rose-700"
            )
        else:
            with ui.row().classes("w-full gap-2"):
                discount = (
                    ui.button(_("Discount"), icon="percent", on_click=lambda: dialog.submit("discount"))
                    .props("no-caps unelevated color=blue-grey-6")
                    .classes("flex-1 min-h-[56px]")
                    .props('data-testid="line-discount"')
                )
                discount.set_enabled(screen.actor.can(Permission.BILL_DISCOUNT))
                ui.button(_("Void"), icon="delete", on_click=lambda: dialog.submit("void")).props(
                    "no-caps unelevated color=negative"
                ).classes("flex-1 min-h-[56px]").props('data-testid="line-void"')
            for action in LINE_ACTIONS:
                if action.is_shown(screen, line):
                    ui.button(
                        _(action.label),
                        icon=action.icon,
                        on_click=lambda action=action: dialog.submit(action),
                    ).props("no-caps outline color=teal-8").classes("w-full min-h-[56px]").props(
                        f'data-testid="{action.testid}"'
                    )
    choice = await run(dialog)
    if choice == "void":
        await void_dialog(screen, line)
    elif choice == "discount":
        await discount_dialog(screen, line)
    elif isinstance(choice, RegisterAction):
        await choice.on_click(screen, line)


async def void_dialog(screen: RegisterScreen, line: LineView) -> None:
    """Take a line, or some of its quantity, off; once the kitchen has it the reason is
    required."""
    _ = screen._
    if screen.view is None:
        return
    version = screen.view.version
    state = {"quantity": line.quantity}
    title = (
        _("Void {name}").format(name=line.name)
        if line.quantity > 1
        else _("Void {quantity} × {name}").format(quantity=line.quantity, name=line.name)
    )
    with dialog_card(screen.root, title, "void") as dialog:
        if line.quantity > 1:
            with ui.row().classes("w-full items-center gap-2 flex-nowrap"):
                ui.label(_("How many?")).classes("text-base flex-1")
                minus = (
                    ui.button(icon="remove", on_click=lambda: change(-1))
                    .props("unelevated round color=grey-3 text-color=grey-10")
                    .classes("w-14 h-14")
                    .props('data-testid="void-quantity-minus"')
                )
                shown = (
                    ui.label()
                    .classes("w-20 text-center text-2xl font-bold tabular-nums")
                    .props('data-testid="void-quantity"')
                )
                plus = (
                    ui.button(icon="add", on_click=lambda: change(1))
                    .props("unelevated round color=grey-3 text-color=grey-10")
                    .classes("w-14 h-14")
                    .props('data-testid="void-quantity-plus"')
                )
        reason_state = {"value": ""}
        if line.is_sent:
            # The kitchen has it: one of the store's void reasons, nothing typed.
            ui.label(_("The kitchen has this line: say why it is voided.")).classes("text-sm")
            reason_buttons: list[ui.button] = []

            def choose(index: int, text: str) -> None:
                reason_state["value"] = text
                for position, button in enumerate(reason_buttons):
                    button.props(f"color={'negative' if position == index else 'grey-8'}")
                ok.enable()

            with ui.row().classes("w-full gap-2"):
                for index, text in enumerate(screen.store.void_reasons):
                    reason_buttons.append(
                        ui.button(_(text), on_click=lambda index=index, text=text: choose(index, text))
                        .props("no-caps outline color=grey-8")
                        .classes("min-h-[48px]")
                        .props(f'data-testid="void-reason-{index}"')
                    )
        else:
            reason = (
                ui.input(_("Reason"))
                .props("outlined maxlength=200")
                .classes("w-full")
                .props('data-testid="void-reason"')
            )
            reason.bind_value_to(reason_state, "value")
            with ui.row().classes("w-full gap-2"):
                for text in VOID_REASONS:
                    ui.button(_(text), on_click=lambda text=text: reason.set_value(_(text))).props(
                        "no-caps outline color=grey-8 dense"
                    ).classes("min-h-[40px]")
        ok = (
            ui.button(
                icon="delete",
                on_click=lambda: dialog.submit((reason_state["value"].strip(), state["quantity"])),
            )
            .props("no-caps unelevated color=negative")
            .classes("min-h-[56px] text-lg")
            .props('data-testid="void-ok"')
        )
        if line.is_sent:
            ok.disable()

        def paint() -> None:
            if line.quantity == 1:
                ok.set_text(_("Void"))
                return
            ok.set_text(
                _("Void {quantity} of {total}").format(quantity=state["quantity"], total=line.quantity)
            )
            shown.set_text(f"{state['quantity']}/{line.quantity}")
            minus.set_enabled(state["quantity"] > 1)
            plus.set_enabled(state["quantity"] < line.quantity)

        def change(step: int) -> None:
            state["quantity"] = min(line.quantity, max(1, state["quantity"] + step))
            paint()

        paint()
    answer = await run(dialog)
    if answer is None:
        return
    answer_reason, quantity = answer

    async def void(session: AsyncSession, bill_id: int, expected: int) -> object:
        return await orders.void_line(
            session,
            screen.actor,
            bill_id,
            expected,
            line.id,
            str(answer_reason),
            None if quantity == line.quantity else int(quantity),
        )

    await screen.act(void, version=version)


# --- splitting ----------------------------------------------------------------------------


async def split_dialog(screen: RegisterScreen) -> None:
    """Move chosen lines (or part of a line) to a new bill, or divide the bill evenly."""
    _ = screen._
    view = screen.view
    if view is None:
        return
    version = view.version
    lines = view.active_lines
    quantities = {line.id: 0 for line in lines}
    state: dict[str, Any] = {"mode": "lines", "parts": 2}
    with dialog_card(screen.root, _("Split the bill"), "split", 520) as dialog:
        mode_row = ui.row().classes("w-full gap-2 flex-nowrap")
        body = ui.column().classes("w-full gap-2")

        def paint() -> None:
            mode_row.clear()
            with mode_row:
                choice_button(
                    _("By items"),
                    lambda: set_mode("lines"),
                    is_selected=state["mode"] == "lines",
                    testid="split-mode-lines",
                ).classes("flex-1")
                choice_button(
                    _("Evenly"),
                    lambda: set_mode("even"),
                    is_selected=state["mode"] == "even",
                    testid="split-mode-even",
                ).classes("flex-1")
            body.clear()
            with body:
                if state["mode"] == "lines":
                    by_lines()
                else:
                    evenly()

        def by_lines() -> None:
            ui.label(_("Choose what moves to a new bill:")).classes("text-sm")
            moved_total = 0
            for line in lines:
                moved_total += line.total * quantities[line.id] // max(line.quantity, 1)
                with (
                    ui.row()
                    .classes("w-full items-center gap-2 flex-nowrap border-b border-slate-100 py-1")
                    .props(f'data-testid="split-line" data-line-id="{line.id}"')
                ):
                    with ui.column().classes("gap-0 flex-1 min-w-0"):
                        ui.label(line.name).classes("text-base truncate")
                        ui.label(f"{line.quantity} × {screen.money(line.unit_price)}").classes(
                            "text-xs opacity-70"
                        )
                    ui.button(icon="remove", on_click=lambda line=line: change(line, -1)).props(
                        "flat round color=grey-8"
                    ).props('data-testid="split-line-minus"')
                    ui.label(f"{quantities[line.id]}/{line.quantity}").classes(
                        "w-12 text-center text-lg font-bold"
                    ).props('data-testid="split-line-qty"')
                    ui.button(icon="add", on_click=lambda line=line: change(line, 1)).props(
                        "flat round color=teal-8"
                    ).props('data-testid="split-line-plus"')
            ok = (
                ui.button(
                    _("Move to a new bill"),
                    icon="call_split",
                    on_click=lambda: dialog.submit(("lines", dict(quantities))),
                )
                .props("no-caps unelevated color=positive")
                .classes("min-h-[56px] text-lg w-full")
                .props('data-testid="split-lines-ok"')
            )
            ok.set_enabled(any(quantities.values()))

        even_widgets: dict[str, Any] = {}

        def evenly() -> None:
            ui.label(_("Into how many equal parts?")).classes("text-sm")
            with ui.row().classes("w-full gap-2"):
                even_widgets["choices"] = {
                    parts: choice_button(
                        str(parts),
                        lambda parts=parts: set_parts(parts),
                        is_selected=state["parts"] == parts,
                        testid=f"split-even-{parts}",
                    ).classes("w-14")
                    for parts in EVEN_SPLIT_CHOICES
                }
            even_widgets["shares"] = (
                ui.label().classes("text-base tabular-nums").props('data-testid="split-even-shares"')
            )
            with ui.row().classes("w-full gap-2 flex-nowrap"):
                if view.bill.split_shares:
                    ui.button(_("Undo the split"), on_click=lambda: dialog.submit(("even", 1))).props(
                        "no-caps outline color=grey-8"
                    ).classes("min-h-[56px] flex-1")
                even_widgets["ok"] = (
                    ui.button(icon="call_split", on_click=lambda: dialog.submit(("even", state["parts"])))
                    .props("no-caps unelevated color=positive")
                    .classes("min-h-[56px] text-lg flex-1")
                    .props('data-testid="split-even-ok"')
                )
            show_parts()

        def show_parts() -> None:
            """Update the chosen count in place: rebuilding the buttons under a finger loses taps."""
            for parts, button in even_widgets["choices"].items():
                is_on = parts == state["parts"]
                button.props(
                    f'no-caps unelevated {selected_props(is_on)} aria-pressed="{str(is_on).lower()}"'
                )
            shares = even_shares(view.bill.total_amount, state["parts"])
            even_widgets["shares"].set_text(" + ".join(screen.money(share) for share in shares))
            even_widgets["ok"].set_text(_("Split into {parts}").format(parts=state["parts"]))

        def set_mode(mode: str) -> None:
            state["mode"] = mode
            paint()

        def set_parts(parts: int) -> None:
            state["parts"] = parts
            show_parts()

        def change(line: LineView, step: int) -> None:
            quantities[line.id] = min(line.quantity, max(0, quantities[line.id] + step))
            paint()

        paint()
    answer = await run(dialog)
    if answer is None:
        return
    mode, value = answer
    if mode == "lines":
        parts = split_parts(value)

        async def split(session: AsyncSession, bill_id: int, expected: int) -> object:
            return await orders.split_by_lines(session, screen.actor, bill_id, expected, parts)

        new_bill = await screen.act(split, version=version)
        if new_bill is not None:
            screen.notify(
                _("Bill {number} opened with the moved items; find it under Open bills.").format(
                    number=getattr(new_bill, "number", "")
                ),
                "positive",
            )
        return

    async def split_evenly(session: AsyncSession, bill_id: int, expected: int) -> object:
        return await orders.split_evenly(session, screen.actor, bill_id, expected, int(value))

    await screen.act(split_evenly, version=version)
