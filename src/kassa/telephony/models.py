"""Paired phones (assistants), their pairing codes, and the call log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kassa.core.database import Base, IdMixin, IdType, TimestampMixin, enum_type, utc_now


class CallOutcome(StrEnum):
    """What was done about a call (at the register, or later from the call log)."""

    IGNORED = "ignored"
    CUSTOMER_ADDED = "customer_added"  # an unknown caller signed up as a member
    CUSTOMER_SELECTED = "customer_selected"  # put on the bill the register had open
    BILL_OPENED = "bill_opened"  # no bill was open: a new takeaway bill for the caller
    NEW_ORDER = "new_order"  # the open bill parked, a new one opened for the caller
    ORDER_REPEATED = "order_repeated"  # a new bill with the lines of their last one
    RESERVATION_MADE = "reservation_made"
    CALLED_BACK = "called_back"  # a missed call that staff returned


class PhoneAssistant(IdMixin, TimestampMixin, Base):
    """A phone paired with one register: the calls it reports pop up there.

    It authenticates with a random token of its own; only the token's SHA-256 is kept.
    Unpairing revokes the token (the row stays for the call log).
    """

    __tablename__ = "phone_assistants"

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"))
    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"), index=True)
    register_id: Mapped[int] = mapped_column(IdType, ForeignKey("registers.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    paired_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    last_call_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))


class PhonePairingCode(IdMixin, TimestampMixin, Base):
    """A short code a register shows so a phone can pair with it; good once, for minutes.

    Stored as its SHA-256 like every other secret (a short code gains little from it; the
    API throttles guesses instead).
    """

    __tablename__ = "phone_pairing_codes"

    register_id: Mapped[int] = mapped_column(IdType, ForeignKey("registers.id"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    assistant_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("phone_assistants.id"))


class PhoneCall(IdMixin, Base):
    """One incoming call as the paired phone reported it, and what was done about it.

    ``number`` is what the phone sent; ``phone_e164`` its normalised form (None when it is
    no valid number: withheld, or garbled). A call without an outcome that is older than a
    couple of minutes is *missed* (worked out when read, never stored).
    """

    __tablename__ = "phone_calls"
    __table_args__ = (
        # A repeated notification (same key from the same phone) is the same call.
        UniqueConstraint("assistant_id", "idempotency_key"),
        Index("ix_phone_calls_store_id_received_at", "store_id", "received_at"),
        Index("ix_phone_calls_register_id_received_at", "register_id", "received_at"),
    )

    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"))
    register_id: Mapped[int] = mapped_column(IdType, ForeignKey("registers.id"))
    assistant_id: Mapped[int] = mapped_column(IdType, ForeignKey("phone_assistants.id"))
    received_at: Mapped[datetime] = mapped_column(default=utc_now)
    number: Mapped[str] = mapped_column(String(60))
    phone_e164: Mapped[str | None] = mapped_column(String(16))
    member_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("members.id"), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[CallOutcome | None] = mapped_column(enum_type(CallOutcome))
    handled_at: Mapped[datetime | None]
    handled_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    # The bill the caller was put on, and the bill parked to make room for it.
    bill_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("bills.id"))
    parked_bill_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("bills.id"))
    # More about the outcome: lines a repeated order left out, the reservation made.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
