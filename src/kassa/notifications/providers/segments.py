"""How many SMS a text is sent (and billed) as.

A text that fits the GSM 03.38 alphabet goes as 7-bit septets: 160 in a single SMS, 153 per
part once it is split (the rest of each part carries the concatenation header). Characters of
the extension table (``€ [ ] { } ^ ~ | \\`` and form feed) take an escape septet plus their own.
Any other character (Chinese, most emoji) sends the whole text as UCS-2: 70 UTF-16 code units
in one SMS, 67 per part; characters outside the basic multilingual plane (emoji) take two.
A character is never split between two parts, so a part may hold one unit less.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

_LIMITS: dict[str, tuple[int, int]] = {"gsm7": (160, 153), "ucs2": (70, 67)}


@dataclass(frozen=True, slots=True)
class SegmentCount:
    encoding: Literal["gsm7", "ucs2"]
    characters: int  # septets (gsm7) or UTF-16 code units (ucs2)
    segments: int  # an empty text still goes as one SMS


def is_gsm7(text: str) -> bool:
    return all(character in GSM7_BASIC or character in GSM7_EXTENSION for character in text)


def count_segments(text: str) -> SegmentCount:
    encoding: Literal["gsm7", "ucs2"]
    if is_gsm7(text):
        encoding = "gsm7"
        units = [2 if character in GSM7_EXTENSION else 1 for character in text]
    else:
        encoding = "ucs2"
        units = [2 if ord(character) > 0xFFFF else 1 for character in text]
    single, per_part = _LIMITS[encoding]
    characters = sum(units)
    if characters <= single:
        return SegmentCount(encoding, characters, 1)
    segments, used = 1, 0
    for size in units:
        if used + size > per_part:
            segments, used = segments + 1, 0
        used += size
    return SegmentCount(encoding, characters, segments)
