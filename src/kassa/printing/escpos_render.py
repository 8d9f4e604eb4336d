"""Layouts to ESC/POS bytes (through python-escpos's ``Dummy`` printer) and to plain text.

Both renderers walk the same ``Layout``, so the on-screen preview shows what the paper
shows, line for line.

Character sets. python-escpos 3.1 writes text through its "magic encoder", which picks,
character by character, a single-byte code page from the printer profile and emits
``ESC t n`` to switch to it. No profile lists a Chinese code page; the only Chinese
handling is a special case that sends a whole string as GB18030 when it contains a hanzi in
U+4E00..U+9FA5. On real receipts that goes wrong: a line without such a hanzi, like the
amount "￥12.00", is sent through code pages and prints "?12.00", and a half-width "¥"
beside a hanzi becomes a four-byte GB18030 code that GBK printers cannot print.
Printers sold in China run in Chinese character mode and read every byte as GB18030/GBK
(ASCII stays one byte, so English text still prints). For them (``CharacterSet.GB18030``)
we hand the magic encoder our own encoder through ``magic_encode_args`` with the encoding
fixed, so every line is GB18030 and no code page switch is ever sent, and we send ``FS &``
(Chinese mode on) after ``ESC @`` in case the printer's power-on default is off. Other
printers keep the library's code-page switching (``CharacterSet.CODE_PAGES``). The
character set belongs to the printer, not the document; when the caller does not know it,
we guess from the document's locale.

Sizes use ``GS !`` (python-escpos ``custom_size``) rather than ``ESC !``: on Chinese
printers ``ESC !`` enlarges only ASCII, not hanzi, and it also clears bold.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from escpos.constants import QR_ECLEVEL_M
from escpos.magicencode import Encoder
from escpos.printer import Dummy

from kassa.printing.documents import PrintDocument
from kassa.printing.layout import (
    Alignment,
    Layout,
    QrCode,
    TextLine,
    TextSize,
    display_width,
    is_chinese_locale,
    layout_document,
    wrap_text,
)

# FS &: select Chinese (Kanji) character mode, so two-byte GB codes print as hanzi.
SELECT_CHINESE_MODE = b"\x1c\x26"
GB18030 = "GB18030"
# Dots per QR module; 6 keeps a 40-character URL well inside 58 mm paper.
QR_MODULE_SIZE = 6


class CharacterSet(StrEnum):
    GB18030 = "gb18030"  # printers sold in China: Chinese mode, GB18030/GBK bytes
    CODE_PAGES = "code_pages"  # python-escpos magic encoder over the profile's code pages


def default_character_set(locale: str) -> CharacterSet:
    """GB18030 for a Chinese document (only a Chinese printer can print it), code pages
    otherwise."""
    return CharacterSet.GB18030 if is_chinese_locale(locale) else CharacterSet.CODE_PAGES


class Gb18030Encoder(Encoder):  # type: ignore[misc]  # python-escpos ships no types
    """A magic-encoder backend with one fixed encoding: every character as GB18030."""

    def __init__(self) -> None:
        super().__init__({GB18030: 0})

    def get_encoding_name(self, encoding: str) -> str:
        if encoding.upper() != GB18030:
            raise ValueError(f"this encoder only writes {GB18030}, not {encoding}")
        return GB18030

    def can_encode(self, encoding: str, character: str) -> bool:
        return True

    def encode(self, text: str, encoding: str, defaultchar: str = "?") -> bytes:
        # GB18030 covers all of Unicode; only lone surrogates cannot be encoded.
        return text.encode("gb18030", errors="replace")


def _new_printer(character_set: CharacterSet, profile: str) -> Dummy:
    if character_set is CharacterSet.GB18030:
        magic_encode_args = {"encoding": GB18030, "disabled": True, "encoder": Gb18030Encoder()}
        return Dummy(profile=profile, magic_encode_args=magic_encode_args)
    return Dummy(profile=profile)


@dataclass(frozen=True)
class _Style:
    alignment: Alignment = Alignment.LEFT
    is_bold: bool = False
    size: TextSize = TextSize.NORMAL
    is_inverted: bool = False


def _apply_style(printer: Dummy, style: _Style) -> None:
    # The whole style each time: the commands are cheap and no state can leak over.
    printer.set(
        align=style.alignment.value,
        bold=style.is_bold,
        custom_size=True,
        width=style.size.width_factor,
        height=style.size.height_factor,
        invert=style.is_inverted,
    )


def render_layout_escpos(
    layout: Layout, *, character_set: CharacterSet | None = None, profile: str = "default"
) -> bytes:
    """ESC/POS bytes for ``layout``: initialise, print every line in its style, print the
    QR code natively (``GS ( k``), feed and cut."""
    chosen = character_set or default_character_set(layout.locale)
    printer = _new_printer(chosen, profile)
    printer.hw("INIT")
    if chosen is CharacterSet.GB18030:
        printer._raw(SELECT_CHINESE_MODE)
    current = _Style()  # ESC @ resets the printer to exactly this
    for operation in layout.operations:
        if isinstance(operation, TextLine):
            wanted = _Style(operation.alignment, operation.is_bold, operation.size, operation.is_inverted)
            if wanted != current:
                _apply_style(printer, wanted)
                current = wanted
            printer.text(operation.text + "\n")
        elif isinstance(operation, QrCode):
            # Native QR codes follow ESC a, so centring is a style change, not an image.
            wanted = _Style(alignment=Alignment.CENTER)
            if wanted != current:
                _apply_style(printer, wanted)
                current = wanted
            printer.qr(operation.content, ec=QR_ECLEVEL_M, size=QR_MODULE_SIZE, native=True)
    if current != _Style():
        _apply_style(printer, _Style())
    printer.cut()
    return bytes(printer.output)


def render_escpos(
    document: PrintDocument,
    width: int,
    *,
    character_set: CharacterSet | None = None,
    profile: str = "default",
) -> bytes:
    """ESC/POS bytes of ``document`` on paper ``width`` columns wide.

    ``character_set`` is the printer's (GB18030 for printers sold in China); when not
    given it follows the document's locale. ``profile`` is a python-escpos printer profile
    name; "default" supports cutting and native QR codes.
    """
    return render_layout_escpos(
        layout_document(document, width), character_set=character_set, profile=profile
    )


def layout_to_text(layout: Layout) -> str:
    """The layout as plain text lines at normal size: centred lines are padded to the
    middle of the paper and a QR code shows as its content."""
    ambiguous_is_wide = layout.ambiguous_is_wide
    lines: list[str] = []

    def centre(text: str) -> str:
        padding = (layout.width - display_width(text, ambiguous_is_wide=ambiguous_is_wide)) // 2
        return " " * max(padding, 0) + text

    for operation in layout.operations:
        if isinstance(operation, TextLine):
            is_centred = operation.alignment is Alignment.CENTER
            lines.append(centre(operation.text) if is_centred else operation.text)
        elif isinstance(operation, QrCode):
            content_lines = wrap_text(operation.content, layout.width, ambiguous_is_wide=ambiguous_is_wide)
            lines.extend(centre(line) for line in content_lines)
    return "".join(f"{line.rstrip()}\n" for line in lines)


def render_text(document: PrintDocument, width: int) -> str:
    """Plain-text preview of ``document``, line for line what ``render_escpos`` prints."""
    return layout_to_text(layout_document(document, width))
