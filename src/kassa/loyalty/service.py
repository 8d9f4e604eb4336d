"""Loyalty's rules, one import for its callers (checkout, returns, the API and the pages):

- tiers: ``evaluate_tier``, ``member_tier``
- points: ``earn_for_bill``, ``reverse_for_return``, ``redeem_points``, ``give_back_points``,
  ``adjust_points``, ``points_statement`` (expiry runs daily, ``jobs``)
- stored value: ``top_up`` (real money first: ``top_ups``), ``charge_stored_value``, ``refund_stored_value``,
  ``adjust_stored_value``, ``stored_value_statement``
- coupons: ``issue_coupon``, ``member_coupons``, ``coupon_discount`` (pure),
  ``redeem_coupon``, ``unredeem_coupon``, ``void_coupon``, ``find_coupon``
- settings: ``get_loyalty_settings``, ``update_loyalty_settings``, ``list_tiers``,
  ``replace_tiers``, coupon definitions
- ``member_loyalty``: everything about one member at once
- ``ensure_daily_job``: queue the daily run (a worker calls it when it starts)

Every function takes the caller's session and only flushes; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Permission
from kassa.core.money import Money
from kassa.loyalty.accounts import (
    InsufficientBalance,
    account_of,
    loyalty_settings,
    member_for,
    organization_today,
)
from kassa.loyalty.configuration import (
    BonusProduct,
    CouponDefinitionInput,
    SettingsInput,
    TierInput,
    TopUpBonusRule,
    create_coupon_definition,
    get_loyalty_settings,
    list_coupon_definitions,
    list_tiers,
    replace_tiers,
    update_coupon_definition,
    update_loyalty_settings,
)
from kassa.loyalty.coupons import (
    coupon_discount,
    expire_coupons,
    find_coupon,
    issue_coupon,
    member_coupons,
    redeem_coupon,
    unredeem_coupon,
    void_coupon,
)
from kassa.loyalty.jobs import ensure_daily_job, register_loyalty_handlers
from kassa.loyalty.models import Coupon, LoyaltyAccount, Tier
from kassa.loyalty.points import (
    PointsStatement,
    adjust_points,
    earn_for_bill,
    expire_points,
    give_back_points,
    points_statement,
    redeem_points,
    reverse_for_return,
)
from kassa.loyalty.rules import EarnLine, points_value, redeem_step
from kassa.loyalty.stored_value import (
    StoredValueCharge,
    StoredValueStatement,
    adjust_stored_value,
    charge_stored_value,
    refund_stored_value,
    stored_value_statement,
)
from kassa.loyalty.tiers import NextTier, Standing, TierView, evaluate_tier, member_tier, standing
from kassa.loyalty.top_ups import (
    ShiftNotOpen,
    TopUp,
    TopUpOptions,
    credit_top_up,
    get_top_up,
    top_up,
    top_up_options,
)

__all__ = [
    "BonusProduct",
    "CouponDefinitionInput",
    "EarnLine",
    "InsufficientBalance",
    "MemberLoyalty",
    "NextTier",
    "PointsStatement",
    "SettingsInput",
    "ShiftNotOpen",
    "StoredValueCharge",
    "StoredValueStatement",
    "TierInput",
    "TierView",
    "TopUp",
    "TopUpBonusRule",
    "TopUpOptions",
    "adjust_points",
    "adjust_stored_value",
    "charge_stored_value",
    "coupon_discount",
    "create_coupon_definition",
    "credit_top_up",
    "earn_for_bill",
    "ensure_daily_job",
    "evaluate_tier",
    "expire_coupons",
    "expire_points",
    "find_coupon",
    "get_loyalty_settings",
    "get_top_up",
    "give_back_points",
    "issue_coupon",
    "list_coupon_definitions",
    "list_tiers",
    "member_coupons",
    "member_loyalty",
    "member_tier",
    "points_statement",
    "points_value",
    "redeem_coupon",
    "redeem_points",
    "redeem_step",
    "refund_stored_value",
    "register_loyalty_handlers",
    "replace_tiers",
    "reverse_for_return",
    "stored_value_statement",
    "top_up",
    "top_up_options",
    "unredeem_coupon",
    "update_coupon_definition",
    "update_loyalty_settings",
    "void_coupon",
]


@dataclass(frozen=True)
class MemberLoyalty:
    """A member's loyalty at a glance: tier standing, points (and what they are worth),
    stored value, the coupons usable today."""

    member_id: int
    standing: Standing
    points_balance: int
    points_value: Money  # what the whole balance could pay, in whole redeem steps
    principal: Money
    bonus: Money
    usable_coupons: list[Coupon]


async def member_loyalty(session: AsyncSession, actor: Actor, member_id: int) -> MemberLoyalty:
    member = await member_for(session, actor, member_id, Permission.MEMBER_VIEW)
    settings = await loyalty_settings(session, member.organization_id)
    account = await account_of(session, member)
    currency = account.currency if account is not None else settings.currency
    points = account.points_balance if account is not None else 0
    step = redeem_step(settings.redeem_points, settings.redeem_value_amount)
    redeemable = points - points % step
    today = await organization_today(session, member.organization_id)
    return MemberLoyalty(
        member_id=member.id,
        standing=await standing(session, member.organization_id, member.id),
        points_balance=points,
        points_value=Money(
            points_value(redeemable, settings.redeem_points, settings.redeem_value_amount)
            if redeemable
            else 0,
            currency,
        ),
        principal=Money(account.principal_amount if account is not None else 0, currency),
        bonus=Money(account.bonus_amount if account is not None else 0, currency),
        usable_coupons=await member_coupons(session, actor, member.id, usable_on=today),
    )


async def member_tiers(session: AsyncSession, organization_id: int) -> dict[int, str]:
    """Every member's current tier name (member analytics and the member list's tier filter)."""
    rows = await session.execute(
        select(LoyaltyAccount.member_id, Tier.name)
        .join(Tier, Tier.id == LoyaltyAccount.tier_id)
        .where(LoyaltyAccount.organization_id == organization_id)
    )
    return {int(member_id): str(name) for member_id, name in rows.all()}
