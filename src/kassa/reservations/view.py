"""What the reservation screens show, as plain data: the day's timeline (which hours, where a
block sits), labels and colours of the statuses, and typed times and amounts. No NiceGUI
here, so it is tested without a browser."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from kassa.core.i18n import N_
from kassa.reservations.models import ReservationSettings, ReservationStatus
from kassa.reservations.service import ReservationView

STATUS_LABELS = {
    ReservationStatus.BOOKED: N_("Booked"),
    ReservationStatus.CONFIRMED: N_("Confirmed"),
    ReservationStatus.SEATED: N_("Seated"),
    ReservationStatus.COMPLETED: N_("Completed"),
    ReservationStatus.NO_SHOW: N_("No-show"),
    ReservationStatus.CANCELLED: N_("Cancelled"),
}
# Tailwind classes of a status: the timeline block and the badge.
STATUS_CLASSES = {
    ReservationStatus.BOOKED: "bg-amber-100 border-amber-500 text-amber-950",
    ReservationStatus.CONFIRMED: "bg-teal-100 border-teal-600 text-teal-950",
    ReservationStatus.SEATED: "bg-indigo-100 border-indigo-600 text-indigo-950",
    ReservationStatus.COMPLETED: "bg-slate-100 border-slate-400 text-slate-600",
    ReservationStatus.NO_SHOW: "bg-rose-50 border-rose-400 text-rose-800 line-through",
    ReservationStatus.CANCELLED: "bg-slate-50 border-slate-300 text-slate-500 line-through",
}
DURATION_CHOICES = (60, 90, 120, 150, 180, 240)
# The timeline: pixels per minute and per table row.
PX_PER_MINUTE = 2
ROW_PX = 52
TIME = re.compile(r"^\s*(\d{1,2})[:：.](\d{2})\s*$")


@dataclass(frozen=True)
class Window:
    """The hours a day's timeline spans: ``[start, end)`` as minutes after local midnight
    (``end`` may pass midnight for a late booking)."""

    start: int
    end: int

    @property
    def width_px(self) -> int:
        return (self.end - self.start) * PX_PER_MINUTE

    def hours(self) -> list[int]:
        """The full hours on the axis, as minutes after midnight."""
        return list(range(self.start, self.end, 60))

    def left_px(self, minute: int) -> int:
        return (min(max(minute, self.start), self.end) - self.start) * PX_PER_MINUTE


def minute_of_day(moment: datetime, day: date, timezone: str) -> int:
    """Minutes from the local midnight that starts ``day`` to ``moment``."""
    zone = ZoneInfo(timezone)
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    return int((moment.astimezone(zone) - midnight).total_seconds() // 60)


def day_window(
    rules: ReservationSettings, day: date, timezone: str, reservations: Sequence[ReservationView]
) -> Window:
    """The booking hours (to the end of a default-length booking at the last start), widened
    to every reservation of the day, in whole hours."""
    start = rules.opens_at_minute
    end = rules.last_start_minute + rules.default_duration_minutes
    for view in reservations:
        start = min(start, minute_of_day(view.reservation.starts_at, day, timezone))
        end = max(end, minute_of_day(view.reservation.ends_at, day, timezone))
    start = max(0, start // 60 * 60)
    end = min(48 * 60, -(-end // 60) * 60)
    return Window(start, max(end, start + 60))


def hour_label(minute: int) -> str:
    return f"{minute // 60 % 24:02d}:00"


def parse_time(text: str) -> int | None:
    """ "19:00" (or "7:30", "19.30") as minutes after midnight; None if it is no time."""
    match = TIME.match(text or "")
    if match is None:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23 or minutes > 59:
        return None
    return hours * 60 + minutes


def time_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def next_quarter(now: datetime, timezone: str) -> datetime:
    """The next quarter hour from ``now``, in the store's zone: a new booking's default."""
    local = now.astimezone(ZoneInfo(timezone)).replace(second=0, microsecond=0)
    return local + timedelta(minutes=15 - local.minute % 15)


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()
