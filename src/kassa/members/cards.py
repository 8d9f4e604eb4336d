"""Member card numbers: ten digits, the last a Luhn check digit, so a mistyped digit or two
swapped neighbours are caught before a lookup."""

from __future__ import annotations

import secrets

CARD_NUMBER_LENGTH = 10


def luhn_check_digit(digits: str) -> str:
    """The digit that makes ``digits`` + it pass the Luhn check."""
    total = 0
    # From the right, every second digit of the payload (starting with its last) is doubled.
    for position, character in enumerate(reversed(digits)):
        value = int(character)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def new_card_number() -> str:
    """A random card number; the first digit is never 0, so it stays ten digits when
    someone keeps it in a spreadsheet as a number."""
    payload = str(1 + secrets.randbelow(9)) + "".join(
        str(secrets.randbelow(10)) for _ in range(CARD_NUMBER_LENGTH - 2)
    )
    return payload + luhn_check_digit(payload)


def is_card_number(text: str) -> bool:
    return (
        len(text) == CARD_NUMBER_LENGTH
        and text.isascii()
        and text.isdigit()
        and luhn_check_digit(text[:-1]) == text[-1]
    )
