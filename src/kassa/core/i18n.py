"""Translations (Babel catalogs) and locale-aware display of money and time.

Source strings are English; ``locales/<locale>/LC_MESSAGES/messages.po`` holds the rest.
The .po files are compiled in memory when first used, so no binary .mo files are kept.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from kassa.core.money import Money

LOCALES_DIRECTORY = Path(__file__).resolve().parent.parent / "locales"
SUPPORTED_LOCALES = ("zh_CN", "en")
LOCALE_NAMES = {"zh_CN": "中文", "en": "English"}


def N_(message: str) -> str:  # noqa: N802 - the gettext convention: extract now, translate where shown
    """Marks a string for the catalog; it is translated where it is shown."""
    return message


def normalize_locale(locale: str | None, default: str = "zh_CN") -> str:
    if locale in SUPPORTED_LOCALES:
        return locale
    if locale and locale.split("_")[0] == "zh":
        return "zh_CN"
    if locale and locale.split("_")[0] == "en":
        return "en"
    return default


@lru_cache
def translations(locale: str) -> gettext.NullTranslations:
    path = LOCALES_DIRECTORY / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def translator(locale: str) -> Callable[[str], str]:
    """``_`` for one locale: ``_ = translator("zh_CN"); _("Log out")``."""
    return translations(normalize_locale(locale)).gettext


def format_money(money: Money, locale: str) -> str:
    return money.format(locale=normalize_locale(locale))


def format_datetime(moment: datetime, timezone: str, locale: str, pattern: str = "medium") -> str:
    return babel_format_datetime(moment, pattern, tzinfo=ZoneInfo(timezone), locale=normalize_locale(locale))
