"""Buttons that capabilities built on orders add to the register screen (returns adds its
"Return" action), so that orders never imports them: they register here when imported."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from kassa.orders.ui.screen import RegisterScreen
    from kassa.orders.ui.view import LineView


def _always(screen: RegisterScreen, line: LineView | None) -> bool:
    return True


@dataclass(frozen=True)
class RegisterAction:
    label: str  # marked with N_() where it is defined; translated when shown
    icon: str
    testid: str
    on_click: Callable[[RegisterScreen, LineView | None], Awaitable[None]]
    is_shown: Callable[[RegisterScreen, LineView | None], bool] = _always


# In the dialog of a line of an open bill (the line is passed).
LINE_ACTIONS: list[RegisterAction] = []
# Under a paid bill (no line).
PAID_BILL_ACTIONS: list[RegisterAction] = []
# Beside the member on an open bill (loyalty: coupons, top-up).
MEMBER_ACTIONS: list[RegisterAction] = []

# Short facts about the member on a bill (tier, points, balance, usual order), each loader
# given (session, organization id, member id) and returning lines to show under the name.
MemberFactsLoader = Callable[["AsyncSession", int, int], Awaitable[list[str]]]
MEMBER_FACT_LOADERS: list[MemberFactsLoader] = []
