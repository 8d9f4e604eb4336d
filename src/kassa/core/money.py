"""Exact money: integer minor units with a currency; no float ever touches an amount.

Rates (VAT, percentage discounts) are ``Decimal`` and every conversion to minor units
rounds once, with the rule named at the call site.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import StrEnum

from babel.numbers import format_currency, get_currency_precision


class Rounding(StrEnum):
    """How a fractional minor unit becomes a whole one."""

    HALF_UP = ROUND_HALF_UP  # the retail default: 0.5 fen goes up
    HALF_EVEN = ROUND_HALF_EVEN  # banker's rounding, for tax sums over many lines
    DOWN = ROUND_FLOOR  # towards negative infinity: never give away the fraction


class CurrencyMismatchError(ValueError):
    pass


def minor_unit_exponent(currency: str) -> int:
    """ISO 4217 minor units of a currency (CNY 2, JPY 0), from CLDR data via Babel."""
    return int(get_currency_precision(currency))


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount in minor units (fen, cents) of one currency."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError(f"Money amount must be int minor units, got {type(self.amount).__name__}")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValueError(f"currency must be a 3-letter ISO code, got {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(
        cls, value: Decimal | str, currency: str, rounding: Rounding = Rounding.HALF_UP
    ) -> Money:
        """Major units (``"12.34"``) to minor units, rounding once by ``rounding``."""
        scaled = Decimal(value).scaleb(minor_unit_exponent(currency))
        return cls(int(scaled.quantize(Decimal(1), rounding=rounding.value)), currency)

    def to_decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-minor_unit_exponent(self.currency))

    def _check(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"{self.currency} and {other.currency} do not mix")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, quantity: int) -> Money:
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise TypeError("Money multiplies by whole quantities only; use percentage() for rates")
        return Money(self.amount * quantity, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.amount >= other.amount

    def __bool__(self) -> bool:
        return self.amount != 0

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    def percentage(self, percent: Decimal | int | str, rounding: Rounding = Rounding.HALF_UP) -> Money:
        """``percent`` % of this amount (``Decimal("12.5")`` is 12.5 %), rounded once."""
        exact = Decimal(self.amount) * Decimal(percent) / Decimal(100)
        return Money(int(exact.quantize(Decimal(1), rounding=rounding.value)), self.currency)

    def allocate(self, weights: Sequence[int]) -> list[Money]:
        """Split by integer weights with the largest-remainder method; parts sum to the whole."""
        return [Money(part, self.currency) for part in allocate(self.amount, weights)]

    def split_evenly(self, parts: int) -> list[Money]:
        """Split into ``parts`` shares differing by at most one minor unit, larger ones first."""
        if parts < 1:
            raise ValueError("parts must be at least 1")
        return self.allocate([1] * parts)

    def format(self, locale: str = "en") -> str:
        """Locale-aware display, e.g. ``¥12.34``; display only, never parsed back."""
        return format_currency(self.to_decimal(), self.currency, locale=locale)

    def __str__(self) -> str:
        return f"{self.to_decimal()} {self.currency}"


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Largest-remainder allocation of ``total`` minor units over non-negative ``weights``.

    Each part gets floor(total * w / sum(w)); the units left over go one each to the parts
    with the largest remainders (ties to the earlier part). Negative totals are allocated by
    symmetry, so ``sum(result) == total`` always holds.
    """
    if not weights:
        raise ValueError("at least one weight is needed")
    if any(weight < 0 for weight in weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise ValueError("weights must not all be zero")
    if total < 0:
        return [-part for part in allocate(-total, weights)]
    shares = [divmod(total * weight, weight_sum) for weight in weights]
    parts = [quotient for quotient, _ in shares]
    left_over = total - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda index: (-shares[index][1], index))
    for index in by_remainder[:left_over]:
        parts[index] += 1
    return parts


def sum_money(amounts: Iterable[Money], currency: str) -> Money:
    total = Money.zero(currency)
    for amount in amounts:
        total = total + amount
    return total
