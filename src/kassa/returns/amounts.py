"""What returned dishes are worth, as pure functions.

A paid bill's lines each carry a share of what the customer paid: the line total less its
share of the bill discount, with the cash rounding spread the same way (largest
remainder), so the shares of all lines add up to exactly what was paid. Returning ``k`` of a
line's ``n`` units gives back the difference of ``floor(share * returned / n)`` before and
after, so returning a line piece by piece gives back exactly its share, never a fen more.
"""

from __future__ import annotations

from collections.abc import Sequence

from kassa.core.money import allocate


def line_shares(nets: Sequence[int], paid_total: int) -> list[int]:
    """Each line's part of ``paid_total`` (the bill total plus its cash rounding), in
    proportion to the line totals net of their shares of the bill's discounts."""
    if not nets or sum(nets) == 0:
        return [0] * len(nets)
    return allocate(paid_total, nets)


def refund_for(share: int, quantity: int, already_returned: int, returning: int) -> int:
    """What ``returning`` more units of a line worth ``share`` for ``quantity`` units give back."""
    if already_returned < 0 or returning < 0 or already_returned + returning > quantity:
        raise ValueError("cannot return more than was sold")
    before = share * already_returned // quantity
    after = share * (already_returned + returning) // quantity
    return after - before
