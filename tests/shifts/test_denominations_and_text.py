"""Counting a drawer by denomination, and the printed reports' width for any names."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kassa.core.errors import ValidationFailed
from kassa.payments.models import Tender
from kassa.printing.layout import display_width, is_chinese_locale
from kassa.shifts.denominations import DENOMINATIONS, count_cash
from kassa.shifts.render import z_report_text
from kassa.shifts.schemas import (
    CategorySales,
    DiscountTotals,
    RefundTotals,
    ShiftSummary,
    TenderTotal,
    VatSales,
    VoidReason,
    VoidTotals,
    ZReport,
)


def test_the_yuan_notes_and_coins() -> None:
    assert DENOMINATIONS["CNY"] == (10000, 5000, 2000, 1000, 500, 100, 50, 10)


@given(counts=st.lists(st.integers(min_value=0, max_value=500), min_size=8, max_size=8))
def test_a_count_is_the_sum_of_value_times_pieces(counts: list[int]) -> None:
    by_value = dict(zip(DENOMINATIONS["CNY"], counts, strict=True))
    total, stored = count_cash("CNY", by_value, None)
    assert total == sum(value * pieces for value, pieces in by_value.items())
    assert stored == {str(value): pieces for value, pieces in by_value.items() if pieces}
    # the same count given with its amount agrees
    assert count_cash("CNY", by_value, total) == (total, stored)


def test_a_currency_without_a_table_is_counted_as_an_amount() -> None:
    assert count_cash("JPY", None, 12000) == (12000, None)
    with pytest.raises(ValidationFailed) as refused:
        count_cash("JPY", {1000: 1}, None)
    assert refused.value.field == "denominations"


names = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs", "Mn"]),
    min_size=1,
    max_size=80,
)
amounts = st.integers(min_value=-(10**12), max_value=10**12)


@settings(max_examples=60, deadline=None)
@given(
    locale=st.sampled_from(["zh_CN", "en"]),
    store_name=names,
    category_names=st.lists(names, min_size=1, max_size=4),
    reason=names,
    register_name=names,
    staff_name=names,
    amount=amounts,
)
def test_the_printed_z_report_never_passes_48_columns(
    locale: str,
    store_name: str,
    category_names: list[str],
    reason: str,
    register_name: str,
    staff_name: str,
    amount: int,
) -> None:
    moment = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    report = ZReport(
        store_id=1,
        store_name=store_name,
        business_date=date(2026, 11, 24),
        currency="CNY",
        locale=locale,
        timezone="Asia/Shanghai",
        generated_at=moment,
        bills_count=10**6,
        guests_count=10**6,
        cancelled_bills_count=1,
        open_bills_count=1,
        before_discounts_amount=amount,
        discounts=DiscountTotals(
            line_count=1, line_amount=amount, bill_count=1, bill_amount=amount, total_amount=0
        ),
        total_sales_amount=amount,
        vat_amount=amount,
        net_sales_amount=amount,
        average_bill_amount=amount,
        cash_rounding_amount=amount,
        payments_amount=amount,
        refunds=RefundTotals(),
        by_category=[
            CategorySales(
                category_id=index,
                name=name,
                quantity=10**6,
                before_discounts_amount=amount,
                line_discount_amount=amount,
                bill_discount_amount=0,
                gross_amount=amount,
                vat_amount=amount,
                net_amount=amount,
            )
            for index, name in enumerate(category_names)
        ],
        by_vat_rate=[
            VatSales(
                code="standard", rate_basis_points=600, gross_amount=amount, vat_amount=amount, net_amount=0
            )
        ],
        tenders=[
            TenderTotal(tender=tender, count=10**6, amount=amount, change_amount=amount) for tender in Tender
        ],
        voids=VoidTotals(
            count=1,
            quantity=1,
            amount=amount,
            by_reason=[VoidReason(reason=reason, count=10**6, quantity=1, amount=amount)],
        ),
        shifts=[
            ShiftSummary(
                shift_id=10**9,
                register_id=1,
                register_name=register_name,
                status="closed",
                opened_at=moment,
                opened_by_name=staff_name,
                closed_at=moment,
                closed_by_name=staff_name,
                opening_float_amount=amount,
                expected_cash_amount=amount,
                counted_cash_amount=amount,
                difference_amount=amount,
            )
        ],
        over_short_amount=amount,
    )
    is_wide = is_chinese_locale(locale)
    lines = z_report_text(report).splitlines()
    assert lines
    assert all(display_width(line, ambiguous_is_wide=is_wide) <= 48 for line in lines)
