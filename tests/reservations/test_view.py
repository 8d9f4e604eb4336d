"""What the reservation screens compute without a browser: the timeline's hours and
positions, typed times, the default time of a new booking."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any, cast

from kassa.reservations.service import ReservationView, local_moment
from kassa.reservations.settings import default_settings
from kassa.reservations.view import PX_PER_MINUTE, day_window, minute_of_day, next_quarter, parse_time

SHANGHAI = "Asia/Shanghai"
DAY = date(2026, 12, 1)


def _view(start: str, end: str) -> ReservationView:
    def at(clock: str) -> datetime:
        hours, minutes = (int(part) for part in clock.split(":"))
        return local_moment(SHANGHAI, DAY, hours * 60 + minutes)

    reservation = SimpleNamespace(starts_at=at(start), ends_at=at(end))
    return ReservationView(cast(Any, reservation), ())


def test_the_timeline_spans_the_booking_hours_in_whole_hours() -> None:
    rules = default_settings(1)  # bookings 11:00 to 21:00 for 90 minutes
    window = day_window(rules, DAY, SHANGHAI, [])
    assert (window.start, window.end) == (11 * 60, 23 * 60)  # 22:30 rounded up
    assert window.hours()[:2] == [660, 720]
    assert window.width_px == 12 * 60 * PX_PER_MINUTE
    assert window.left_px(11 * 60 + 30) == 30 * PX_PER_MINUTE
    assert window.left_px(0) == 0  # clamped to the window


def test_the_timeline_widens_to_a_late_or_early_booking() -> None:
    rules = default_settings(1)
    window = day_window(rules, DAY, SHANGHAI, [_view("09:15", "10:00"), _view("23:00", "23:59")])
    assert (window.start, window.end) == (9 * 60, 24 * 60)


def test_minutes_are_counted_from_the_stores_midnight() -> None:
    assert minute_of_day(datetime(2026, 12, 1, 11, 0, tzinfo=UTC), DAY, SHANGHAI) == 19 * 60
    assert minute_of_day(datetime(2026, 12, 1, 16, 30, tzinfo=UTC), DAY, SHANGHAI) == 24 * 60 + 30


def test_typed_times() -> None:
    assert parse_time("19:00") == 19 * 60
    assert parse_time(" 7:30 ") == 7 * 60 + 30
    assert parse_time("19：30") == 19 * 60 + 30  # a Chinese keyboard's colon
    assert parse_time("24:00") is None
    assert parse_time("7pm") is None


def test_a_new_booking_starts_at_the_next_quarter_hour() -> None:
    assert next_quarter(datetime(2026, 12, 1, 10, 7, 30, tzinfo=UTC), SHANGHAI).strftime("%H:%M") == "18:15"
    assert next_quarter(datetime(2026, 12, 1, 10, 15, tzinfo=UTC), SHANGHAI).strftime("%H:%M") == "18:30"
