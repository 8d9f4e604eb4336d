from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kassa.core.money import CurrencyMismatchError, Money, Rounding, allocate, minor_unit_exponent, sum_money

amounts = st.integers(min_value=-(10**12), max_value=10**12)
weights = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30).filter(any)


@given(total=amounts, weights=weights)
def test_allocation_parts_always_sum_to_the_whole(total: int, weights: list[int]) -> None:
    assert sum(allocate(total, weights)) == total


@given(total=amounts, weights=weights)
def test_allocation_parts_are_within_one_unit_of_the_exact_share(total: int, weights: list[int]) -> None:
    weight_sum = sum(weights)
    for part, weight in zip(allocate(total, weights), weights, strict=True):
        exact = Decimal(total) * weight / weight_sum
        assert abs(Decimal(part) - exact) < 1


@given(total=st.integers(min_value=0, max_value=10**9), weights=weights)
def test_zero_weight_parts_get_nothing(total: int, weights: list[int]) -> None:
    for part, weight in zip(allocate(total, weights), weights, strict=True):
        if weight == 0:
            assert part == 0


@given(total=amounts, parts=st.integers(min_value=1, max_value=50))
def test_even_split_differs_by_at_most_one_unit_and_sums(total: int, parts: int) -> None:
    shares = [share.amount for share in Money(total, "CNY").split_evenly(parts)]
    assert sum(shares) == total
    assert max(shares) - min(shares) <= 1
    assert shares == sorted(shares, reverse=total >= 0)


def test_even_split_gives_the_odd_fen_to_the_first_parts() -> None:
    assert [share.amount for share in Money(1000, "CNY").split_evenly(3)] == [334, 333, 333]


def test_allocation_by_weights_uses_largest_remainder() -> None:
    # 100 over 1:1:1 -> 33.33 each, one unit left for the first; 10 over 3:7 -> exact.
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(10, [3, 7]) == [3, 7]
    # 5 over 1:2:2 -> 1, 2, 2 exact; 7 over 1:2:2 -> 1.4, 2.8, 2.8 -> remainders .4 .8 .8
    assert allocate(7, [1, 2, 2]) == [1, 3, 3]


@pytest.mark.parametrize("weights", [[], [0, 0], [-1, 2]])
def test_allocation_refuses_meaningless_weights(weights: list[int]) -> None:
    with pytest.raises(ValueError, match="weight"):
        allocate(10, weights)


@pytest.mark.parametrize(
    ("amount", "percent", "rounding", "expected"),
    [
        (1005, "10", Rounding.HALF_UP, 101),  # 100.5 -> 101
        (1005, "10", Rounding.HALF_EVEN, 100),  # 100.5 -> 100 (even)
        (1015, "10", Rounding.HALF_EVEN, 102),  # 101.5 -> 102 (even)
        (999, "33.3333", Rounding.DOWN, 332),
        (-1005, "10", Rounding.HALF_UP, -101),
        (2400, "12.5", Rounding.HALF_UP, 300),
    ],
)
def test_percentage_rounds_once_by_the_named_rule(
    amount: int, percent: str, rounding: Rounding, expected: int
) -> None:
    assert Money(amount, "CNY").percentage(Decimal(percent), rounding) == Money(expected, "CNY")


@given(amount=st.integers(min_value=0, max_value=10**10), percent=st.integers(min_value=0, max_value=100))
def test_a_percentage_and_its_complement_sum_to_the_whole_when_one_is_derived(
    amount: int, percent: int
) -> None:
    money = Money(amount, "CNY")
    discount = money.percentage(percent)
    assert discount + (money - discount) == money
    assert Money(0, "CNY") <= discount <= money


def test_money_refuses_floats_and_mixed_currencies() -> None:
    with pytest.raises(TypeError):
        Money(12.5, "CNY")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(100, "CNY") * 1.5  # type: ignore[operator]
    with pytest.raises(CurrencyMismatchError):
        Money(100, "CNY") + Money(100, "USD")
    with pytest.raises(ValueError, match="3-letter"):
        Money(1, "yuan")


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [("12.34", "CNY", 1234), ("12.345", "CNY", 1235), ("1000", "JPY", 1000), ("0.1", "CNY", 10)],
)
def test_from_decimal_converts_major_to_minor_units(text: str, currency: str, expected: int) -> None:
    assert Money.from_decimal(text, currency) == Money(expected, currency)


@given(amount=amounts)
def test_decimal_round_trip_is_exact(amount: int) -> None:
    money = Money(amount, "CNY")
    assert Money.from_decimal(money.to_decimal(), "CNY") == money


def test_minor_units_follow_iso_4217() -> None:
    assert (minor_unit_exponent("CNY"), minor_unit_exponent("JPY"), minor_unit_exponent("KWD")) == (2, 0, 3)


def test_display_is_locale_aware() -> None:
    assert Money(123456, "CNY").format("zh_CN") == "¥1,234.56"
    assert Money(123456, "CNY").format("en") == "CN¥1,234.56"
    assert Money(500, "JPY").format("ja_JP") == "￥500"


@given(st.lists(amounts, max_size=20))
def test_sum_money_matches_integer_sum(values: list[int]) -> None:
    assert sum_money((Money(value, "CNY") for value in values), "CNY") == Money(sum(values), "CNY")
