"""Cash moves only through a drawer that is counted: with no open shift on the register
there is nothing to count it in, so cash is neither taken nor paid out (a store setting,
``cash_requires_open_shift``, on by default).

A small module on purpose: payments and refunds (below shifts) ask it before cash moves,
and it needs only the shift table.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.errors import Conflict
from kassa.shifts.models import Shift, ShiftStatus
from kassa.stores.models import Store


class ShiftRequired(Conflict):
    code = "shift_required"
    title = "Open a shift on this register first"


async def require_open_shift_for_cash(session: AsyncSession, store_id: int, register_id: int | None) -> None:
    """Refuse (409 ``shift_required``) cash on a register with no open shift, when the
    store asks for one."""
    store = await session.get(Store, store_id)
    if store is None or not store.cash_requires_open_shift:
        return
    if register_id is not None:
        shift_id = await session.scalar(
            select(Shift.id).where(Shift.register_id == register_id, Shift.status == ShiftStatus.OPEN)
        )
        if shift_id is not None:
            return
    raise ShiftRequired(
        "cash is taken and paid out only on a register with an open shift; open one first",
        field="register_id",
        extra={"register_id": register_id},
    )
