"""Bills (orders), their lines, and the daily bill numbers."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kassa.core.database import Base, IdMixin, IdType, enum_type, utc_now


class OrderType(StrEnum):
    DINE_IN = "dine_in"
    TAKEAWAY = "takeaway"
    DELIVERY = "delivery"
    ONLINE = "online"


class BillStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # paid in full; only a return changes it now
    MERGED = "merged"  # its lines moved into another bill
    CANCELLED = "cancelled"  # closed with nothing sold (all lines voided, nothing paid)


class LineStatus(StrEnum):
    ACTIVE = "active"
    VOIDED = "voided"


class BillCounter(Base):
    """The last bill number of a store's business day (numbers restart every day)."""

    __tablename__ = "bill_counters"

    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class Bill(IdMixin, Base):
    """What a table, a takeaway customer or a delivery owes.

    ``version`` goes up with every change; an edit names the version it saw, so two
    registers changing one bill get a conflict instead of a lost change. The amounts are
    derived from the lines and payments and kept here for lists and reports.
    """

    __tablename__ = "bills"
    __table_args__ = (
        UniqueConstraint("store_id", "business_date", "number"),
        Index("ix_bills_store_status", "store_id", "status"),
    )

    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"))
    register_id: Mapped[int] = mapped_column(IdType, ForeignKey("registers.id"))
    opened_by_staff_id: Mapped[int] = mapped_column(IdType, ForeignKey("staff_members.id"))
    business_date: Mapped[date] = mapped_column(Date)
    number: Mapped[int]
    order_type: Mapped[OrderType] = mapped_column(enum_type(OrderType))
    status: Mapped[BillStatus] = mapped_column(enum_type(BillStatus), default=BillStatus.OPEN)
    version: Mapped[int] = mapped_column(default=1)
    currency: Mapped[str] = mapped_column(String(3))
    table_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("dining_tables.id"), index=True)
    guest_count: Mapped[int | None]
    pickup_code: Mapped[str | None] = mapped_column(String(12))
    delivery_address: Mapped[str | None] = mapped_column(String(300))
    delivery_phone: Mapped[str | None] = mapped_column(String(40))
    # The customer's member account, attached at the register (or by the phone assistant).
    member_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("members.id"), index=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    is_urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    is_parked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bill discount: a percentage (basis points) or a fixed amount, with who and why.
    discount_basis_points: Mapped[int | None]
    discount_fixed_amount: Mapped[int | None] = mapped_column(BigInteger)
    discount_reason: Mapped[str | None] = mapped_column(String(200))
    discount_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    # The member's tier discount (basis points), set when a member is attached.
    member_discount_basis_points: Mapped[int | None]
    member_discount_label: Mapped[str | None] = mapped_column(String(60))
    # Derived, kept in step by the service on every change:
    subtotal_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    member_discount_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    total_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    rounding_amount: Mapped[int] = mapped_column(BigInteger, default=0)  # cash rounding, e.g. 抹零
    paid_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    # Even split: the share amounts (largest remainder), paid one by one.
    split_shares: Mapped[list[int] | None] = mapped_column(JSON)
    merged_into_bill_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("bills.id"))
    split_from_bill_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("bills.id"))
    receipt_token: Mapped[str] = mapped_column(String(43), unique=True)
    opened_at: Mapped[datetime] = mapped_column(default=utc_now)
    closed_at: Mapped[datetime | None]
    closed_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))


class BillLine(IdMixin, Base):
    """One item on a bill. Prices are copied from the catalog when the line is added, so a
    later price change never alters a bill. Voided lines stay, marked, for the Z report."""

    __tablename__ = "bill_lines"

    bill_id: Mapped[int] = mapped_column(IdType, ForeignKey("bills.id"), index=True)
    product_id: Mapped[int] = mapped_column(IdType, ForeignKey("catalog_products.id"))
    name: Mapped[str] = mapped_column(String(120))
    name_translations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sku: Mapped[str] = mapped_column(String(40))
    category_id: Mapped[int] = mapped_column(IdType)
    kitchen_station: Mapped[str | None] = mapped_column(String(40))
    quantity: Mapped[int]
    unit_price_amount: Mapped[int] = mapped_column(BigInteger)
    # [{"group_name", "name", "option_id", "price_delta_amount"}]
    modifiers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    stock_product_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(String(300), default="")
    vat_rate_code: Mapped[str] = mapped_column(String(20))
    vat_rate_basis_points: Mapped[int]
    discount_basis_points: Mapped[int | None]
    discount_fixed_amount: Mapped[int | None] = mapped_column(BigInteger)
    discount_reason: Mapped[str | None] = mapped_column(String(200))
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    total_amount: Mapped[int] = mapped_column(BigInteger)  # unit price x quantity - discount
    status: Mapped[LineStatus] = mapped_column(enum_type(LineStatus), default=LineStatus.ACTIVE)
    added_by_staff_id: Mapped[int] = mapped_column(IdType, ForeignKey("staff_members.id"))
    added_at: Mapped[datetime] = mapped_column(default=utc_now)
    sent_to_kitchen_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    voided_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    void_reason: Mapped[str | None] = mapped_column(String(200))


class KitchenTicketRecord(IdMixin, Base):
    """A ticket sent to one kitchen station: which lines, when."""

    __tablename__ = "kitchen_tickets"

    bill_id: Mapped[int] = mapped_column(IdType, ForeignKey("bills.id"), index=True)
    station: Mapped[str] = mapped_column(String(40))
    line_ids: Mapped[list[int]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    created_by_staff_id: Mapped[int] = mapped_column(IdType, ForeignKey("staff_members.id"))
