"""Phone numbers as members type them, stored one way: E.164 ("+8613800138000").

A number without a country prefix is read in the store's region (``Store.phone_region``),
so "138 0013 8000", "+86 138-0013-8000", "0086 13800138000" and "13800138000" typed in a
Chinese store are the same member.
"""

from __future__ import annotations

import re

import phonenumbers

from kassa.core.errors import ValidationFailed

# Longer than any real number with spaces and punctuation; keeps junk out of the parser.
MAX_INPUT_LENGTH = 40
# What a phone number (or its last four digits) may look like when typed into a search box.
PHONE_CHARACTERS = re.compile(r"\+?[\d\s\-().]+")
LAST4 = re.compile(r"\d{4}")


def normalize_phone(raw: str, default_region: str, *, field: str = "phone") -> str:
    """The number in E.164; anything that is not a valid number is refused, naming ``field``."""
    text = raw.strip()
    if not text:
        raise ValidationFailed("a phone number is needed", field=field)
    if len(text) > MAX_INPUT_LENGTH:
        raise ValidationFailed(f"a phone number has at most {MAX_INPUT_LENGTH} characters", field=field)
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationFailed(
            f"{text!r} is not a valid phone number (numbers without a +country code are read as "
            f"{default_region} numbers)",
            field=field,
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def try_normalize_phone(raw: str, default_region: str) -> str | None:
    """E.164, or None when ``raw`` is not a valid number (for searches, where that is no error)."""
    try:
        return normalize_phone(raw, default_region)
    except ValidationFailed:
        return None


def last4(phone_e164: str) -> str:
    """The last four digits, which customers say at the counter instead of the whole number."""
    return phone_e164[-4:]


def is_last4(query: str) -> bool:
    return LAST4.fullmatch(query.strip()) is not None


def looks_like_phone(query: str) -> bool:
    """Digits, spaces, dashes, brackets and a leading +: a phone or card number, not a name."""
    return PHONE_CHARACTERS.fullmatch(query.strip()) is not None


def display_phone(phone_e164: str, region: str) -> str:
    """For people: the national format in the store's own region ("138 0013 8000"), the
    international one for a foreign number ("+49 30 1234567")."""
    try:
        number = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException:
        return phone_e164
    is_domestic = phonenumbers.region_code_for_number(number) == region
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if is_domestic
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)
