"""The X and Z reports on paper: plain text for an 80 mm receipt printer (48 columns, CJK
characters two columns wide) and PDF (reportlab, with a CID font so Chinese names show).

Money is formatted by ``kassa.core.i18n.format_money``; in Chinese text and in the PDF the
yuan sign is the full-width "￥", which GBK printers and the Adobe-GB1 font both have (the
half-width "¥" is outside GBK, as the receipts note).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from kassa.core.i18n import format_money
from kassa.core.money import Money
from kassa.payments.models import Tender
from kassa.printing.escpos_render import layout_to_text
from kassa.printing.layout import LayoutBuilder, PaperWidth, TextSize, is_chinese_locale
from kassa.shifts.models import CashMovementKind
from kassa.shifts.schemas import DirectedRefund, ShiftReport, TopUpTotal, ZReport

PDF_FONT = "STSong-Light"

_LABELS: dict[str, tuple[str, str]] = {
    # key: (English, Chinese)
    "z_title": ("Z REPORT", "日结报表"),
    "x_title": ("X REPORT", "X 报表（交班前）"),
    "close_title": ("SHIFT CLOSED", "交班报表"),
    "business_date": ("Business day", "营业日"),
    "printed": ("Printed", "打印时间"),
    "time": ("Time", "时间"),
    "register": ("Register", "收银台"),
    "shift": ("Shift", "班次"),
    "opened": ("Opened", "开班"),
    "closed": ("Closed", "交班"),
    "by": ("by", "操作员"),
    "bills": ("Bills", "账单数"),
    "guests": ("Guests", "客数"),
    "average_bill": ("Average bill", "单均"),
    "cancelled_bills": ("Cancelled bills", "取消账单"),
    "open_bills": ("Open bills (not included)", "未结账单（未计入）"),
    "before_discounts": ("Before discounts", "折前金额"),
    "line_discounts": ("Line discounts", "单品折扣"),
    "bill_discounts": ("Bill discounts", "整单折扣"),
    "total_sales": ("TOTAL SALES", "营业额"),
    "net": ("Net", "不含税"),
    "vat": ("VAT", "税额"),
    "gross": ("Gross", "含税"),
    "by_category": ("SALES BY CATEGORY", "分类销售"),
    "by_vat_rate": ("SALES BY VAT RATE", "税率汇总"),
    "quantity": ("Qty", "数量"),
    "tenders": ("TENDERS", "支付方式"),
    "change_given": ("Change given", "找零"),
    "payments_total": ("Payments", "收款合计"),
    "cash_rounding": ("Cash rounding", "抹零"),
    "voids": ("VOIDS", "退菜/作废"),
    "no_reason": ("(no reason)", "（无原因）"),
    "refunds": ("REFUNDS", "退款"),
    "directed": ("Directed", "改退"),
    "shifts": ("SHIFTS", "班次"),
    "opening_float": ("Opening float", "备用金"),
    "cash_sales": ("Cash sales", "现金销售"),
    "cash_refunds": ("Cash refunds", "现金退款"),
    "cash_in": ("Cash in", "存入"),
    "cash_out": ("Cash out", "取出"),
    "cash_top_ups": ("Cash top-ups", "现金储值"),
    "top_ups": ("STORED-VALUE TOP-UPS", "储值充值"),
    "top_ups_total": ("Top-ups", "充值合计"),
    "expected_cash": ("Expected cash", "应有现金"),
    "counted_cash": ("Counted cash", "实点现金"),
    "over_short": ("Over (+) / short (-)", "长款(+)/短款(-)"),
    "still_open": ("still open", "未交班"),
    "movements": ("CASH IN / OUT", "存取现金"),
    "category": ("Category", "分类"),
    "rate": ("Rate", "税率"),
    "tender": ("Tender", "支付方式"),
    "count": ("Count", "笔数"),
    "amount": ("Amount", "金额"),
    "reason": ("Reason", "原因"),
    "status": ("Status", "状态"),
    "store": ("Store", "门店"),
    "line_disc": ("Line disc.", "单品折扣"),
    "bill_disc": ("Bill disc.", "整单折扣"),
}

TENDER_LABELS: dict[Tender, tuple[str, str]] = {
    Tender.CASH: ("Cash", "现金"),
    Tender.CARD: ("Card", "银行卡"),
    Tender.WECHAT_PAY: ("WeChat Pay", "微信支付"),
    Tender.ALIPAY: ("Alipay", "支付宝"),
    Tender.STORED_VALUE: ("Stored value", "储值"),
    Tender.POINTS: ("Points", "积分"),
}


def label(key: str, locale: str) -> str:
    english, chinese = _LABELS[key]
    return chinese if is_chinese_locale(locale) else english


def _direction(directed: DirectedRefund, locale: str) -> str:
    """ "Card → Cash (2)": a refund a manager sent to another tender than the one paid with."""
    return (
        f"{tender_label(Tender(directed.from_tender), locale)} → "
        f"{tender_label(Tender(directed.to_tender), locale)} ({directed.count})"
    )


def tender_label(tender: Tender, locale: str) -> str:
    english, chinese = TENDER_LABELS[tender]
    return chinese if is_chinese_locale(locale) else english


def money_text(amount: int, currency: str, locale: str, *, full_width_yuan: bool = False) -> str:
    text = format_money(Money(amount, currency), locale)
    if full_width_yuan or is_chinese_locale(locale):
        text = text.replace("\u00a5", "\uffe5")
    return text


def rate_text(basis_points: int) -> str:
    return f"{basis_points / 100:g}%"


def local_time(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


# --- text for the receipt printer -----------------------------------------------------------


class _Paper:
    """A 48-column layout with the report's locale and currency."""

    def __init__(self, locale: str, currency: str, width: int = PaperWidth.WIDTH_80_MM) -> None:
        self.builder = LayoutBuilder(width, locale)
        self.locale = locale
        self.currency = currency

    def label(self, key: str) -> str:
        return label(key, self.locale)

    def money(self, amount: int) -> str:
        return money_text(amount, self.currency, self.locale)

    def title(self, text: str) -> None:
        self.builder.centered(text, size=TextSize.DOUBLE, is_bold=True)

    def heading(self, key: str) -> None:
        self.builder.separator()
        self.builder.row(self.label(key), is_bold=True)

    def amount(self, text: str, amount: int, *, indent: int = 0, is_bold: bool = False) -> None:
        self.builder.row(text, self.money(amount), indent=indent, is_bold=is_bold)

    def figure(self, key: str, amount: int, *, indent: int = 0, is_bold: bool = False) -> None:
        self.amount(self.label(key), amount, indent=indent, is_bold=is_bold)

    def number(self, key: str, value: int) -> None:
        self.builder.row(self.label(key), str(value))

    def text(self) -> str:
        return layout_to_text(self.builder.build())


def _shift_cash_rows(paper: _Paper, report: ShiftReport) -> None:
    paper.figure("opening_float", report.opening_float_amount)
    # A blind count leaves out what the expected cash could be worked out from.
    if report.cash_sales_amount is not None:
        paper.figure("cash_sales", report.cash_sales_amount)
    if report.cash_refunds_amount is not None:
        paper.figure("cash_refunds", -report.cash_refunds_amount)
    paper.figure("cash_in", report.cash_in_amount)
    paper.figure("cash_out", -report.cash_out_amount)
    if report.cash_top_ups_amount:
        paper.figure("cash_top_ups", report.cash_top_ups_amount)
    if report.expected_cash_amount is not None:
        paper.figure("expected_cash", report.expected_cash_amount, is_bold=True)
    if report.counted_cash_amount is not None and report.difference_amount is not None:
        paper.figure("counted_cash", report.counted_cash_amount)
        paper.figure("over_short", report.difference_amount, is_bold=True)


def shift_report_text(report: ShiftReport, width: int = PaperWidth.WIDTH_80_MM) -> str:
    """The X (or closing) report as lines of at most ``width`` display columns."""
    shift = report.shift
    paper = _Paper(report.locale, shift.currency, width)
    paper.title(paper.label("close_title" if report.kind == "close" else "x_title"))
    paper.builder.centered(report.store_name)
    paper.builder.separator()
    paper.builder.row(paper.label("register"), report.register_name)
    paper.builder.row(paper.label("shift"), f"#{shift.id}")
    paper.builder.row(paper.label("business_date"), shift.business_date.isoformat())
    paper.builder.row(paper.label("opened"), local_time(shift.opened_at, report.timezone))
    paper.builder.row(paper.label("by"), report.opened_by_name, indent=2)
    if shift.closed_at is not None:
        paper.builder.row(paper.label("closed"), local_time(shift.closed_at, report.timezone))
        paper.builder.row(paper.label("by"), report.closed_by_name or "", indent=2)
    paper.builder.row(paper.label("printed"), local_time(report.generated_at, report.timezone))
    paper.builder.separator()
    _shift_cash_rows(paper, report)
    if report.movements:
        paper.heading("movements")
        for movement in report.movements:
            sign = 1 if movement.kind == CashMovementKind.CASH_IN else -1
            key = "cash_in" if sign > 0 else "cash_out"
            paper.amount(
                f"{paper.label(key)} {local_time(movement.created_at, report.timezone)[11:]}",
                sign * movement.amount,
            )
            paper.builder.hanging("", movement.reason, indent=2)
    if report.tenders:
        paper.heading("tenders")
        for tender in report.tenders:
            paper.amount(f"{tender_label(tender.tender, report.locale)} ({tender.count})", tender.amount)
            if tender.change_amount:
                paper.figure("change_given", tender.change_amount, indent=2)
    _top_up_rows(paper, report.top_ups, report.locale)
    paper.builder.separator()
    return paper.text()


def _top_up_rows(paper: _Paper, top_ups: list[TopUpTotal], locale: str) -> None:
    if top_ups:
        paper.heading("top_ups")
        for item in top_ups:
            paper.amount(f"{tender_label(item.tender, locale)} ({item.count})", item.amount)
        paper.figure("top_ups_total", sum(item.amount for item in top_ups), is_bold=True)


def z_report_text(report: ZReport, width: int = PaperWidth.WIDTH_80_MM) -> str:
    """The Z report as lines of at most ``width`` display columns, for the receipt printer."""
    paper = _Paper(report.locale, report.currency, width)
    paper.title(paper.label("z_title"))
    paper.builder.centered(report.store_name)
    paper.builder.separator()
    paper.builder.row(paper.label("business_date"), report.business_date.isoformat())
    paper.builder.row(paper.label("printed"), local_time(report.generated_at, report.timezone))
    paper.builder.separator()
    paper.number("bills", report.bills_count)
    paper.number("guests", report.guests_count)
    paper.figure("average_bill", report.average_bill_amount)
    paper.number("cancelled_bills", report.cancelled_bills_count)
    if report.open_bills_count:
        paper.number("open_bills", report.open_bills_count)
    paper.builder.separator()
    paper.figure("before_discounts", report.before_discounts_amount)
    paper.figure("line_discounts", -report.discounts.line_amount)
    paper.figure("bill_discounts", -report.discounts.bill_amount)
    paper.figure("total_sales", report.total_sales_amount, is_bold=True)
    paper.figure("net", report.net_sales_amount, indent=2)
    paper.figure("vat", report.vat_amount, indent=2)

    paper.heading("by_category")
    for category in report.by_category:
        paper.amount(f"{category.name} x{category.quantity}", category.gross_amount)
        discount = category.line_discount_amount + category.bill_discount_amount
        if discount:
            paper.figure("before_discounts", category.before_discounts_amount, indent=2)
        paper.figure("vat", category.vat_amount, indent=2)

    paper.heading("by_vat_rate")
    for rate in report.by_vat_rate:
        paper.builder.row(f"{rate.code} {rate_text(rate.rate_basis_points)}")
        paper.figure("gross", rate.gross_amount, indent=2)
        paper.figure("vat", rate.vat_amount, indent=2)
        paper.figure("net", rate.net_amount, indent=2)

    paper.heading("tenders")
    for tender in report.tenders:
        paper.amount(f"{tender_label(tender.tender, report.locale)} ({tender.count})", tender.amount)
        if tender.change_amount:
            paper.figure("change_given", tender.change_amount, indent=2)
    paper.figure("payments_total", report.payments_amount, is_bold=True)
    paper.figure("cash_rounding", report.cash_rounding_amount, indent=2)
    _top_up_rows(paper, report.top_ups, report.locale)

    paper.heading("voids")
    paper.amount(f"{paper.label('count')} {report.voids.count}", report.voids.amount)
    for reason in report.voids.by_reason:
        paper.amount(f"{reason.reason or paper.label('no_reason')} ({reason.count})", reason.amount, indent=2)

    paper.heading("refunds")
    paper.amount(f"{paper.label('count')} {report.refunds.count}", report.refunds.amount)
    for directed in report.refunds.directed:
        paper.amount(
            f"{paper.label('directed')} {_direction(directed, report.locale)}", directed.amount, indent=2
        )
        for why in directed.reasons:
            paper.builder.row(why, indent=4)

    paper.heading("shifts")
    for shift in report.shifts:
        paper.builder.row(f"{shift.register_name} #{shift.shift_id}", shift.opened_by_name)
        closed = (
            local_time(shift.closed_at, report.timezone)[11:]
            if shift.closed_at
            else paper.label("still_open")
        )
        paper.builder.row(f"{local_time(shift.opened_at, report.timezone)[11:]} - {closed}", indent=2)
        paper.figure("opening_float", shift.opening_float_amount, indent=2)
        paper.figure("expected_cash", shift.expected_cash_amount, indent=2)
        if shift.counted_cash_amount is not None and shift.difference_amount is not None:
            paper.figure("counted_cash", shift.counted_cash_amount, indent=2)
            paper.figure("over_short", shift.difference_amount, indent=2)
    paper.figure("over_short", report.over_short_amount, is_bold=True)
    paper.builder.separator()
    return paper.text()


# --- PDF --------------------------------------------------------------------------------------


@lru_cache
def _register_pdf_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    return PDF_FONT


class _Pdf:
    """A4 document of headings, key figures and tables, in the CID font."""

    def __init__(self, locale: str, currency: str) -> None:
        from reportlab.lib.styles import ParagraphStyle

        self.font = _register_pdf_font()
        self.locale = locale
        self.currency = currency
        self.story: list[Any] = []
        self.title_style = ParagraphStyle("title", fontName=self.font, fontSize=16, leading=20, spaceAfter=6)
        self.heading_style = ParagraphStyle(
            "heading", fontName=self.font, fontSize=11, leading=14, spaceBefore=10, spaceAfter=4
        )
        self.body_style = ParagraphStyle("body", fontName=self.font, fontSize=9, leading=11)

    def label(self, key: str) -> str:
        return label(key, self.locale)

    def money(self, amount: int) -> str:
        return money_text(amount, self.currency, self.locale, full_width_yuan=True)

    def paragraph(self, text: str, style: Any = None) -> Any:
        from reportlab.platypus import Paragraph

        return Paragraph(escape(text), style or self.body_style)

    def title(self, text: str) -> None:
        self.story.append(self.paragraph(text, self.title_style))

    def heading(self, key: str) -> None:
        self.story.append(self.paragraph(self.label(key), self.heading_style))

    def table(self, header: list[str], rows: list[list[str]], *, first_column_width: float = 160) -> None:
        from reportlab.lib import colors
        from reportlab.platypus import Table, TableStyle

        data = [
            [self.paragraph(header[0]), *header[1:]],
            *([self.paragraph(row[0]), *row[1:]] for row in rows),
        ]
        table = Table(data, colWidths=[first_column_width] + [None] * (len(header) - 1), repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), self.font),
                    ("FONTSIZE", (0, 0), (-1, -1), 9),
                    ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f2f2")]),
                ]
            )
        )
        self.story.append(table)

    def figures(self, rows: list[tuple[str, str]]) -> None:
        self.table(["", ""], [[name, value] for name, value in rows], first_column_width=220)

    def build(self, title: str, *, is_compressed: bool = True) -> bytes:
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.units import mm
        from reportlab.platypus import SimpleDocTemplate

        output = BytesIO()
        document = SimpleDocTemplate(
            output,
            pagesize=A4,
            title=title,
            author="Kassa",
            leftMargin=15 * mm,
            rightMargin=15 * mm,
            topMargin=15 * mm,
            bottomMargin=15 * mm,
            pageCompression=1 if is_compressed else 0,
            invariant=1,  # the same report gives the same bytes (no creation time, fixed id)
        )
        document.build(self.story)
        return output.getvalue()


def z_report_pdf(report: ZReport, *, is_compressed: bool = True) -> bytes:
    """The Z report as an A4 PDF."""
    pdf = _Pdf(report.locale, report.currency)
    money: Callable[[int], str] = pdf.money
    title = f"{pdf.label('z_title')} {report.store_name} {report.business_date.isoformat()}"
    pdf.title(title)
    pdf.story.append(
        pdf.paragraph(
            f"{pdf.label('business_date')}: {report.business_date.isoformat()}    "
            f"{pdf.label('printed')}: {local_time(report.generated_at, report.timezone)}"
        )
    )
    figures = [
        (pdf.label("bills"), str(report.bills_count)),
        (pdf.label("guests"), str(report.guests_count)),
        (pdf.label("average_bill"), money(report.average_bill_amount)),
        (pdf.label("cancelled_bills"), str(report.cancelled_bills_count)),
        (pdf.label("open_bills"), str(report.open_bills_count)),
        (pdf.label("before_discounts"), money(report.before_discounts_amount)),
        (pdf.label("line_discounts"), money(-report.discounts.line_amount)),
        (pdf.label("bill_discounts"), money(-report.discounts.bill_amount)),
        (pdf.label("total_sales"), money(report.total_sales_amount)),
        (pdf.label("vat"), money(report.vat_amount)),
        (pdf.label("net"), money(report.net_sales_amount)),
        (pdf.label("payments_total"), money(report.payments_amount)),
        (pdf.label("cash_rounding"), money(report.cash_rounding_amount)),
        (pdf.label("refunds"), money(report.refunds.amount)),
        *(
            (f"{pdf.label('directed')} {_direction(directed, report.locale)}", money(directed.amount))
            for directed in report.refunds.directed
        ),
        (pdf.label("over_short"), money(report.over_short_amount)),
    ]
    pdf.heading("total_sales")
    pdf.figures(figures)

    pdf.heading("by_category")
    pdf.table(
        [
            pdf.label("category"),
            pdf.label("quantity"),
            pdf.label("before_discounts"),
            pdf.label("line_disc"),
            pdf.label("bill_disc"),
            pdf.label("gross"),
            pdf.label("vat"),
            pdf.label("net"),
        ],
        [
            [
                item.name,
                str(item.quantity),
                money(item.before_discounts_amount),
                money(-item.line_discount_amount),
                money(-item.bill_discount_amount),
                money(item.gross_amount),
                money(item.vat_amount),
                money(item.net_amount),
            ]
            for item in report.by_category
        ],
        first_column_width=110,
    )

    pdf.heading("by_vat_rate")
    pdf.table(
        [pdf.label("rate"), pdf.label("gross"), pdf.label("vat"), pdf.label("net")],
        [
            [
                f"{row.code} {rate_text(row.rate_basis_points)}",
                money(row.gross_amount),
                money(row.vat_amount),
                money(row.net_amount),
            ]
            for row in report.by_vat_rate
        ],
    )

    pdf.heading("tenders")
    pdf.table(
        [pdf.label("tender"), pdf.label("count"), pdf.label("amount"), pdf.label("change_given")],
        [
            [
                tender_label(row.tender, report.locale),
                str(row.count),
                money(row.amount),
                money(row.change_amount),
            ]
            for row in report.tenders
        ],
    )
    _top_up_table(pdf, report.top_ups, report.locale)

    pdf.heading("voids")
    pdf.table(
        [pdf.label("reason"), pdf.label("count"), pdf.label("quantity"), pdf.label("amount")],
        [
            [row.reason or pdf.label("no_reason"), str(row.count), str(row.quantity), money(row.amount)]
            for row in report.voids.by_reason
        ],
    )

    pdf.heading("shifts")
    pdf.table(
        [
            pdf.label("register"),
            pdf.label("opened"),
            pdf.label("closed"),
            pdf.label("opening_float"),
            pdf.label("expected_cash"),
            pdf.label("counted_cash"),
            pdf.label("over_short"),
        ],
        [
            [
                f"{row.register_name} #{row.shift_id} {row.opened_by_name}",
                local_time(row.opened_at, report.timezone)[11:],
                local_time(row.closed_at, report.timezone)[11:] if row.closed_at else pdf.label("still_open"),
                money(row.opening_float_amount),
                money(row.expected_cash_amount),
                money(row.counted_cash_amount) if row.counted_cash_amount is not None else "",
                money(row.difference_amount) if row.difference_amount is not None else "",
            ]
            for row in report.shifts
        ],
        first_column_width=120,
    )
    return pdf.build(title, is_compressed=is_compressed)


def shift_report_pdf(report: ShiftReport, *, is_compressed: bool = True) -> bytes:
    """The X (or closing) report as an A4 PDF."""
    pdf = _Pdf(report.locale, report.shift.currency)
    shift = report.shift
    kind = pdf.label("close_title" if report.kind == "close" else "x_title")
    title = f"{kind} {report.register_name} #{shift.id}"
    pdf.title(title)
    pdf.story.append(
        pdf.paragraph(
            f"{report.store_name}    {pdf.label('opened')}: {local_time(shift.opened_at, report.timezone)} "
            f"({report.opened_by_name})"
            + (
                f"    {pdf.label('closed')}: {local_time(shift.closed_at, report.timezone)} "
                f"({report.closed_by_name})"
                if shift.closed_at
                else ""
            )
        )
    )
    rows = [(pdf.label("opening_float"), pdf.money(report.opening_float_amount))]
    if report.cash_sales_amount is not None:
        rows.append((pdf.label("cash_sales"), pdf.money(report.cash_sales_amount)))
    if report.cash_refunds_amount is not None:
        rows.append((pdf.label("cash_refunds"), pdf.money(-report.cash_refunds_amount)))
    rows += [
        (pdf.label("cash_in"), pdf.money(report.cash_in_amount)),
        (pdf.label("cash_out"), pdf.money(-report.cash_out_amount)),
    ]
    if report.cash_top_ups_amount is not None:
        rows.append((pdf.label("cash_top_ups"), pdf.money(report.cash_top_ups_amount)))
    if report.expected_cash_amount is not None:
        rows.append((pdf.label("expected_cash"), pdf.money(report.expected_cash_amount)))
    if report.counted_cash_amount is not None and report.difference_amount is not None:
        rows += [
            (pdf.label("counted_cash"), pdf.money(report.counted_cash_amount)),
            (pdf.label("over_short"), pdf.money(report.difference_amount)),
        ]
    pdf.heading("expected_cash")
    pdf.figures(rows)
    if report.movements:
        pdf.heading("movements")
        pdf.table(
            [pdf.label("reason"), pdf.label("time"), pdf.label("amount")],
            [
                [
                    item.reason,
                    local_time(item.created_at, report.timezone),
                    pdf.money(item.amount if item.kind == CashMovementKind.CASH_IN else -item.amount),
                ]
                for item in report.movements
            ],
        )
    pdf.heading("tenders")
    pdf.table(
        [pdf.label("tender"), pdf.label("count"), pdf.label("amount"), pdf.label("change_given")],
        [
            [
                tender_label(row.tender, report.locale),
                str(row.count),
                pdf.money(row.amount),
                pdf.money(row.change_amount),
            ]
            for row in report.tenders
        ],
    )
    _top_up_table(pdf, report.top_ups, report.locale)
    return pdf.build(title, is_compressed=is_compressed)


def _top_up_table(pdf: _Pdf, top_ups: list[TopUpTotal], locale: str) -> None:
    if top_ups:
        pdf.heading("top_ups")
        pdf.table(
            [pdf.label("tender"), pdf.label("count"), pdf.label("amount")],
            [[tender_label(row.tender, locale), str(row.count), pdf.money(row.amount)] for row in top_ups],
        )
