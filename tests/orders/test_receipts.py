"""Receipts add up, print through the outbox (once, then as COPY), and open on a phone."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Role
from kassa.core.database import Database
from kassa.core.outbox import OutboxMessage, OutboxWorker
from kassa.orders import receipts
from kassa.orders.models import Bill
from kassa.payments import service as payments
from kassa.printing.service import PRINT_DOCUMENT_KIND, register_print_handlers
from kassa.stores.models import Store
from tests.shop import Shop, new_key


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


# --- registers that print automatically ---------------------------------------------------


async def _print_jobs(session: AsyncSession) -> list[OutboxMessage]:
    return list(
        (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == PRINT_DOCUMENT_KIND)
                .order_by(OutboxMessage.id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )


async def _auto_print(shop: Shop, is_on: bool) -> dict[str, Any]:
    return await shop.call(
        "PUT",
        f"/registers/{shop.register_ids[0]}/printer",
        {"receipt_printer": None, "auto_print_receipt": is_on},
        role=Role.OWNER,
    )


async def test_a_register_that_prints_automatically_queues_the_receipt_as_the_sale_closes(
    shop: Shop, session: AsyncSession
) -> None:
    # Given a register set to print receipts automatically
    assert (await _auto_print(shop, True))["auto_print_receipt"] is True

    # When a sale closes
    paid = await _paid_bill(shop)

    # Then its receipt is queued by the very request that closed it, once
    [job] = await _print_jobs(session)
    assert (job.dedupe_key, job.store_id, job.max_attempts) == (f"receipt:{paid['id']}", shop.store_id, None)
    assert job.payload["document_type"] == "receipt"
    assert job.payload["is_copy"] is False
    # And "Print receipt" afterwards is that same job, not a second receipt
    first = await shop.call("POST", f"/bills/{paid['id']}/receipt")
    assert first["outbox_id"] == job.id
    assert len(await _print_jobs(session)) == 1


async def test_a_sale_in_one_step_is_printed_too(shop: Shop, session: AsyncSession) -> None:
    await _auto_print(shop, True)
    sale = await shop.call(
        "POST",
        "/sales",
        {
            "order_type": "takeaway",
            "lines": [{"product_id": shop.products["cake"], "quantity": 1}],
            "tenders": [{"tender": "cash", "amount": 2800, "tendered_amount": 3000}],
        },
        key=new_key(),
    )
    [job] = await _print_jobs(session)
    assert job.dedupe_key == f"receipt:{sale['id']}"


async def test_a_register_that_does_not_print_automatically_queues_nothing(
    shop: Shop, session: AsyncSession
) -> None:
    assert (await _auto_print(shop, False))["auto_print_receipt"] is False
    await _paid_bill(shop)
    assert await _print_jobs(session) == []


async def test_the_receipt_commits_or_rolls_back_with_the_sale(
    shop: Shop, session: AsyncSession, database: Database
) -> None:
    # Given a register that prints automatically and a bill to pay
    await _auto_print(shop, True)
    bill = await shop.add(await shop.open_takeaway(), "cake")
    store = await session.get(Store, shop.store_id)
    assert store is not None
    cashier = Actor(
        organization_id=store.organization_id,
        staff_id=shop.staff_ids[Role.CASHIER],
        role=Role.CASHIER,
        store_id=shop.store_id,
        register_id=shop.register_ids[0],
    )

    class Crash(Exception):
        pass

    queued_inside: list[int] = []

    async def sale_that_crashes_before_its_commit() -> None:
        async with database.unit_of_work() as work:
            await payments.take_cash(
                work, cashier, bill["id"], bill["version"], tendered=3000, idempotency_key=new_key()
            )
            queued_inside.append(len(await _print_jobs(work)))
            raise Crash

    # When the process fails after the payment closed the bill but before the commit
    with pytest.raises(Crash):
        await sale_that_crashes_before_its_commit()
    assert queued_inside == [1]  # the receipt was queued inside the sale's transaction

    # Then neither the sale nor its receipt happened
    assert await _print_jobs(session) == []
    assert (await shop.call("GET", f"/bills/{bill['id']}"))["status"] == "open"

    # And when it commits, the receipt is there with it, before any worker or screen acts
    async with database.unit_of_work() as work:
        await payments.take_cash(
            work, cashier, bill["id"], bill["version"], tendered=3000, idempotency_key=new_key()
        )
    [job] = await _print_jobs(session)
    assert job.dedupe_key == f"receipt:{bill['id']}"
    assert (await shop.call("GET", f"/bills/{bill['id']}"))["status"] == "closed"
