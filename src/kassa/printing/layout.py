"""Documents to lines on paper: widths, wrapping, justified rows and translated labels.

A layout is a list of operations (text lines with a style, QR codes) already fitted to the
paper, so the ESC/POS renderer and the plain-text preview print the same thing. Widths
are display columns: a CJK character takes two, like on the printer.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum
from functools import singledispatch
from zoneinfo import ZoneInfo

from kassa.core.money import Money
from kassa.printing.documents import (
    KitchenTicket,
    OrderType,
    PrintDocument,
    ReceiptDocument,
    ReceiptLine,
    ReturnSlip,
)


class PaperWidth(IntEnum):
    """Columns of font A on common roll widths."""

    WIDTH_58_MM = 32
    WIDTH_80_MM = 48


# Narrower than this, an indented name plus an amount no longer fits on a line.
MINIMUM_WIDTH = 24


class Alignment(StrEnum):
    LEFT = "left"
    CENTER = "center"


class TextSize(StrEnum):
    NORMAL = "normal"
    DOUBLE_HEIGHT = "double_height"
    DOUBLE = "double"  # double width and height

    @property
    def width_factor(self) -> int:
        return 2 if self is TextSize.DOUBLE else 1

    @property
    def height_factor(self) -> int:
        return 1 if self is TextSize.NORMAL else 2


@dataclass(frozen=True)
class TextLine:
    """One printed line. Left-aligned text is already padded into columns; centred text
    is bare and the printer (or the preview) centres it."""

    text: str
    alignment: Alignment = Alignment.LEFT
    is_bold: bool = False
    size: TextSize = TextSize.NORMAL
    is_inverted: bool = False


@dataclass(frozen=True)
class QrCode:
    content: str


LayoutOperation = TextLine | QrCode


@dataclass(frozen=True)
class Layout:
    width: int
    locale: str
    operations: tuple[LayoutOperation, ...]

    @property
    def ambiguous_is_wide(self) -> bool:
        return is_chinese_locale(self.locale)


# --- labels -------------------------------------------------------------------------------


class Label(StrEnum):
    """Every fixed text the printer prints. Keys stay stable when a Babel catalog
    replaces ``TRANSLATIONS``; the English text then becomes the msgid."""

    COPY_BANNER = "copy_banner"
    URGENT_BANNER = "urgent_banner"
    FIELD_SEPARATOR = "field_separator"
    PHONE = "phone"
    TAX_ID = "tax_id"
    BILL_NUMBER = "bill_number"
    TIME = "time"
    BUSINESS_DATE = "business_date"
    STAFF = "staff"
    REGISTER = "register"
    DINE_IN = "dine_in"
    TAKEAWAY = "takeaway"
    DELIVERY = "delivery"
    TABLE = "table"
    PICKUP_CODE = "pickup_code"
    NOTE = "note"
    SUBTOTAL = "subtotal"
    TOTAL = "total"
    VAT_RATE = "vat_rate"
    NET = "net"
    VAT = "vat"
    GROSS = "gross"
    CHANGE = "change"
    E_RECEIPT = "e_receipt"
    RETURN_SLIP = "return_slip"
    RETURN_NUMBER = "return_number"
    REASON = "reason"
    REQUESTED_BY = "requested_by"
    APPROVED_BY = "approved_by"
    WASTE = "waste"
    REFUND = "refund"


TRANSLATIONS: dict[str, dict[Label, str]] = {
    "en": {
        Label.COPY_BANNER: "*** COPY ***",
        Label.URGENT_BANNER: "!!! URGENT !!!",
        Label.FIELD_SEPARATOR: ": ",
        Label.PHONE: "Tel",
        Label.TAX_ID: "Tax ID",
        Label.BILL_NUMBER: "Bill",
        Label.TIME: "Time",
        Label.BUSINESS_DATE: "Business day",
        Label.STAFF: "Staff",
        Label.REGISTER: "Register",
        Label.DINE_IN: "Dine-in",
        Label.TAKEAWAY: "Takeaway",
        Label.DELIVERY: "Delivery",
        Label.TABLE: "Table",
        Label.PICKUP_CODE: "Pickup code",
        Label.NOTE: "Note",
        Label.SUBTOTAL: "Subtotal",
        Label.TOTAL: "TOTAL",
        Label.VAT_RATE: "VAT",
        Label.NET: "Net",
        Label.VAT: "VAT",
        Label.GROSS: "Gross",
        Label.CHANGE: "Change",
        Label.E_RECEIPT: "Scan for your e-receipt",
        Label.RETURN_SLIP: "RETURN SLIP",
        Label.RETURN_NUMBER: "Return",
        Label.REASON: "Reason",
        Label.REQUESTED_BY: "Requested by",
        Label.APPROVED_BY: "Approved by",
        Label.WASTE: "made, not restocked",
        Label.REFUND: "REFUND",
    },
    "zh_CN": {
        Label.COPY_BANNER: "*** 副本 ***",
        Label.URGENT_BANNER: "!!! 加急 !!!",
        Label.FIELD_SEPARATOR: "：",
        Label.PHONE: "电话",
        Label.TAX_ID: "税号",
        Label.BILL_NUMBER: "单号",
        Label.TIME: "时间",
        Label.BUSINESS_DATE: "营业日",
        Label.STAFF: "操作员",
        Label.REGISTER: "收银台",
        Label.DINE_IN: "堂食",
        Label.TAKEAWAY: "外带",
        Label.DELIVERY: "外卖",
        Label.TABLE: "桌号",
        Label.PICKUP_CODE: "取餐号",
        Label.NOTE: "备注",
        Label.SUBTOTAL: "小计",
        Label.TOTAL: "合计",
        Label.VAT_RATE: "增值税",
        Label.NET: "不含税",
        Label.VAT: "税额",
        Label.GROSS: "含税",
        Label.CHANGE: "找零",
        Label.E_RECEIPT: "扫码查看电子小票",
        Label.RETURN_SLIP: "退菜单",
        Label.RETURN_NUMBER: "退菜单号",
        Label.REASON: "原因",
        Label.REQUESTED_BY: "申请人",
        Label.APPROVED_BY: "审批人",
        Label.WASTE: "已制作，计损耗",
        Label.REFUND: "退款",
    },
}

ORDER_TYPE_LABELS = {
    OrderType.DINE_IN: Label.DINE_IN,
    OrderType.TAKEAWAY: Label.TAKEAWAY,
    OrderType.DELIVERY: Label.DELIVERY,
}


def is_chinese_locale(locale: str) -> bool:
    return locale.replace("-", "_").split("_")[0].lower() == "zh"


def translate(label: Label, locale: str) -> str:
    """The label in ``locale``: any Chinese locale prints zh_CN, anything else English."""
    catalog = TRANSLATIONS["zh_CN"] if is_chinese_locale(locale) else TRANSLATIONS["en"]
    return catalog[label]


def format_money(money: Money, locale: str) -> str:
    """``Money.format`` for paper. Chinese receipts print the full-width yuan sign "￥":
    the half-width "¥" is outside GBK (a four-byte GB18030 code many printers lack)."""
    text = money.format(locale)
    return text.replace("\u00a5", "\uffe5") if is_chinese_locale(locale) else text


def format_time(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


# --- widths and wrapping ------------------------------------------------------------------


def character_width(character: str, *, ambiguous_is_wide: bool = False) -> int:
    """Columns of one character: 2 for East Asian wide and full-width, 0 for combining
    marks and invisible format characters, 1 otherwise. Ambiguous characters (×, é, ·)
    are wide in an East Asian context (Unicode UAX #11), which is how GB printers print
    them, since GBK gives them two-byte, full-width glyphs."""
    category = unicodedata.category(character)
    if category in ("Mn", "Me", "Cf"):
        return 0
    east_asian = unicodedata.east_asian_width(character)
    if east_asian in ("W", "F") or (east_asian == "A" and ambiguous_is_wide):
        return 2
    return 1


def display_width(text: str, *, ambiguous_is_wide: bool = False) -> int:
    """Columns ``text`` takes on the printer (see ``character_width``)."""
    return sum(character_width(character, ambiguous_is_wide=ambiguous_is_wide) for character in text)


def _tokens(text: str, ambiguous_is_wide: bool) -> list[str]:
    """Split into words, single spaces and single wide characters.

    Latin words break only at spaces; CJK text may break between any two characters.
    Control characters count as spaces: a newline in a name must not start a line of its
    own, and an ESC in a name must never reach the printer as a command (it could open the
    cash drawer). Invisible format characters are dropped.
    """
    tokens: list[str] = []
    word: list[str] = []

    def end_word() -> None:
        if word:
            tokens.append("".join(word))
            word.clear()

    for character in text:
        category = unicodedata.category(character)
        if category == "Cf":
            continue
        if character.isspace() or category == "Cc":
            end_word()
            if tokens and tokens[-1] != " ":
                tokens.append(" ")
        elif unicodedata.east_asian_width(character) in ("W", "F"):
            # CJK breaks between characters; an ambiguous-width letter such as the é of
            # "Café" is printed wide on Chinese receipts but still belongs to its word.
            end_word()
            tokens.append(character)
        else:
            word.append(character)
    end_word()
    return tokens


def _split_at_width(token: str, columns: int, ambiguous_is_wide: bool) -> tuple[str, str]:
    used = 0
    for index, character in enumerate(token):
        used += character_width(character, ambiguous_is_wide=ambiguous_is_wide)
        if used > columns:
            return token[:index], token[index:]
    return token, ""


def wrap_text(text: str, columns: int, *, ambiguous_is_wide: bool = False) -> list[str]:
    """Greedy word wrap into lines of at most ``columns`` display columns.

    Breaks at spaces, or between wide characters; a word longer than a line is cut.
    Runs of whitespace collapse to one space and lines carry no leading or trailing
    spaces. Empty text gives no lines.
    """
    if columns < 2:
        raise ValueError(f"cannot wrap into {columns} columns: a wide character needs 2")
    lines: list[str] = []
    current = ""
    is_space_pending = False
    for token in _tokens(text, ambiguous_is_wide):
        if token.isspace():
            is_space_pending = bool(current)
            continue
        candidate = f"{current} {token}" if is_space_pending else current + token
        is_space_pending = False
        if display_width(candidate, ambiguous_is_wide=ambiguous_is_wide) <= columns:
            current = candidate
            continue
        if current:
            lines.append(current)
        while display_width(token, ambiguous_is_wide=ambiguous_is_wide) > columns:
            head, token = _split_at_width(token, columns, ambiguous_is_wide)
            lines.append(head)
        current = token
    if current:
        lines.append(current)
    return lines


def hanging_wrap(
    prefix: str, text: str, columns: int, *, indent: int = 0, ambiguous_is_wide: bool = False
) -> list[str]:
    """``indent`` spaces and ``prefix`` before the first line; later lines are indented
    under the text, so a wrapped "2 x " item keeps its quantity visible."""
    hang = indent + display_width(prefix, ambiguous_is_wide=ambiguous_is_wide)
    body = wrap_text(text, columns - hang, ambiguous_is_wide=ambiguous_is_wide) or [""]
    first = " " * indent + prefix + body[0]
    return [first.rstrip()] + [" " * hang + line for line in body[1:]]


def justify(
    left: str, right: str, columns: int, *, indent: int = 0, ambiguous_is_wide: bool = False
) -> list[str]:
    """A "name ....... amount" row: ``left`` wrapped at ``indent``, ``right`` flush right
    on the last line, or alone on the next line when it does not fit beside the name.

    Every returned line is at most ``columns`` wide and ``right`` is never split unless
    it is wider than the whole line.
    """

    def width(text: str) -> int:
        return display_width(text, ambiguous_is_wide=ambiguous_is_wide)

    rows = [
        " " * indent + line for line in wrap_text(left, columns - indent, ambiguous_is_wide=ambiguous_is_wide)
    ]
    right_pieces = wrap_text(right, columns, ambiguous_is_wide=ambiguous_is_wide)
    if not right_pieces:
        return rows
    if len(right_pieces) == 1 and rows:
        gap = columns - width(rows[-1]) - width(right_pieces[0])
        if gap >= 1:
            rows[-1] = rows[-1] + " " * gap + right_pieces[0]
            return rows
    return rows + [" " * (columns - width(piece)) + piece for piece in right_pieces]


# --- building a layout --------------------------------------------------------------------


class LayoutBuilder:
    """Collects operations for one document at one paper width and locale."""

    def __init__(self, width: int, locale: str) -> None:
        if width < MINIMUM_WIDTH:
            raise ValueError(f"paper width must be at least {MINIMUM_WIDTH} columns, got {width}")
        self.width = width
        self.locale = locale
        self.ambiguous_is_wide = is_chinese_locale(locale)
        self.operations: list[LayoutOperation] = []

    def label(self, label: Label) -> str:
        return translate(label, self.locale)

    def field(self, label: Label, value: str) -> str:
        return f"{self.label(label)}{self.label(Label.FIELD_SEPARATOR)}{value}"

    def money(self, money: Money) -> str:
        return format_money(money, self.locale)

    def centered(
        self, text: str, *, size: TextSize = TextSize.NORMAL, is_bold: bool = False, is_inverted: bool = False
    ) -> None:
        columns = self.width // size.width_factor
        for line in wrap_text(text, columns, ambiguous_is_wide=self.ambiguous_is_wide):
            self.operations.append(TextLine(line, Alignment.CENTER, is_bold, size, is_inverted))

    def _add_left(self, lines: Iterable[str], size: TextSize, is_bold: bool) -> None:
        for line in lines:
            self.operations.append(TextLine(line, Alignment.LEFT, is_bold, size))

    def row(
        self,
        left: str,
        right: str = "",
        *,
        indent: int = 0,
        size: TextSize = TextSize.NORMAL,
        is_bold: bool = False,
    ) -> None:
        columns = self.width // size.width_factor
        lines = justify(left, right, columns, indent=indent, ambiguous_is_wide=self.ambiguous_is_wide)
        self._add_left(lines, size, is_bold)

    def hanging(
        self,
        prefix: str,
        text: str,
        *,
        indent: int = 0,
        size: TextSize = TextSize.NORMAL,
        is_bold: bool = False,
    ) -> None:
        columns = self.width // size.width_factor
        lines = hanging_wrap(prefix, text, columns, indent=indent, ambiguous_is_wide=self.ambiguous_is_wide)
        self._add_left(lines, size, is_bold)

    def separator(self) -> None:
        # Never two rules in a row, whichever optional sections were left out.
        rule = TextLine("-" * self.width)
        if self.operations and self.operations[-1] != rule:
            self.operations.append(rule)

    def qr_code(self, content: str) -> None:
        self.operations.append(QrCode(content))

    def build(self) -> Layout:
        return Layout(self.width, self.locale, tuple(self.operations))


@singledispatch
def layout_document(document: PrintDocument, width: int) -> Layout:
    """Lay out ``document`` for paper ``width`` columns wide (``PaperWidth``).

    Each document type registers its own function; an unknown type is a TypeError.
    """
    raise TypeError(f"no layout for {type(document).__name__}")


def _copy_banner(builder: LayoutBuilder) -> None:
    builder.centered(builder.label(Label.COPY_BANNER), size=TextSize.DOUBLE, is_bold=True)


def _service_field(builder: LayoutBuilder, table: str | None, pickup: str | None) -> str:
    if table:
        return builder.field(Label.TABLE, table)
    if pickup:
        return builder.field(Label.PICKUP_CODE, pickup)
    return ""


def _receipt_line(builder: LayoutBuilder, line: ReceiptLine) -> None:
    builder.row(line.name, builder.money(line.line_total))
    if line.quantity != 1 or line.unit_price != line.line_total:
        builder.row(f"{line.quantity} x {builder.money(line.unit_price)}", indent=2)
    for modifier in line.modifiers:
        price = builder.money(modifier.price_delta) if modifier.price_delta else ""
        builder.row(f"+ {modifier.name}", price, indent=2)
    if line.note:
        builder.hanging(builder.field(Label.NOTE, ""), line.note, indent=2)
    if line.discount is not None:
        builder.row(line.discount.label, builder.money(line.discount.amount), indent=2)


@layout_document.register
def layout_receipt(document: ReceiptDocument, width: int) -> Layout:
    """Receipt: header, bill details, lines, totals, VAT, tenders, footer and QR code.

    A reprint carries the COPY banner first and last, so either end of a torn receipt
    still shows it is not the original.
    """
    builder = LayoutBuilder(width, document.locale)
    if document.is_copy:
        _copy_banner(builder)
    store = document.store
    builder.centered(store.name, size=TextSize.DOUBLE, is_bold=True)
    builder.centered(store.address)
    builder.centered(builder.field(Label.PHONE, store.phone))
    if store.tax_id:
        builder.centered(builder.field(Label.TAX_ID, store.tax_id))
    builder.separator()

    builder.row(builder.field(Label.BILL_NUMBER, document.bill_number))
    builder.row(builder.field(Label.TIME, format_time(document.issued_at, document.timezone)))
    local_date = document.issued_at.astimezone(ZoneInfo(document.timezone)).date()
    if document.business_date is not None and document.business_date != local_date:
        builder.row(builder.field(Label.BUSINESS_DATE, document.business_date.isoformat()))
    builder.row(builder.field(Label.STAFF, document.staff_name))
    builder.row(builder.field(Label.REGISTER, document.register_name))
    order_type = builder.label(ORDER_TYPE_LABELS[document.order_type])
    builder.row(order_type, _service_field(builder, document.table_name, document.pickup_code))
    builder.separator()

    for line in document.lines:
        _receipt_line(builder, line)
    builder.separator()

    builder.row(builder.label(Label.SUBTOTAL), builder.money(document.subtotal))
    for adjustment in document.adjustments:
        builder.row(adjustment.label, builder.money(adjustment.amount))
    # Double height keeps the full width, so the total lines up with the other amounts.
    builder.row(
        builder.label(Label.TOTAL), builder.money(document.total), size=TextSize.DOUBLE_HEIGHT, is_bold=True
    )
    builder.separator()

    for vat_row in document.vat_breakdown:
        builder.row(f"{builder.label(Label.VAT_RATE)} {vat_row.rate_label}")
        builder.row(builder.label(Label.NET), builder.money(vat_row.net), indent=2)
        builder.row(builder.label(Label.VAT), builder.money(vat_row.vat), indent=2)
        builder.row(builder.label(Label.GROSS), builder.money(vat_row.gross), indent=2)
    builder.separator()

    for tender in document.tenders:
        builder.row(tender.label, builder.money(tender.amount))
        if tender.detail:
            builder.row(tender.detail, indent=2)
    if document.change_due is not None:
        builder.row(builder.label(Label.CHANGE), builder.money(document.change_due))
    builder.separator()

    if document.footer_text:
        builder.centered(document.footer_text)
    if document.e_receipt_url:
        builder.centered(builder.label(Label.E_RECEIPT))
        builder.qr_code(document.e_receipt_url)
    if document.is_copy:
        _copy_banner(builder)
    return builder.build()


@layout_document.register
def layout_kitchen_ticket(document: KitchenTicket, width: int) -> Layout:
    """Kitchen ticket: where it goes and what to cook, large enough to read from the pass.

    Urgent tickets start with an inverted banner; reprints carry the COPY banner first and
    last so a cook does not prepare the dishes twice.
    """
    builder = LayoutBuilder(width, document.locale)
    if document.is_copy:
        _copy_banner(builder)
    if document.is_urgent:
        builder.centered(
            builder.label(Label.URGENT_BANNER), size=TextSize.DOUBLE, is_bold=True, is_inverted=True
        )
    builder.centered(document.station_name, size=TextSize.DOUBLE, is_bold=True)
    service = _service_field(builder, document.table_name, document.pickup_code)
    if service:
        builder.centered(service, size=TextSize.DOUBLE, is_bold=True)
    builder.centered(builder.label(ORDER_TYPE_LABELS[document.order_type]))
    builder.separator()
    builder.row(builder.field(Label.BILL_NUMBER, document.bill_number))
    builder.row(builder.field(Label.TIME, format_time(document.ordered_at, document.timezone)))
    builder.row(builder.field(Label.STAFF, document.staff_name))
    builder.separator()
    for line in document.lines:
        builder.hanging(f"{line.quantity} x ", line.name, size=TextSize.DOUBLE_HEIGHT, is_bold=True)
        for modifier in line.modifiers:
            builder.hanging("+ ", modifier, indent=2, size=TextSize.DOUBLE_HEIGHT)
        if line.note:
            builder.hanging(builder.field(Label.NOTE, ""), line.note, indent=2, size=TextSize.DOUBLE_HEIGHT)
    builder.separator()
    if document.is_copy:
        _copy_banner(builder)
    return builder.build()


@layout_document.register
def layout_return_slip(document: ReturnSlip, width: int) -> Layout:
    """Return slip: store, what went back and why, who asked and approved when, the refund."""
    builder = LayoutBuilder(width, document.locale)
    if document.is_copy:
        _copy_banner(builder)
    builder.centered(document.store.name, is_bold=True)
    builder.centered(builder.label(Label.RETURN_SLIP), size=TextSize.DOUBLE, is_bold=True)
    builder.separator()
    builder.row(builder.field(Label.RETURN_NUMBER, document.return_number))
    builder.row(builder.field(Label.BILL_NUMBER, document.bill_number))
    builder.hanging(builder.field(Label.REASON, ""), document.reason)
    if document.note:
        builder.hanging(builder.field(Label.NOTE, ""), document.note)
    builder.row(builder.field(Label.REQUESTED_BY, document.requested_by))
    builder.row(format_time(document.requested_at, document.timezone), indent=2)
    builder.row(builder.field(Label.APPROVED_BY, document.approved_by))
    builder.row(format_time(document.approved_at, document.timezone), indent=2)
    builder.separator()
    for line in document.lines:
        builder.row(f"{line.quantity} x {line.name}", builder.money(line.amount))
        if line.was_prepared:
            builder.row(f"({builder.label(Label.WASTE)})", indent=2)
    builder.separator()
    builder.row(builder.label(Label.TOTAL), builder.money(document.total), is_bold=True)
    builder.row(builder.label(Label.REFUND), builder.money(document.refund), is_bold=True)
    if document.is_copy:
        _copy_banner(builder)
    return builder.build()
