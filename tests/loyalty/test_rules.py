"""The arithmetic of loyalty, property-tested: partial returns take back exactly what a bill
earned, a charge and its refunds put principal and bonus back where they were, points are worth
exact money, coupon discounts stay within the eligible amount, dates add up."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kassa.core.errors import ValidationFailed
from kassa.loyalty import rules
from kassa.loyalty.rules import EarnLine


def test_earn_points_rounds_once_for_the_whole_bill() -> None:
    lines = [EarnLine(1, 10, 150), EarnLine(2, 10, 150), EarnLine(3, 20, 900, 3)]
    breakdown = rules.earn_points(
        lines,
        points_per_currency_unit=1,
        currency_exponent=2,
        multiplier_basis_points=10_000,
        excluded_category_ids={20},
        bonus_points_by_product={3: 5},
    )
    # ¥1.50 + ¥1.50 = 3 points (not 1 + 1), the excluded line none, its bonus 3 x 5
    assert (
        breakdown.basis_amount,
        breakdown.eligible_amount,
        breakdown.base_points,
        breakdown.bonus_points,
    ) == (
        1_200,
        300,
        3,
        15,
    )
    assert breakdown.points == 18


@given(
    earned=st.integers(0, 100_000),
    parts=st.lists(st.integers(0, 50_000), min_size=1, max_size=8),
    extra=st.integers(0, 10_000),
)
def test_partial_returns_take_back_exactly_what_the_bill_earned(
    earned: int, parts: list[int], extra: int
) -> None:
    basis = sum(parts) + extra
    taken = []
    returned = 0
    for part in parts:
        taken.append(rules.reversal_points(earned, basis, returned, part))
        returned += part
    assert all(points >= 0 for points in taken)
    assert sum(taken) <= earned
    if basis and extra == 0:
        assert sum(taken) == earned
    # more returned than was sold takes nothing more
    assert rules.reversal_points(earned, basis, basis, 1) == 0


@given(
    principal=st.integers(0, 100_000),
    bonus=st.integers(0, 100_000),
    share=st.floats(0, 1),
    chunks=st.lists(st.integers(1, 30_000), max_size=10),
)
def test_a_charge_and_its_refunds_restore_principal_and_bonus(
    principal: int, bonus: int, share: float, chunks: list[int]
) -> None:
    amount = int((principal + bonus) * share)
    from_principal, from_bonus = rules.split_charge(amount, principal, bonus)
    assert (from_principal, from_bonus) == (min(amount, principal), amount - min(amount, principal))
    assert from_bonus == 0 or from_principal == principal  # bonus only once principal is gone
    assert 0 <= from_bonus <= bonus
    # refunded in chunks, then the rest: everything goes back where it came from
    back_principal = back_bonus = 0
    for chunk in chunks:
        left = amount - back_principal - back_bonus
        if chunk > left:
            break
        to_principal, to_bonus = rules.split_refund(chunk, from_bonus, back_bonus)
        assert to_principal >= 0
        assert to_bonus >= 0
        assert to_principal + to_bonus == chunk
        back_principal += to_principal
        back_bonus += to_bonus
    to_principal, to_bonus = rules.split_refund(amount - back_principal - back_bonus, from_bonus, back_bonus)
    assert (back_principal + to_principal, back_bonus + to_bonus) == (from_principal, from_bonus)


@given(redeem_points=st.integers(1, 1_000), redeem_value=st.integers(1, 1_000), steps=st.integers(1, 1_000))
def test_points_are_worth_exact_money(redeem_points: int, redeem_value: int, steps: int) -> None:
    step = rules.redeem_step(redeem_points, redeem_value)
    points = step * steps
    value = rules.points_value(points, redeem_points, redeem_value)
    assert value * redeem_points == points * redeem_value
    if step > 1:
        with pytest.raises(ValidationFailed):
            rules.points_value(points + 1, redeem_points, redeem_value)


@given(
    kind=st.sampled_from(["amount", "percent"]),
    value=st.integers(1, 10_000),
    minimum=st.integers(0, 50_000),
    subtotal=st.integers(0, 100_000),
    share=st.floats(0, 1),
)
def test_a_coupon_never_discounts_more_than_the_eligible_items(
    kind: str, value: int, minimum: int, subtotal: int, share: float
) -> None:
    class Terms:
        discount_kind = kind
        discount_amount = value if kind == "amount" else None
        discount_basis_points = value if kind == "percent" else None
        minimum_spend_amount = minimum
        currency = "CNY"

    eligible = int(subtotal * share)
    discount = rules.coupon_discount(Terms(), subtotal, eligible)
    assert 0 <= discount <= eligible
    if subtotal < minimum:
        assert discount == 0


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2027, 12, 15), 12, date(2028, 12, 15)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert rules.add_months(day, months) == expected


def test_top_up_bonus_takes_the_best_rule_reached() -> None:
    rules_list = [
        {"minimum_amount": 50_000, "bonus_amount": 5_000},
        {"minimum_amount": 100_000, "bonus_amount": 15_000},
    ]
    assert [
        rules.top_up_bonus(amount, rules_list) for amount in (49_999, 50_000, 99_999, 100_000, 500_000)
    ] == [
        0,
        5_000,
        5_000,
        15_000,
        15_000,
    ]
