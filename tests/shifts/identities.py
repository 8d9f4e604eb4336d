"""The identities every Z report satisfies (stated on ``ZReport``), as one check."""

from __future__ import annotations

from kassa.shifts.schemas import ZReport


def assert_z_report_adds_up(report: ZReport) -> None:
    categories, rates = report.by_category, report.by_vat_rate
    # sales: categories == VAT rates == total
    assert sum(item.gross_amount for item in categories) == report.total_sales_amount
    assert sum(row.gross_amount for row in rates) == report.total_sales_amount
    # VAT: categories == rates == total, and gross = VAT + net on every row and in total
    assert sum(item.vat_amount for item in categories) == report.vat_amount
    assert sum(row.vat_amount for row in rates) == report.vat_amount
    assert all(item.gross_amount == item.vat_amount + item.net_amount for item in categories)
    assert all(row.gross_amount == row.vat_amount + row.net_amount for row in rates)
    assert report.total_sales_amount == report.vat_amount + report.net_sales_amount
    assert sum(item.net_amount for item in categories) == report.net_sales_amount
    # discounts: before - line - bill = sales, per category and in total
    for item in categories:
        assert item.before_discounts_amount - item.line_discount_amount - item.bill_discount_amount == (
            item.gross_amount
        )
    assert sum(item.line_discount_amount for item in categories) == report.discounts.line_amount
    assert sum(item.bill_discount_amount for item in categories) == report.discounts.bill_amount
    assert report.discounts.total_amount == report.discounts.line_amount + report.discounts.bill_amount
    assert report.before_discounts_amount == sum(item.before_discounts_amount for item in categories)
    assert report.before_discounts_amount - report.discounts.total_amount == report.total_sales_amount
    # tenders: what was paid is the sales plus the cash rounding (negative when rounded down)
    assert sum(tender.amount for tender in report.tenders) == report.payments_amount
    assert report.payments_amount == report.total_sales_amount + report.cash_rounding_amount
    # average bill: floor division
    expected_average = report.total_sales_amount // report.bills_count if report.bills_count else 0
    assert report.average_bill_amount == expected_average
    # voids and shifts
    assert report.voids.count == sum(reason.count for reason in report.voids.by_reason)
    assert report.voids.amount == sum(reason.amount for reason in report.voids.by_reason)
    assert report.over_short_amount == sum(shift.difference_amount or 0 for shift in report.shifts)
    # no returns yet
    assert (report.refunds.count, report.refunds.amount) == (0, 0)
