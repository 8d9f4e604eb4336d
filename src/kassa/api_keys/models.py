"""API keys: how integrations (an online shop, an accounting export, a script) call the API."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kassa.core.database import Base, IdMixin, IdType, TimestampMixin


class ApiKey(IdMixin, TimestampMixin, Base):
    """A key an owner made for one integration: the permissions and stores it was given.

    The key itself (``kassa_...``) is shown once when it is made; only its SHA-256 is kept,
    and ``display_prefix`` (its first characters) tells keys apart in lists. Revoking
    refuses it from then on; the row stays for the audit trail.
    """

    __tablename__ = "api_keys"

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    display_prefix: Mapped[str] = mapped_column(String(20))
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    # Permission values (``catalog.manage``) and store ids, both sorted.
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    store_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
