"""How many SMS a text takes: GSM-7 160/153, UCS-2 70/67."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kassa.notifications.providers.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SegmentCount,
    count_segments,
)

gsm7_basic_text = st.text(alphabet=sorted(GSM7_BASIC), max_size=800)
gsm7_text = st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=800)
any_text = st.text(max_size=600)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SegmentCount("gsm7", 0, 1)),
        ("a" * 160, SegmentCount("gsm7", 160, 1)),
        ("a" * 161, SegmentCount("gsm7", 161, 2)),
        ("a" * 306, SegmentCount("gsm7", 306, 2)),
        ("a" * 307, SegmentCount("gsm7", 307, 3)),
        ("€" * 80, SegmentCount("gsm7", 160, 1)),  # extension characters take two septets
        ("€" * 81, SegmentCount("gsm7", 162, 2)),
        ("a" * 152 + "€", SegmentCount("gsm7", 154, 1)),
        # The escape pair may not straddle two parts: the first part holds 152 septets.
        ("a" * 152 + "€" + "a" * 10, SegmentCount("gsm7", 164, 2)),
        ("a" * 152 + "€" + "a" * 152, SegmentCount("gsm7", 306, 3)),
        ("中" * 70, SegmentCount("ucs2", 70, 1)),
        ("中" * 71, SegmentCount("ucs2", 71, 2)),
        ("中" * 134, SegmentCount("ucs2", 134, 2)),
        ("中" * 135, SegmentCount("ucs2", 135, 3)),
        ("😀" * 35, SegmentCount("ucs2", 70, 1)),  # a surrogate pair counts two
        ("中" * 66 + "😀" + "中", SegmentCount("ucs2", 69, 1)),
        ("a" * 100 + "é", SegmentCount("gsm7", 101, 1)),  # é is in the GSM alphabet
        ("a" * 100 + "á", SegmentCount("ucs2", 101, 2)),  # á is not: the whole text goes UCS-2
    ],
)
def test_known_lengths(text: str, expected: SegmentCount) -> None:
    assert count_segments(text) == expected


def test_the_gsm_alphabet_has_every_character_but_the_escape() -> None:
    assert len(GSM7_BASIC) == 127
    assert "\x1b" not in GSM7_BASIC
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


@given(gsm7_basic_text)
def test_plain_gsm_text_fills_160_then_153_per_part(text: str) -> None:
    result = count_segments(text)

    assert result.encoding == "gsm7"
    assert result.characters == len(text)
    assert result.segments == (1 if len(text) <= 160 else math.ceil(len(text) / 153))


@given(any_text)
def test_ucs2_counts_utf16_code_units(text: str) -> None:
    result = count_segments(text + "中")

    assert result.encoding == "ucs2"
    assert result.characters == len((text + "中").encode("utf-16-le")) // 2


@given(st.one_of(gsm7_text, any_text))
def test_the_parts_hold_the_text_and_waste_at_most_one_unit_each(text: str) -> None:
    result = count_segments(text)
    single, per_part = (160, 153) if result.encoding == "gsm7" else (70, 67)

    if result.characters <= single:
        assert result.segments == 1
    else:
        assert result.segments >= 2
        assert result.characters <= result.segments * per_part
        # Greedy filling leaves a part short by one unit at most (a pair that did not fit).
        assert result.characters > (result.segments - 1) * (per_part - 1)


@given(st.one_of(gsm7_text, any_text), st.one_of(gsm7_text, any_text))
def test_a_longer_text_in_the_same_encoding_never_takes_fewer_parts(first: str, second: str) -> None:
    shorter, longer = count_segments(first), count_segments(first + second)

    if shorter.encoding == longer.encoding:
        assert longer.segments >= shorter.segments
