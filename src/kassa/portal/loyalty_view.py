"""What the portal shows of a member's loyalty account: the one seam to ``kassa.loyalty``.

The mapping from loyalty's answers to what the portal shows lives here, so the portal's
pages never depend on loyalty's own models; without the loyalty capability every function
answers ``None`` and the portal shows placeholders.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.products import localized_name
from kassa.core.auth import Actor
from kassa.core.i18n import format_money, normalize_locale
from kassa.core.money import Money
from kassa.stores.models import Store


@dataclass(frozen=True)
class CouponView:
    """A coupon the member can use."""

    name: str
    description: str = ""  # e.g. "¥20 off from ¥100", already in the member's language
    valid_until: date | None = None


@dataclass(frozen=True)
class LoyaltySummary:
    """A member's loyalty account at a glance (the portal's home page and ``/portal/me``)."""

    tier_name: str | None  # None: no tier programme
    points: int
    balance: Money | None  # stored value; None: the organization sells none
    coupons: tuple[CouponView, ...] = ()
    next_tier_name: str | None = None
    points_to_next_tier: int | None = None


def loyalty_available() -> bool:
    """Whether the loyalty capability is installed in this build."""
    return importlib.util.find_spec("kassa.loyalty") is not None


async def loyalty_summary(
    session: AsyncSession, organization_id: int, member_id: int
) -> LoyaltySummary | None:
    """The member's tier, points, balance and the coupons usable today."""
    if not loyalty_available():
        return None
    from kassa.loyalty import service as loyalty

    summary = await loyalty.member_loyalty(session, Actor.system(organization_id), member_id)
    standing = summary.standing
    locale = await _locale(session, organization_id)
    return LoyaltySummary(
        tier_name=localized_name(standing.tier.name, standing.tier.name_translations, locale)
        if standing.tier
        else None,
        points=summary.points_balance,
        balance=summary.principal + summary.bonus,
        coupons=tuple(
            CouponView(
                name=localized_name(coupon.name, coupon.name_translations, locale),
                description=_coupon_terms(coupon, locale),
                valid_until=coupon.valid_until,
            )
            for coupon in summary.usable_coupons
        ),
        next_tier_name=(
            localized_name(standing.next_tier.name, standing.next_tier.name_translations, locale)
            if standing.next_tier
            else None
        ),
        points_to_next_tier=standing.remaining_to_next_tier,
    )


def _coupon_terms(coupon: Any, locale: str) -> str:
    if coupon.discount_amount:
        off = format_money(Money(coupon.discount_amount, coupon.currency), locale)
    else:
        off = f"{(coupon.discount_basis_points or 0) / 100:g}%"
    if coupon.minimum_spend_amount:
        minimum = format_money(Money(coupon.minimum_spend_amount, coupon.currency), locale)
        return f"-{off} ≥ {minimum}"
    return f"-{off}"


async def _locale(session: AsyncSession, organization_id: int) -> str:
    store = await session.scalar(select(Store).where(Store.organization_id == organization_id).limit(1))
    return normalize_locale(store.locale if store is not None else None)


async def loyalty_export(
    session: AsyncSession, organization_id: int, member_id: int
) -> dict[str, Any] | None:
    """Everything loyalty holds about the member for "export my data" (JSON-ready)."""
    if not loyalty_available():
        return None
    from kassa.loyalty import service as loyalty

    actor = Actor.system(organization_id)
    summary = await loyalty.member_loyalty(session, actor, member_id)
    points = await loyalty.points_statement(session, actor, member_id, limit=1000)
    stored = await loyalty.stored_value_statement(session, actor, member_id, limit=1000)
    return {
        "tier": summary.standing.tier.name if summary.standing.tier else None,
        "points_balance": summary.points_balance,
        "stored_value": {"principal": summary.principal.amount, "bonus": summary.bonus.amount},
        "coupons": [
            {"name": coupon.name, "code": coupon.code, "valid_until": coupon.valid_until.isoformat()}
            for coupon in summary.usable_coupons
        ],
        "points_entries": [_jsonable(entry) for entry in points.entries],
        "stored_value_entries": [_jsonable(entry) for entry in stored.entries],
    }


def _jsonable(entry: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column in entry.__table__.columns:
        value = getattr(entry, column.key)
        values[column.key] = value.isoformat() if hasattr(value, "isoformat") else value
    return values


async def erasure_obstacle(session: AsyncSession, organization_id: int, member_id: int) -> str | None:
    """Why the member cannot erase their account yet: stored value they paid for is still
    on the card (it must be paid out or used first); None when nothing stands in the way."""
    if not loyalty_available():
        return None
    from kassa.loyalty import service as loyalty

    summary = await loyalty.member_loyalty(session, Actor.system(organization_id), member_id)
    if summary.principal.amount > 0:
        return (
            f"{summary.principal} of stored value is still on the card; use it or ask the store to pay it out"
        )
    return None
