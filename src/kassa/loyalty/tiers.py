"""Tiers: which level a member holds, judged on the last 12 months (spend or points earned, as
the organization chooses); changes are recorded and, for members who agreed to marketing
SMS, texted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.products import localized_name
from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.database import utc_now
from kassa.core.i18n import normalize_locale
from kassa.loyalty import rules
from kassa.loyalty.accounts import account_of, lock_account, loyalty_settings, member_for
from kassa.loyalty.models import LoyaltyAccount, PointsEntry, PointsEntryKind, Tier, TierBasis, TierChange
from kassa.members.models import Member
from kassa.notifications import service as notifications
from kassa.orders.models import Bill, BillStatus
from kassa.payments.models import Refund, RefundStatus
from kassa.stores.models import Store

WINDOW = timedelta(days=365)
TIER_CHANGE_EVENT = "tier_change"
# What a member without a tier is called in the tier-change SMS.
NO_TIER_NAMES = {"zh_CN": "普通会员", "en": "Member"}
# Refunds that give money back (or will): a failed or cancelled one gives nothing.
COUNTED_REFUNDS = (RefundStatus.PENDING, RefundStatus.SUCCEEDED)


@dataclass(frozen=True)
class NextTier:
    tier_id: int
    name: str
    name_translations: dict[str, Any]
    threshold: int  # in the basis: minor units of spend, or points


@dataclass(frozen=True)
class TierView:
    """A member's tier for the register and the portal, with how far the next one is."""

    tier_id: int
    name: str
    name_translations: dict[str, Any]
    rank: int
    discount_basis_points: int
    points_multiplier_basis_points: int
    basis: TierBasis
    qualifying_value: int  # the member's 12-month spend (minor units) or points
    next_tier: NextTier | None = None
    remaining_to_next_tier: int | None = None  # what is still missing to reach it

    def display_name(self, locale: str) -> str:
        return localized_name(self.name, self.name_translations, locale)


@dataclass(frozen=True)
class Standing:
    """Where a member stands: their recorded tier (None: none), the 12-month figure, the next tier."""

    basis: TierBasis
    qualifying_value: int
    tier: Tier | None
    next_tier: Tier | None
    tiers: Sequence[Tier] = field(default_factory=list)

    @property
    def remaining_to_next_tier(self) -> int | None:
        if self.next_tier is None:
            return None
        return max(0, threshold_of(self.next_tier, self.basis) - self.qualifying_value)


def threshold_of(tier: Tier, basis: TierBasis) -> int:
    return tier.points_threshold if basis == TierBasis.POINTS else tier.spend_threshold_amount


async def active_tiers(session: AsyncSession, organization_id: int) -> list[Tier]:
    rows = await session.scalars(
        select(Tier).where(Tier.organization_id == organization_id, Tier.is_active).order_by(Tier.rank)
    )
    return list(rows.all())


async def twelve_month_spend(session: AsyncSession, member_id: int, at: datetime) -> int:
    """Paid on the member's bills closed in the 365 days up to ``at`` (cash rounding
    included), minus what was refunded on them; never below zero."""
    since = at - WINDOW
    in_window = (
        Bill.member_id == member_id,
        Bill.status == BillStatus.CLOSED,
        Bill.closed_at >= since,
        Bill.closed_at <= at,
    )
    paid = await session.scalar(
        select(func.coalesce(func.sum(Bill.total_amount + Bill.rounding_amount), 0)).where(*in_window)
    )
    refunded = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0))
        .join(Bill, Bill.id == Refund.bill_id)
        .where(*in_window, Refund.status.in_(COUNTED_REFUNDS))
    )
    return max(0, int(paid or 0) - int(refunded or 0))


async def twelve_month_points(session: AsyncSession, member_id: int, at: datetime) -> int:
    """Points earned in the 365 days up to ``at``, minus those taken back by returns."""
    total = await session.scalar(
        select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
            PointsEntry.member_id == member_id,
            PointsEntry.kind.in_((PointsEntryKind.EARN, PointsEntryKind.REVERSE)),
            PointsEntry.created_at >= at - WINDOW,
            PointsEntry.created_at <= at,
        )
    )
    return max(0, int(total or 0))


async def qualifying_value(session: AsyncSession, member_id: int, basis: TierBasis, at: datetime) -> int:
    if basis == TierBasis.POINTS:
        return await twelve_month_points(session, member_id, at)
    return await twelve_month_spend(session, member_id, at)


async def standing(
    session: AsyncSession, organization_id: int, member_id: int, *, at: datetime | None = None
) -> Standing:
    settings = await loyalty_settings(session, organization_id)
    tiers = await active_tiers(session, organization_id)
    value = await qualifying_value(session, member_id, settings.tier_basis, at or utc_now())
    account = await session.scalar(select(LoyaltyAccount).where(LoyaltyAccount.member_id == member_id))
    current = next((tier for tier in tiers if account is not None and tier.id == account.tier_id), None)
    following = rules.next_tier(tiers, current.rank if current is not None else None)
    return Standing(settings.tier_basis, value, current, following, tiers)


async def member_tier(session: AsyncSession, organization_id: int, member_id: int) -> TierView | None:
    """The tier a member holds now (as last evaluated), for the register to apply its discount
    and multiplier; None without one. No permission check: the caller has the member."""
    member = await session.get(Member, member_id)
    if member is None or member.organization_id != organization_id:
        return None
    position = await standing(session, organization_id, member_id)
    if position.tier is None:
        return None
    tier = position.tier
    following = position.next_tier
    return TierView(
        tier_id=tier.id,
        name=tier.name,
        name_translations=dict(tier.name_translations),
        rank=tier.rank,
        discount_basis_points=tier.discount_basis_points,
        points_multiplier_basis_points=tier.points_multiplier_basis_points,
        basis=position.basis,
        qualifying_value=position.qualifying_value,
        next_tier=(
            NextTier(
                following.id,
                following.name,
                dict(following.name_translations),
                threshold_of(following, position.basis),
            )
            if following is not None
            else None
        ),
        remaining_to_next_tier=position.remaining_to_next_tier,
    )


async def evaluate_tier(
    session: AsyncSession, actor: Actor, member_id: int, *, at: datetime | None = None
) -> TierChange | None:
    """Put the member in the tier their last 12 months earn (up or down); a change is
    recorded, audited and texted to members who agreed to marketing SMS. Returns the change,
    or None when the tier stays."""
    member = await member_for(session, actor, member_id, Permission.MEMBER_MANAGE)
    return await reevaluate(session, actor, member, at=at or utc_now(), cause="staff")


async def reevaluate(
    session: AsyncSession, actor: Actor, member: Member, *, at: datetime, cause: str
) -> TierChange | None:
    """``evaluate_tier`` for callers inside loyalty (a bill earned, a return, the daily run)."""
    settings = await loyalty_settings(session, member.organization_id)
    tiers = await active_tiers(session, member.organization_id)
    existing = await account_of(session, member)
    if not tiers and (existing is None or existing.tier_id is None):
        return None
    value = await qualifying_value(session, member.id, settings.tier_basis, at)
    chosen = rules.choose_tier(tiers, value, settings.tier_basis)
    chosen_id = chosen.id if chosen is not None else None
    if existing is not None and existing.tier_id == chosen_id:
        return None
    if existing is None and chosen_id is None:
        return None
    account = await lock_account(session, member)
    previous_id = account.tier_id
    if previous_id == chosen_id:
        return None  # evaluated by someone else meanwhile
    await session.execute(
        update(LoyaltyAccount)
        .where(LoyaltyAccount.id == account.id)
        .values(tier_id=chosen_id, tier_changed_at=at, updated_at=utc_now())
        .execution_options(synchronize_session="fetch")
    )
    change = TierChange(
        organization_id=member.organization_id,
        member_id=member.id,
        from_tier_id=previous_id,
        to_tier_id=chosen_id,
        basis=settings.tier_basis,
        qualifying_value=value,
        cause=cause,
        changed_by_staff_id=actor.staff_id,
        changed_at=at,
    )
    session.add(change)
    await session.flush()
    audit.record(
        session,
        actor,
        "loyalty.tier_change",
        "member",
        member.id,
        before={"tier_id": previous_id},
        after={"tier_id": chosen_id, "basis": settings.tier_basis, "qualifying_value": value, "cause": cause},
    )
    if member.marketing_sms_opt_in and member.erased_at is None:
        await _text_tier_change(session, actor, member, chosen, change)
    return change


async def _text_tier_change(
    session: AsyncSession, actor: Actor, member: Member, tier: Tier | None, change: TierChange
) -> None:
    store = await session.get(Store, actor.store_id or member.registered_at_store_id)
    if store is None or store.organization_id != member.organization_id:
        store = await session.get(Store, member.registered_at_store_id)
    if store is None:
        return
    locale = normalize_locale(store.locale)
    name = (
        localized_name(tier.name, tier.name_translations, locale)
        if tier is not None
        else NO_TIER_NAMES.get(locale, NO_TIER_NAMES["en"])
    )
    await notifications.queue_message(
        session,
        store=store,
        to=member.phone_e164,
        event=TIER_CHANGE_EVENT,
        variables={"name": member.name, "tier": name},
        cause=notifications.Cause.of(actor, "loyalty.tier_change"),
        subject=("loyalty_tier_change", change.id),
        dedupe_key=f"tier-change:{change.id}",
    )
