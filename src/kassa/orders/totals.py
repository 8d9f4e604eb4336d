"""The arithmetic of a bill, as pure functions: line totals, the bill discount and its
share per line, the VAT breakdown, cash rounding. Every part adds up to its whole."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Protocol

from kassa.core.money import Money, Rounding, allocate

BASIS_POINTS = 10_000


@dataclass(frozen=True)
class Discount:
    """A percentage (basis points, 1000 = 10 %) or a fixed amount, never both."""

    basis_points: int | None = None
    fixed_amount: int | None = None

    def amount_of(self, amount: int) -> int:
        """The discount on ``amount``: a percentage rounds half up once; never more than the amount."""
        if self.basis_points is not None:
            exact = Decimal(amount) * self.basis_points / BASIS_POINTS
            return min(amount, int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)))
        if self.fixed_amount is not None:
            return min(amount, self.fixed_amount)
        return 0


NO_DISCOUNT = Discount()


def line_total(unit_price: int, quantity: int, discount: Discount) -> tuple[int, int]:
    """(discount, total) of a line: unit price x quantity less the line discount."""
    gross = unit_price * quantity
    discount_amount = discount.amount_of(gross)
    return discount_amount, gross - discount_amount


@dataclass(frozen=True)
class LinePart:
    """One part of a split line: its quantity, discount rule, discount and total."""

    quantity: int
    discount: Discount
    discount_amount: int
    total: int


def split_line(
    unit_price: int, quantity: int, discount: Discount, discount_amount: int, taken: int
) -> tuple[LinePart, LinePart]:
    """(kept, taken): ``taken`` of a line's ``quantity`` comes off as a line of its own.

    The kept part is recalculated with the line's discount rule; a fixed amount is first
    shared between the parts by quantity (largest remainder), so voiding one of three does
    not leave the whole amount on the other two. The taken part gets the rest of the line's
    discount and total: the two parts always add up exactly to ``discount_amount`` and the
    line's total.
    """
    if not 1 <= taken < quantity:
        raise ValueError("take at least one and leave at least one")
    kept_quantity = quantity - taken
    kept_discount = taken_discount = discount
    if discount.fixed_amount is not None:
        kept_share, taken_share = allocate(discount_amount, [kept_quantity, taken])
        kept_discount, taken_discount = Discount(fixed_amount=kept_share), Discount(fixed_amount=taken_share)
    kept_amount, kept_total = line_total(unit_price, kept_quantity, kept_discount)
    total = unit_price * quantity - discount_amount
    return (
        LinePart(kept_quantity, kept_discount, kept_amount, kept_total),
        LinePart(taken, taken_discount, discount_amount - kept_amount, total - kept_total),
    )


@dataclass(frozen=True)
class LineAmounts:
    total: int  # after the line discount
    vat_rate_code: str
    vat_rate_basis_points: int


@dataclass(frozen=True)
class VatRow:
    code: str
    rate_basis_points: int
    gross: int
    vat: int
    net: int


@dataclass(frozen=True)
class BillTotals:
    subtotal: int
    discount: int
    total: int
    discount_shares: tuple[int, ...]  # the bill discounts carried by each line, in line order
    vat: tuple[VatRow, ...]
    member_discount: int = 0  # the member's tier discount, its own line on the bill


def bill_totals(
    lines: Sequence[LineAmounts], discount: Discount, member_discount: Discount = NO_DISCOUNT
) -> BillTotals:
    """Subtotal, member (tier) discount, bill discount, total and VAT per rate.

    The member discount comes off the subtotal first, the staff's bill discount off what is
    left. Both are spread over the lines by largest remainder in proportion to their totals
    (so a returned line later gives back exactly its share). Prices include VAT: per rate,
    VAT = gross x r / (1 + r), rounded half up once per rate.
    """
    subtotal = sum(line.total for line in lines)
    member_amount = member_discount.amount_of(subtotal)
    discount_amount = discount.amount_of(subtotal - member_amount)
    if lines and subtotal > 0:
        shares = allocate(member_amount + discount_amount, [line.total for line in lines])
    else:
        shares = [0] * len(lines)
    gross_by_rate: dict[tuple[str, int], int] = {}
    for line, share in zip(lines, shares, strict=True):
        key = (line.vat_rate_code, line.vat_rate_basis_points)
        gross_by_rate[key] = gross_by_rate.get(key, 0) + line.total - share
    vat_rows = []
    for (code, rate), gross in sorted(gross_by_rate.items(), key=lambda item: item[0][1]):
        vat = int(
            (Decimal(gross) * rate / (BASIS_POINTS + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        )
        vat_rows.append(VatRow(code, rate, gross, vat, gross - vat))
    return BillTotals(
        subtotal,
        discount_amount,
        subtotal - member_amount - discount_amount,
        tuple(shares),
        tuple(vat_rows),
        member_amount,
    )


@dataclass(frozen=True)
class CashRounding:
    """Cash is paid in multiples of ``increment`` minor units (coins that exist)."""

    increment: int
    rounding: Rounding

    def apply(self, amount: int) -> int:
        if self.increment <= 1:
            return amount
        steps = Decimal(amount) / self.increment
        mode = ROUND_FLOOR if self.rounding == Rounding.DOWN else ROUND_HALF_UP
        return int(steps.quantize(Decimal(1), rounding=mode)) * self.increment


# Smallest coins in circulation. China: cash is rounded down to the jiao in the customer's
# favour (抹零), the common practice at the counter; Switzerland: to 5 Rappen.
CASH_ROUNDING: dict[str, CashRounding] = {
    "CNY": CashRounding(10, Rounding.DOWN),
    "CHF": CashRounding(5, Rounding.HALF_UP),
    "SEK": CashRounding(100, Rounding.HALF_UP),
    "NOK": CashRounding(100, Rounding.HALF_UP),
    "DKK": CashRounding(50, Rounding.HALF_UP),
    "CAD": CashRounding(5, Rounding.HALF_UP),
    "AUD": CashRounding(5, Rounding.HALF_UP),
    "NZD": CashRounding(10, Rounding.HALF_UP),
}


def cash_rounding_for(currency: str) -> CashRounding:
    return CASH_ROUNDING.get(currency, CashRounding(1, Rounding.HALF_UP))


def even_shares(total: int, parts: int) -> list[int]:
    """``parts`` shares of ``total`` differing by at most one unit, summing to it."""
    return [share.amount for share in Money(total, "XXX").split_evenly(parts)]


class PricedLine(Protocol):
    total_amount: int
    vat_rate_code: str
    vat_rate_basis_points: int


class DiscountedBill(Protocol):
    discount_basis_points: int | None
    discount_fixed_amount: int | None
    member_discount_basis_points: int | None


def totals_of(bill: DiscountedBill, active_lines: Sequence[PricedLine]) -> BillTotals:
    """A bill's totals from its active lines, with the member's and the staff's discounts."""
    return bill_totals(
        [
            LineAmounts(line.total_amount, line.vat_rate_code, line.vat_rate_basis_points)
            for line in active_lines
        ],
        Discount(bill.discount_basis_points, bill.discount_fixed_amount),
        Discount(basis_points=bill.member_discount_basis_points),
    )
