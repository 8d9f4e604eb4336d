"""The bytes a thermal printer receives."""

from __future__ import annotations

import pytest

from kassa.printing import CharacterSet, default_character_set, render_escpos

from .factories import E_RECEIPT_URL, make_kitchen_ticket, make_line, make_receipt

INITIALISE = b"\x1b@"
SELECT_CHINESE_MODE = b"\x1c&"
SELECT_CODE_PAGE = b"\x1bt"
FEED_SIX_LINES_AND_CUT = b"\x1bd\x06\x1dV\x00"
# GS ! size, ESC E bold, ESC a alignment, GS B inversion: the style the renderer sends.
BOLD_DOUBLE_HEIGHT_LEFT = b"\x1d!\x01\x1bE\x01\x1ba\x00\x1dB\x00"
NORMAL_LEFT = b"\x1d!\x00\x1bE\x00\x1ba\x00\x1dB\x00"
BOLD_DOUBLE_CENTRE_INVERTED = b"\x1d!\x11\x1bE\x01\x1ba\x01\x1dB\x01"


def qr_commands(content: str) -> bytes:
    """GS ( k: model 2, module size 6, error correction M, store the data, print."""
    data = content.encode()
    return (
        b"\x1d(k\x04\x001A2\x00"
        + b"\x1d(k\x03\x001C\x06"
        + b"\x1d(k\x03\x001E1"
        + b"\x1d(k"
        + (len(data) + 3).to_bytes(2, "little")
        + b"1P0"
        + data
        + b"\x1d(k\x03\x001Q0"
    )


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_receipt_starts_with_init_and_ends_with_a_cut(locale: str) -> None:
    output = render_escpos(make_receipt(locale=locale), 32)

    assert output.startswith(INITIALISE)
    assert output.endswith(FEED_SIX_LINES_AND_CUT)


def test_qr_code_carries_the_e_receipt_url_natively() -> None:
    output = render_escpos(make_receipt(locale="zh_CN"), 48)

    # Right after the centred caption: a native QR code follows ESC a, so it is centred too.
    caption = "扫码查看电子小票\n".encode("gb18030")
    assert caption + qr_commands(E_RECEIPT_URL) + NORMAL_LEFT + FEED_SIX_LINES_AND_CUT in output


def test_chinese_receipt_is_gb18030_in_chinese_mode_without_code_page_switches() -> None:
    # Given a Chinese receipt for a printer sold in China
    output = render_escpos(make_receipt(locale="zh_CN"), 32)

    # Then Chinese mode follows the reset and the dish name is GB18030 (here: GBK) bytes
    assert output.startswith(INITIALISE + SELECT_CHINESE_MODE)
    assert "宫保鸡丁".encode("gb18030") == b"\xb9\xac\xb1\xa3\xbc\xa6\xb6\xa1"
    assert b"\xb9\xac\xb1\xa3\xbc\xa6\xb6\xa1" + b" " * 17 + b"\xa3\xa480.00\n" in output
    # and no ESC t, whose following byte a Chinese printer would read as half a character
    assert SELECT_CODE_PAGE not in output
    assert "¥".encode("gb18030") not in output


def test_total_is_bold_and_double_height_then_back_to_normal() -> None:
    output = render_escpos(make_receipt(locale="zh_CN"), 32)

    total_row = "合计".encode("gb18030") + b" " * 21 + "￥74.70".encode("gb18030") + b"\n"
    assert BOLD_DOUBLE_HEIGHT_LEFT + total_row + NORMAL_LEFT in output


def test_english_receipt_uses_code_pages_and_plain_ascii() -> None:
    # Given an English receipt for a printer with single-byte code pages
    output = render_escpos(make_receipt(locale="en"), 32)

    # Then text is ASCII, the yen sign is CP437 0x9D after selecting page 0, no Chinese mode
    assert SELECT_CHINESE_MODE not in output
    assert output.startswith(INITIALISE)
    assert b"\x1bt\x00" in output
    assert b"Kung Pao Chicken        CN\x9d80.00\n" in output
    total_row = b"TOTAL                   CN\x9d74.70\n"
    assert BOLD_DOUBLE_HEIGHT_LEFT + total_row + NORMAL_LEFT in output


def test_english_receipt_on_a_chinese_printer_stays_ascii() -> None:
    output = render_escpos(make_receipt(locale="en"), 32, character_set=CharacterSet.GB18030)

    assert output.startswith(INITIALISE + SELECT_CHINESE_MODE)
    assert b"Kung Pao Chicken" in output
    assert SELECT_CODE_PAGE not in output


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("zh_CN", CharacterSet.GB18030), ("zh", CharacterSet.GB18030), ("en", CharacterSet.CODE_PAGES)],
)
def test_character_set_follows_the_locale_by_default(locale: str, expected: CharacterSet) -> None:
    assert default_character_set(locale) == expected


def test_reprint_banner_is_printed_twice() -> None:
    output = render_escpos(make_receipt(locale="zh_CN", is_copy=True), 32)

    assert output.count("*** 副本 ***".encode("gb18030")) == 2


def test_urgent_kitchen_ticket_banner_is_inverted() -> None:
    output = render_escpos(make_kitchen_ticket(locale="zh_CN", is_urgent=True), 32)

    assert BOLD_DOUBLE_CENTRE_INVERTED + "!!! 加急 !!!".encode("gb18030") + b"\n" in output
    assert output.endswith(FEED_SIX_LINES_AND_CUT)


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_control_characters_in_a_name_never_reach_the_printer(locale: str) -> None:
    # Given a dish name carrying the cash-drawer kick ESC p 0 25 250
    receipt = make_receipt(locale=locale, lines=(make_line(name="Rice\x1bp\x00\x19\xfa"),), adjustments=())

    # When it is rendered
    output = render_escpos(receipt, 32)

    # Then the ESC became a space and no drawer command is sent
    assert b"\x1bp" not in output
    assert b"Rice p " in output
