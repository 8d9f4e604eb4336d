"""What gets printed, as plain values: no database rows, no printer commands.

The order and payment code fills these documents; ``layout`` turns them into lines and
``escpos_render`` into printer bytes. A new document type (a return slip) is a new frozen
dataclass here plus one ``layout_document.register`` function in ``layout``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kassa.core.money import Money, sum_money


class OrderType(StrEnum):
    DINE_IN = "dine_in"
    TAKEAWAY = "takeaway"
    DELIVERY = "delivery"


@dataclass(frozen=True, kw_only=True)
class StoreHeader:
    name: str
    address: str
    phone: str
    tax_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReceiptModifier:
    """A choice added to a line ("Extra spicy"); ``price_delta`` is per unit, may be zero."""

    name: str
    price_delta: Money


@dataclass(frozen=True, kw_only=True)
class ReceiptAdjustment:
    """A discount or surcharge as printed: ``amount`` is negative for a discount."""

    label: str
    amount: Money


@dataclass(frozen=True, kw_only=True)
class ReceiptLine:
    """One sold item. ``line_total`` is what the guest pays for the line, after ``discount``."""

    name: str
    quantity: int
    unit_price: Money
    line_total: Money
    modifiers: tuple[ReceiptModifier, ...] = ()
    note: str | None = None
    discount: ReceiptAdjustment | None = None


@dataclass(frozen=True, kw_only=True)
class VatBreakdownRow:
    rate_label: str
    net: Money
    vat: Money
    gross: Money

    def __post_init__(self) -> None:
        if self.net + self.vat != self.gross:
            raise ValueError(
                f"VAT row {self.rate_label}: net {self.net} + VAT {self.vat} is not gross {self.gross}"
            )


@dataclass(frozen=True, kw_only=True)
class ReceiptTender:
    """A payment as printed; ``detail`` is e.g. the approval code or a masked card number."""

    label: str
    amount: Money
    detail: str | None = None


def _check_aware(moment: datetime, field_name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{field_name} must be a timezone-aware datetime, got {moment.isoformat()}")


def _check_timezone(timezone: str) -> None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown store timezone {timezone!r}") from error


@dataclass(frozen=True, kw_only=True)
class ReceiptDocument:
    """A guest receipt (or, with ``is_copy``, a reprint of one).

    A receipt must never contradict itself, so construction checks that the subtotal is
    the sum of the line totals, that the total is the subtotal plus the bill adjustments,
    and, once tenders are given, that the tenders minus the change equal the total.
    ``issued_at`` is printed in ``timezone`` (the store's, e.g. "Asia/Shanghai");
    ``business_date`` is printed only when it differs from that local calendar date (a sale
    after midnight still belongs to the previous business day).
    """

    store: StoreHeader
    bill_number: str
    issued_at: datetime
    timezone: str
    staff_name: str
    register_name: str
    order_type: OrderType
    lines: tuple[ReceiptLine, ...]
    subtotal: Money
    total: Money
    business_date: date | None = None
    table_name: str | None = None
    pickup_code: str | None = None
    adjustments: tuple[ReceiptAdjustment, ...] = ()
    vat_breakdown: tuple[VatBreakdownRow, ...] = ()
    tenders: tuple[ReceiptTender, ...] = ()
    change_due: Money | None = None
    e_receipt_url: str | None = None
    footer_text: str | None = None
    locale: str = "zh_CN"
    is_copy: bool = False

    def __post_init__(self) -> None:
        _check_aware(self.issued_at, "issued_at")
        _check_timezone(self.timezone)
        currency = self.total.currency
        lines_sum = sum_money((line.line_total for line in self.lines), currency)
        if lines_sum != self.subtotal:
            raise ValueError(f"subtotal {self.subtotal} is not the sum of the line totals {lines_sum}")
        adjusted = self.subtotal + sum_money((item.amount for item in self.adjustments), currency)
        if adjusted != self.total:
            raise ValueError(f"total {self.total} is not subtotal plus adjustments {adjusted}")
        if self.tenders:
            paid = sum_money((tender.amount for tender in self.tenders), currency)
            change = self.change_due if self.change_due is not None else Money.zero(currency)
            if paid - change != self.total:
                raise ValueError(f"tenders {paid} minus change {change} do not equal the total {self.total}")


@dataclass(frozen=True, kw_only=True)
class KitchenTicketLine:
    name: str
    quantity: int
    modifiers: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class KitchenTicket:
    """What one kitchen station must prepare for one bill; no prices."""

    station_name: str
    bill_number: str
    order_type: OrderType
    ordered_at: datetime
    timezone: str
    staff_name: str
    lines: tuple[KitchenTicketLine, ...]
    table_name: str | None = None
    pickup_code: str | None = None
    is_urgent: bool = False
    locale: str = "zh_CN"
    is_copy: bool = False

    def __post_init__(self) -> None:
        _check_aware(self.ordered_at, "ordered_at")
        _check_timezone(self.timezone)


@dataclass(frozen=True, kw_only=True)
class ReturnSlipLine:
    name: str
    quantity: int
    amount: Money
    was_prepared: bool


@dataclass(frozen=True, kw_only=True)
class ReturnSlip:
    """The record of an approved return (退菜单): what went back, why, who asked and who
    approved, and what is refunded."""

    store: StoreHeader
    return_number: str
    bill_number: str
    reason: str
    requested_by: str
    requested_at: datetime
    approved_by: str
    approved_at: datetime
    timezone: str
    lines: tuple[ReturnSlipLine, ...]
    total: Money
    refund: Money
    note: str | None = None
    locale: str = "zh_CN"
    is_copy: bool = False

    def __post_init__(self) -> None:
        _check_aware(self.requested_at, "requested_at")
        _check_aware(self.approved_at, "approved_at")
        _check_timezone(self.timezone)
        if sum_money((line.amount for line in self.lines), self.total.currency) != self.total:
            raise ValueError("the lines do not add up to the total")


# Every printable document; extend this union when a new type gets a layout.
PrintDocument = ReceiptDocument | KitchenTicket | ReturnSlip
