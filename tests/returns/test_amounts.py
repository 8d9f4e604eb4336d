"""The arithmetic of refunds: returning piece by piece gives back exactly what was paid,
and a refund spread over tenders never takes more from one than it paid."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kassa.orders.totals import Discount, LineAmounts, bill_totals
from kassa.payments.models import Payment, PaymentStatus, Tender
from kassa.payments.refunds import plan_shares
from kassa.returns.amounts import line_shares, refund_for


@given(
    share=st.integers(0, 10_000_000),
    quantity=st.integers(1, 50),
    data=st.data(),
)
def test_returning_a_line_in_pieces_gives_back_exactly_its_share(
    share: int, quantity: int, data: st.DataObject
) -> None:
    returned = 0
    refunded = 0
    while returned < quantity:
        piece = data.draw(st.integers(1, quantity - returned))
        refunded += refund_for(share, quantity, returned, piece)
        returned += piece
    assert refunded == share


@given(
    totals=st.lists(st.integers(1, 1_000_000), min_size=1, max_size=8),
    basis_points=st.integers(0, 10_000),
    rounding=st.integers(-9, 0),
)
def test_line_shares_add_up_to_what_was_paid(totals: list[int], basis_points: int, rounding: int) -> None:
    lines = [LineAmounts(total, "standard", 600) for total in totals]
    discount = Discount(basis_points=basis_points)
    paid = sum(totals) - discount.amount_of(sum(totals)) + rounding
    if paid < 0:
        return
    bill = bill_totals(lines, discount)
    shares = line_shares(
        [line.total - share for line, share in zip(lines, bill.discount_shares, strict=True)], paid
    )
    assert sum(shares) == paid or sum(totals) == discount.amount_of(sum(totals))
    assert all(share >= 0 for share in shares)


def _payment(payment_id: int, amount: int, refunded: int = 0) -> Payment:
    return Payment(
        id=payment_id,
        tender=Tender.CASH,
        status=PaymentStatus.SUCCEEDED,
        amount=amount,
        refunded_amount=refunded,
    )


@given(
    paid=st.lists(st.tuples(st.integers(1, 100_000), st.integers(0, 100_000)), min_size=1, max_size=5),
    data=st.data(),
)
def test_no_tender_gives_back_more_than_it_took(paid: list[tuple[int, int]], data: st.DataObject) -> None:
    payments = [
        _payment(index, amount, min(refunded, amount)) for index, (amount, refunded) in enumerate(paid)
    ]
    left = sum(payment.amount - payment.refunded_amount for payment in payments)
    amount = data.draw(st.integers(0, left))
    shares = plan_shares(payments, amount)
    assert sum(share.amount for share in shares) == amount
    by_payment = {payment.id: payment for payment in payments}
    for share in shares:
        payment = by_payment[share.payment_id]
        assert 0 < share.amount <= payment.amount - payment.refunded_amount
