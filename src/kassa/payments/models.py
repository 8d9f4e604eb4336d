"""Payments taken on bills."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kassa.core.database import Base, IdMixin, IdType, enum_type, utc_now


class Tender(StrEnum):
    """How a payment is made. Member stored value and points plug in here (members issue)."""

    CASH = "cash"
    CARD = "card"  # an external card terminal; the cashier records its approval code
    WECHAT_PAY = "wechat_pay"
    ALIPAY = "alipay"
    STORED_VALUE = "stored_value"
    POINTS = "points"


class PaymentStatus(StrEnum):
    PENDING = "pending"  # waiting for the customer (QR not yet paid, password on the phone)
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    VOIDED = "voided"  # cancelled before the bill closed; the money went back


class Payment(IdMixin, Base):
    """A tender applied to a bill. ``amount`` is what counts towards the bill; for cash the
    customer may hand over more (``tendered``) and get ``change`` back."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("store_id", "idempotency_key"),
        # The drawer's expected cash and the X report sum a register's payments over a shift.
        Index("ix_payments_register_completed", "register_id", "completed_at"),
    )

    bill_id: Mapped[int] = mapped_column(IdType, ForeignKey("bills.id"), index=True)
    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"))
    register_id: Mapped[int] = mapped_column(IdType, ForeignKey("registers.id"))
    tender: Mapped[Tender] = mapped_column(enum_type(Tender))
    status: Mapped[PaymentStatus] = mapped_column(enum_type(PaymentStatus))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    tendered_amount: Mapped[int | None] = mapped_column(BigInteger)
    change_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    split_share_index: Mapped[int | None]
    approval_code: Mapped[str | None] = mapped_column(String(40))
    provider: Mapped[str | None] = mapped_column(String(30))
    out_trade_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    provider_reference: Mapped[str | None] = mapped_column(String(80))
    qr_code: Mapped[str | None] = mapped_column(String(500))
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    provider_response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by_staff_id: Mapped[int] = mapped_column(IdType, ForeignKey("staff_members.id"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    completed_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    voided_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))


class RefundStatus(StrEnum):
    # Waiting: for the provider (wallets), or for a cashier (cash from the drawer, card on
    # the terminal), or for the customer's confirmation when the store asks for it first.
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"  # never paid out (a disputed return that a manager turned down)


class Refund(IdMixin, Base):
    """Money given back on one payment, to the tender it was paid with.

    Creating a refund reserves its amount on the payment (``Payment.refunded_amount``) at
    once, in the same transaction, so no two refunds can together exceed what was paid.
    """

    __tablename__ = "refunds"
    __table_args__ = (Index("ix_refunds_register_completed", "register_id", "completed_at"),)

    payment_id: Mapped[int] = mapped_column(IdType, ForeignKey("payments.id"), index=True)
    bill_id: Mapped[int] = mapped_column(IdType, ForeignKey("bills.id"), index=True)
    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"))
    tender: Mapped[Tender] = mapped_column(enum_type(Tender))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[RefundStatus] = mapped_column(enum_type(RefundStatus), default=RefundStatus.PENDING)
    reason: Mapped[str] = mapped_column(String(300))
    # What asked for it, e.g. ("return", 42).
    source_type: Mapped[str] = mapped_column(String(30))
    source_id: Mapped[int] = mapped_column(IdType)
    # The drawer cash came out of (counted in that register's shift), set when paid out.
    register_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("registers.id"))
    out_refund_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    provider_reference: Mapped[str | None] = mapped_column(String(80))
    approval_code: Mapped[str | None] = mapped_column(String(40))
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    provider_response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A manager sent this refund to another tender than the payment's (``tender``), e.g.
    # all in cash while the card terminal is down: the payment's own tender and why.
    directed_from_tender: Mapped[Tender | None] = mapped_column(enum_type(Tender))
    direction_reason: Mapped[str | None] = mapped_column(String(300))
    # Not paid out before this: the customer's confirmation is awaited (store setting).
    is_held: Mapped[bool] = mapped_column(default=False)
    created_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    completed_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    completed_at: Mapped[datetime | None]


class ProviderKind(StrEnum):
    """Who takes a wallet tender's money in a store: the simulator (demo, training), or the
    real provider of that tender."""

    SIMULATOR = "simulator"
    WECHAT_PAY = "wechat_pay"
    ALIPAY = "alipay"


class PaymentProviderSettings(IdMixin, Base):
    """How one store takes one wallet tender (WeChat Pay or Alipay). No row: the tender is
    not set up there, and the store refuses it.

    ``settings`` holds what may be shown (merchant and app ids, certificate serial numbers,
    public keys, sandbox); ``encrypted_secrets`` the private keys and the APIv3 key as one
    JSON object encrypted with ``core.crypto`` (bound to this store and tender), whose names
    ``secret_names`` lists so screens can say "set" without decrypting. ``revision`` changes
    with every save: built providers are cached per store, tender and revision.
    """

    __tablename__ = "payment_provider_settings"
    __table_args__ = (UniqueConstraint("store_id", "tender"),)

    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"))
    tender: Mapped[Tender] = mapped_column(enum_type(Tender))
    provider: Mapped[ProviderKind] = mapped_column(enum_type(ProviderKind))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    encrypted_secrets: Mapped[str | None] = mapped_column(Text)
    secret_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    revision: Mapped[str] = mapped_column(String(32))
    updated_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class TopUpPayment(IdMixin, Base):
    """Money taken at a register to put on a member's stored-value card (储值): cash into
    the drawer of the register's open shift, a card with the terminal's approval code, or
    WeChat Pay / Alipay through the store's provider. The card is credited (by loyalty,
    through ``kassa.payments.top_ups``) only once the money is confirmed: at once for cash
    and card, when the provider confirms for a wallet. ``credited_at`` records that moment."""

    __tablename__ = "top_up_payments"
    __table_args__ = (
        UniqueConstraint("store_id", "idempotency_key"),
        # The X report sums a register's top-ups over a shift, the Z report a store's over a day.
        Index("ix_top_up_payments_register_completed", "register_id", "completed_at"),
        Index("ix_top_up_payments_store_completed", "store_id", "completed_at"),
    )

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"))
    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"))
    register_id: Mapped[int] = mapped_column(IdType, ForeignKey("registers.id"))
    # The shift whose drawer took the cash (cash needs one; other tenders note it if open).
    shift_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("shifts.id"))
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"), index=True)
    tender: Mapped[Tender] = mapped_column(enum_type(Tender))
    status: Mapped[PaymentStatus] = mapped_column(enum_type(PaymentStatus))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    approval_code: Mapped[str | None] = mapped_column(String(40))
    provider: Mapped[str | None] = mapped_column(String(30))
    out_trade_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    provider_reference: Mapped[str | None] = mapped_column(String(80))
    qr_code: Mapped[str | None] = mapped_column(String(500))
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    provider_response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    created_by_staff_id: Mapped[int] = mapped_column(IdType, ForeignKey("staff_members.id"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    completed_at: Mapped[datetime | None]
    credited_at: Mapped[datetime | None]
