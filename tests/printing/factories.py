"""Typed factories for printable documents; keyword defaults make a small, consistent bill."""

from __future__ import annotations

from datetime import UTC, datetime

from kassa.core.money import Money
from kassa.printing import (
    KitchenTicket,
    KitchenTicketLine,
    OrderType,
    ReceiptAdjustment,
    ReceiptDocument,
    ReceiptLine,
    ReceiptModifier,
    ReceiptTender,
    StoreHeader,
    VatBreakdownRow,
)

E_RECEIPT_URL = "https://kassa.example/r/B-0042"
# 12:30 in Shanghai.
LUNCH_TIME = datetime(2025, 5, 1, 4, 30, tzinfo=UTC)


def cny(amount: int) -> Money:
    return Money(amount, "CNY")


def make_line(
    *,
    name: str = "Rice",
    quantity: int = 1,
    unit_price: Money | None = None,
    modifiers: tuple[ReceiptModifier, ...] = (),
    note: str | None = None,
    discount: ReceiptAdjustment | None = None,
) -> ReceiptLine:
    """A line whose total is (unit price + modifier deltas) x quantity + discount."""
    price = unit_price if unit_price is not None else cny(300)
    per_unit = price.amount + sum(modifier.price_delta.amount for modifier in modifiers)
    total = cny(per_unit * quantity + (discount.amount.amount if discount else 0))
    return ReceiptLine(
        name=name,
        quantity=quantity,
        unit_price=price,
        line_total=total,
        modifiers=modifiers,
        note=note,
        discount=discount,
    )


def small_receipt_lines(locale: str) -> tuple[ReceiptLine, ...]:
    is_chinese = locale.startswith("zh")
    return (
        make_line(
            name="宫保鸡丁" if is_chinese else "Kung Pao Chicken",
            quantity=2,
            unit_price=cny(3800),
            modifiers=(ReceiptModifier(name="加辣" if is_chinese else "Extra spicy", price_delta=cny(200)),),
        ),
        make_line(name="米饭" if is_chinese else "Rice", quantity=1, unit_price=cny(300)),
    )


def make_receipt(
    *,
    locale: str = "en",
    lines: tuple[ReceiptLine, ...] | None = None,
    adjustments: tuple[ReceiptAdjustment, ...] | None = None,
    vat_breakdown: tuple[VatBreakdownRow, ...] | None = None,
    tenders: tuple[ReceiptTender, ...] | None = None,
    change_due: Money | None = None,
    e_receipt_url: str | None = E_RECEIPT_URL,
    footer_text: str | None = None,
    tax_id: str | None = None,
    is_copy: bool = False,
) -> ReceiptDocument:
    """The small lunch bill: 2 x Kung Pao Chicken (+spicy) and a rice, member discount,
    paid cash. Totals follow from the lines, so any ``lines`` stay consistent; the VAT and
    tender defaults only fit the default lines. ``footer_text=""`` prints no footer."""
    is_chinese = locale.startswith("zh")
    chosen_lines = lines if lines is not None else small_receipt_lines(locale)
    subtotal = cny(sum(line.line_total.amount for line in chosen_lines))
    if adjustments is None:
        adjustments = (
            ReceiptAdjustment(label="会员折扣" if is_chinese else "Member discount", amount=cny(-830)),
        )
    total = cny(subtotal.amount + sum(adjustment.amount.amount for adjustment in adjustments))
    if vat_breakdown is None:
        vat_breakdown = (VatBreakdownRow(rate_label="6%", net=cny(7047), vat=cny(423), gross=cny(7470)),)
    if tenders is None:
        tenders = (ReceiptTender(label="现金" if is_chinese else "Cash", amount=cny(10000)),)
        change_due = cny(10000 - total.amount)
    return ReceiptDocument(
        store=StoreHeader(
            name="卡萨小馆" if is_chinese else "Kassa Cafe",
            address="上海市南京路8号" if is_chinese else "8 Nanjing Rd, Shanghai",
            phone="021-5555 0100",
            tax_id=tax_id,
        ),
        bill_number="B-0042",
        issued_at=LUNCH_TIME,
        timezone="Asia/Shanghai",
        staff_name="Alice",
        register_name="Front",
        order_type=OrderType.DINE_IN,
        table_name="A3",
        lines=chosen_lines,
        subtotal=subtotal,
        adjustments=adjustments,
        total=total,
        vat_breakdown=vat_breakdown,
        tenders=tenders,
        change_due=change_due,
        e_receipt_url=e_receipt_url,
        footer_text=footer_text if footer_text is not None else ("谢谢惠顾" if is_chinese else "Thank you!"),
        locale=locale,
        is_copy=is_copy,
    )


def make_kitchen_ticket(
    *,
    locale: str = "en",
    lines: tuple[KitchenTicketLine, ...] | None = None,
    order_type: OrderType = OrderType.DINE_IN,
    table_name: str | None = "A3",
    pickup_code: str | None = None,
    is_urgent: bool = False,
    is_copy: bool = False,
) -> KitchenTicket:
    is_chinese = locale.startswith("zh")
    default_lines = (
        KitchenTicketLine(
            name="宫保鸡丁" if is_chinese else "Kung Pao Chicken",
            quantity=2,
            modifiers=("加辣" if is_chinese else "Extra spicy",),
            note="不要花生" if is_chinese else "no peanuts",
        ),
    )
    return KitchenTicket(
        station_name="热菜" if is_chinese else "Wok",
        bill_number="B-0042",
        order_type=order_type,
        ordered_at=LUNCH_TIME,
        timezone="Asia/Shanghai",
        staff_name="Alice",
        lines=lines if lines is not None else default_lines,
        table_name=table_name,
        pickup_code=pickup_code,
        is_urgent=is_urgent,
        locale=locale,
        is_copy=is_copy,
    )
