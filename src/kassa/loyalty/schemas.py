"""The loyalty API's bodies and answers. Amounts are integer minor units (fen) of
``currency``; rates are basis points (10000 = 100 %)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from kassa.core.schemas import (
    MAX_POINTS,
    Amount,
    Day,
    Id,
    Line,
    Points,
    PositiveAmount,
    RequestModel,
    Translations,
)
from kassa.loyalty.models import (
    CouponSource,
    CouponStatus,
    DiscountKind,
    PointsEntryKind,
    StoredValueEntryKind,
    TierBasis,
)
from kassa.loyalty.rules import MAX_PRESETS, MAXIMUM_TOP_UP_LIMIT

TRANSLATIONS_HELP = 'Per language, e.g. {"zh_CN": "金卡", "en": "Gold"}'


class BonusProductIn(RequestModel):
    product_id: Id
    extra_points: int = Field(ge=1, le=MAX_POINTS, description="Extra points per unit sold")


class TopUpBonusRuleIn(RequestModel):
    minimum_amount: PositiveAmount = Field(description="A top-up of at least this much ...")
    bonus_amount: PositiveAmount = Field(description="... gets this much bonus on top")


class LoyaltySettingsIn(RequestModel):
    tier_basis: TierBasis = Field(description="Tiers by 12-month spend or by 12-month points earned")
    points_per_currency_unit: int = Field(ge=0, le=1000, description="Points per ¥1 of eligible spend")
    excluded_category_ids: list[Id] = Field(default_factory=list, description="Categories that earn nothing")
    bonus_products: list[BonusProductIn] = Field(default_factory=list)
    redeem_points: int = Field(ge=1, le=MAX_POINTS, description="This many points ...")
    redeem_value_amount: PositiveAmount = Field(description="... are worth this much (100 points = 100 fen)")
    points_expiry_months: int | None = Field(default=None, ge=1, le=120, description="None: never")
    top_up_bonus_rules: list[TopUpBonusRuleIn] = Field(default_factory=list, max_length=20)
    birthday_coupon_definition_id: Id | None = Field(default=None, description="None: no birthday coupons")
    birthday_days_before: int = Field(default=7, ge=0, le=60)
    top_up_presets: list[Annotated[int, Field(ge=1, le=MAXIMUM_TOP_UP_LIMIT)]] | None = Field(
        default=None,
        max_length=MAX_PRESETS,
        description="Amounts the top-up dialog offers; none: the defaults",
    )
    maximum_top_up_amount: int | None = Field(
        default=None, ge=1, le=MAXIMUM_TOP_UP_LIMIT, description="The most one top-up may be; none: ¥5,000"
    )


class LoyaltySettingsOut(LoyaltySettingsIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    currency: str
    bonus_products: list[BonusProductIn]
    top_up_bonus_rules: list[TopUpBonusRuleIn]


class TierIn(RequestModel):
    id: Id | None = Field(default=None, description="An existing tier to change; none: a new one")
    name: Line = Field(min_length=1, max_length=60)
    name_translations: Translations = Field(default_factory=dict, description=TRANSLATIONS_HELP)
    rank: int = Field(ge=0, le=1000, description="Higher is better")
    spend_threshold_amount: Amount = Field(default=0, description="12-month spend to reach it")
    points_threshold: Points = Field(default=0, description="12-month points to reach it")
    discount_basis_points: int = Field(default=0, ge=0, le=10_000)
    points_multiplier_basis_points: int = Field(default=10_000, ge=0, le=100_000)


class TierOut(TierIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: int


class CouponDefinitionIn(RequestModel):
    name: Line = Field(min_length=1, max_length=60)
    name_translations: Translations = Field(default_factory=dict, description=TRANSLATIONS_HELP)
    discount_kind: DiscountKind
    discount_amount: PositiveAmount | None = Field(default=None, description="Amount off (amount coupons)")
    discount_basis_points: int | None = Field(default=None, ge=1, le=10_000, description="Percent coupons")
    minimum_spend_amount: Amount = Field(default=0, description="The bill's subtotal must reach it")
    product_ids: list[Id] = Field(default_factory=list, description="Valid for these products; empty: all")
    valid_days: int | None = Field(default=None, ge=1, le=3660, description="Days from issue (incl.)")
    valid_from: Day | None = Field(default=None, description="Or fixed dates: the first day ...")
    valid_until: Day | None = Field(default=None, description="... and the last")
    is_active: bool = True


class CouponDefinitionOut(CouponDefinitionIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: int
    currency: str


class CouponOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    member_id: int
    definition_id: int
    status: CouponStatus
    source: CouponSource
    name: str
    name_translations: dict[str, Any]
    currency: str
    discount_kind: DiscountKind
    discount_amount: int | None
    discount_basis_points: int | None
    minimum_spend_amount: int
    product_ids: list[int]
    valid_from: date
    valid_until: date
    issued_at: datetime
    redeemed_at: datetime | None
    redeemed_bill_id: int | None
    redeemed_discount_amount: int | None


class IssueCoupons(RequestModel):
    definition_id: Id
    member_ids: list[Id] = Field(min_length=1, max_length=1000)
    source: CouponSource = Field(default=CouponSource.STAFF, description="staff or campaign (owners)")


class IssueCoupon(RequestModel):
    definition_id: Id


class TierStandingOut(BaseModel):
    basis: TierBasis
    qualifying_value: int = Field(description="12-month spend (minor units) or points")
    tier: TierOut | None
    next_tier: TierOut | None
    remaining_to_next_tier: int | None


class MemberLoyaltyOut(BaseModel):
    member_id: int
    currency: str
    tier: TierStandingOut
    points_balance: int
    points_value_amount: int = Field(description="What the points can pay, in whole redeem steps")
    principal_amount: int
    bonus_amount: int
    stored_value_amount: int
    usable_coupons: list[CouponOut]


class TopUpIn(RequestModel):
    amount: int = Field(ge=1, le=MAXIMUM_TOP_UP_LIMIT, description="Paid in at the register, minor units")
    tender: Line = Field(
        min_length=1,
        max_length=30,
        description="cash (into the open shift's drawer), card, wechat_pay or alipay; nothing else",
    )
    approval_code: Line | None = Field(
        default=None, max_length=40, description="card: the approval code the terminal printed"
    )
    payment_code: Line | None = Field(
        default=None,
        max_length=32,
        description="wechat_pay / alipay: the customer's payment code; none: a QR code to show",
    )


class TopUpOptionsOut(BaseModel):
    currency: str
    presets: list[int] = Field(description="Amounts the top-up dialog offers")
    maximum_amount: int
    bonus_rules: list[TopUpBonusRuleIn] = Field(description="A top-up of at least the minimum gets the bonus")


class StoredValueEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: StoredValueEntryKind
    principal_amount: int
    bonus_amount: int
    principal_after: int
    bonus_after: int
    currency: str
    reference: str
    tender: str | None
    note: str
    store_id: int | None
    created_at: datetime


class TopUpOut(BaseModel):
    id: int = Field(description="The top-up (the money taken); poll it while it is pending")
    member_id: int
    status: str = Field(description="pending (the customer is paying), succeeded, failed")
    tender: str
    amount: int
    currency: str
    approval_code: str | None
    qr_code: str | None = Field(description="Pending QR top-up: the code to show the customer")
    failure_reason: str | None
    is_credited: bool = Field(description="Whether the card holds it (only once the money is confirmed)")
    top_up: StoredValueEntryOut | None
    bonus: StoredValueEntryOut | None
    principal_amount: int | None = Field(description="The card's principal after the top-up, once credited")
    bonus_amount: int | None = Field(description="The card's bonus after the top-up, once credited")


class StoredValueStatementOut(BaseModel):
    member_id: int
    currency: str
    principal_amount: int
    bonus_amount: int
    entries: list[StoredValueEntryOut]


class PointsEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: PointsEntryKind
    points: int
    balance_after: int
    reference: str
    bill_id: int | None
    expires_on: date | None
    note: str
    store_id: int | None
    created_at: datetime


class PointsStatementOut(BaseModel):
    member_id: int
    balance: int
    entries: list[PointsEntryOut]


class TierChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    member_id: int
    from_tier_id: int | None
    to_tier_id: int | None
    basis: TierBasis
    qualifying_value: int
    cause: str
    changed_at: datetime
