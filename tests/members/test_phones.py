"""Phone numbers in any format become one E.164 number; card numbers carry a check digit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kassa.core.errors import ValidationFailed
from kassa.core.phones import (
    display_phone,
    is_last4,
    last4,
    looks_like_phone,
    normalize_phone,
    try_normalize_phone,
)
from kassa.members.cards import is_card_number, luhn_check_digit, new_card_number


@pytest.mark.parametrize("typed", ["138 0013 8000", "+86 138-0013-8000", "0086 13800138000", "13800138000"])
def test_the_ways_a_chinese_mobile_number_is_typed_are_one_number(typed: str) -> None:
    assert normalize_phone(typed, "CN") == "+8613800138000"


@pytest.mark.parametrize(
    ("typed", "region", "expected"),
    [
        ("010-6552 9988", "CN", "+861065529988"),  # a Beijing landline
        ("030 1234567", "DE", "+49301234567"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("+49 30 1234567", "CN", "+49301234567"),  # a foreign number in a Chinese store
        ("+86 138 0013 8000", "US", "+8613800138000"),
    ],
)
def test_numbers_of_other_regions(typed: str, region: str, expected: str) -> None:
    assert normalize_phone(typed, region) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "12345",
        "138001380001",  # one digit too many
        "1380013800",  # one too few
        "phone me",
        "+86 138 0013 8000 ext 12345678901234567890",
    ],
)
def test_invalid_numbers_are_refused_naming_the_field(typed: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        normalize_phone(typed, "CN")
    assert raised.value.field == "phone"
    assert raised.value.status == 422


def test_the_message_says_how_the_number_was_read() -> None:
    with pytest.raises(ValidationFailed) as raised:
        normalize_phone("12345", "CN")
    assert raised.value.detail == (
        "'12345' is not a valid phone number (numbers without a +country code are read as CN numbers)"
    )


def test_a_number_valid_in_one_region_is_not_in_another() -> None:
    # "13800138000" read as a German number is not a real one.
    assert try_normalize_phone("13800138000", "DE") is None
    assert try_normalize_phone("13800138000", "CN") == "+8613800138000"


def test_last_four_digits() -> None:
    assert last4("+8613800138000") == "8000"
    assert is_last4("8000")
    assert is_last4(" 8000 ")
    assert not is_last4("800")
    assert not is_last4("80000")
    assert not is_last4("8a00")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("+86 138-0013-8000", True),
        ("(415) 555-2671", True),
        ("8000", True),
        ("Li Na", False),
        ("李娜", False),
    ],
)
def test_what_looks_like_a_phone_number(query: str, expected: bool) -> None:
    assert looks_like_phone(query) is expected


def test_display_is_national_at_home_and_international_abroad() -> None:
    assert display_phone("+8613800138000", "CN") == "138 0013 8000"
    assert display_phone("+49301234567", "CN") == "+49 30 1234567"


def test_new_card_numbers_are_ten_digits_that_pass_their_check() -> None:
    for _ in range(200):
        number = new_card_number()
        assert len(number) == 10
        assert number[0] != "0"
        assert is_card_number(number)


def test_known_luhn_check_digit() -> None:
    # The textbook example: 7992739871 + 3.
    assert luhn_check_digit("7992739871") == "3"


@given(
    payload=st.text(alphabet="0123456789", min_size=9, max_size=9),
    position=st.integers(0, 9),
    step=st.integers(1, 9),
)
def test_a_single_mistyped_digit_is_caught(payload: str, position: int, step: int) -> None:
    number = payload + luhn_check_digit(payload)
    assert is_card_number(number)
    wrong = number[:position] + str((int(number[position]) + step) % 10) + number[position + 1 :]
    assert not is_card_number(wrong)


def test_other_text_is_no_card_number() -> None:
    assert not is_card_number("12345")
    assert not is_card_number("１２３４５６７８９０")  # full-width digits
    assert not is_card_number("13800138000")
