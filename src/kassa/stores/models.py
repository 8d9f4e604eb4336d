"""An owner's organization, its stores, their registers and VAT rates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from kassa.core.database import Base, IdMixin, IdType, TimestampMixin

DEFAULT_VOID_REASONS = (
    "Customer changed their mind",
    "Wrong item",
    "Kitchen could not make it",
)


class Organization(IdMixin, TimestampMixin, Base):
    """One owner's business: stores, staff, catalog and members are shared inside it."""

    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(120))


class Store(IdMixin, TimestampMixin, Base):
    __tablename__ = "stores"
    # core.scope: a store is the actor's to touch when the actor acts in it.
    scope_store_attribute = "id"

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64))
    # Region for phone numbers typed without a country prefix (ISO 3166 alpha-2, e.g. CN).
    phone_region: Mapped[str] = mapped_column(String(2))
    locale: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The business day runs from this local hour to the same hour next day (bars close late).
    business_day_start_hour: Mapped[int] = mapped_column(default=4)
    # Whether a product whose stock count is at zero may still be sold (a manager's switch).
    allow_negative_stock: Mapped[bool] = mapped_column(Boolean, default=False)
    # Staff discounts above this (in basis points of the amount) need a manager's PIN.
    discount_limit_basis_points: Mapped[int] = mapped_column(default=2000)
    # Printer destinations per kitchen station, e.g. {"bar": "tcp://10.0.0.5:9100"}.
    kitchen_printers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The reasons staff pick from when they void a line the kitchen already has.
    void_reasons: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(DEFAULT_VOID_REASONS))
    # Cash is taken or paid out only on a register with an open shift (its drawer counts it).
    cash_requires_open_shift: Mapped[bool] = mapped_column(Boolean, default=True)
    # Closing a shift: the count is made without seeing the expected cash (blind count).
    is_drawer_count_blind: Mapped[bool] = mapped_column(Boolean, default=False)


class VatRate(IdMixin, Base):
    """A VAT rate of a store; basis points keep the rate exact (600 = 6.00 %)."""

    __tablename__ = "vat_rates"
    __table_args__ = (UniqueConstraint("store_id", "code"),)

    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(60))
    rate_basis_points: Mapped[int]
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class Register(IdMixin, TimestampMixin, Base):
    """A till: a tablet or PC at the counter where staff log in with their PIN."""

    __tablename__ = "registers"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Where this register's receipts go: "tcp://host:port" or a file in var/printers/.
    receipt_printer: Mapped[str | None] = mapped_column(String(300))
    # Closing a sale queues its receipt in the same transaction, so a crash after the sale
    # cannot lose it (off: staff tap "Print receipt" when the customer wants one).
    auto_print_receipt: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class RegisterDevice(IdMixin, TimestampMixin, Base):
    """A tablet or PC set up as one register by an owner or manager.

    It holds a random device token (only its SHA-256 is kept); the register's PIN pad (its
    staff picker and PIN logins) answers only to that token. Revoking refuses the token from
    then on; the row stays for the record.
    """

    __tablename__ = "register_devices"

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"), index=True)
    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"), index=True)
    register_id: Mapped[int] = mapped_column(IdType, ForeignKey("registers.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    last_seen_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
