"""Property tests: a bill's parts always add up to its whole."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kassa.core.money import Rounding
from kassa.orders.totals import CashRounding, Discount, LineAmounts, bill_totals, line_total, split_line

rates = st.sampled_from([("zero", 0), ("standard", 600), ("goods", 1300)])
lines = st.lists(
    st.builds(lambda total, rate: LineAmounts(total, *rate), st.integers(0, 10**8), rates),
    min_size=1,
    max_size=40,
)
discounts = st.one_of(
    st.builds(Discount),
    st.builds(lambda bp: Discount(basis_points=bp), st.integers(0, 10_000)),
    st.builds(lambda amount: Discount(fixed_amount=amount), st.integers(0, 10**9)),
)


@given(lines=lines, discount=discounts)
def test_totals_add_up(lines: list[LineAmounts], discount: Discount) -> None:
    totals = bill_totals(lines, discount)
    assert totals.subtotal == sum(line.total for line in lines)
    assert 0 <= totals.discount <= totals.subtotal
    assert totals.total == totals.subtotal - totals.discount
    assert sum(totals.discount_shares) == totals.discount
    assert all(0 <= share <= line.total for share, line in zip(totals.discount_shares, lines, strict=True))
    assert sum(row.gross for row in totals.vat) == totals.total
    for row in totals.vat:
        assert row.net + row.vat == row.gross
        assert 0 <= row.vat <= row.gross


@given(unit=st.integers(0, 10**6), quantity=st.integers(1, 999), discount=discounts)
def test_a_line_discount_never_exceeds_the_line(unit: int, quantity: int, discount: Discount) -> None:
    discount_amount, total = line_total(unit, quantity, discount)
    assert discount_amount + total == unit * quantity
    assert 0 <= discount_amount <= unit * quantity


@given(amount=st.integers(0, 10**9), increment=st.sampled_from([1, 5, 10, 50, 100]))
def test_cash_rounding_stays_within_one_coin(amount: int, increment: int) -> None:
    down = CashRounding(increment, Rounding.DOWN).apply(amount)
    nearest = CashRounding(increment, Rounding.HALF_UP).apply(amount)
    assert down % increment == 0
    assert nearest % increment == 0
    assert amount - increment < down <= amount
    assert abs(nearest - amount) <= increment // 2


def test_vat_is_inside_the_price() -> None:
    totals = bill_totals([LineAmounts(10600, "standard", 600)], Discount())
    assert [(row.gross, row.vat, row.net) for row in totals.vat] == [(10600, 600, 10000)]


def test_a_bill_discount_is_shared_by_largest_remainder() -> None:
    totals = bill_totals(
        [
            LineAmounts(1000, "standard", 600),
            LineAmounts(1000, "standard", 600),
            LineAmounts(1000, "goods", 1300),
        ],
        Discount(fixed_amount=100),
    )
    assert totals.discount_shares == (34, 33, 33)
    assert [(row.code, row.gross) for row in totals.vat] == [("standard", 1933), ("goods", 967)]


@given(
    unit=st.integers(0, 10**6),
    quantity=st.integers(2, 999),
    discount=discounts,
    data=st.data(),
)
def test_a_split_line_adds_up_to_the_line(
    unit: int, quantity: int, discount: Discount, data: st.DataObject
) -> None:
    taken = data.draw(st.integers(1, quantity - 1))
    discount_amount, total = line_total(unit, quantity, discount)
    kept, part = split_line(unit, quantity, discount, discount_amount, taken)
    assert (kept.quantity + part.quantity, kept.discount_amount + part.discount_amount) == (
        quantity,
        discount_amount,
    )
    assert kept.total + part.total == total
    # the part left is what its rule gives, and neither part is discounted below zero
    assert line_total(unit, kept.quantity, kept.discount) == (kept.discount_amount, kept.total)
    assert 0 <= part.discount_amount <= unit * part.quantity
    assert 0 <= kept.discount_amount <= unit * kept.quantity
