"""Whatever the names and amounts, nothing is printed past the edge of the paper."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from kassa.printing import (
    KitchenTicketLine,
    Layout,
    ReceiptAdjustment,
    ReceiptLine,
    ReceiptModifier,
    TextLine,
    layout_document,
    wrap_text,
)

from .factories import cny, make_kitchen_ticket, make_line, make_receipt

# Latin, accented (ambiguous width), CJK, full-width punctuation, emoji, combining marks,
# zero-width and control characters, plus anything else Unicode has.
names = st.text(
    alphabet=st.one_of(
        st.sampled_from("Kung Pao Chicken Café 宫保鸡丁米饭（大）。，￥¥×·—😀\u0301\u200b\n\t"),
        st.characters(codec="utf-8"),  # all but lone surrogates,
    ),
    max_size=80,
)
amounts = st.integers(min_value=-(10**9), max_value=10**9)
modifiers = st.builds(lambda name, delta: ReceiptModifier(name=name, price_delta=cny(delta)), names, amounts)
lines = st.builds(
    lambda name, quantity, price, chosen_modifiers, note, discount_label, discount: make_line(
        name=name,
        quantity=quantity,
        unit_price=cny(price),
        modifiers=tuple(chosen_modifiers),
        note=note,
        discount=ReceiptAdjustment(label=discount_label, amount=cny(discount)) if discount else None,
    ),
    names,
    st.integers(min_value=1, max_value=9999),
    amounts,
    st.lists(modifiers, max_size=3),
    st.none() | names,
    names,
    st.integers(min_value=-(10**6), max_value=0),
)
widths = st.sampled_from([32, 48]) | st.integers(min_value=24, max_value=64)
locales = st.sampled_from(["en", "zh_CN"])


def columns_on_paper(text: str, is_chinese: bool) -> int:
    """Written out here, independent of the code under test: wide and full-width characters
    take two columns (ambiguous ones too on a Chinese printer), marks and format
    characters none, everything else one."""
    columns = 0
    for character in text:
        if unicodedata.category(character) in ("Mn", "Me", "Cf"):
            continue
        east_asian = unicodedata.east_asian_width(character)
        is_wide = east_asian in ("W", "F") or (is_chinese and east_asian == "A")
        columns += 2 if is_wide else 1
    return columns


def assert_fits(layout: Layout) -> None:
    is_chinese = layout.locale.startswith("zh")
    for operation in layout.operations:
        if isinstance(operation, TextLine):
            assert "\n" not in operation.text
            columns = columns_on_paper(operation.text, is_chinese) * operation.size.width_factor
            assert columns <= layout.width, operation


@settings(max_examples=200, deadline=None)
@given(
    chosen_lines=st.lists(lines, min_size=1, max_size=5),
    adjustment_labels=st.lists(names, max_size=3),
    footer=names,
    width=widths,
    locale=locales,
    is_copy=st.booleans(),
)
def test_receipt_never_exceeds_the_paper_width(
    chosen_lines: list[ReceiptLine],
    adjustment_labels: list[str],
    footer: str,
    width: int,
    locale: str,
    is_copy: bool,
) -> None:
    receipt = make_receipt(
        locale=locale,
        lines=tuple(chosen_lines),
        adjustments=tuple(ReceiptAdjustment(label=label, amount=cny(-100)) for label in adjustment_labels),
        vat_breakdown=(),
        tenders=(),
        footer_text=footer,
        is_copy=is_copy,
    )

    assert_fits(layout_document(receipt, width))


@settings(max_examples=100, deadline=None)
@given(
    ticket_lines=st.lists(
        st.builds(
            lambda name, quantity, chosen, note: KitchenTicketLine(
                name=name, quantity=quantity, modifiers=tuple(chosen), note=note
            ),
            names,
            st.integers(min_value=1, max_value=999),
            st.lists(names, max_size=3),
            st.none() | names,
        ),
        min_size=1,
        max_size=5,
    ),
    width=widths,
    locale=locales,
    is_urgent=st.booleans(),
)
def test_kitchen_ticket_never_exceeds_the_paper_width(
    ticket_lines: list[KitchenTicketLine], width: int, locale: str, is_urgent: bool
) -> None:
    ticket = make_kitchen_ticket(locale=locale, lines=tuple(ticket_lines), is_urgent=is_urgent, is_copy=True)

    assert_fits(layout_document(ticket, width))


def _visible(text: str) -> str:
    return "".join(
        character
        for character in text
        if not character.isspace() and unicodedata.category(character) not in ("Cc", "Cf")
    )


@given(text=names, columns=st.integers(min_value=2, max_value=64), ambiguous_is_wide=st.booleans())
def test_wrapping_loses_no_visible_character(text: str, columns: int, ambiguous_is_wide: bool) -> None:
    wrapped = wrap_text(text, columns, ambiguous_is_wide=ambiguous_is_wide)

    assert _visible("".join(wrapped)) == _visible(text)
