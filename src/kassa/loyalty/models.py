"""Loyalty: an organization's settings and tiers, each member's account (points, stored value,
tier), the two append-only ledgers behind the balances, coupon definitions and coupons.

The balances on ``LoyaltyAccount`` are a denormalised sum of their ledger: every change
appends an entry and moves the balance in the same transaction (a conditional UPDATE that
never lets it below zero), and the entry keeps the balance after it, so a statement needs no
running sum. Ledger rows are never changed or deleted.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kassa.core.database import Base, IdMixin, IdType, enum_type, utc_now


class TierBasis(StrEnum):
    """What qualifies a member for a tier, over the last 12 months."""

    SPEND = "spend"  # paid on closed bills, minus refunds
    POINTS = "points"  # points earned, minus points taken back by returns


class LoyaltySettings(Base):
    """An organization's loyalty rules; an organization without a row uses the defaults."""

    __tablename__ = "loyalty_settings"

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    tier_basis: Mapped[TierBasis] = mapped_column(enum_type(TierBasis), default=TierBasis.SPEND)
    # Earning: this many points per currency unit (¥1) of eligible net spend.
    points_per_currency_unit: Mapped[int] = mapped_column(default=1)
    excluded_category_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # [{"product_id": 12, "extra_points": 20}]: extra points per unit sold, on top.
    bonus_products: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Redeeming: ``redeem_points`` points are worth ``redeem_value_amount`` (100 points = ¥1).
    redeem_points: Mapped[int] = mapped_column(default=100)
    redeem_value_amount: Mapped[int] = mapped_column(BigInteger, default=100)
    # Earned points expire this many months after the day they were earned; None: never.
    points_expiry_months: Mapped[int | None]
    # [{"minimum_amount": 50000, "bonus_amount": 5000}]: top up ¥500, get ¥50 on top.
    top_up_bonus_rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The amounts the top-up dialog offers (minor units); None: the defaults.
    top_up_presets: Mapped[list[int] | None] = mapped_column(JSON)
    # The most one top-up may put on a card; None: the default (¥5,000).
    maximum_top_up_amount: Mapped[int | None] = mapped_column(BigInteger)
    birthday_coupon_definition_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("loyalty_coupon_definitions.id")
    )
    birthday_days_before: Mapped[int] = mapped_column(default=7)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class Tier(IdMixin, Base):
    """A membership level: the higher the rank, the better. A member holds the highest active
    tier whose threshold (in the organization's basis) they reach."""

    __tablename__ = "loyalty_tiers"

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    # {"zh_CN": "金卡会员", "en": "Gold"}; ``name`` is the default.
    name_translations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rank: Mapped[int]
    spend_threshold_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    points_threshold: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_basis_points: Mapped[int] = mapped_column(default=0)
    # 10000 earns the base points, 15000 one and a half times as many.
    points_multiplier_basis_points: Mapped[int] = mapped_column(default=10_000)
    # Tiers taken out of the settings stay for the history that names them.
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class LoyaltyAccount(IdMixin, Base):
    """A member's balances and tier: one row per member, made on first use."""

    __tablename__ = "loyalty_accounts"
    __table_args__ = (
        CheckConstraint("points_balance >= 0", name="points_balance_not_negative"),
        CheckConstraint("principal_amount >= 0", name="principal_amount_not_negative"),
        CheckConstraint("bonus_amount >= 0", name="bonus_amount_not_negative"),
        Index("ix_loyalty_accounts_organization_id_tier_id", "organization_id", "tier_id"),
    )

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"))
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    points_balance: Mapped[int] = mapped_column(BigInteger, default=0)
    # Stored value: what the member paid in (principal) and what was given on top (bonus).
    principal_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    bonus_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    tier_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("loyalty_tiers.id"))
    tier_changed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class TierChange(IdMixin, Base):
    """A member moved up or down (``None``: no tier)."""

    __tablename__ = "loyalty_tier_changes"

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"))
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"), index=True)
    from_tier_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("loyalty_tiers.id"))
    to_tier_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("loyalty_tiers.id"))
    basis: Mapped[TierBasis] = mapped_column(enum_type(TierBasis))
    # The 12-month spend (minor units) or points that decided it.
    qualifying_value: Mapped[int] = mapped_column(BigInteger)
    cause: Mapped[str] = mapped_column(String(60))
    changed_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utc_now)


class PointsEntryKind(StrEnum):
    EARN = "earn"
    REDEEM = "redeem"
    REFUND = "refund"  # a redemption given back (a voided payment, a return)
    REVERSE = "reverse"  # earned points taken back by a return
    EXPIRE = "expire"
    ADJUST = "adjust"


class PointsEntry(IdMixin, Base):
    """One change of a member's points; ``points`` is signed (earned +, redeemed -)."""

    __tablename__ = "loyalty_points_entries"
    __table_args__ = (
        Index("ix_loyalty_points_entries_member_id_id", "member_id", "id"),
        # The daily expiry finds the earnings that fall due.
        Index("ix_loyalty_points_entries_organization_id_expires_on", "organization_id", "expires_on"),
    )

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"))
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"))
    kind: Mapped[PointsEntryKind] = mapped_column(enum_type(PointsEntryKind))
    points: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    # What it is about, e.g. "bill:12", "return:3".
    reference: Mapped[str] = mapped_column(String(100))
    # One entry per business event: "earn:bill:12" can exist once.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    bill_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("bills.id"), index=True)
    # Earn: the bill's net amount the points were counted on; reverse: the amount returned.
    basis_amount: Mapped[int | None] = mapped_column(BigInteger)
    expires_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")
    store_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("stores.id"))
    staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class StoredValueEntryKind(StrEnum):
    TOP_UP = "top_up"  # money paid in at a register: principal
    BONUS = "bonus"  # given on top of a top-up: bonus
    CHARGE = "charge"  # a payment from the card: principal first, bonus last
    REFUND = "refund"  # a charge given back: bonus part first, then principal
    ADJUST = "adjust"


class StoredValueEntry(IdMixin, Base):
    """One change of a member's stored value, its principal and bonus parts signed."""

    __tablename__ = "loyalty_stored_value_entries"
    __table_args__ = (Index("ix_loyalty_stored_value_entries_member_id_id", "member_id", "id"),)

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"))
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"))
    kind: Mapped[StoredValueEntryKind] = mapped_column(enum_type(StoredValueEntryKind))
    principal_amount: Mapped[int] = mapped_column(BigInteger)
    bonus_amount: Mapped[int] = mapped_column(BigInteger)
    principal_after: Mapped[int] = mapped_column(BigInteger)
    bonus_after: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    # How a top-up was paid ("cash", "card", "wechat_pay", ...).
    tender: Mapped[str | None] = mapped_column(String(30))
    # A refund names the charge it gives back.
    charge_entry_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("loyalty_stored_value_entries.id"), index=True
    )
    note: Mapped[str] = mapped_column(String(200), default="")
    store_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("stores.id"))
    staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class DiscountKind(StrEnum):
    AMOUNT = "amount"  # a fixed amount off
    PERCENT = "percent"  # basis points off the eligible items


class CouponDefinition(IdMixin, Base):
    """What a coupon gives and when it may be used. Valid either for ``valid_days`` days from
    the day it is issued, or between fixed dates."""

    __tablename__ = "loyalty_coupon_definitions"

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    name_translations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    currency: Mapped[str] = mapped_column(String(3))
    discount_kind: Mapped[DiscountKind] = mapped_column(enum_type(DiscountKind))
    discount_amount: Mapped[int | None] = mapped_column(BigInteger)
    discount_basis_points: Mapped[int | None]
    minimum_spend_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    # Products the discount applies to; empty: the whole bill.
    product_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    valid_days: Mapped[int | None]
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class CouponStatus(StrEnum):
    ISSUED = "issued"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    VOID = "void"


class CouponSource(StrEnum):
    STAFF = "staff"
    CAMPAIGN = "campaign"
    BIRTHDAY = "birthday"


class Coupon(IdMixin, Base):
    """A coupon given to a member. Its terms are copied from the definition when issued, so a
    later change of the definition never changes a coupon in someone's hands."""

    __tablename__ = "loyalty_coupons"
    __table_args__ = (
        Index("ix_loyalty_coupons_member_id_status", "member_id", "status"),
        Index(
            "ix_loyalty_coupons_organization_id_status_valid_until",
            "organization_id",
            "status",
            "valid_until",
        ),
    )

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"))
    definition_id: Mapped[int] = mapped_column(IdType, ForeignKey("loyalty_coupon_definitions.id"))
    member_id: Mapped[int] = mapped_column(IdType, ForeignKey("members.id"))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[CouponStatus] = mapped_column(enum_type(CouponStatus), default=CouponStatus.ISSUED)
    source: Mapped[CouponSource] = mapped_column(enum_type(CouponSource))
    # Once per business event, e.g. "birthday:42:2027": one birthday coupon a year.
    issue_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    name_translations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    currency: Mapped[str] = mapped_column(String(3))
    discount_kind: Mapped[DiscountKind] = mapped_column(enum_type(DiscountKind))
    discount_amount: Mapped[int | None] = mapped_column(BigInteger)
    discount_basis_points: Mapped[int | None]
    minimum_spend_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    product_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(default=utc_now)
    issued_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    redeemed_at: Mapped[datetime | None]
    redeemed_bill_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("bills.id"))
    redeemed_discount_amount: Mapped[int | None] = mapped_column(BigInteger)
    redeemed_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
