"""Receipts and kitchen tickets: documents, layout, ESC/POS rendering and delivery.

Rendering and delivery need no database: the order and payment code builds a document,
``render_escpos`` turns it into bytes and ``send_to_printer`` delivers them.
``kassa.printing.service`` (not re-exported here, it needs the database) queues print
jobs in the outbox and is the outbox worker's handler for them.
"""

from kassa.printing.documents import (
    KitchenTicket,
    KitchenTicketLine,
    OrderType,
    PrintDocument,
    ReceiptAdjustment,
    ReceiptDocument,
    ReceiptLine,
    ReceiptModifier,
    ReceiptTender,
    ReturnSlip,
    ReturnSlipLine,
    StoreHeader,
    VatBreakdownRow,
)
from kassa.printing.escpos_render import (
    CharacterSet,
    default_character_set,
    layout_to_text,
    render_escpos,
    render_layout_escpos,
    render_text,
)
from kassa.printing.layout import (
    Alignment,
    Label,
    Layout,
    LayoutOperation,
    PaperWidth,
    QrCode,
    TextLine,
    TextSize,
    display_width,
    format_money,
    layout_document,
    translate,
    wrap_text,
)
from kassa.printing.printers import (
    PrinterUnavailable,
    parse_destination,
    send_to_printer,
    send_to_printer_async,
)

__all__ = [
    "Alignment",
    "CharacterSet",
    "KitchenTicket",
    "KitchenTicketLine",
    "Label",
    "Layout",
    "LayoutOperation",
    "OrderType",
    "PaperWidth",
    "PrintDocument",
    "PrinterUnavailable",
    "QrCode",
    "ReceiptAdjustment",
    "ReceiptDocument",
    "ReceiptLine",
    "ReceiptModifier",
    "ReceiptTender",
    "ReturnSlip",
    "ReturnSlipLine",
    "StoreHeader",
    "TextLine",
    "TextSize",
    "VatBreakdownRow",
    "default_character_set",
    "display_width",
    "format_money",
    "layout_document",
    "layout_to_text",
    "parse_destination",
    "render_escpos",
    "render_layout_escpos",
    "render_text",
    "send_to_printer",
    "send_to_printer_async",
    "translate",
    "wrap_text",
]
