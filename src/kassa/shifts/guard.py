"""Cash moves only through a drawer that is counted: with no open shift on the register
there is nothing to count it in, so cash is neither taken nor paid out (a store setting,
``cash_requires_open_shift``, on by default).

A small module on purpose: payments and refunds (below shifts) ask it before cash moves,
and it needs only the shift table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.errors import Conflict
from kassa.shifts.models import Shift, ShiftStatus
from kassa.stores.models import Store


class ShiftRequired(Conflict):
    code = "shift_required"
    title = "Open a shift on this register first"


async def require_open_shift_for_cash(
    session: AsyncSession, store_id: int, register_id: int | None, *, taken_at: datetime | None = None
) -> None:
    """Refuse (409 ``shift_required``) cash on a register with no open shift, when the
    store asks for one. ``taken_at``: cash going back out must have come in during the
    shift open now (an earlier shift was counted and closed with it)."""
    store = await session.get(Store, store_id)
    if store is None or not store.cash_requires_open_shift:
        return
    if register_id is not None:
        opened_at = await session.scalar(
            select(Shift.opened_at).where(Shift.register_id == register_id, Shift.status == ShiftStatus.OPEN)
        )
        if opened_at is not None and (taken_at is None or _naive(taken_at) >= _naive(opened_at)):
            return
        if opened_at is not None:
            raise ShiftRequired(
                "this cash was counted in a shift that is closed; refund it instead",
                field="register_id",
                extra={"register_id": register_id},
            )
    raise ShiftRequired(
        "cash is taken and paid out only on a register with an open shift; open one first",
        field="register_id",
        extra={"register_id": register_id},
    )


def _naive(moment: datetime) -> datetime:
    """SQLite gives back naive UTC times, PostgreSQL aware ones: compare them alike."""
    return moment.replace(tzinfo=None)
