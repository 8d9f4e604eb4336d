"""Returns of dishes, their lines, and each store's return settings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kassa.core.database import Base, IdMixin, IdType, enum_type, utc_now


class ReturnStatus(StrEnum):
    PENDING = "pending"  # waits for a cashier's or manager's decision
    REJECTED = "rejected"
    APPROVED = "approved"  # the dishes are off the bill; see the refund and confirmation


class Confirmation(StrEnum):
    """The customer's answer to the return SMS."""

    NOT_ASKED = "not_asked"  # no phone, or nothing was paid
    AWAITING = "awaiting"
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"  # back in the manager's queue
    AUTO_CONFIRMED = "auto_confirmed"  # no reply in time; the store confirms by default
    ESCALATED = "escalated"  # no reply in time; the store wants a manager to decide
    RESOLVED = "resolved"  # a manager decided after a dispute or escalation


class RefundState(StrEnum):
    NONE = "none"  # an open bill: the lines simply came off
    HELD = "held"  # waits for the customer's confirmation
    IN_PROGRESS = "in_progress"  # paying out (provider, or a cashier at the drawer/terminal)
    DONE = "done"
    FAILED = "failed"  # a provider refused; a manager must act
    CANCELLED = "cancelled"  # a manager decided not to refund


class ConfirmationMode(StrEnum):
    BEFORE_REFUND = "before_refund"  # the refund runs when the customer confirms
    AFTER_REFUND = "after_refund"  # pay at once; the reply is only recorded


class TimeoutAction(StrEnum):
    AUTO_CONFIRM = "auto_confirm"
    ESCALATE = "escalate"


class ReturnSettings(Base):
    """A store's rules for returns; a store without a row uses the defaults."""

    __tablename__ = "return_settings"

    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"), primary_key=True)
    # [{"code": "quality", "names": {"zh_CN": "菜品质量", "en": "Quality"}}]
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # Returns worth more than this need a manager (their role, PIN or SMS code).
    manager_threshold_amount: Mapped[int] = mapped_column(BigInteger)
    confirmation_mode: Mapped[ConfirmationMode] = mapped_column(enum_type(ConfirmationMode))
    confirmation_timeout_minutes: Mapped[int]
    timeout_action: Mapped[TimeoutAction] = mapped_column(enum_type(TimeoutAction))
    # {"zh_CN": ["1", "是"], "en": ["1", "Y", "YES"]}
    confirm_words: Mapped[dict[str, Any]] = mapped_column(JSON)
    dispute_words: Mapped[dict[str, Any]] = mapped_column(JSON)
    # {"cash": {"zh_CN": "当场退还", "en": "now"}, ...}
    arrival_times: Mapped[dict[str, Any]] = mapped_column(JSON)


class ReturnRequest(IdMixin, Base):
    """Dishes a customer sent back, from request to refund and the customer's reply."""

    __tablename__ = "returns"
    __table_args__ = (
        Index("ix_returns_store_status", "store_id", "status"),
        Index("ix_returns_store_requested", "store_id", "requested_at"),
    )

    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"))
    bill_id: Mapped[int] = mapped_column(IdType, ForeignKey("bills.id"), index=True)
    status: Mapped[ReturnStatus] = mapped_column(enum_type(ReturnStatus), default=ReturnStatus.PENDING)
    reason_code: Mapped[str] = mapped_column(String(40))
    reason_text: Mapped[str] = mapped_column(String(500), default="")
    # The bill was paid (closed) when asked: the return is refunded, not just taken off.
    bill_was_paid: Mapped[bool] = mapped_column(Boolean)
    amount: Mapped[int] = mapped_column(BigInteger)  # what the returned dishes are worth
    currency: Mapped[str] = mapped_column(String(3))
    customer_phone: Mapped[str | None] = mapped_column(String(32))
    requested_by_staff_id: Mapped[int] = mapped_column(IdType, ForeignKey("staff_members.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utc_now)
    reviewed_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    reviewed_at: Mapped[datetime | None]
    review_comment: Mapped[str | None] = mapped_column(String(500))
    # How a return above the threshold was authorised: role, manager_pin or manager_sms_code.
    approval_method: Mapped[str | None] = mapped_column(String(20))
    # The manager who authorised a return above the limit on the spot (PIN or SMS code).
    manager_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    confirmation: Mapped[Confirmation] = mapped_column(
        enum_type(Confirmation), default=Confirmation.NOT_ASKED
    )
    confirmation_due_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    reply_code: Mapped[str | None] = mapped_column(String(8))
    refund_state: Mapped[RefundState] = mapped_column(enum_type(RefundState), default=RefundState.NONE)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    resolved_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    resolution_comment: Mapped[str | None] = mapped_column(String(500))
    slip_printed_at: Mapped[datetime | None]


class ReturnLine(IdMixin, Base):
    """How many of one bill line went back, what they were worth, and whether they were made."""

    __tablename__ = "return_lines"

    return_id: Mapped[int] = mapped_column(IdType, ForeignKey("returns.id"), index=True)
    bill_line_id: Mapped[int] = mapped_column(IdType, ForeignKey("bill_lines.id"), index=True)
    product_id: Mapped[int] = mapped_column(IdType, ForeignKey("catalog_products.id"))
    name: Mapped[str] = mapped_column(String(120))
    quantity: Mapped[int]
    amount: Mapped[int] = mapped_column(BigInteger)
    # Made already: the stock is not given back but recorded as waste.
    was_prepared: Mapped[bool] = mapped_column(Boolean)
