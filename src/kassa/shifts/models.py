"""Shifts on a register (the cash drawer from opening float to the count at close) and the
cash put into or taken out of the drawer in between."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from kassa.core.database import Base, IdMixin, IdType, enum_type, utc_now


class ShiftStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CashMovementKind(StrEnum):
    CASH_IN = "cash_in"  # change brought from the bank, a float top-up
    CASH_OUT = "cash_out"  # a paid-out to a supplier, a bank drop


class Shift(IdMixin, Base):
    """One cashier session of a register's drawer.

    At most one shift per register is open (a partial unique index backs the service's
    check). Closing stores the figures of that moment (expected, counted, difference), so a
    closed shift's report never changes afterwards. Denominations are stored as
    ``{"<value in minor units>": count}``.
    """

    __tablename__ = "shifts"
    __table_args__ = (
        Index("ix_shifts_store_id_business_date", "store_id", "business_date"),
        Index(
            "uq_shifts_register_id_open",
            "register_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"))
    register_id: Mapped[int] = mapped_column(IdType, ForeignKey("registers.id"))
    business_date: Mapped[date] = mapped_column(Date)  # the store's business day at opening
    status: Mapped[ShiftStatus] = mapped_column(enum_type(ShiftStatus), default=ShiftStatus.OPEN)
    currency: Mapped[str] = mapped_column(String(3))
    opening_float_amount: Mapped[int] = mapped_column(BigInteger)
    opening_denominations: Mapped[dict[str, int] | None] = mapped_column(JSON)
    opened_at: Mapped[datetime] = mapped_column(default=utc_now)
    opened_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    note: Mapped[str] = mapped_column(String(300), default="")
    closed_at: Mapped[datetime | None]
    closed_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    # Figures at close:
    cash_sales_amount: Mapped[int | None] = mapped_column(BigInteger)
    cash_refunds_amount: Mapped[int | None] = mapped_column(BigInteger)
    cash_in_amount: Mapped[int | None] = mapped_column(BigInteger)
    cash_out_amount: Mapped[int | None] = mapped_column(BigInteger)
    # Cash taken for members' stored-value top-ups (None on shifts closed before top-ups counted).
    cash_top_ups_amount: Mapped[int | None] = mapped_column(BigInteger)
    expected_cash_amount: Mapped[int | None] = mapped_column(BigInteger)
    counted_cash_amount: Mapped[int | None] = mapped_column(BigInteger)
    counted_denominations: Mapped[dict[str, int] | None] = mapped_column(JSON)
    difference_amount: Mapped[int | None] = mapped_column(BigInteger)  # counted - expected: + over, - short


class CashMovement(IdMixin, Base):
    """Cash put into (``cash_in``) or taken out of (``cash_out``) a shift's drawer, with why.
    ``amount`` is positive; the kind gives the direction."""

    __tablename__ = "cash_movements"

    shift_id: Mapped[int] = mapped_column(IdType, ForeignKey("shifts.id"), index=True)
    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"))
    register_id: Mapped[int] = mapped_column(IdType, ForeignKey("registers.id"))
    kind: Mapped[CashMovementKind] = mapped_column(enum_type(CashMovementKind))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(200))
    created_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
