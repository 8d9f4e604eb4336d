"""A document that would print a self-contradicting receipt is refused when built."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from kassa.printing import ReceiptTender, VatBreakdownRow

from .factories import cny, make_kitchen_ticket, make_receipt


def test_consistent_receipt_is_accepted() -> None:
    receipt = make_receipt()

    assert (receipt.subtotal, receipt.total, receipt.change_due) == (cny(8300), cny(7470), cny(2530))


def test_subtotal_must_be_the_sum_of_the_lines() -> None:
    with pytest.raises(ValueError, match="subtotal"):
        replace(make_receipt(), subtotal=cny(8200), total=cny(7370), tenders=())


def test_total_must_be_subtotal_plus_adjustments() -> None:
    with pytest.raises(ValueError, match="total"):
        replace(make_receipt(), total=cny(8300), tenders=())


def test_tenders_minus_change_must_equal_the_total() -> None:
    with pytest.raises(ValueError, match="tenders"):
        replace(make_receipt(), change_due=cny(2500))


def test_a_bill_without_tenders_needs_no_change() -> None:
    receipt = make_receipt(tenders=(), change_due=None)

    assert receipt.tenders == ()


def test_exact_payment_needs_no_change_line() -> None:
    receipt = make_receipt(tenders=(ReceiptTender(label="Card", amount=cny(7470)),), change_due=None)

    assert receipt.change_due is None


def test_vat_row_must_add_up() -> None:
    with pytest.raises(ValueError, match="VAT row 6%"):
        VatBreakdownRow(rate_label="6%", net=cny(7047), vat=cny(424), gross=cny(7470))


def test_time_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        replace(make_receipt(), issued_at=datetime(2025, 5, 1, 12, 30))  # noqa: DTZ001


def test_store_timezone_must_exist() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        replace(make_receipt(), timezone="Mars/Olympus")


def test_kitchen_ticket_time_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="ordered_at"):
        replace(make_kitchen_ticket(), ordered_at=datetime(2025, 5, 1, 12, 30))  # noqa: DTZ001
