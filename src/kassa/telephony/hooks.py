"""Where capabilities built on the phone assistant plug into its popup, so telephony never
imports them: the reservations capability sets the "Reserve table" handler when its UI
module is imported. With no handler set, the popup has no "Reserve table" button.

The handler opens the reservation form for the caller in ``host`` (an element of the
register page that outlives the popup) and returns the reservation's id once one is made,
or None when the form was closed without one. The popup then records the call's outcome
(``telephony.actions.record_reservation``)::

    from kassa.telephony.hooks import Caller, set_reserve_table_handler

    async def reserve_table(actor: Actor, caller: Caller, host: ui.element) -> int | None:
        ...  # open the form with caller.name / caller.phone_e164 / caller.member_id filled in

    set_reserve_table_handler(reserve_table)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nicegui import ui

    from kassa.core.auth import Actor


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the popup knows them."""

    call_id: int
    store_id: int
    register_id: int
    number: str  # as the phone sent it
    phone_e164: str | None  # None: no valid number (withheld, garbled)
    member_id: int | None
    name: str | None  # the member's name


ReserveTableHandler = Callable[["Actor", Caller, "ui.element"], Awaitable[int | str | None]]

_reserve_table_handler: ReserveTableHandler | None = None


def set_reserve_table_handler(handler: ReserveTableHandler | None) -> None:
    """Install (or, with None, remove) what "Reserve table" does."""
    global _reserve_table_handler  # one handler per process, set once on import
    _reserve_table_handler = handler


def reserve_table_handler() -> ReserveTableHandler | None:
    return _reserve_table_handler
