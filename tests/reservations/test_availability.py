"""The availability rules as plain functions: what fits, what overlaps, what is offered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kassa.reservations.availability import (
    MAX_JOINED_TABLES,
    Hold,
    TableSpot,
    check_choice,
    free_spots,
    has_option,
    options_for,
    overlaps,
)

SEVEN = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # 19:00 in Shanghai


def _spot(table_id: int, seats: int, area: int = 1, *, is_joinable: bool = True) -> TableSpot:
    return TableSpot(
        id=table_id,
        name=f"T{table_id}",
        area_id=area,
        area_name=f"Area {area}",
        seats=seats,
        is_joinable=is_joinable,
        sort_key=(area, area, f"T{table_id:02d}"),
    )


def test_a_booking_ending_when_another_starts_does_not_overlap_it() -> None:
    hour = timedelta(hours=1)
    assert not overlaps(SEVEN - hour, SEVEN, SEVEN, SEVEN + hour)
    assert not overlaps(SEVEN, SEVEN + hour, SEVEN - hour, SEVEN)
    assert overlaps(SEVEN - hour, SEVEN + timedelta(minutes=1), SEVEN, SEVEN + hour)
    assert overlaps(SEVEN, SEVEN + hour, SEVEN + timedelta(minutes=30), SEVEN + timedelta(minutes=45))


def test_free_tables_leave_out_the_held_and_the_occupied() -> None:
    tables = [_spot(1, 4), _spot(2, 4), _spot(3, 4)]
    holds = [
        Hold(1, 10, SEVEN - timedelta(hours=2), SEVEN),  # ends as ours starts: free
        Hold(2, 11, SEVEN + timedelta(minutes=80), SEVEN + timedelta(hours=3)),  # starts before ours ends
    ]
    free = free_spots(tables, holds, SEVEN, SEVEN + timedelta(minutes=90), occupied={3})
    assert [table.id for table in free] == [1]


def test_single_tables_that_fit_come_first_then_joined_sets_by_spare_seats() -> None:
    tables = [_spot(1, 2), _spot(2, 2), _spot(3, 4), _spot(4, 6), _spot(5, 2, area=2)]
    options = options_for(tables, 4)
    assert [option.table_ids for option in options] == [(3,), (1, 2), (4,)]
    assert [option.seats for option in options] == [4, 4, 6]
    assert options[1].label == "T1+T2"


def test_joined_sets_stay_in_one_area_and_skip_tables_that_cannot_be_joined() -> None:
    tables = [_spot(1, 2), _spot(2, 2, area=2), _spot(3, 2, is_joinable=False), _spot(4, 2)]
    assert [option.table_ids for option in options_for(tables, 4)] == [(1, 4)]
    assert options_for(tables, 5) == []


def test_a_joined_set_never_holds_a_table_it_does_not_need() -> None:
    tables = [_spot(1, 2), _spot(2, 2), _spot(3, 6)]
    # 2+6 and 2+2+6 seat 7 too, but 6+2 is the smallest; 2+2+6 wastes a table
    assert [option.table_ids for option in options_for(tables, 7)] == [(1, 3), (2, 3)]


def test_a_choice_must_seat_the_party_in_one_area_of_joinable_tables() -> None:
    assert check_choice([_spot(1, 4)], 4) is None
    assert check_choice([_spot(1, 4)], 5) == "T1 seat 4, not 5"
    assert check_choice([_spot(1, 2), _spot(2, 2, area=2)], 4) == "joined tables must stand in one area"
    assert check_choice([_spot(1, 2), _spot(2, 4, is_joinable=False)], 4) == (
        "T2 cannot be joined with other tables"
    )
    assert check_choice([], 2) == "choose at least one table"


tables_strategy = st.lists(
    st.tuples(st.integers(1, 8), st.integers(1, 3), st.booleans()), min_size=0, max_size=9
).map(
    lambda rows: [
        _spot(index + 1, seats, area, is_joinable=joinable)
        for index, (seats, area, joinable) in enumerate(rows)
    ]
)


@given(tables=tables_strategy, party_size=st.integers(1, 20))
def test_every_option_seats_the_party_and_is_a_valid_minimal_choice(
    tables: list[TableSpot], party_size: int
) -> None:
    options = options_for(tables, party_size)
    by_id = {table.id: table for table in tables}
    for option in options:
        chosen = [by_id[table_id] for table_id in option.table_ids]
        assert check_choice(chosen, party_size) is None
        assert len(chosen) <= MAX_JOINED_TABLES
        if len(chosen) > 1:  # no table of the set is spare
            assert option.seats - min(table.seats for table in chosen) < party_size
    spare = [option.seats - party_size for option in options]
    assert spare == sorted(spare)
    assert has_option(tables, party_size) == bool(options)
