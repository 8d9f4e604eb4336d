"""Members (customers who signed up) and their consent records.

Members belong to the organization, not to a store: one card works in every store.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kassa.core.database import Base, IdMixin, IdType, TimestampMixin, enum_type, utc_now


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNSPECIFIED = "unspecified"


class RegistrationSource(StrEnum):
    """Where a member signed up."""

    REGISTER = "register"  # at the counter (or in the back office) by staff
    PORTAL = "portal"  # the member portal, by the customer
    ONLINE_ORDER = "online_order"
    IMPORT = "import"


class ConsentKind(StrEnum):
    PRIVACY_POLICY = "privacy_policy"
    MARKETING_SMS = "marketing_sms"


class ConsentSource(StrEnum):
    """How a consent reached us."""

    REGISTER = "register"  # told to staff at the counter or in the back office
    PORTAL = "portal"
    ONLINE_ORDER = "online_order"
    SMS_REPLY = "sms_reply"  # e.g. "STOP" answered to a marketing SMS
    IMPORT = "import"


class Member(IdMixin, TimestampMixin, Base):
    """A customer with a member card, known by their phone number (one member per number
    in an organization).

    ``phone_last4`` exists for the counter's "last four digits" search, which needs an
    index; ``marketing_sms_opt_in`` mirrors the latest marketing consent record so a
    campaign can filter without reading the history.
    """

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("organization_id", "phone_e164"),
        UniqueConstraint("organization_id", "card_number"),
        # With created_at, the last-4 pick list comes off the index already in order
        # (otherwise SQLite walks the created_at index, testing every member's number).
        Index("ix_members_organization_id_phone_last4", "organization_id", "phone_last4", "created_at"),
        # The latest sign-ups (the back office's list) without sorting every member.
        Index("ix_members_organization_id_created_at", "organization_id", "created_at"),
    )

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"))
    phone_e164: Mapped[str] = mapped_column(String(16))
    phone_last4: Mapped[str] = mapped_column(String(4))
    card_number: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    birthday: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[Gender] = mapped_column(enum_type(Gender), default=Gender.UNSPECIFIED)
    address: Mapped[str | None] = mapped_column(String(300))
    notes: Mapped[str] = mapped_column(String(1000), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    marketing_sms_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_at_store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"))
    registered_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    registration_source: Mapped[RegistrationSource] = mapped_column(enum_type(RegistrationSource))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    erased_at: Mapped[datetime | None]


class MemberConsent(IdMixin, Base):
    """One consent given or withdrawn; rows are only ever added, never changed, so the
    history shows what the member agreed to and when."""

    __tablename__ = "member_consents"

    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"), index=True)
    kind: Mapped[ConsentKind] = mapped_column(enum_type(ConsentKind))
    is_granted: Mapped[bool] = mapped_column(Boolean)
    # The privacy policy version the member accepted; None for marketing consents.
    policy_version: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[ConsentSource] = mapped_column(enum_type(ConsentSource))
    recorded_at: Mapped[datetime] = mapped_column(default=utc_now)
    recorded_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
