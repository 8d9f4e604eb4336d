"""Staff members and their login sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kassa.core.auth import Role
from kassa.core.database import Base, IdMixin, IdType, TimestampMixin, enum_type


class StaffMember(IdMixin, TimestampMixin, Base):
    """A person who works in the organization's stores.

    ``store_id`` binds them to one store; owners usually have none (every store).
    """

    __tablename__ = "staff_members"

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("stores.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(80))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    pin_hash: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_pin_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    # Permission names a manager gave or withheld on top of the role (withheld wins).
    granted_permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    withheld_permissions: Mapped[list[str]] = mapped_column(JSON, default=list)


class StaffSession(IdMixin, TimestampMixin, Base):
    """A login: on a register by PIN, or in the back office by e-mail and password."""

    __tablename__ = "staff_sessions"

    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(IdType, ForeignKey("staff_members.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("stores.id"))
    register_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("registers.id"))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class LoginThrottle(IdMixin, TimestampMixin, Base):
    """Failed back-office password logins of one subject: an e-mail address (``account``)
    or a client address (``address``).

    The counters change with atomic UPDATEs, so every process of an installation counts
    the same failures. ``lockouts`` makes each lockout twice as long as the one before; it
    is forgotten a day after the last failure (and, for an account, at a right password).
    """

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("scope", "subject"),)

    scope: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(254))
    failed_attempts: Mapped[int] = mapped_column(default=0)
    lockouts: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
