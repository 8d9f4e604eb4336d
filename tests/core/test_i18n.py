from __future__ import annotations

from datetime import UTC, datetime

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from kassa.core.i18n import LOCALES_DIRECTORY, format_datetime, format_money, normalize_locale, translator
from kassa.core.money import Money

SOURCE = LOCALES_DIRECTORY.parent


def test_every_ui_string_has_a_chinese_translation() -> None:
    keywords = {"_": None, "N_": None}
    used = {
        message
        for _filename, _line, message, _comments, _context in extract_from_dir(
            str(SOURCE), method_map=[("**.py", "python")], keywords=keywords
        )
        if isinstance(message, str)
    }
    with (LOCALES_DIRECTORY / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        catalog = read_po(po_file)
    translated = {message.id for message in catalog if message.id and message.string}
    assert used, "extraction found no strings"
    assert sorted(used - translated) == []


def test_translator_switches_language() -> None:
    assert translator("zh_CN")("Log out") == "退出"
    assert translator("en")("Log out") == "Log out"
    assert translator("zh_CN")("a string nobody translated") == "a string nobody translated"


def test_locale_aware_money_and_time() -> None:
    moment = datetime(2026, 11, 23, 4, 5, tzinfo=UTC)
    assert format_money(Money(1800, "CNY"), "zh_CN") == "¥18.00"
    assert format_datetime(moment, "Asia/Shanghai", "zh_CN", "yyyy-MM-dd HH:mm") == "2026-11-23 12:05"
    assert format_datetime(moment, "Europe/Berlin", "en", "HH:mm") == "05:05"


def test_unknown_locales_fall_back() -> None:
    assert normalize_locale("zh_TW") == "zh_CN"
    assert normalize_locale("en_GB") == "en"
    assert normalize_locale("xx", default="en") == "en"
