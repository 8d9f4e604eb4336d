"""Widths, wrapping, justified rows, labels and the styles the layout asks for."""

from __future__ import annotations

import pytest

from kassa.printing import (
    Alignment,
    Label,
    QrCode,
    TextLine,
    TextSize,
    display_width,
    format_money,
    layout_document,
    translate,
    wrap_text,
)
from kassa.printing.layout import TRANSLATIONS, justify

from .factories import E_RECEIPT_URL, cny, make_kitchen_ticket, make_receipt


@pytest.mark.parametrize(
    ("text", "ambiguous_is_wide", "expected"),
    [
        ("Rice", False, 4),
        ("米饭", False, 4),
        ("宫保鸡丁 x2", False, 11),
        ("￥12.00", False, 7),  # full-width yuan sign
        ("¥12.00", False, 6),  # half-width yen sign
        ("（副本）", False, 8),  # full-width brackets
        ("Café", False, 4),
        ("Café", True, 5),  # "é" is ambiguous: wide in an East Asian context
        ("e\u0301", False, 1),  # combining accent takes no column
        ("a\u200bb", False, 2),  # zero-width space
        ("😀", False, 2),
        ("", False, 0),
    ],
)
def test_display_width_counts_columns(text: str, ambiguous_is_wide: bool, expected: int) -> None:
    assert display_width(text, ambiguous_is_wide=ambiguous_is_wide) == expected


@pytest.mark.parametrize(
    ("text", "columns", "expected"),
    [
        ("Kung Pao Chicken", 10, ["Kung Pao", "Chicken"]),
        ("Kung   Pao\nChicken", 40, ["Kung Pao Chicken"]),  # whitespace and newlines collapse
        ("宫保鸡丁盖饭", 6, ["宫保鸡", "丁盖饭"]),
        ("宫保鸡丁盖饭", 7, ["宫保鸡", "丁盖饭"]),  # a wide character never straddles the edge
        ("宫保鸡丁Kung Pao", 10, ["宫保鸡丁", "Kung Pao"]),
        ("Supercalifragilistic", 8, ["Supercal", "ifragili", "stic"]),
        ("", 10, []),
        ("   ", 10, []),
    ],
)
def test_wrap_text(text: str, columns: int, expected: list[str]) -> None:
    assert wrap_text(text, columns) == expected


def test_wrap_text_needs_room_for_a_wide_character() -> None:
    with pytest.raises(ValueError, match="2"):
        wrap_text("米饭", 1)


@pytest.mark.parametrize(
    ("left", "right", "columns", "indent", "expected"),
    [
        ("Rice", "¥3.00", 16, 0, ["Rice       ¥3.00"]),
        ("Rice", "¥3.00", 16, 2, ["  Rice     ¥3.00"]),
        ("Kung Pao Chicken", "¥80.00", 16, 0, ["Kung Pao Chicken", "          ¥80.00"]),
        ("Kung Pao Chicken", "¥80.00", 12, 0, ["Kung Pao", "Chicken", "      ¥80.00"]),
        ("Kung Pao Chicken", "¥8.00", 14, 0, ["Kung Pao", "Chicken  ¥8.00"]),
        ("", "¥3.00", 10, 0, ["     ¥3.00"]),
        ("Rice", "", 10, 0, ["Rice"]),
        ("米饭", "￥3.00", 16, 0, ["米饭      ￥3.00"]),
    ],
)
def test_justify_puts_the_amount_flush_right(
    left: str, right: str, columns: int, indent: int, expected: list[str]
) -> None:
    assert justify(left, right, columns, indent=indent) == expected


def test_every_label_is_translated_in_every_locale() -> None:
    for locale, catalog in TRANSLATIONS.items():
        assert set(catalog) == set(Label), locale


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("zh_CN", "合计"),
        ("zh", "合计"),
        ("zh-Hans-CN", "合计"),
        ("en", "TOTAL"),
        ("en_GB", "TOTAL"),
        ("de", "TOTAL"),
    ],
)
def test_translate_falls_back_by_language(locale: str, expected: str) -> None:
    assert translate(Label.TOTAL, locale) == expected


@pytest.mark.parametrize(
    ("locale", "amount", "expected"),
    [
        ("zh_CN", 1234, "￥12.34"),
        ("zh_CN", -830, "-￥8.30"),
        ("zh_CN", 123456, "￥1,234.56"),
        ("en", 1234, "CN¥12.34"),
    ],
)
def test_format_money_uses_a_yuan_sign_chinese_printers_have(locale: str, amount: int, expected: str) -> None:
    assert format_money(cny(amount), locale) == expected


def test_header_and_total_are_bold_and_large() -> None:
    # Given the small receipt laid out for 80 mm paper
    layout = layout_document(make_receipt(), 48)
    lines = [operation for operation in layout.operations if isinstance(operation, TextLine)]

    # Then the store name is double size and centred, and the total is bold double height
    assert lines[0] == TextLine("Kassa Cafe", Alignment.CENTER, is_bold=True, size=TextSize.DOUBLE)
    total = next(line for line in lines if line.text.startswith("TOTAL"))
    assert (total.is_bold, total.size) == (True, TextSize.DOUBLE_HEIGHT)
    assert [line for line in lines if line.is_bold] == [lines[0], total]


def test_receipt_ends_with_the_qr_code_of_the_e_receipt() -> None:
    layout = layout_document(make_receipt(), 32)

    assert layout.operations[-1] == QrCode(E_RECEIPT_URL)


def test_urgent_kitchen_ticket_has_an_inverted_banner() -> None:
    layout = layout_document(make_kitchen_ticket(is_urgent=True), 32)

    assert layout.operations[0] == TextLine(
        "!!! URGENT !!!", Alignment.CENTER, is_bold=True, size=TextSize.DOUBLE, is_inverted=True
    )


def test_unknown_document_type_has_no_layout() -> None:
    with pytest.raises(TypeError, match="no layout for str"):
        layout_document("a receipt", 32)  # type: ignore[arg-type]


def test_paper_narrower_than_24_columns_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 24"):
        layout_document(make_receipt(), 20)


def test_a_wide_accented_letter_stays_in_its_word() -> None:
    # On Chinese receipts "é" takes two columns, but "Café" must not break before it.
    assert wrap_text("甜心咖啡 Sweetheart Café", 24, ambiguous_is_wide=True) == [
        "甜心咖啡 Sweetheart",
        "Café",
    ]
