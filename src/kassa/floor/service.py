"""Areas and tables of a store's floor plan."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.errors import ValidationFailed
from kassa.core.scope import load_scoped
from kassa.floor.models import DiningTable, FloorArea


async def create_area(
    session: AsyncSession, actor: Actor, store_id: int, name: str, sort_order: int = 0
) -> FloorArea:
    actor.require(Permission.STORE_MANAGE)
    actor.require_store(store_id)
    area = FloorArea(store_id=store_id, name=name, sort_order=sort_order)
    session.add(area)
    await session.flush()
    audit.record(
        session, actor, "floor_area.create", "floor_area", area.id, store_id=store_id, after={"name": name}
    )
    return area


async def create_table(
    session: AsyncSession,
    actor: Actor,
    area_id: int,
    name: str,
    *,
    seats: int = 4,
    position_x: int = 0,
    position_y: int = 0,
    is_joinable: bool = True,
) -> DiningTable:
    """A table seats 1 to 50 and sits on the plan's 0-100 grid; joinable tables of one area
    can be pushed together for a larger party."""
    actor.require(Permission.STORE_MANAGE)
    area = await load_scoped(session, actor, FloorArea, area_id, field="area_id", what="area")
    if not 1 <= seats <= 50:
        raise ValidationFailed("a table seats 1 to 50", field="seats")
    if not (0 <= position_x <= 100 and 0 <= position_y <= 100):
        raise ValidationFailed("positions are 0 to 100", field="position_x")
    taken = await session.scalar(
        select(DiningTable.id).where(DiningTable.store_id == area.store_id, DiningTable.name == name)
    )
    if taken is not None:
        raise ValidationFailed(f"table {name!r} exists already", field="name")
    table = DiningTable(
        store_id=area.store_id,
        area_id=area.id,
        name=name,
        seats=seats,
        position_x=position_x,
        position_y=position_y,
        is_joinable=is_joinable,
    )
    session.add(table)
    await session.flush()
    audit.record(
        session, actor, "table.create", "dining_table", table.id, store_id=area.store_id, after={"name": name}
    )
    return table


async def list_floor(
    session: AsyncSession, actor: Actor, store_id: int
) -> Sequence[tuple[FloorArea, DiningTable]]:
    actor.require_store(store_id)
    query = (
        select(FloorArea, DiningTable)
        .join(DiningTable, DiningTable.area_id == FloorArea.id)
        .where(FloorArea.store_id == store_id, DiningTable.is_active)
        .order_by(FloorArea.sort_order, FloorArea.id, DiningTable.name)
    )
    return [(area, table) for area, table in (await session.execute(query)).all()]
