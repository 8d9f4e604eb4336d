"""Receipts: what a bill looks like on paper and on the customer's phone.

A receipt is built from the stored bill (lines, payments) and checked by
``ReceiptDocument`` itself: the lines sum to the subtotal, the adjustments (bill discount,
cash rounding) take it to the total, and the tenders less the change equal the total.
Printing goes through the outbox: a printer that is off delays the receipt, loses nothing.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.database import utc_now
from kassa.core.errors import Conflict, NotFound
from kassa.core.i18n import N_, translator
from kassa.core.money import Money
from kassa.core.outbox import OutboxMessage
from kassa.core.scope import load_scoped
from kassa.core.settings import get_settings, make_private_directory
from kassa.floor.models import DiningTable
from kassa.orders.models import Bill, BillLine, BillStatus, KitchenTicketRecord, LineStatus, OrderType
from kassa.orders.totals import totals_of
from kassa.payments.models import Payment, PaymentStatus, Tender
from kassa.printing import documents
from kassa.printing.layout import PaperWidth
from kassa.printing.service import enqueue_print
from kassa.staff.models import StaffMember
from kassa.stores.models import Register, Store

TENDER_LABELS = {
    Tender.CASH: N_("Cash"),
    Tender.CARD: N_("Card"),
    Tender.WECHAT_PAY: N_("WeChat Pay"),
    Tender.ALIPAY: N_("Alipay"),
    Tender.STORED_VALUE: N_("Stored value"),
    Tender.POINTS: N_("Points"),
}
BILL_DISCOUNT_LABEL = N_("Bill discount")
MEMBER_DISCOUNT_LABEL = N_("Member discount")
CASH_ROUNDING_LABEL = N_("Cash rounding")

_PRINT_ORDER_TYPE = {
    OrderType.DINE_IN: documents.OrderType.DINE_IN,
    OrderType.TAKEAWAY: documents.OrderType.TAKEAWAY,
    OrderType.DELIVERY: documents.OrderType.DELIVERY,
    OrderType.ONLINE: documents.OrderType.TAKEAWAY,
}


def _line_name(line: BillLine, locale: str) -> str:
    translations = {str(key): str(value) for key, value in line.name_translations.items()}
    return translations.get(locale) or translations.get(locale.split("_")[0]) or line.name


async def _lines(session: AsyncSession, bill_id: int) -> list[BillLine]:
    query = select(BillLine).where(BillLine.bill_id == bill_id).order_by(BillLine.id)
    return list((await session.scalars(query)).all())


def e_receipt_url(bill: Bill) -> str:
    return f"{get_settings().base_url}/r/{bill.receipt_token}"


async def build_receipt(
    session: AsyncSession, bill: Bill, *, is_copy: bool = False
) -> documents.ReceiptDocument:
    """The receipt of a bill in its store's language."""
    store = await session.get(Store, bill.store_id)
    register = await session.get(Register, bill.register_id)
    assert store is not None
    assert register is not None
    locale = store.locale
    _ = translator(locale)
    staff_id = bill.closed_by_staff_id or bill.opened_by_staff_id
    staff = await session.get(StaffMember, staff_id)
    table = await session.get(DiningTable, bill.table_id) if bill.table_id else None
    currency = bill.currency
    active = [line for line in await _lines(session, bill.id) if line.status == LineStatus.ACTIVE]
    totals = totals_of(bill, active)
    lines = tuple(
        documents.ReceiptLine(
            name=_line_name(line, locale),
            quantity=line.quantity,
            unit_price=Money(
                line.unit_price_amount - sum(int(m["price_delta_amount"]) for m in line.modifiers), currency
            ),
            line_total=Money(line.total_amount, currency),
            modifiers=tuple(
                documents.ReceiptModifier(
                    name=str(modifier["name"]),
                    price_delta=Money(int(modifier["price_delta_amount"]), currency),
                )
                for modifier in line.modifiers
            ),
            note=line.note or None,
            discount=documents.ReceiptAdjustment(
                label=line.discount_reason or "", amount=Money(-line.discount_amount, currency)
            )
            if line.discount_amount
            else None,
        )
        for line in active
    )
    adjustments: list[documents.ReceiptAdjustment] = []
    if totals.member_discount:
        label = _(MEMBER_DISCOUNT_LABEL) + (
            f" ({bill.member_discount_label})" if bill.member_discount_label else ""
        )
        adjustments.append(
            documents.ReceiptAdjustment(label=label, amount=Money(-totals.member_discount, currency))
        )
    if totals.discount:
        label = _(BILL_DISCOUNT_LABEL) + (f" ({bill.discount_reason})" if bill.discount_reason else "")
        adjustments.append(documents.ReceiptAdjustment(label=label, amount=Money(-totals.discount, currency)))
    if bill.rounding_amount:
        adjustments.append(
            documents.ReceiptAdjustment(
                label=_(CASH_ROUNDING_LABEL), amount=Money(bill.rounding_amount, currency)
            )
        )
    payments = (
        await session.scalars(
            select(Payment)
            .where(Payment.bill_id == bill.id, Payment.status == PaymentStatus.SUCCEEDED)
            .order_by(Payment.id)
        )
    ).all()
    tenders = tuple(
        documents.ReceiptTender(
            label=_(TENDER_LABELS[payment.tender]),
            # Cash shows what was handed over; the change is printed separately.
            amount=Money(payment.tendered_amount or payment.amount, currency),
            detail=payment.approval_code or payment.provider_reference,
        )
        for payment in payments
    )
    change = sum(payment.change_amount for payment in payments)
    return documents.ReceiptDocument(
        store=documents.StoreHeader(name=store.name, address=store.address, phone=store.phone),
        bill_number=f"{bill.business_date:%Y%m%d}-{bill.number:04d}",
        issued_at=bill.closed_at or utc_now(),
        timezone=store.timezone,
        business_date=bill.business_date,
        staff_name=staff.display_name if staff else "",
        register_name=register.name,
        order_type=_PRINT_ORDER_TYPE[bill.order_type],
        table_name=table.name if table else None,
        pickup_code=bill.pickup_code,
        lines=lines,
        subtotal=Money(totals.subtotal, currency),
        adjustments=tuple(adjustments),
        total=Money(totals.total + bill.rounding_amount, currency),
        vat_breakdown=tuple(
            documents.VatBreakdownRow(
                rate_label=f"{row.rate_basis_points / 100:g}%",
                net=Money(row.net, currency),
                vat=Money(row.vat, currency),
                gross=Money(row.gross, currency),
            )
            for row in totals.vat
        ),
        tenders=tenders if bill.status == BillStatus.CLOSED else (),
        change_due=Money(change, currency) if bill.status == BillStatus.CLOSED and change else None,
        e_receipt_url=e_receipt_url(bill),
        locale=locale,
        is_copy=is_copy,
    )


def default_printer(name: str) -> str:
    """Where a register or station prints when no printer is set: a file under var/
    (the demo's paper roll), so nothing is lost and the bytes can be inspected."""
    directory = make_private_directory(get_settings().printers_dir)
    return f"file://{directory / name}.escpos"


async def print_receipt(
    session: AsyncSession, actor: Actor, bill_id: int, *, is_copy: bool = False
) -> OutboxMessage:
    """Queue the receipt for the register's printer. The first print of a closed bill is
    printed once however often it is asked for; later ones are marked COPY."""
    bill = await load_scoped(session, actor, Bill, bill_id, field="bill_id")
    if bill.status != BillStatus.CLOSED:
        raise Conflict("a receipt is printed once the bill is paid", field="bill_id")
    register_id = actor.register_id or bill.register_id
    register = await session.get(Register, register_id)
    if register is None:
        raise NotFound(f"no register {register_id}", field="register_id")
    return await _queue_receipt(session, actor, bill, register, is_copy=is_copy)


async def print_receipt_on_close(session: AsyncSession, actor: Actor, bill: Bill) -> None:
    """A hook run when a sale closes: on a register that prints automatically, queue the
    receipt in the sale's own transaction, so the sale and its receipt commit together
    and a crash right after the sale cannot lose the receipt. The same job a later
    "Print receipt" would queue (one per bill), so it never prints twice."""
    register_id = actor.register_id or bill.register_id
    register = await session.get(Register, register_id) if register_id is not None else None
    if register is None or not register.auto_print_receipt:
        return
    await _queue_receipt(session, actor, bill, register, is_copy=False, is_automatic=True)


async def _queue_receipt(
    session: AsyncSession,
    actor: Actor,
    bill: Bill,
    register: Register,
    *,
    is_copy: bool,
    is_automatic: bool = False,
) -> OutboxMessage:
    document = await build_receipt(session, bill, is_copy=is_copy)
    message = await enqueue_print(
        session,
        store_id=bill.store_id,
        destination=register.receipt_printer or default_printer(f"register-{register.id}"),
        document=document,
        width=PaperWidth.WIDTH_80_MM,
        dedupe_key=None if is_copy else f"receipt:{bill.id}",
    )
    audit.record(
        session,
        actor,
        "receipt.print",
        "bill",
        bill.id,
        store_id=bill.store_id,
        after={"is_copy": is_copy, "outbox_id": message.id, "is_automatic": is_automatic},
    )
    return message


async def print_kitchen_tickets(
    session: AsyncSession, actor: Actor, bill: Bill, tickets: list[KitchenTicketRecord]
) -> list[OutboxMessage]:
    """Queue one ticket per station for its printer (``Store.kitchen_printers``)."""
    actor.require(Permission.BILL_EDIT)
    store = await session.get(Store, bill.store_id)
    assert store is not None
    table = await session.get(DiningTable, bill.table_id) if bill.table_id else None
    staff = await session.get(StaffMember, actor.staff_id) if actor.staff_id else None
    lines_by_id = {line.id: line for line in await _lines(session, bill.id)}
    messages = []
    for ticket in tickets:
        document = documents.KitchenTicket(
            station_name=ticket.station,
            bill_number=f"{bill.number:04d}",
            order_type=_PRINT_ORDER_TYPE[bill.order_type],
            ordered_at=ticket.created_at,
            timezone=store.timezone,
            staff_name=staff.display_name if staff else actor.display_name,
            table_name=table.name if table else None,
            pickup_code=bill.pickup_code,
            is_urgent=bill.is_urgent,
            locale=store.locale,
            lines=tuple(
                documents.KitchenTicketLine(
                    name=_line_name(lines_by_id[line_id], store.locale),
                    quantity=lines_by_id[line_id].quantity,
                    modifiers=tuple(str(modifier["name"]) for modifier in lines_by_id[line_id].modifiers),
                    note=lines_by_id[line_id].note or None,
                )
                for line_id in ticket.line_ids
            ),
        )
        destination = str(
            store.kitchen_printers.get(ticket.station) or default_printer(f"kitchen-{ticket.station}")
        )
        messages.append(
            await enqueue_print(
                session,
                store_id=store.id,
                destination=destination,
                document=document,
                width=PaperWidth.WIDTH_80_MM,
                dedupe_key=f"kitchen-ticket:{ticket.id}",
            )
        )
    return messages


RECEIPT_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,100}")


async def bill_by_receipt_token(session: AsyncSession, token: str) -> Bill:
    # Tokens are URL-safe base64; anything else (a NUL, a megabyte) is no receipt and never
    # reaches the database.
    if not RECEIPT_TOKEN.fullmatch(token):
        raise NotFound("no such receipt", field="token")
    bill = await session.scalar(select(Bill).where(Bill.receipt_token == token))
    if bill is None:
        raise NotFound("no such receipt", field="token")
    return bill
