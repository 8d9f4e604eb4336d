"""What the API accepts: a request base that refuses unknown fields, and bounded types.

Every integer that arrives from outside has a lower and an upper bound, so nothing at or
beyond the database's range (PostgreSQL ``Integer`` ids, ``BigInteger`` money) reaches a
query; every text has a maximum length and is cleaned of characters nobody can see. The
bounds on prices and quantities are chosen so that a bill made of the largest lines still
fits a ``BigInteger`` with room to spare (see ``MAX_PRICE_AMOUNT``).

``tests/web/test_request_bounds.py`` walks the OpenAPI document and fails on any integer
without both bounds and any text without a maximum length: a new endpoint is covered the
day it is added.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

# --- integers -------------------------------------------------------------------------------

# PostgreSQL ``Integer`` (the type of every id column).
MAX_ID = 2**31 - 1
# One unit price or modifier price, in minor units: 10 000 000 000 is one hundred million yuan
# or ten billion dong, beyond anything a till sells in one line.
MAX_PRICE_AMOUNT = 10**10
# How many of one item a line holds.
MAX_QUANTITY = 999
# How many lines one bill holds; with the limits above a bill's total stays below
# 1_000 lines x 999 x 51 prices x 10**10 ~ 5.1 * 10**17, far inside BigInteger (9.2 * 10**18).
MAX_LINES_PER_BILL = 1_000
# Any other money amount (a payment, a cash count, a top-up, a threshold): at most a bill's
# largest possible total.
MAX_AMOUNT = 10**15
# A stock change or count.
MAX_STOCK = 10**9
# Points of a loyalty programme.
MAX_POINTS = 10**12

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A row id from a path, a query string or a body."""
Amount = Annotated[int, Field(ge=0, le=MAX_AMOUNT)]
"""Money in minor units, zero or more."""
PositiveAmount = Annotated[int, Field(ge=1, le=MAX_AMOUNT)]
PriceAmount = Annotated[int, Field(ge=0, le=MAX_PRICE_AMOUNT)]
"""A unit price in minor units."""
PriceDelta = Annotated[int, Field(ge=-MAX_PRICE_AMOUNT, le=MAX_PRICE_AMOUNT)]
"""What a modifier adds to (or takes off) a unit price."""
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
StockChange = Annotated[int, Field(ge=-MAX_STOCK, le=MAX_STOCK)]
StockLevel = Annotated[int, Field(ge=0, le=MAX_STOCK)]
Points = Annotated[int, Field(ge=0, le=MAX_POINTS)]
BasisPoints = Annotated[int, Field(ge=0, le=10_000)]
"""A rate in hundredths of a percent: 10 000 is 100 %."""
Percent = Annotated[int, Field(ge=0, le=100)]
Version = Annotated[int, Field(ge=1, le=MAX_ID)]
Count = Annotated[int, Field(ge=0, le=MAX_ID)]
"""A count of things (guests, days, minutes, messages) with no tighter natural limit."""
SortOrder = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
PageSize = Annotated[int, Field(ge=1, le=500)]
Offset = Annotated[int, Field(ge=0, le=MAX_ID)]

# --- text ---------------------------------------------------------------------------------

# Joiners are invisible but carry meaning (emoji sequences, Persian and Indic scripts).
_KEPT_FORMAT_CHARACTERS = frozenset({"\u200c", "\u200d"})
_MULTILINE_WHITESPACE = frozenset({"\n", "\t", "\r"})


def _clean(value: Any, *, multiline: bool) -> Any:
    if not isinstance(value, str):
        return value
    kept = []
    for character in value:
        category = unicodedata.category(character)
        if category == "Cc" and not (multiline and character in _MULTILINE_WHITESPACE):
            continue  # NUL and other control characters
        if category == "Cs":
            continue  # a lone surrogate cannot be stored as UTF-8
        if category == "Cf" and character not in _KEPT_FORMAT_CHARACTERS:
            continue  # zero-width space, BOM, bidirectional overrides
        kept.append(character)
    cleaned = "".join(kept).strip()
    # Only joiners and spaces left: nothing anybody could read.
    if not any(not character.isspace() and character not in _KEPT_FORMAT_CHARACTERS for character in cleaned):
        return ""
    return cleaned


def clean_text(value: Any) -> Any:
    """Text as typed, less what nobody can see: control characters (NUL and the like, but
    not line breaks and tabs), lone surrogates and format characters (zero-width space, BOM,
    bidirectional overrides), and the spaces around it. Text with nothing visible left is ""."""
    return _clean(value, multiline=True)


def clean_line(value: Any) -> Any:
    """As ``clean_text``, and line breaks and tabs go too: for names, codes and search terms."""
    return _clean(value, multiline=False)


Text = Annotated[str, BeforeValidator(clean_text)]
"""Cleaned text; give it ``Field(max_length=...)`` (and ``min_length=1`` when it is required)."""
Line = Annotated[str, BeforeValidator(clean_line)]
"""Cleaned text on one line; give it ``Field(max_length=...)``."""
Name = Annotated[str, BeforeValidator(clean_line), Field(min_length=1, max_length=120)]
Reason = Annotated[str, BeforeValidator(clean_line), Field(min_length=1, max_length=200)]
SearchText = Annotated[str, BeforeValidator(clean_line), Field(max_length=100)]
Code = Annotated[str, BeforeValidator(clean_line), Field(min_length=1, max_length=64)]
"""A short code typed or scanned (a coupon, a reason code, a provider name)."""
LocaleCode = Annotated[str, BeforeValidator(clean_line), Field(min_length=2, max_length=16)]
Tag = Annotated[str, BeforeValidator(clean_line), Field(min_length=1, max_length=30)]
Word = Annotated[str, BeforeValidator(clean_line), Field(min_length=1, max_length=100)]
Translations = Annotated[
    dict[LocaleCode, Annotated[str, BeforeValidator(clean_line), Field(max_length=200)]],
    Field(max_length=20),
]
"""A name in other languages, by locale."""

# --- dates --------------------------------------------------------------------------------

MIN_YEAR = 1900
MAX_YEAR = 2999


def _check_year(value: date) -> date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return value


def _aware(value: Any) -> Any:
    # A plain date or a datetime without a zone is read as UTC, the zone everything is stored in.
    if isinstance(value, str) and len(value) == 10:
        try:
            return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time.min, tzinfo=UTC)
    return value


def _aware_after(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


Day = Annotated[date, AfterValidator(_check_year)]
"""A calendar day between 1900 and 2999."""
Moment = Annotated[
    datetime, BeforeValidator(_aware), AfterValidator(_aware_after), AfterValidator(_check_year)
]
"""A point in time; a plain date is its midnight and a time without a zone is UTC."""
LocalMoment = Annotated[datetime, AfterValidator(_check_year)]
"""A point in time as typed: the service reads one without a zone in the store's time zone."""


class RequestModel(BaseModel):
    """A request body: an unknown field is refused with a 422 that names it."""

    model_config = ConfigDict(extra="forbid")


def refuse_nulls(update: BaseModel, clearable: frozenset[str] | set[str]) -> None:
    """A partial update may send ``null`` only to clear what may be empty: a ``null`` for any
    other field is refused naming it, never read as "leave unchanged" or stored."""
    from kassa.core.errors import ValidationFailed

    for name in sorted(update.model_fields_set):
        if getattr(update, name) is None and name not in clearable:
            raise ValidationFailed(f"{name} cannot be null; leave it out to keep it", field=name)
