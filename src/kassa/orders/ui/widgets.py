"""Touch pieces the register screens share: the view switch, a numeric keypad, a PIN pad,
a QR code, choice buttons and the dialog frame."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import qrcode
import qrcode.image.svg
from nicegui import ui

from kassa.core.i18n import N_
from kassa.web.layout import gettext

# (path, label, icon, test id); capabilities above orders add their views when imported.
REGISTER_VIEWS: list[tuple[str, str, str, str]] = [
    ("/register", N_("Register"), "point_of_sale", "view-register"),
    ("/register/floor", N_("Floor"), "table_restaurant", "view-floor"),
    ("/register/queue", N_("Orders"), "receipt_long", "view-queue"),
]
KEYPAD_KEYS = ("7", "8", "9", "4", "5", "6", "1", "2", "3", "00", "0", ".")


def selected_props(is_selected: bool) -> str:
    """Quasar colours of a choice button, chosen or not."""
    return "color=teal-8 text-color=white" if is_selected else "color=grey-2 text-color=grey-10"


def view_switch(current: str) -> None:
    """Register, floor and order queue (and the views others add): one tap apart. On a
    narrow phone the strip scrolls sideways rather than the page."""
    _ = gettext()
    with ui.row().classes("gap-1 flex-nowrap min-w-0 max-w-full overflow-x-auto"):
        for path, label, icon, testid in REGISTER_VIEWS:
            is_current = path == current
            ui.button(_(label), icon=icon, on_click=lambda path=path: ui.navigate.to(path)).props(
                f"no-caps unelevated {'color=teal-8' if is_current else 'color=grey-3 text-color=grey-9'}"
            ).classes("min-h-[48px] px-3 max-sm:px-2 shrink-0").props(f'data-testid="{testid}"')


def keypad(on_key: Callable[[str], Any], *, testid_prefix: str = "key", decimal: bool = True) -> None:
    """A 4x4 keypad: digits, 00, the decimal point, back and clear."""
    with ui.grid(columns=3).classes("w-full gap-2"):
        for key in KEYPAD_KEYS:
            if key == "." and not decimal:
                ui.element("div")
                continue
            ui.button(key, on_click=lambda key=key: on_key(key)).props(
                "unelevated color=grey-2 text-color=grey-10"
            ).classes("h-14 text-2xl").props(f'data-testid="{testid_prefix}-{"dot" if key == "." else key}"')
        ui.button(icon="backspace", on_click=lambda: on_key("back")).props(
            "unelevated color=grey-4 text-color=grey-10"
        ).classes("h-14").props(f'data-testid="{testid_prefix}-back"')
        ui.button("C", on_click=lambda: on_key("clear")).props(
            "unelevated color=grey-4 text-color=grey-10"
        ).classes("h-14 text-xl").props(f'data-testid="{testid_prefix}-clear"')


def pin_pad(on_digit: Callable[[str], Any], on_clear: Callable[[], Any], on_ok: Callable[[], Any]) -> None:
    with ui.grid(columns=3).classes("w-full gap-2"):
        for digit in "123456789":
            ui.button(digit, on_click=lambda digit=digit: on_digit(digit)).classes("h-14 text-2xl").props(
                f'data-testid="approver-pin-{digit}"'
            )
        ui.button(icon="backspace", on_click=on_clear).classes("h-14").props("color=grey-7").props(
            'data-testid="approver-pin-clear"'
        )
        ui.button("0", on_click=lambda: on_digit("0")).classes("h-14 text-2xl").props(
            'data-testid="approver-pin-0"'
        )
        ui.button(icon="check", on_click=on_ok).classes("h-14").props("color=positive").props(
            'data-testid="approver-pin-ok"'
        )


def qr_svg(content: str) -> str:
    """An SVG QR code of ``content`` (the provider's payment link) that fills its box."""
    image = qrcode.make(content, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    svg = str(image.to_string(encoding="unicode"))
    return re.sub(r'width="[^"]*" height="[^"]*"', 'width="100%" height="100%"', svg, count=1)


@contextmanager
def dialog_card(host: ui.element, title: str, testid: str, width: int = 460) -> Iterator[ui.dialog]:
    """A dialog ``width`` pixels wide (at most the screen) with a title and a close button,
    made inside ``host``: an element that outlives the bill panel, so a redraw does not
    take the open dialog with it."""
    with host, ui.dialog() as dialog, ui.card().classes("items-stretch gap-3 p-4") as card:
        # Inline, so Quasar's own dialog widths do not win over it on a phone.
        card.style(f"width: min({width}px, 96vw); max-width: 96vw")
        dialog.props(f'data-testid="{testid}-dialog"')
        ui.element("div").props(f'data-testid="{testid}"').classes("hidden")
        with ui.row().classes("w-full items-center flex-nowrap"):
            ui.label(title).classes("text-xl font-bold truncate")
            ui.space()
            ui.button(icon="close", on_click=lambda: dialog.submit(None)).props(
                "flat round color=grey-8"
            ).props(f'data-testid="{testid}-close"')
        yield dialog


async def run(dialog: ui.dialog) -> Any:
    """Open the dialog, wait for its answer (None when dismissed), then remove it."""
    try:
        return await dialog
    finally:
        if not dialog.is_deleted:
            dialog.delete()


def choice_button(label: str, on_click: Any, *, is_selected: bool, testid: str) -> ui.button:
    return (
        ui.button(label, on_click=on_click)
        .props("no-caps unelevated " + selected_props(is_selected))
        .classes("min-h-[48px]")
        .props(f'data-testid="{testid}" aria-pressed="{"true" if is_selected else "false"}"')
    )
