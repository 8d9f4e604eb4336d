"""Receipts add up, print through the outbox (once, then as COPY), and open on a phone."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.database import Database
from kassa.core.outbox import OutboxMessage, OutboxWorker
from kassa.orders import receipts
from kassa.orders.models import Bill
from kassa.printing.service import PRINT_DOCUMENT_KIND, register_print_handlers
from tests.shop import Shop


async def _paid_bill(shop: Shop) -> dict[str, Any]:
    bill = await shop.open_takeaway()
    bill = await shop.add(bill, "latte", 2, modifier_option_ids=[shop.size_options["Large"]])  # 2 x 27.00
    bill = await shop.add(bill, "cake")  # 28.00
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/discount",
        {"version": bill["version"], "fixed_amount": 205, "reason": "VIP"},
    )  # 82.00 - 2.05 = 79.95
    bill = await shop.pay(bill, "card", amount=5000, approval_code="A77", close_when_paid=False)
    return await shop.pay(bill, "cash", tendered_amount=3000)  # 29.95 due -> 29.90 cash, 抹零 -0.05


async def test_the_receipt_adds_up_with_discount_rounding_and_mixed_tenders(
    shop: Shop, session: AsyncSession
) -> None:
    paid = await _paid_bill(shop)
    assert (paid["status"], paid["rounding_amount"]) == ("closed", -5)
    bill = await session.get(Bill, paid["id"])
    assert bill is not None
    document = await receipts.build_receipt(session, bill)
    assert document.subtotal.amount == 8200
    assert [(item.amount.amount) for item in document.adjustments] == [-205, -5]
    assert document.total.amount == 7990
    assert [(tender.label, tender.amount.amount, tender.detail) for tender in document.tenders] == [
        ("银行卡", 5000, "A77"),
        ("现金", 3000, None),
    ]
    assert document.change_due is not None
    assert document.change_due.amount == 10
    assert (
        sum(row.gross.amount for row in document.vat_breakdown) == 7995
    )  # VAT is on the price before rounding
    assert document.e_receipt_url is not None
    assert document.e_receipt_url.endswith(f"/r/{bill.receipt_token}")
    modifiers = [modifier.name for modifier in document.lines[0].modifiers]
    assert (document.lines[0].unit_price.amount, modifiers) == (2400, ["Large"])


async def test_receipt_text_preview(shop: Shop) -> None:
    paid = await _paid_bill(shop)
    headers = await shop.login()
    response = await shop.client.get(f"/api/v1/bills/{paid['id']}/receipt.txt", headers=headers)
    assert response.status_code == 200
    text = response.text
    assert "latte" in text
    assert "79.90" in text
    assert "A77" in text


async def test_printing_goes_through_the_outbox_once_and_reprints_say_copy(
    shop: Shop, session: AsyncSession, database: Database
) -> None:
    paid = await _paid_bill(shop)
    first = await shop.call("POST", f"/bills/{paid['id']}/receipt")
    again = await shop.call("POST", f"/bills/{paid['id']}/receipt")
    assert first["outbox_id"] == again["outbox_id"]
    copy = await shop.call("POST", f"/bills/{paid['id']}/receipt?copy=true")
    assert copy["outbox_id"] != first["outbox_id"]
    handlers: dict[str, Any] = {}
    register_print_handlers(handlers)
    delivered = await OutboxWorker(database, handlers).run_once()
    assert delivered == 2
    messages = (
        await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == PRINT_DOCUMENT_KIND).order_by(OutboxMessage.id)
        )
    ).all()
    assert [message.status.value for message in messages] == ["sent", "sent"]
    destination = Path(str(messages[0].payload["destination"]).removeprefix("file://"))
    printed = await asyncio.to_thread(destination.read_bytes)
    assert printed.count(b"\x1dV") >= 2  # two receipts, each cut
    assert "副本".encode("gb18030") in printed  # the reprint is marked COPY in Chinese


async def test_kitchen_tickets_are_queued_per_station(shop: Shop, session: AsyncSession) -> None:
    bill = await shop.add(await shop.open_takeaway(), "americano")
    bill = await shop.add(bill, "cake")
    await shop.call("POST", f"/bills/{bill['id']}/kitchen", {"version": bill["version"]})
    messages = (
        await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == PRINT_DOCUMENT_KIND))
    ).all()
    destinations = sorted(str(message.payload["destination"]).rsplit("/", 1)[-1] for message in messages)
    assert destinations == ["kitchen-bar.escpos", "kitchen-kitchen.escpos"]


async def test_an_unpaid_bill_has_no_receipt_to_print(shop: Shop) -> None:
    bill = await shop.add(await shop.open_takeaway(), "cake")
    response = await shop.call("POST", f"/bills/{bill['id']}/receipt", expect=409)
    assert response["errors"][0]["field"] == "bill_id"


async def test_the_e_receipt_opens_without_login(shop: Shop, session: AsyncSession) -> None:
    paid = await _paid_bill(shop)
    bill = await session.get(Bill, paid["id"])
    assert bill is not None
    response = await shop.client.get(f"/r/{bill.receipt_token}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "¥79.90" in response.text
    assert "latte" in response.text
    assert "<script" not in response.text
    missing = await shop.client.get("/r/not-a-token")
    assert missing.status_code == 404
