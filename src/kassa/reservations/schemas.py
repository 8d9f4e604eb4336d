"""Reservations in the API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from kassa.core.schemas import (
    MINUTES_PER_DAY,
    MINUTES_PER_WEEK,
    Amount,
    Id,
    Line,
    LocalMoment,
    RequestModel,
    Text,
)
from kassa.reservations.models import ReservationSource, ReservationStatus

START_DESCRIPTION = "ISO 8601; a time without an offset is read in the store's time zone"


class ReservationIn(RequestModel):
    """A member (``member_id``), or a name and a phone; no ``table_ids`` picks the best fit."""

    party_size: int = Field(ge=1, le=100)
    starts_at: LocalMoment = Field(description=START_DESCRIPTION)
    duration_minutes: int | None = Field(default=None, ge=15, le=720, description="Default: the store's")
    member_id: Id | None = None
    customer_name: Line = Field(default="", max_length=100, description="Default: the member's name")
    customer_phone: Line | None = Field(
        default=None, max_length=40, description="Default: the member's phone"
    )
    table_ids: list[Id] = Field(default_factory=list, max_length=3)
    notes: Text = Field(default="", max_length=500)
    deposit_amount: Amount = Field(default=0, description="Minor units (fen), recorded only")
    is_sms_wanted: bool = Field(default=True, description="False: no confirmation or reminder SMS")


class ReservationChangeIn(RequestModel):
    """Only the fields sent change."""

    starts_at: LocalMoment | None = Field(default=None, description=START_DESCRIPTION)
    duration_minutes: int | None = Field(default=None, ge=15, le=720)
    party_size: int | None = Field(default=None, ge=1, le=100)
    table_ids: list[Id] | None = Field(default=None, max_length=3)
    notes: Text | None = Field(default=None, max_length=500)
    deposit_amount: Amount | None = None
    customer_name: Line | None = Field(default=None, max_length=100)
    customer_phone: Line | None = Field(default=None, max_length=40, description='"" removes the phone')
    is_sms_wanted: bool | None = None


class CancelIn(RequestModel):
    reason: Line = Field(default="", max_length=300)


class StatusChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: ReservationStatus | None
    to_status: ReservationStatus
    changed_at: datetime
    changed_by_staff_id: int | None
    changed_by: str
    note: str


class ReservationOut(BaseModel):
    id: int
    store_id: int
    status: ReservationStatus
    member_id: int | None
    customer_name: str
    customer_phone: str | None
    party_size: int
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    table_ids: list[int]
    table_names: list[str]
    notes: str
    deposit_amount: int
    currency: str
    is_sms_wanted: bool
    reply_code: str | None
    source: ReservationSource
    bill_id: int | None
    created_at: datetime
    history: list[StatusChangeOut] | None = Field(default=None, description="Only on a single reservation")


class SeatedOut(BaseModel):
    reservation: ReservationOut
    bill_id: int
    table_id: int


class TableOptionOut(BaseModel):
    table_ids: list[int]
    table_names: list[str]
    area_id: int
    area_name: str
    seats: int


class FreeSlotsOut(BaseModel):
    store_id: int
    day: date
    party_size: int
    duration_minutes: int
    slots: list[datetime] = Field(description="Start times in the store's time zone")


class ReservationSettingsIn(RequestModel):
    default_duration_minutes: int | None = Field(default=None, ge=15, le=720)
    hold_before_minutes: int | None = Field(default=None, ge=0, le=MINUTES_PER_DAY)
    reminder_lead_minutes: int | None = Field(default=None, ge=0, le=MINUTES_PER_WEEK)
    no_show_after_minutes: int | None = Field(default=None, ge=0, le=MINUTES_PER_DAY)
    slot_minutes: int | None = Field(default=None, ge=5, le=MINUTES_PER_DAY)
    opens_at_minute: int | None = Field(
        default=None, ge=0, le=MINUTES_PER_DAY - 1, description="Minutes after local midnight"
    )
    last_start_minute: int | None = Field(
        default=None, ge=0, le=MINUTES_PER_DAY - 1, description="Minutes after local midnight"
    )
    is_confirmation_sms_on: bool | None = None
    is_reminder_sms_on: bool | None = None
    is_auto_no_show_on: bool | None = None


class ReservationSettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    store_id: int
    default_duration_minutes: int
    hold_before_minutes: int
    reminder_lead_minutes: int
    no_show_after_minutes: int
    slot_minutes: int
    opens_at_minute: int
    last_start_minute: int
    is_confirmation_sms_on: bool
    is_reminder_sms_on: bool
    is_auto_no_show_on: bool
