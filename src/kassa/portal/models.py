"""The member portal's tables: login sessions, passwords and feedback.

A member's password lives here rather than on ``members``: most members never set one
(the SMS code is the usual way in), and the portal owns its lockout counter.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kassa.core.database import Base, IdMixin, IdType, TimestampMixin, utc_now


class PortalSession(IdMixin, TimestampMixin, Base):
    """A member logged in to the portal; the token is stored as its SHA-256 only."""

    __tablename__ = "portal_sessions"

    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"), index=True)
    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"))
    # The store whose portal the member logged in to (its name, region and time zone).
    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"))
    # How: sms_code, password or registration.
    method: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class MemberCredential(Base):
    """A password a member set in the portal (argon2id), with the wrong-password counter."""

    __tablename__ = "member_credentials"

    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class MemberFeedback(IdMixin, TimestampMixin, Base):
    """A member's rating (1 to 5) and comment, about a visit to a store or one of their bills."""

    __tablename__ = "member_feedback"
    __table_args__ = (
        CheckConstraint("rating >= 1 AND rating <= 5", name="rating_range"),
        # The back office lists a store's feedback newest first.
        Index("ix_member_feedback_store_id_created_at", "store_id", "created_at"),
    )

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"))
    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"))
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"), index=True)
    bill_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("bills.id"))
    rating: Mapped[int]
    # Cleared when the member erases their account (it may name them); the rating stays.
    text: Mapped[str] = mapped_column(String(1000), default="")
