"""Each store's reservation rules: the default length, when a table shows reserved, when
the reminder goes out, when guests count as no-show, the portal's booking hours, and which
messages are sent."""

from __future__ import annotations

from dataclasses import dataclass, fields

from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.database import utc_now
from kassa.core.errors import ValidationFailed
from kassa.reservations.models import ReservationSettings
from kassa.stores.service import get_store

MIN_DURATION_MINUTES = 15
MAX_DURATION_MINUTES = 12 * 60


def default_settings(store_id: int) -> ReservationSettings:
    return ReservationSettings(
        store_id=store_id,
        default_duration_minutes=90,
        hold_before_minutes=30,
        reminder_lead_minutes=120,
        no_show_after_minutes=30,
        slot_minutes=15,
        opens_at_minute=11 * 60,
        last_start_minute=21 * 60,
        is_confirmation_sms_on=True,
        is_reminder_sms_on=True,
        is_auto_no_show_on=False,
        updated_at=utc_now(),
    )


async def settings_of(session: AsyncSession, store_id: int) -> ReservationSettings:
    row = await session.get(ReservationSettings, store_id)
    return row if row is not None else default_settings(store_id)


async def _check_store(session: AsyncSession, actor: Actor, store_id: int) -> None:
    await get_store(session, actor, store_id)


async def reservation_settings(session: AsyncSession, actor: Actor, store_id: int) -> ReservationSettings:
    """A store's reservation rules, for its staff."""
    await _check_store(session, actor, store_id)
    return await settings_of(session, store_id)


@dataclass(frozen=True)
class SettingsChange:
    """What to change in a store's reservation settings (None: keep)."""

    default_duration_minutes: int | None = None
    hold_before_minutes: int | None = None
    reminder_lead_minutes: int | None = None
    no_show_after_minutes: int | None = None
    slot_minutes: int | None = None
    opens_at_minute: int | None = None
    last_start_minute: int | None = None
    is_confirmation_sms_on: bool | None = None
    is_reminder_sms_on: bool | None = None
    is_auto_no_show_on: bool | None = None


SETTING_RANGES = {
    "default_duration_minutes": (MIN_DURATION_MINUTES, MAX_DURATION_MINUTES),
    "hold_before_minutes": (0, 240),
    "reminder_lead_minutes": (15, 48 * 60),
    "no_show_after_minutes": (5, 240),
    "slot_minutes": (5, 120),
    "opens_at_minute": (0, 24 * 60 - 1),
    "last_start_minute": (0, 24 * 60 - 1),
}


async def update_settings(
    session: AsyncSession, actor: Actor, store_id: int, change: SettingsChange
) -> ReservationSettings:
    """Change a store's reservation rules. Reminders and no-show checks already scheduled
    keep their time; whether they still act is decided by the settings when they fall due."""
    actor.require(Permission.SETTINGS_MANAGE)
    await _check_store(session, actor, store_id)
    row = await session.get(ReservationSettings, store_id)
    if row is None:
        row = default_settings(store_id)
        session.add(row)
    before = {field.name: getattr(row, field.name) for field in fields(change)}
    for field in fields(change):
        value = getattr(change, field.name)
        if value is None:
            continue
        if field.name in SETTING_RANGES:
            low, high = SETTING_RANGES[field.name]
            if not low <= value <= high:
                raise ValidationFailed(f"{field.name} must be {low} to {high}", field=field.name)
        setattr(row, field.name, value)
    if row.last_start_minute < row.opens_at_minute:
        raise ValidationFailed("the last booking starts after the first", field="last_start_minute")
    row.updated_at = utc_now()
    await session.flush()
    after = {field.name: getattr(row, field.name) for field in fields(change)}
    audit.record(
        session,
        actor,
        "reservation.settings",
        "store",
        store_id,
        store_id=store_id,
        before=before,
        after=after,
    )
    return row
