"""The arithmetic of loyalty, as pure functions (property-tested): points earned on a bill,
points taken back by a return, what points are worth, top-up bonuses, how a stored-value
charge and its refund split into principal and bonus, coupon discounts, tier choice."""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from math import gcd
from typing import Protocol, TypeVar

from kassa.core.errors import ValidationFailed
from kassa.core.money import Money, Rounding

BASIS_POINTS = 10_000


@dataclass(frozen=True)
class EarnLine:
    """A bill line as loyalty sees it: what was sold and its amount after every discount."""

    product_id: int
    category_id: int
    net_amount: int
    quantity: int = 1


@dataclass(frozen=True)
class EarnBreakdown:
    basis_amount: int  # the net amount of every line
    eligible_amount: int  # ... of the lines whose category earns points
    base_points: int  # eligible amount x rate x tier multiplier, rounded down once
    bonus_points: int  # the bonus products' extra points
    multiplier_basis_points: int

    @property
    def points(self) -> int:
        return self.base_points + self.bonus_points


def earn_points(
    lines: Sequence[EarnLine],
    *,
    points_per_currency_unit: int,
    currency_exponent: int,
    multiplier_basis_points: int,
    excluded_category_ids: frozenset[int] | set[int],
    bonus_points_by_product: Mapping[int, int],
) -> EarnBreakdown:
    """Points for a bill: ``points_per_currency_unit`` per major unit of the net amount of the
    lines not in an excluded category, times the tier's multiplier, rounded down once for the
    whole bill; plus each bonus product's extra points per unit sold (not multiplied, and
    given even when its category earns nothing: the bonus names the product on purpose)."""
    for line in lines:
        if line.net_amount < 0:
            raise ValidationFailed("a line's net amount cannot be negative", field="lines")
        if line.quantity < 0:
            raise ValidationFailed("a line's quantity cannot be negative", field="lines")
    basis = sum(line.net_amount for line in lines)
    eligible = sum(line.net_amount for line in lines if line.category_id not in excluded_category_ids)
    base = (eligible * points_per_currency_unit * multiplier_basis_points) // (
        10**currency_exponent * BASIS_POINTS
    )
    bonus = sum(bonus_points_by_product.get(line.product_id, 0) * line.quantity for line in lines)
    return EarnBreakdown(basis, eligible, base, bonus, multiplier_basis_points)


def reversal_points(earned: int, basis_amount: int, returned_before: int, returned_now: int) -> int:
    """Points a return takes back: the bill's earned points in proportion to the amount
    returned. Counted on the running total of returns (rounded down), so several partial
    returns take back exactly what the bill earned once all of it is returned."""
    if earned <= 0 or basis_amount <= 0:
        return 0
    before = min(returned_before, basis_amount)
    after = min(returned_before + returned_now, basis_amount)
    return earned * after // basis_amount - earned * before // basis_amount


def redeem_step(redeem_points: int, redeem_value_amount: int) -> int:
    """The smallest number of points worth a whole minor unit (100 points = 50 fen: 2)."""
    return redeem_points // gcd(redeem_points, redeem_value_amount)


def points_value(points: int, redeem_points: int, redeem_value_amount: int) -> int:
    """What ``points`` are worth in minor units, exactly: points that would be worth a
    fraction of a fen are refused, never rounded away."""
    if points <= 0:
        raise ValidationFailed("redeem at least one point", field="points")
    step = redeem_step(redeem_points, redeem_value_amount)
    if points % step:
        raise ValidationFailed(f"points are redeemed in steps of {step}", field="points")
    return points * redeem_value_amount // redeem_points


# ¥100, ¥200, ¥500, ¥1,000: the buttons of the top-up dialog unless the owner sets others.
DEFAULT_TOP_UP_PRESETS = (10_000, 20_000, 50_000, 100_000)
# ¥5,000: a named prepaid card's limit under the rules for single-purpose prepaid cards.
DEFAULT_MAXIMUM_TOP_UP_AMOUNT = 500_000
MAX_PRESETS = 8
# No setting may allow more than this in one top-up (¥1,000,000).
MAXIMUM_TOP_UP_LIMIT = 100_000_000


def top_up_bonus(amount: int, rules: Sequence[Mapping[str, int]]) -> int:
    """The bonus of the best rule the top-up reaches (rules do not add up)."""
    reached = [rule["bonus_amount"] for rule in rules if amount >= rule["minimum_amount"]]
    return max(reached, default=0)


def split_charge(amount: int, principal: int, bonus: int) -> tuple[int, int]:
    """(from principal, from bonus): principal first, bonus last. The caller checks that
    ``principal + bonus`` covers ``amount``."""
    from_principal = min(amount, principal)
    return from_principal, amount - from_principal


def split_refund(amount: int, bonus_charged: int, bonus_refunded: int) -> tuple[int, int]:
    """(to principal, to bonus) of a refund of a charge: in reverse of the charge, so bonus
    comes back first, up to what the charge took from it and is not back yet."""
    to_bonus = min(amount, max(0, bonus_charged - bonus_refunded))
    return amount - to_bonus, to_bonus


class CouponTerms(Protocol):
    @property
    def discount_kind(self) -> str: ...
    @property
    def discount_amount(self) -> int | None: ...
    @property
    def discount_basis_points(self) -> int | None: ...
    @property
    def minimum_spend_amount(self) -> int: ...
    @property
    def currency(self) -> str: ...


def coupon_discount(coupon: CouponTerms, subtotal: int, eligible_subtotal: int) -> int:
    """The discount a coupon gives on a bill: nothing below the minimum spend (checked on the
    bill's ``subtotal``); otherwise the fixed amount or the percentage (half up) of the
    ``eligible_subtotal`` (the items it is valid for), never more than that subtotal."""
    if subtotal < 0 or eligible_subtotal < 0 or eligible_subtotal > subtotal:
        raise ValidationFailed("the eligible subtotal lies between 0 and the subtotal", field="subtotal")
    if subtotal < coupon.minimum_spend_amount or eligible_subtotal == 0:
        return 0
    if coupon.discount_kind == "percent":
        rate = Decimal(coupon.discount_basis_points or 0) / 100
        off = Money(eligible_subtotal, coupon.currency).percentage(rate, Rounding.HALF_UP).amount
    else:
        off = coupon.discount_amount or 0
    return max(0, min(off, eligible_subtotal))


class TierThresholds(Protocol):
    @property
    def rank(self) -> int: ...
    @property
    def spend_threshold_amount(self) -> int: ...
    @property
    def points_threshold(self) -> int: ...


T = TypeVar("T", bound=TierThresholds)


def choose_tier(tiers: Sequence[T], qualifying_value: int, basis: str) -> T | None:
    """The highest-ranked tier whose threshold the member reaches, or None."""
    reached = [
        tier
        for tier in tiers
        if qualifying_value >= (tier.points_threshold if basis == "points" else tier.spend_threshold_amount)
    ]
    return max(reached, key=lambda tier: tier.rank, default=None)


def next_tier(tiers: Sequence[T], current_rank: int | None) -> T | None:
    above = [tier for tier in tiers if current_rank is None or tier.rank > current_rank]
    return min(above, key=lambda tier: tier.rank, default=None)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later; the 31st becomes the month's last day when it has none."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def birthday_in(year: int, birthday: date) -> date:
    """The birthday in ``year``; 29 February is celebrated on the 28th in other years."""
    if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return birthday.replace(year=year)
