"""What an actor may touch: rows loaded by an id that came from outside.

Every service that takes an id from a URL, a body or a query loads the row through
:func:`load_scoped` (or a capability's guard built on it): the row must belong to the
actor's organization and, where it belongs to a store, to a store the actor acts in.
Anything else is "not found", so an id of another organization reveals nothing, not even
that it exists.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, column, select, table, true
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor
from kassa.core.errors import NotFound

Row = TypeVar("Row")


def in_scope(actor: Actor, row: Any) -> bool:
    """Whether ``row`` (anything with ``organization_id`` and/or ``store_id``) is the
    actor's to touch."""
    organization_id = getattr(row, "organization_id", None)
    if organization_id is not None and organization_id != actor.organization_id:
        return False
    # A store row is scoped by its own id (its model names the attribute).
    store_id = getattr(row, getattr(type(row), "scope_store_attribute", "store_id"), None)
    return store_id is None or actor.may_act_in(store_id)


def store_filter(actor: Actor, store_column: Any) -> ColumnElement[bool]:
    """A WHERE condition that keeps rows of the stores the actor acts in."""
    if actor.is_system and actor.store_ids is None:
        return true()
    allowed = actor.allowed_store_ids
    if len(allowed) == 1:
        return store_column == next(iter(allowed))  # type: ignore[no-any-return]
    return store_column.in_(sorted(allowed))  # type: ignore[no-any-return]


async def load_scoped(
    session: AsyncSession,
    actor: Actor,
    model: type[Row],
    row_id: int,
    *,
    field: str,
    what: str | None = None,
    for_update: bool = False,
    populate_existing: bool = False,
) -> Row:
    """The row of ``model`` with ``row_id`` if the actor may touch it, else NotFound naming
    ``field``."""
    row = await session.get(model, row_id, with_for_update=for_update, populate_existing=populate_existing)
    if row is not None and in_scope(actor, row):
        return row
    if row is not None and await _of_own_organization(session, actor, row):
        # Staff of another store of the same organization: refused, as require_store does.
        actor.require_store(getattr(row, getattr(type(row), "scope_store_attribute", "store_id")))
    label = what or getattr(model, "__tablename__", model.__name__).rstrip("s").replace("_", " ")
    raise NotFound(f"no {label} {row_id}", field=field)


# Only the columns scoping needs; core names the table without importing the stores capability.
_stores = table("stores", column("id"), column("organization_id"))


async def _of_own_organization(session: AsyncSession, actor: Actor, row: Any) -> bool:
    organization_id = getattr(row, "organization_id", None)
    if organization_id is None:
        store_id = getattr(row, "store_id", None)
        if store_id is None:
            return False
        organization_id = await session.scalar(
            select(_stores.c.organization_id).where(_stores.c.id == store_id)
        )
    return bool(organization_id == actor.organization_id)
