"""The Z report of a business day: exact figures for a day with every kind of sale, the
identities that make its parts add up, its text and PDF forms, and who may see it."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from kassa.printing.layout import display_width
from kassa.shifts.schemas import ZReport
from tests.factories import make_organization, make_store
from tests.shifts.identities import assert_z_report_adds_up
from tests.shifts.pdf_text import pdf_text
from tests.shop import Shop

FLOAT = [
    {"value_amount": 10000, "count": 2},
    {"value_amount": 1000, "count": 5},
    {"value_amount": 100, "count": 10},
]


async def _line(shop: Shop, bill: dict[str, Any], product: str, quantity: int = 1) -> dict[str, Any]:
    extra = {"modifier_option_ids": [shop.size_options["Regular"]]} if product == "latte" else {}
    return await shop.add(bill, product, quantity, **extra)


def _line_id(bill: dict[str, Any], product_id: int) -> int:
    return next(line["id"] for line in bill["lines"] if line["product_id"] == product_id)


async def a_day_of_sales(shop: Shop) -> dict[str, Any]:
    """One shift on register 1 and six bills:

    A takeaway cake + americano 46.00, cash 50.00 (change 4.00)
    B dine-in, 3 guests: 2 lattes -10 % line discount, water (9 %), bill discount 3.33, card
    C tart + 2 tea eggs (9 %) + water voided, bill discount 0.03, cash 20.00 (rounded to 13.90)
    D cake + latte 52.00: 20.00 cash, 32.00 card
    E americano voided, bill cancelled
    F tea egg, still open
    """
    shift = await shop.call("POST", f"/registers/{shop.register_ids[0]}/shifts", {"denominations": FLOAT})
    await shop.call(
        "POST",
        f"/shifts/{shift['id']}/cash-movements",
        {"kind": "cash_in", "amount": 10000, "reason": "bank"},
    )
    await shop.call(
        "POST",
        f"/shifts/{shift['id']}/cash-movements",
        {"kind": "cash_out", "amount": 3000, "reason": "vegetables supplier"},
    )

    bill_a = await shop.open_takeaway()
    bill_a = await _line(shop, bill_a, "cake")
    bill_a = await _line(shop, bill_a, "americano")
    bill_a = await shop.pay(bill_a, "cash", tendered_amount=5000)

    bill_b = await shop.call(
        "POST", "/bills", {"order_type": "dine_in", "table_id": shop.table_ids[0], "guest_count": 3}
    )
    bill_b = await _line(shop, bill_b, "latte", 2)
    bill_b = await _line(shop, bill_b, "water")
    bill_b = await shop.call(
        "POST",
        f"/bills/{bill_b['id']}/lines/{_line_id(bill_b, shop.products['latte'])}/discount",
        {"version": bill_b["version"], "basis_points": 1000, "reason": "regular guest"},
    )
    bill_b = await shop.call(
        "POST",
        f"/bills/{bill_b['id']}/discount",
        {"version": bill_b["version"], "fixed_amount": 333, "reason": "member"},
    )
    assert bill_b["total_amount"] == 4487
    bill_b = await shop.pay(bill_b, "card", approval_code="4711")

    bill_c = await shop.open_takeaway()
    bill_c = await _line(shop, bill_c, "tart")
    bill_c = await _line(shop, bill_c, "egg", 2)
    bill_c = await _line(shop, bill_c, "water")
    bill_c = await shop.call(
        "POST",
        f"/bills/{bill_c['id']}/lines/{_line_id(bill_c, shop.products['water'])}/void",
        {"version": bill_c["version"], "reason": "customer changed mind"},
    )
    bill_c = await shop.call(
        "POST",
        f"/bills/{bill_c['id']}/discount",
        {"version": bill_c["version"], "fixed_amount": 3, "reason": "抹零"},
    )
    bill_c = await shop.pay(bill_c, "cash", tendered_amount=2000)
    assert (bill_c["rounding_amount"], bill_c["payments"][0]["amount"]) == (-7, 1390)

    bill_d = await shop.open_takeaway()
    bill_d = await _line(shop, bill_d, "cake")
    bill_d = await _line(shop, bill_d, "latte")
    bill_d = await shop.pay(bill_d, "cash", amount=2000, tendered_amount=2000)
    bill_d = await shop.pay(bill_d, "card", approval_code="0815")

    bill_e = await shop.open_takeaway()
    bill_e = await _line(shop, bill_e, "americano")
    bill_e = await shop.call(
        "POST",
        f"/bills/{bill_e['id']}/lines/{bill_e['lines'][0]['id']}/void",
        {"version": bill_e["version"], "reason": "wrong item"},
    )
    bill_e = await shop.call("POST", f"/bills/{bill_e['id']}/close", {"version": bill_e["version"]})

    bill_f = await shop.open_takeaway()
    await _line(shop, bill_f, "egg")

    closing = await shop.call("POST", f"/shifts/{shift['id']}/close", {"amount": 40900})
    assert [bill["status"] for bill in (bill_a, bill_b, bill_c, bill_d, bill_e)] == ["closed"] * 4 + [
        "cancelled"
    ]
    return {
        "shift": closing,
        "business_date": bill_a["business_date"],
        "closed": [bill_a, bill_b, bill_c, bill_d],
    }


async def z_report(shop: Shop, business_date: str, role: Role = Role.MANAGER) -> ZReport:
    answer = await shop.call(
        "GET", f"/stores/{shop.store_id}/z-report?business_date={business_date}", role=role, expect=200
    )
    return ZReport.model_validate(answer)


async def test_the_z_report_of_a_day_with_every_kind_of_sale(cafe: Shop) -> None:
    day = await a_day_of_sales(cafe)
    report = await z_report(cafe, day["business_date"])

    assert report.business_date.isoformat() == day["business_date"]
    assert (
        report.bills_count,
        report.guests_count,
        report.cancelled_bills_count,
        report.open_bills_count,
    ) == (
        4,
        3,
        1,
        1,
    )
    # 46.00 + 44.87 + 13.97 + 52.00
    assert report.total_sales_amount == 15684
    assert report.average_bill_amount == 3921  # 156.84 / 4 = 39.21
    assert report.before_discounts_amount == 16500
    assert report.discounts.model_dump() == {
        "line_count": 1,
        "line_amount": 480,
        "bill_count": 2,
        "bill_amount": 336,
        "total_amount": 816,
    }
    # VAT per bill and rate, half up: A 4600 -> 260, B 4022 -> 228 and 465 -> 38 (after the
    # bill discount shares 298 / 35), C 798 -> 45 and 599 -> 49 (shares 2 / 1), D 5200 -> 294
    assert [row.model_dump() for row in report.by_vat_rate] == [
        {
            "code": "standard",
            "rate_basis_points": 600,
            "gross_amount": 14620,
            "vat_amount": 827,
            "net_amount": 13793,
        },
        {
            "code": "reduced",
            "rate_basis_points": 900,
            "gross_amount": 1064,
            "vat_amount": 87,
            "net_amount": 977,
        },
    ]
    # each rate's VAT split over its categories by gross (largest remainder):
    # 6 %: Coffee 8222 / Food 6398 -> 465 / 362; 9 %: Food 599 / drinks 465 -> 49 / 38
    assert [
        (
            item.name,
            item.quantity,
            item.before_discounts_amount,
            item.line_discount_amount,
            item.bill_discount_amount,
            item.gross_amount,
            item.vat_amount,
            item.net_amount,
        )
        for item in report.by_category
    ] == [
        ("Coffee", 4, 9000, 480, 298, 8222, 465, 7757),
        ("Food", 5, 7000, 0, 3, 6997, 411, 6586),
        ("饮料", 1, 500, 0, 35, 465, 38, 427),
    ]
    assert [tender.model_dump() for tender in report.tenders] == [
        {"tender": "cash", "count": 3, "amount": 7990, "change_amount": 1010},
        {"tender": "card", "count": 2, "amount": 7687, "change_amount": 0},
    ]
    assert (report.payments_amount, report.cash_rounding_amount) == (15677, -7)
    assert report.voids.model_dump() == {
        "count": 2,
        "quantity": 2,
        "amount": 2300,
        "by_reason": [
            {"reason": "wrong item", "count": 1, "quantity": 1, "amount": 1800},
            {"reason": "customer changed mind", "count": 1, "quantity": 1, "amount": 500},
        ],
    }
    assert report.refunds.model_dump() == {
        "count": 0,
        "amount": 0,
        "returns_count": 0,
        "returns_amount": 0,
        "by_tender": [],
        "directed": [],
    }
    # the drawer: 260 float + 79.90 cash + 100 in - 30 out = 409.90; counted 409.00
    [shift] = report.shifts
    assert (shift.register_id, shift.status, shift.opening_float_amount) == (
        cafe.register_ids[0],
        "closed",
        26000,
    )
    assert (shift.expected_cash_amount, shift.counted_cash_amount, shift.difference_amount) == (
        40990,
        40900,
        -90,
    )
    assert report.over_short_amount == -90
    assert_z_report_adds_up(report)


async def test_the_vat_rows_are_the_sum_of_the_receipts(cafe: Shop) -> None:
    day = await a_day_of_sales(cafe)
    report = await z_report(cafe, day["business_date"])
    receipts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for bill in day["closed"]:
        for row in (await cafe.call("GET", f"/bills/{bill['id']}"))["vat"]:
            receipts[row["code"]][0] += row["gross_amount"]
            receipts[row["code"]][1] += row["vat_amount"]
    assert {row.code: [row.gross_amount, row.vat_amount] for row in report.by_vat_rate} == receipts


async def test_category_names_follow_the_locale(cafe: Shop) -> None:
    day = await a_day_of_sales(cafe)
    english = await cafe.call(
        "GET",
        f"/stores/{cafe.store_id}/z-report?business_date={day['business_date']}&locale=en",
        role=Role.MANAGER,
    )
    # sorted by the names shown
    assert [item["name"] for item in english["by_category"]] == ["Coffee", "Drinks", "Food"]


async def test_a_day_without_sales_is_all_zero(cafe: Shop) -> None:
    report = await z_report(cafe, "2001-01-01")
    assert (report.bills_count, report.total_sales_amount, report.average_bill_amount) == (0, 0, 0)
    assert (report.by_category, report.by_vat_rate, report.tenders, report.shifts) == ([], [], [], [])
    assert_z_report_adds_up(report)


async def test_the_z_report_defaults_to_the_current_business_day(cafe: Shop) -> None:
    day = await a_day_of_sales(cafe)
    answer = await cafe.call("GET", f"/stores/{cafe.store_id}/z-report", role=Role.MANAGER)
    assert (answer["business_date"], answer["bills_count"]) == (day["business_date"], 4)


async def test_the_printed_z_report_fits_the_80_mm_paper(cafe: Shop) -> None:
    day = await a_day_of_sales(cafe)
    headers = await cafe.login(Role.MANAGER)
    for locale, expected in (
        ("zh_CN", ["日结报表", "饮料", "营业额", "￥156.84", "-￥0.90"]),
        ("en", ["Z REPORT", "Drinks"]),
    ):
        response = await cafe.client.get(
            f"/api/v1/stores/{cafe.store_id}/z-report.txt",
            params={"business_date": day["business_date"], "locale": locale},
            headers=headers,
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        lines = response.text.splitlines()
        assert all(display_width(line, ambiguous_is_wide=locale == "zh_CN") <= 48 for line in lines), [
            line for line in lines if display_width(line, ambiguous_is_wide=True) > 48
        ]
        for text in expected:
            assert text in response.text, text


async def test_the_z_report_pdf_shows_the_chinese_names(cafe: Shop) -> None:
    day = await a_day_of_sales(cafe)
    headers = await cafe.login(Role.MANAGER)
    response = await cafe.client.get(
        f"/api/v1/stores/{cafe.store_id}/z-report.pdf",
        params={"business_date": day["business_date"]},
        headers=headers,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    for expected in (
        "日结报表",
        "饮料",
        "Coffee",
        "营业额",
        "￥156.84",
        "customer changed mind",
        "现金",
        "银行卡",
    ):
        assert expected in text, expected


async def test_a_bad_business_date_names_the_field(cafe: Shop) -> None:
    refused = await cafe.call(
        "GET", f"/stores/{cafe.store_id}/z-report?business_date=2026-13-01", role=Role.MANAGER, expect=422
    )
    assert refused["errors"][0]["field"] == "business_date"


async def test_another_organizations_store_is_not_found(cafe: Shop, session: AsyncSession) -> None:
    other = await make_store(session, await make_organization(session, name="Other"))
    await session.commit()
    refused = await cafe.call("GET", f"/stores/{other.id}/z-report", role=Role.MANAGER, expect=404)
    assert refused["errors"][0]["field"] == "store_id"


@pytest.mark.parametrize(
    ("role", "status"), [(Role.WAITER, 403), (Role.CASHIER, 403), (Role.MANAGER, 200), (Role.OWNER, 200)]
)
@pytest.mark.parametrize("suffix", ["", ".txt", ".pdf"])
async def test_who_may_see_the_z_report(cafe: Shop, role: Role, status: int, suffix: str) -> None:
    headers = await cafe.login(role)
    response = await cafe.client.get(
        f"/api/v1/stores/{cafe.store_id}/z-report{suffix}",
        params={"business_date": date(2026, 1, 1).isoformat()},
        headers=headers,
    )
    assert response.status_code == status, response.text
