"""The plain-text rendering: what the paper shows, line for line."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from itertools import pairwise

import pytest

from kassa.core.money import Money
from kassa.printing import (
    KitchenTicketLine,
    OrderType,
    PaperWidth,
    ReceiptAdjustment,
    ReceiptModifier,
    ReceiptTender,
    display_width,
    format_money,
    render_text,
)

from .factories import E_RECEIPT_URL, cny, make_kitchen_ticket, make_line, make_receipt

EN_32 = [
    "           Kassa Cafe",
    "     8 Nanjing Rd, Shanghai",
    "       Tel: 021-5555 0100",
    "--------------------------------",
    "Bill: B-0042",
    "Time: 2025-05-01 12:30",
    "Staff: Alice",
    "Register: Front",
    "Dine-in                Table: A3",
    "--------------------------------",
    "Kung Pao Chicken        CN¥80.00",
    "  2 x CN¥38.00",
    "  + Extra spicy          CN¥2.00",
    "Rice                     CN¥3.00",
    "--------------------------------",
    "Subtotal                CN¥83.00",
    "Member discount         -CN¥8.30",
    "TOTAL                   CN¥74.70",
    "--------------------------------",
    "VAT 6%",
    "  Net                   CN¥70.47",
    "  VAT                    CN¥4.23",
    "  Gross                 CN¥74.70",
    "--------------------------------",
    "Cash                   CN¥100.00",
    "Change                  CN¥25.30",
    "--------------------------------",
    "           Thank you!",
    "    Scan for your e-receipt",
    " https://kassa.example/r/B-0042",
]

EN_48 = [
    "                   Kassa Cafe",
    "             8 Nanjing Rd, Shanghai",
    "               Tel: 021-5555 0100",
    "------------------------------------------------",
    "Bill: B-0042",
    "Time: 2025-05-01 12:30",
    "Staff: Alice",
    "Register: Front",
    "Dine-in                                Table: A3",
    "------------------------------------------------",
    "Kung Pao Chicken                        CN¥80.00",
    "  2 x CN¥38.00",
    "  + Extra spicy                          CN¥2.00",
    "Rice                                     CN¥3.00",
    "------------------------------------------------",
    "Subtotal                                CN¥83.00",
    "Member discount                         -CN¥8.30",
    "TOTAL                                   CN¥74.70",
    "------------------------------------------------",
    "VAT 6%",
    "  Net                                   CN¥70.47",
    "  VAT                                    CN¥4.23",
    "  Gross                                 CN¥74.70",
    "------------------------------------------------",
    "Cash                                   CN¥100.00",
    "Change                                  CN¥25.30",
    "------------------------------------------------",
    "                   Thank you!",
    "            Scan for your e-receipt",
    "         https://kassa.example/r/B-0042",
]

# A hanzi and a full-width "￥" take two columns, so rows hold fewer characters.
ZH_32 = [
    "            卡萨小馆",
    "        上海市南京路8号",
    "      电话：021-5555 0100",
    "--------------------------------",
    "单号：B-0042",
    "时间：2025-05-01 12:30",
    "操作员：Alice",
    "收银台：Front",
    "堂食                    桌号：A3",
    "--------------------------------",
    "宫保鸡丁                 ￥80.00",
    "  2 x ￥38.00",
    "  + 加辣                  ￥2.00",
    "米饭                      ￥3.00",
    "--------------------------------",
    "小计                     ￥83.00",
    "会员折扣                 -￥8.30",
    "合计                     ￥74.70",
    "--------------------------------",
    "增值税 6%",
    "  不含税                 ￥70.47",
    "  税额                    ￥4.23",
    "  含税                   ￥74.70",
    "--------------------------------",
    "现金                    ￥100.00",
    "找零                     ￥25.30",
    "--------------------------------",
    "            谢谢惠顾",
    "        扫码查看电子小票",
    " https://kassa.example/r/B-0042",
]

ZH_48 = [
    "                    卡萨小馆",
    "                上海市南京路8号",
    "              电话：021-5555 0100",
    "------------------------------------------------",
    "单号：B-0042",
    "时间：2025-05-01 12:30",
    "操作员：Alice",
    "收银台：Front",
    "堂食                                    桌号：A3",
    "------------------------------------------------",
    "宫保鸡丁                                 ￥80.00",
    "  2 x ￥38.00",
    "  + 加辣                                  ￥2.00",
    "米饭                                      ￥3.00",
    "------------------------------------------------",
    "小计                                     ￥83.00",
    "会员折扣                                 -￥8.30",
    "合计                                     ￥74.70",
    "------------------------------------------------",
    "增值税 6%",
    "  不含税                                 ￥70.47",
    "  税额                                    ￥4.23",
    "  含税                                   ￥74.70",
    "------------------------------------------------",
    "现金                                    ￥100.00",
    "找零                                     ￥25.30",
    "------------------------------------------------",
    "                    谢谢惠顾",
    "                扫码查看电子小票",
    "         https://kassa.example/r/B-0042",
]


@pytest.mark.parametrize(
    ("locale", "width", "expected"),
    [
        ("en", PaperWidth.WIDTH_58_MM, EN_32),
        ("en", PaperWidth.WIDTH_80_MM, EN_48),
        ("zh_CN", PaperWidth.WIDTH_58_MM, ZH_32),
        ("zh_CN", PaperWidth.WIDTH_80_MM, ZH_48),
    ],
)
def test_small_receipt_prints_exactly(locale: str, width: int, expected: list[str]) -> None:
    # Given the small lunch bill
    receipt = make_receipt(locale=locale)

    # When it is rendered as text
    text = render_text(receipt, width)

    # Then every line is exactly as on paper
    assert text.splitlines() == expected


@pytest.mark.parametrize("width", [32, 48])
def test_chinese_amount_rows_fill_the_width_in_display_columns(width: int) -> None:
    # Given a Chinese receipt, where dish names and "￥" are two columns each
    receipt = make_receipt(locale="zh_CN")

    # When it is rendered
    lines = render_text(receipt, width).splitlines()

    # Then every amount ends at the right edge, counted in display columns, not characters
    amount_rows = [line for line in lines if "￥" in line and " x " not in line]
    assert len(amount_rows) == 11
    assert {display_width(line, ambiguous_is_wide=True) for line in amount_rows} == {width}
    assert all(len(line) < width for line in amount_rows)


def test_long_english_name_wraps_at_spaces_with_amount_on_the_last_line() -> None:
    # Given a dish name far longer than 58 mm paper
    name = "Slow-braised pork belly with preserved mustard greens and rice"
    receipt = make_receipt(
        lines=(make_line(name=name, unit_price=cny(6800)),), adjustments=(), vat_breakdown=()
    )

    # When it is rendered at 32 columns
    lines = render_text(receipt, 32).splitlines()

    # Then the name wraps between words and the amount sits on its last line
    start = lines.index("Slow-braised pork belly with")
    assert lines[start : start + 3] == [
        "Slow-braised pork belly with",
        "preserved mustard greens and",
        "rice                    CN¥68.00",
    ]


def test_long_chinese_name_wraps_between_characters() -> None:
    # Given a 17-character Chinese name: 34 columns
    name = "秘制红烧肉配梅干菜和米饭套餐加大份"
    receipt = make_receipt(
        locale="zh_CN", lines=(make_line(name=name, unit_price=cny(6800)),), adjustments=(), vat_breakdown=()
    )

    # When it is rendered at 32 columns
    lines = render_text(receipt, 32).splitlines()

    # Then 16 characters fill the first line and the amount follows the last character
    start = lines.index("秘制红烧肉配梅干菜和米饭套餐加大")
    assert lines[start + 1] == "份" + " " * 23 + "￥68.00"


def test_an_unbreakable_word_is_cut_at_the_edge() -> None:
    # Given a name with no spaces longer than the paper
    name = "A" * 40
    receipt = make_receipt(
        lines=(make_line(name=name, unit_price=cny(100)),), adjustments=(), vat_breakdown=()
    )

    # When it is rendered at 32 columns
    lines = render_text(receipt, 32).splitlines()

    # Then it is cut at 32 columns and the rest carries the amount
    start = lines.index("A" * 32)
    assert lines[start + 1] == "A" * 8 + " " * 17 + "CN¥1.00"


@pytest.mark.parametrize(("locale", "banner"), [("en", "*** COPY ***"), ("zh_CN", "*** 副本 ***")])
@pytest.mark.parametrize("width", [32, 48])
def test_reprint_is_marked_copy_at_top_and_bottom(locale: str, banner: str, width: int) -> None:
    # Given a reprint of a receipt
    receipt = make_receipt(locale=locale, is_copy=True)

    # When it is rendered
    lines = render_text(receipt, width).splitlines()

    # Then the first and the last line are the centred COPY banner, and nothing else says so
    centred = " " * ((width - 12) // 2) + banner
    assert lines[0] == centred
    assert lines[-1] == centred
    assert sum(banner in line for line in lines) == 2


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_original_receipt_is_not_marked_copy(locale: str) -> None:
    text = render_text(make_receipt(locale=locale), 32)

    assert "COPY" not in text
    assert "副本" not in text


def _receipt_with_everything(locale: str) -> tuple[str, list[Money]]:
    lines = (
        make_line(
            name="Dumplings",
            quantity=3,
            unit_price=cny(1250),
            modifiers=(ReceiptModifier(name="Vinegar", price_delta=cny(50)),),
            note="well done",
            discount=ReceiptAdjustment(label="Happy hour", amount=cny(-390)),
        ),
        make_line(name="Tea", quantity=2, unit_price=cny(800)),
    )
    adjustments = (
        ReceiptAdjustment(label="满100减10", amount=cny(-1000)),
        ReceiptAdjustment(label="Member discount", amount=cny(-215)),
    )
    subtotal = sum(line.line_total.amount for line in lines)
    total = subtotal - 1215
    tenders = (
        ReceiptTender(label="WeChat Pay", amount=cny(2000), detail="4200001234"),
        ReceiptTender(label="Cash", amount=cny(5000)),
    )
    receipt = make_receipt(
        locale=locale,
        lines=lines,
        adjustments=adjustments,
        vat_breakdown=(),
        tenders=tenders,
        change_due=cny(7000 - total),
    )
    amounts = [cny(1250), cny(50), cny(-390), cny(800)]
    amounts += [line.line_total for line in lines]
    amounts += [adjustment.amount for adjustment in adjustments]
    amounts += [receipt.subtotal, receipt.total, cny(2000), cny(5000), cny(7000 - total)]
    return render_text(receipt, 32), amounts


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_every_amount_of_the_receipt_is_printed(locale: str) -> None:
    # Given a receipt with modifiers, a note, line and bill discounts and two tenders
    text, amounts = _receipt_with_everything(locale)

    # Then every amount appears, and so do the note and the approval code
    for amount in amounts:
        assert format_money(amount, locale) in text, amount
    assert "well done" in text
    assert "  4200001234" in text.splitlines()


def _printed_amount(line: str) -> Decimal:
    """The amount at the end of a printed row, e.g. "-CN¥1,008.30" -> Decimal("-1008.30")."""
    token = line.split()[-1]
    digits = re.sub(r"[^\d.]", "", token)
    return -Decimal(digits) if token.startswith("-") else Decimal(digits)


@pytest.mark.parametrize(
    ("locale", "subtotal_label", "total_label"), [("en", "Subtotal", "TOTAL"), ("zh_CN", "小计", "合计")]
)
def test_printed_subtotal_adjustments_and_total_add_up(
    locale: str, subtotal_label: str, total_label: str
) -> None:
    # Given a receipt with two bill-level adjustments, printed
    text, _ = _receipt_with_everything(locale)
    lines = text.splitlines()

    # When the amounts are read back from the paper
    start = next(index for index, line in enumerate(lines) if line.startswith(subtotal_label))
    end = next(index for index, line in enumerate(lines) if line.startswith(total_label))
    subtotal = _printed_amount(lines[start])
    adjustments = [_printed_amount(line) for line in lines[start + 1 : end]]
    total = _printed_amount(lines[end])

    # Then subtotal plus adjustments is the total, and the lines add up to the subtotal
    assert adjustments == [Decimal("-10.00"), Decimal("-2.15")]
    assert subtotal + sum(adjustments) == total == Decimal("38.95")
    line_totals = [_printed_amount(line) for line in lines if line.startswith(("Dumplings", "Tea"))]
    assert sum(line_totals) == subtotal


def test_business_date_is_printed_only_when_it_differs_from_the_calendar_date() -> None:
    # Given a sale at 00:30 on 2 May that belongs to the business day of 1 May
    receipt = make_receipt()
    late = replace(receipt, business_date=date(2025, 4, 30))
    same = replace(receipt, business_date=date(2025, 5, 1))

    # Then only the late one names its business day
    assert "Business day: 2025-04-30" in render_text(late, 32).splitlines()
    assert "Business day" not in render_text(same, 32)


def test_takeaway_shows_the_pickup_code() -> None:
    receipt = make_receipt()
    takeaway = replace(receipt, order_type=OrderType.TAKEAWAY, table_name=None, pickup_code="087")

    assert "Takeaway        Pickup code: 087" in render_text(takeaway, 32).splitlines()


def test_receipt_without_optional_parts_has_no_empty_sections() -> None:
    # Given a pre-bill: no VAT, no tenders, no footer, no QR code
    receipt = make_receipt(vat_breakdown=(), tenders=(), e_receipt_url=None, footer_text="")

    # When it is rendered
    lines = render_text(receipt, 32).splitlines()

    # Then it ends with the total and one rule, never two rules in a row
    assert lines[-2:] == ["TOTAL                   CN¥74.70", "-" * 32]
    assert all(not (a == b == "-" * 32) for a, b in pairwise(lines))


def test_e_receipt_url_is_in_the_preview() -> None:
    assert E_RECEIPT_URL in render_text(make_receipt(), 48)


KITCHEN_ZH_32 = [
    "          *** 副本 ***",
    "          !!! 加急 !!!",
    "              热菜",
    "            桌号：A3",
    "              堂食",
    "--------------------------------",
    "单号：B-0042",
    "时间：2025-05-01 12:30",
    "操作员：Alice",
    "--------------------------------",
    "2 x 宫保鸡丁",
    "  + 加辣",
    "  备注：不要花生",
    "--------------------------------",
    "          *** 副本 ***",
]


def test_kitchen_ticket_prints_exactly() -> None:
    # Given an urgent reprint of a kitchen ticket in Chinese
    ticket = make_kitchen_ticket(locale="zh_CN", is_urgent=True, is_copy=True)

    # When it is rendered at 32 columns
    lines = render_text(ticket, 32).splitlines()

    # Then it shows station, table, dishes, and COPY at both ends, without prices
    assert lines == KITCHEN_ZH_32


def test_kitchen_ticket_wraps_names_under_the_quantity() -> None:
    ticket = make_kitchen_ticket(
        lines=(KitchenTicketLine(name="Kung Pao Chicken with a very long description", quantity=12),),
        order_type=OrderType.TAKEAWAY,
        table_name=None,
        pickup_code="087",
    )

    lines = render_text(ticket, 32).splitlines()

    start = lines.index("12 x Kung Pao Chicken with a")
    assert lines[start + 1] == "     very long description"
    assert "        Pickup code: 087" in lines
    assert "URGENT" not in "\n".join(lines)
