"""The notes and coins of each currency, and counting a drawer by them.

Values are integer minor units (fen, cents), largest first. A currency missing here is
counted as one amount.
"""

from __future__ import annotations

from collections.abc import Mapping

from kassa.core.errors import ValidationFailed

DENOMINATIONS: dict[str, tuple[int, ...]] = {
    # 100, 50, 20, 10, 5, 1 yuan; 5 and 1 jiao (the 2-jiao note and fen coins are not in
    # everyday circulation).
    "CNY": (10000, 5000, 2000, 1000, 500, 100, 50, 10),
    "HKD": (100000, 50000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10),
    "EUR": (50000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1),
    "USD": (10000, 5000, 2000, 1000, 500, 200, 100, 25, 10, 5, 1),
    "CHF": (100000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5),
}

MAX_PIECES = 100_000


def denominations_of(currency: str) -> tuple[int, ...]:
    return DENOMINATIONS.get(currency, ())


def count_cash(
    currency: str,
    denominations: Mapping[int, int] | None,
    amount: int | None,
    *,
    field: str = "denominations",
) -> tuple[int, dict[str, int] | None]:
    """The total of a drawer count and the count as stored (``{"10000": 2}``).

    The count is given by denomination (each a note or coin of ``currency``), or as one
    ``amount``, or both, when they must agree. Raises ValidationFailed naming the field.
    """
    if denominations is None:
        if amount is None:
            raise ValidationFailed("count the cash: by denomination or as an amount", field=field)
        if amount < 0:
            raise ValidationFailed("a cash count cannot be negative", field="amount")
        return amount, None
    known = denominations_of(currency)
    total = 0
    stored: dict[str, int] = {}
    for value, pieces in sorted(denominations.items(), reverse=True):
        if value not in known:
            raise ValidationFailed(
                f"{value} is not a note or coin of {currency}"
                + (f"; use {', '.join(str(item) for item in known)}" if known else ""),
                field=field,
                extra={"denominations": list(known)},
            )
        if not 0 <= pieces <= MAX_PIECES:
            raise ValidationFailed(f"count 0 to {MAX_PIECES} pieces of {value}", field=field)
        if pieces:
            stored[str(value)] = pieces
            total += value * pieces
    if amount is not None and amount != total:
        raise ValidationFailed(
            f"the denominations add up to {total}, not {amount}", field="amount", extra={"counted": total}
        )
    return total, stored
