"""Which tables a party can have for a while: plain functions over the floor and the holds
already booked, so the rules are tested without a database and the day's slots are worked
out from one read.

- A booking holds ``[start, end)``: one ending at 19:00 and another starting at 19:00 do
  not overlap.
- A party fits a table with at least as many seats, or a set of joinable tables of one
  area whose seats add up (at most ``MAX_JOINED_TABLES``, and none of them spare: a set
  that still fits without one of its tables is not offered).
- Options come best first: the fewest empty seats, then the fewest tables.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations

MAX_JOINED_TABLES = 3


@dataclass(frozen=True)
class TableSpot:
    """A table as availability sees it."""

    id: int
    name: str
    area_id: int
    area_name: str
    seats: int
    is_joinable: bool
    sort_key: tuple[int, int, str] = (0, 0, "")  # area order, area id, table name


@dataclass(frozen=True)
class Hold:
    """A table held by a reservation for ``[starts_at, ends_at)``."""

    table_id: int
    reservation_id: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class TableOption:
    """A table, or joined tables of one area, for a party."""

    table_ids: tuple[int, ...]
    table_names: tuple[str, ...]
    area_id: int
    area_name: str
    seats: int

    @property
    def label(self) -> str:
        return "+".join(self.table_names)


def overlaps(start: datetime, end: datetime, other_start: datetime, other_end: datetime) -> bool:
    """Half-open intervals: touching ends do not overlap."""
    return start < other_end and other_start < end


def held_table_ids(holds: Iterable[Hold], start: datetime, end: datetime) -> set[int]:
    return {hold.table_id for hold in holds if overlaps(start, end, hold.starts_at, hold.ends_at)}


def free_spots(
    tables: Iterable[TableSpot],
    holds: Iterable[Hold],
    start: datetime,
    end: datetime,
    occupied: Collection[int],
) -> list[TableSpot]:
    """The tables neither held for any moment of ``[start, end)`` nor in ``occupied``."""
    taken = held_table_ids(holds, start, end) | set(occupied)
    return [table for table in tables if table.id not in taken]


def _option(tables: Sequence[TableSpot]) -> TableOption:
    ordered = sorted(tables, key=lambda table: table.sort_key)
    return TableOption(
        table_ids=tuple(table.id for table in ordered),
        table_names=tuple(table.name for table in ordered),
        area_id=ordered[0].area_id,
        area_name=ordered[0].area_name,
        seats=sum(table.seats for table in ordered),
    )


def _joined_sets(free: Sequence[TableSpot], party_size: int) -> Iterator[tuple[TableSpot, ...]]:
    by_area: dict[int, list[TableSpot]] = {}
    for table in free:
        if table.is_joinable:
            by_area.setdefault(table.area_id, []).append(table)
    for tables in by_area.values():
        largest = sorted((table.seats for table in tables), reverse=True)
        for size in range(2, min(MAX_JOINED_TABLES, len(tables)) + 1):
            if sum(largest[:size]) < party_size:
                continue  # even the largest tables of this area are too small together
            for group in combinations(tables, size):
                seats = sum(table.seats for table in group)
                if seats >= party_size and seats - min(table.seats for table in group) < party_size:
                    yield group


def options_for(free: Sequence[TableSpot], party_size: int, limit: int | None = None) -> list[TableOption]:
    """Every single table and minimal joined set that seats ``party_size``, best first."""
    found = [_option([table]) for table in free if table.seats >= party_size]
    found += [_option(group) for group in _joined_sets(free, party_size)]
    found.sort(key=lambda option: (option.seats - party_size, len(option.table_ids), option.label))
    return found[:limit] if limit is not None else found


def has_option(free: Sequence[TableSpot], party_size: int) -> bool:
    """Whether ``options_for`` would offer anything (without listing every set)."""
    if any(table.seats >= party_size for table in free):
        return True
    return next(_joined_sets(free, party_size), None) is not None


def check_choice(tables: Sequence[TableSpot], party_size: int) -> str | None:
    """Why these tables cannot take the party together (None: they can)."""
    if not tables:
        return "choose at least one table"
    if len(tables) > 1:
        if len({table.area_id for table in tables}) > 1:
            return "joined tables must stand in one area"
        if not all(table.is_joinable for table in tables):
            names = ", ".join(table.name for table in tables if not table.is_joinable)
            return f"{names} cannot be joined with other tables"
        if len(tables) > MAX_JOINED_TABLES:
            return f"at most {MAX_JOINED_TABLES} tables can be joined"
    seats = sum(table.seats for table in tables)
    if seats < party_size:
        return f"{'+'.join(table.name for table in tables)} seat {seats}, not {party_size}"
    return None
