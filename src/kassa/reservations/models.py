"""Table reservations: the booking, the tables it holds, its status history, each store's
reservation settings, and the per-store row that bookings lock while they check and write."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kassa.core.database import Base, IdMixin, IdType, enum_type, utc_now


class ReservationStatus(StrEnum):
    BOOKED = "booked"  # made; the customer has not confirmed it yet
    CONFIRMED = "confirmed"  # the customer answered "1" (or staff confirmed it by phone)
    SEATED = "seated"  # the guests came: a bill is open on the (first) table
    COMPLETED = "completed"  # the guests left
    NO_SHOW = "no_show"  # nobody came
    CANCELLED = "cancelled"


# A reservation in these states still expects its guests (it holds its tables; they may
# be seated, confirmed, moved, marked no-show or cancelled).
EXPECTED_STATUSES = (ReservationStatus.BOOKED, ReservationStatus.CONFIRMED)


class ReservationSource(StrEnum):
    STAFF = "staff"  # at the register, in the back office, or from the phone assistant
    PORTAL = "portal"  # the member booked it themselves


class ReservationSettings(Base):
    """A store's reservation rules; a store without a row uses the defaults
    (``service.default_settings``)."""

    __tablename__ = "reservation_settings"

    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"), primary_key=True)
    default_duration_minutes: Mapped[int]
    # A table shows as reserved on the floor from this long before the booking.
    hold_before_minutes: Mapped[int]
    # The reminder SMS goes out this long before the booking.
    reminder_lead_minutes: Mapped[int]
    # Guests this late may be marked no-show (automatically, when switched on).
    no_show_after_minutes: Mapped[int]
    # Bookings the member portal offers: every ``slot_minutes`` from ``opens_at_minute``
    # to ``last_start_minute`` (minutes after local midnight).
    slot_minutes: Mapped[int]
    opens_at_minute: Mapped[int]
    last_start_minute: Mapped[int]
    is_confirmation_sms_on: Mapped[bool] = mapped_column(Boolean)
    is_reminder_sms_on: Mapped[bool] = mapped_column(Boolean)
    is_auto_no_show_on: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class ReservationLock(Base):
    """One row per store, held (``SELECT … FOR UPDATE``) by a booking or a move while it
    checks that its tables are free and writes them, so two bookings of one table never
    both succeed. SQLite serialises writers already (``BEGIN IMMEDIATE``)."""

    __tablename__ = "reservation_locks"

    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"), primary_key=True)


class Reservation(IdMixin, Base):
    """A table booked for a customer (a member, or a name and a phone) at a time.

    The booking holds ``[starts_at, ends_at)``: one ending at 19:00 and another starting at
    19:00 do not overlap. The customer's name and phone are copied at booking time.
    """

    __tablename__ = "reservations"
    __table_args__ = (
        Index("ix_reservations_store_starts", "store_id", "starts_at"),
        Index("ix_reservations_store_phone", "store_id", "customer_phone"),
    )

    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"))
    member_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("members.id"), index=True)
    customer_name: Mapped[str] = mapped_column(String(100))
    customer_phone: Mapped[str | None] = mapped_column(String(16))  # E.164
    party_size: Mapped[int]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    notes: Mapped[str] = mapped_column(String(500), default="")
    # A deposit the customer paid (recorded only; it is taken outside the bill).
    deposit_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[ReservationStatus] = mapped_column(
        enum_type(ReservationStatus), default=ReservationStatus.BOOKED
    )
    # The customer may not want texts about this booking at all.
    is_sms_wanted: Mapped[bool] = mapped_column(Boolean, default=True)
    # Quoted in a reply to the confirmation SMS ("1 4821") when several await an answer.
    reply_code: Mapped[str | None] = mapped_column(String(8))
    source: Mapped[ReservationSource] = mapped_column(enum_type(ReservationSource))
    # The bill opened when the guests were seated.
    bill_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("bills.id"))
    created_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


class ReservationTable(Base):
    """A table a reservation holds; a party at joined tables holds several (the first,
    ``position`` 0, gets the bill)."""

    __tablename__ = "reservation_tables"

    reservation_id: Mapped[int] = mapped_column(IdType, ForeignKey("reservations.id"), primary_key=True)
    table_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("dining_tables.id"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(default=0)


class ReservationStatusChange(IdMixin, Base):
    """One step of a reservation's life: from → to, when, and who or what did it. Rows are
    only ever added. The booking itself is the first row (from nothing to booked)."""

    __tablename__ = "reservation_status_changes"

    reservation_id: Mapped[int] = mapped_column(IdType, ForeignKey("reservations.id"), index=True)
    from_status: Mapped[ReservationStatus | None] = mapped_column(enum_type(ReservationStatus))
    to_status: Mapped[ReservationStatus] = mapped_column(enum_type(ReservationStatus))
    changed_at: Mapped[datetime] = mapped_column(default=utc_now)
    changed_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    # The staff member's name, or the part of the system ("customer reply", "no-show timer").
    changed_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(String(300), default="")
