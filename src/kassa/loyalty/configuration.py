"""An organization's loyalty settings, tiers and coupon definitions: read by staff, changed
by owners (``settings.manage``)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.models import Category, Product
from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.database import utc_now
from kassa.core.errors import FieldProblem, NotFound, ValidationFailed
from kassa.core.i18n import SUPPORTED_LOCALES
from kassa.loyalty.accounts import loyalty_settings, settings_for_update
from kassa.loyalty.coupons import definition_of
from kassa.loyalty.models import CouponDefinition, DiscountKind, LoyaltySettings, Tier, TierBasis
from kassa.loyalty.rules import (
    BASIS_POINTS,
    DEFAULT_MAXIMUM_TOP_UP_AMOUNT,
    MAX_PRESETS,
    MAXIMUM_TOP_UP_LIMIT,
    TierThresholds,
)

MAX_NAME_LENGTH = 60
MAX_TIERS = 20
MAX_RULES = 20
MAX_POINTS_PER_UNIT = 1000
MAX_EXPIRY_MONTHS = 120
MAX_BIRTHDAY_DAYS_BEFORE = 60
MAX_VALID_DAYS = 3660


@dataclass(frozen=True)
class BonusProduct:
    product_id: int
    extra_points: int


@dataclass(frozen=True)
class TopUpBonusRule:
    minimum_amount: int
    bonus_amount: int


@dataclass(frozen=True)
class SettingsInput:
    """The whole of an organization's loyalty rules (tiers and coupons are separate)."""

    tier_basis: TierBasis = TierBasis.SPEND
    points_per_currency_unit: int = 1
    excluded_category_ids: Sequence[int] = ()
    bonus_products: Sequence[BonusProduct] = ()
    redeem_points: int = 100
    redeem_value_amount: int = 100
    points_expiry_months: int | None = None
    top_up_bonus_rules: Sequence[TopUpBonusRule] = ()
    birthday_coupon_definition_id: int | None = None
    birthday_days_before: int = 7
    # The top-up dialog's preset amounts and the most one top-up may be (None: the defaults).
    top_up_presets: Sequence[int] | None = None
    maximum_top_up_amount: int | None = None


@dataclass(frozen=True)
class TierInput:
    """A tier as the owner sets it; ``tier_id`` names an existing one to change."""

    name: str
    rank: int
    spend_threshold_amount: int = 0
    points_threshold: int = 0
    discount_basis_points: int = 0
    points_multiplier_basis_points: int = BASIS_POINTS
    name_translations: Mapping[str, str] = field(default_factory=dict)
    tier_id: int | None = None


@dataclass(frozen=True)
class CouponDefinitionInput:
    name: str
    discount_kind: DiscountKind
    discount_amount: int | None = None
    discount_basis_points: int | None = None
    minimum_spend_amount: int = 0
    product_ids: Sequence[int] = ()
    valid_days: int | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    name_translations: Mapping[str, str] = field(default_factory=dict)
    is_active: bool = True


def _clean_name(name: str, field_name: str = "name") -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH:
        raise ValidationFailed(f"a name has 1 to {MAX_NAME_LENGTH} characters", field=field_name)
    return cleaned


def _clean_translations(translations: Mapping[str, str], field_name: str) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for locale, text in translations.items():
        if locale not in SUPPORTED_LOCALES:
            raise ValidationFailed(f"no language {locale!r}", field=field_name)
        if text.strip():
            cleaned[locale] = _clean_name(text, field_name)
    return cleaned


def _problems_to_error(problems: list[FieldProblem]) -> None:
    if problems:
        raise ValidationFailed(
            "; ".join(f"{item.field}: {item.reason}" for item in problems), errors=problems
        )


async def get_loyalty_settings(session: AsyncSession, actor: Actor) -> LoyaltySettings:
    actor.require(Permission.MEMBER_VIEW)
    return await loyalty_settings(session, actor.organization_id)


async def update_loyalty_settings(
    session: AsyncSession, actor: Actor, data: SettingsInput
) -> LoyaltySettings:
    """Replace the organization's loyalty rules. Excluded categories and bonus products must
    be the organization's; the birthday coupon names one of its active definitions."""
    actor.require(Permission.SETTINGS_MANAGE)
    problems: list[FieldProblem] = []
    if not 0 <= data.points_per_currency_unit <= MAX_POINTS_PER_UNIT:
        problems.append(FieldProblem("points_per_currency_unit", f"between 0 and {MAX_POINTS_PER_UNIT}"))
    if data.redeem_points < 1 or data.redeem_value_amount < 1:
        problems.append(FieldProblem("redeem_points", "points and their value are both at least 1"))
    if data.points_expiry_months is not None and not 1 <= data.points_expiry_months <= MAX_EXPIRY_MONTHS:
        problems.append(FieldProblem("points_expiry_months", f"between 1 and {MAX_EXPIRY_MONTHS}, or none"))
    if not 0 <= data.birthday_days_before <= MAX_BIRTHDAY_DAYS_BEFORE:
        problems.append(FieldProblem("birthday_days_before", f"between 0 and {MAX_BIRTHDAY_DAYS_BEFORE}"))
    if len(data.top_up_bonus_rules) > MAX_RULES or len(data.bonus_products) > MAX_RULES * 10:
        problems.append(FieldProblem("top_up_bonus_rules", "too many rules"))
    minimums = [rule.minimum_amount for rule in data.top_up_bonus_rules]
    if len(set(minimums)) != len(minimums):
        problems.append(FieldProblem("top_up_bonus_rules", "each minimum amount once"))
    for rule in data.top_up_bonus_rules:
        if rule.minimum_amount < 1 or rule.bonus_amount < 1:
            problems.append(FieldProblem("top_up_bonus_rules", "minimum and bonus are more than zero"))
    if data.maximum_top_up_amount is not None and not 1 <= data.maximum_top_up_amount <= MAXIMUM_TOP_UP_LIMIT:
        problems.append(
            FieldProblem("maximum_top_up_amount", f"between 1 and {MAXIMUM_TOP_UP_LIMIT}, or none")
        )
    if data.top_up_presets is not None:
        maximum = data.maximum_top_up_amount or DEFAULT_MAXIMUM_TOP_UP_AMOUNT
        presets = list(data.top_up_presets)
        if len(presets) > MAX_PRESETS or len(set(presets)) != len(presets):
            problems.append(FieldProblem("top_up_presets", f"at most {MAX_PRESETS} different amounts"))
        if any(not 1 <= amount <= maximum for amount in presets):
            problems.append(
                FieldProblem("top_up_presets", "each preset is more than zero and at most the maximum")
            )
    product_ids = [item.product_id for item in data.bonus_products]
    if len(set(product_ids)) != len(product_ids):
        problems.append(FieldProblem("bonus_products", "each product once"))
    if any(item.extra_points < 1 for item in data.bonus_products):
        problems.append(FieldProblem("bonus_products", "extra points are at least 1"))
    _problems_to_error(problems)
    organization_id = actor.organization_id
    categories = set(data.excluded_category_ids)
    if categories:
        known = set(
            (
                await session.scalars(
                    select(Category.id).where(
                        Category.id.in_(categories), Category.organization_id == organization_id
                    )
                )
            ).all()
        )
        if categories - known:
            raise NotFound(f"no category {min(categories - known)}", field="excluded_category_ids")
    if product_ids:
        known = set(
            (
                await session.scalars(
                    select(Product.id).where(
                        Product.id.in_(product_ids), Product.organization_id == organization_id
                    )
                )
            ).all()
        )
        if set(product_ids) - known:
            raise NotFound(f"no product {min(set(product_ids) - known)}", field="bonus_products")
    if data.birthday_coupon_definition_id is not None:
        definition = await definition_of(session, actor, data.birthday_coupon_definition_id)
        if not definition.is_active:
            raise ValidationFailed(
                "that coupon definition is switched off", field="birthday_coupon_definition_id"
            )
    settings = await settings_for_update(session, organization_id)
    if data.tier_basis != settings.tier_basis and not thresholds_rise_with_rank(
        await list_tiers(session, actor), data.tier_basis
    ):
        raise ValidationFailed(
            "set the tiers' thresholds for the new basis first: a higher rank needs at least the "
            "threshold of a lower one",
            field="tier_basis",
        )
    before = _settings_summary(settings)
    settings.tier_basis = data.tier_basis
    settings.points_per_currency_unit = data.points_per_currency_unit
    settings.excluded_category_ids = sorted(categories)
    settings.bonus_products = [
        {"product_id": item.product_id, "extra_points": item.extra_points} for item in data.bonus_products
    ]
    settings.redeem_points = data.redeem_points
    settings.redeem_value_amount = data.redeem_value_amount
    settings.points_expiry_months = data.points_expiry_months
    settings.top_up_bonus_rules = [
        {"minimum_amount": rule.minimum_amount, "bonus_amount": rule.bonus_amount}
        for rule in sorted(data.top_up_bonus_rules, key=lambda rule: rule.minimum_amount)
    ]
    settings.birthday_coupon_definition_id = data.birthday_coupon_definition_id
    settings.birthday_days_before = data.birthday_days_before
    settings.top_up_presets = sorted(data.top_up_presets) if data.top_up_presets is not None else None
    settings.maximum_top_up_amount = data.maximum_top_up_amount
    settings.updated_at = utc_now()
    await session.flush()
    audit.record(
        session,
        actor,
        "loyalty.settings.update",
        "organization",
        organization_id,
        before=before,
        after=_settings_summary(settings),
    )
    return settings


def _settings_summary(settings: LoyaltySettings) -> dict[str, Any]:
    return {
        "tier_basis": settings.tier_basis,
        "points_per_currency_unit": settings.points_per_currency_unit,
        "excluded_category_ids": list(settings.excluded_category_ids),
        "bonus_products": list(settings.bonus_products),
        "redeem_points": settings.redeem_points,
        "redeem_value_amount": settings.redeem_value_amount,
        "points_expiry_months": settings.points_expiry_months,
        "top_up_bonus_rules": list(settings.top_up_bonus_rules),
        "birthday_coupon_definition_id": settings.birthday_coupon_definition_id,
        "birthday_days_before": settings.birthday_days_before,
        "top_up_presets": settings.top_up_presets,
        "maximum_top_up_amount": settings.maximum_top_up_amount,
    }


# --- tiers --------------------------------------------------------------------------------


async def list_tiers(session: AsyncSession, actor: Actor) -> list[Tier]:
    """The organization's active tiers, lowest rank first."""
    actor.require(Permission.MEMBER_VIEW)
    rows = await session.scalars(
        select(Tier).where(Tier.organization_id == actor.organization_id, Tier.is_active).order_by(Tier.rank)
    )
    return list(rows.all())


def thresholds_rise_with_rank(tiers: Sequence[TierThresholds], basis: TierBasis) -> bool:
    """Whether a higher rank never asks less than a lower one, in the basis that counts (the
    other basis's thresholds may be set up ahead of a switch)."""
    ordered = sorted(tiers, key=lambda tier: tier.rank)
    if basis == TierBasis.POINTS:
        return all(
            lower.points_threshold <= higher.points_threshold for lower, higher in itertools.pairwise(ordered)
        )
    return all(
        lower.spend_threshold_amount <= higher.spend_threshold_amount
        for lower, higher in itertools.pairwise(ordered)
    )


def _check_tiers(tiers: Sequence[TierInput], basis: TierBasis) -> None:
    problems: list[FieldProblem] = []
    if len(tiers) > MAX_TIERS:
        problems.append(FieldProblem("tiers", f"at most {MAX_TIERS} tiers"))
    ranks = [tier.rank for tier in tiers]
    if len(set(ranks)) != len(ranks):
        problems.append(FieldProblem("tiers", "each rank once"))
    for index, tier in enumerate(tiers):
        where = f"tiers[{index}]"
        if tier.spend_threshold_amount < 0 or tier.points_threshold < 0:
            problems.append(FieldProblem(where, "thresholds are not negative"))
        if not 0 <= tier.discount_basis_points <= BASIS_POINTS:
            problems.append(FieldProblem(where, "a discount lies between 0 and 10000 basis points"))
        if not 0 <= tier.points_multiplier_basis_points <= 10 * BASIS_POINTS:
            problems.append(FieldProblem(where, "a points multiplier lies between 0 and 100000 basis points"))
    if not thresholds_rise_with_rank(tiers, basis):
        problems.append(FieldProblem("tiers", "a higher rank needs at least the threshold of a lower one"))
    _problems_to_error(problems)


async def replace_tiers(session: AsyncSession, actor: Actor, tiers: Sequence[TierInput]) -> list[Tier]:
    """Set the organization's tiers: those named by id change, new ones are added, the rest
    are switched off (kept for the history). Members move on their next evaluation (a bill,
    a return, or the daily run)."""
    actor.require(Permission.SETTINGS_MANAGE)
    _check_tiers(tiers, (await loyalty_settings(session, actor.organization_id)).tier_basis)
    cleaned = [
        (
            tier,
            _clean_name(tier.name, f"tiers[{index}].name"),
            _clean_translations(tier.name_translations, f"tiers[{index}].name_translations"),
        )
        for index, tier in enumerate(tiers)
    ]
    existing = {
        tier.id: tier
        for tier in (
            await session.scalars(
                select(Tier).where(Tier.organization_id == actor.organization_id).with_for_update()
            )
        ).all()
    }
    active_before = sorted(tier.id for tier in existing.values() if tier.is_active)
    kept: list[Tier] = []
    for tier_input, name, translations in cleaned:
        values = {
            "name": name,
            "name_translations": translations,
            "rank": tier_input.rank,
            "spend_threshold_amount": tier_input.spend_threshold_amount,
            "points_threshold": tier_input.points_threshold,
            "discount_basis_points": tier_input.discount_basis_points,
            "points_multiplier_basis_points": tier_input.points_multiplier_basis_points,
            "is_active": True,
        }
        if tier_input.tier_id is not None:
            tier = existing.get(tier_input.tier_id)
            if tier is None:
                raise NotFound(f"no tier {tier_input.tier_id}", field="tier_id")
            for name_of_field, value in values.items():
                setattr(tier, name_of_field, value)
        else:
            tier = Tier(organization_id=actor.organization_id, created_at=utc_now(), **values)
            session.add(tier)
        kept.append(tier)
    kept_ids = {tier.id for tier in kept if tier.id is not None}
    for tier in existing.values():
        if tier.id not in kept_ids:
            tier.is_active = False
    await session.flush()
    audit.record(
        session,
        actor,
        "loyalty.tiers.replace",
        "organization",
        actor.organization_id,
        before={"tier_ids": active_before},
        after={
            "tiers": [
                {
                    "id": tier.id,
                    "rank": tier.rank,
                    "spend_threshold_amount": tier.spend_threshold_amount,
                    "points_threshold": tier.points_threshold,
                    "discount_basis_points": tier.discount_basis_points,
                    "points_multiplier_basis_points": tier.points_multiplier_basis_points,
                }
                for tier in sorted(kept, key=lambda tier: tier.rank)
            ]
        },
    )
    return sorted(kept, key=lambda tier: tier.rank)


# --- coupon definitions -------------------------------------------------------------------


async def list_coupon_definitions(
    session: AsyncSession, actor: Actor, *, include_inactive: bool = False
) -> list[CouponDefinition]:
    actor.require(Permission.MEMBER_VIEW)
    query = select(CouponDefinition).where(CouponDefinition.organization_id == actor.organization_id)
    if not include_inactive:
        query = query.where(CouponDefinition.is_active)
    return list((await session.scalars(query.order_by(CouponDefinition.id))).all())


async def _check_definition(
    session: AsyncSession, actor: Actor, data: CouponDefinitionInput
) -> dict[str, Any]:
    problems: list[FieldProblem] = []
    if data.discount_kind == DiscountKind.AMOUNT:
        if data.discount_amount is None or data.discount_amount < 1:
            problems.append(FieldProblem("discount_amount", "an amount-off coupon takes at least 1"))
        if data.discount_basis_points is not None:
            problems.append(FieldProblem("discount_basis_points", "only for percent-off coupons"))
    else:
        if data.discount_basis_points is None or not 1 <= data.discount_basis_points <= BASIS_POINTS:
            problems.append(FieldProblem("discount_basis_points", "between 1 and 10000 basis points"))
        if data.discount_amount is not None:
            problems.append(FieldProblem("discount_amount", "only for amount-off coupons"))
    if data.minimum_spend_amount < 0:
        problems.append(FieldProblem("minimum_spend_amount", "not negative"))
    if data.valid_days is not None:
        if not 1 <= data.valid_days <= MAX_VALID_DAYS:
            problems.append(FieldProblem("valid_days", f"between 1 and {MAX_VALID_DAYS}"))
        if data.valid_from is not None or data.valid_until is not None:
            problems.append(FieldProblem("valid_days", "either days after issue or fixed dates, not both"))
    elif data.valid_from is None or data.valid_until is None:
        problems.append(FieldProblem("valid_days", "give the days after issue, or both fixed dates"))
    elif data.valid_until < data.valid_from:
        problems.append(FieldProblem("valid_until", "the last day comes after the first"))
    _problems_to_error(problems)
    product_ids = sorted(set(data.product_ids))
    if product_ids:
        known = set(
            (
                await session.scalars(
                    select(Product.id).where(
                        Product.id.in_(product_ids), Product.organization_id == actor.organization_id
                    )
                )
            ).all()
        )
        if set(product_ids) - known:
            raise NotFound(f"no product {min(set(product_ids) - known)}", field="product_ids")
    return {
        "name": _clean_name(data.name),
        "name_translations": _clean_translations(data.name_translations, "name_translations"),
        "discount_kind": data.discount_kind,
        "discount_amount": data.discount_amount,
        "discount_basis_points": data.discount_basis_points,
        "minimum_spend_amount": data.minimum_spend_amount,
        "product_ids": product_ids,
        "valid_days": data.valid_days,
        "valid_from": data.valid_from,
        "valid_until": data.valid_until,
        "is_active": data.is_active,
    }


def _definition_summary(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if key not in ("name", "name_translations")}


async def create_coupon_definition(
    session: AsyncSession, actor: Actor, data: CouponDefinitionInput
) -> CouponDefinition:
    actor.require(Permission.SETTINGS_MANAGE)
    values = await _check_definition(session, actor, data)
    settings = await loyalty_settings(session, actor.organization_id)
    now = utc_now()
    definition = CouponDefinition(
        organization_id=actor.organization_id,
        currency=settings.currency,
        created_at=now,
        updated_at=now,
        **values,
    )
    session.add(definition)
    await session.flush()
    audit.record(
        session,
        actor,
        "loyalty.coupon_definition.create",
        "coupon_definition",
        definition.id,
        after=_definition_summary(values),
    )
    return definition


async def update_coupon_definition(
    session: AsyncSession, actor: Actor, definition_id: int, data: CouponDefinitionInput
) -> CouponDefinition:
    """Change a definition; coupons already issued keep the terms they were issued with."""
    actor.require(Permission.SETTINGS_MANAGE)
    definition = await definition_of(session, actor, definition_id)
    values = await _check_definition(session, actor, data)
    for name, value in values.items():
        setattr(definition, name, value)
    definition.updated_at = utc_now()
    await session.flush()
    audit.record(
        session,
        actor,
        "loyalty.coupon_definition.update",
        "coupon_definition",
        definition.id,
        after=_definition_summary(values),
    )
    return definition
