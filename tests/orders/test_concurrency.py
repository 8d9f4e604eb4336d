"""Concurrent requests against a real database with real commits: edits of one bill from
two registers, the same payment sent twice at once, bill numbers under load.

These tests cannot run inside the rolled-back test transaction (they need several
connections), so they commit and empty every table afterwards.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select

from kassa.core.database import Database
from kassa.orders.models import Bill
from kassa.payments.models import Payment
from tests.shop import Shop, new_key


async def _post(
    shop: Shop, path: str, body: dict[str, Any], register_index: int, key: str | None = None
) -> httpx.Response:
    headers = await shop.login(register_index=register_index)
    if key:
        headers["Idempotency-Key"] = key
    return await shop.client.post(f"/api/v1{path}", json=body, headers=headers)


async def test_two_registers_editing_one_bill_get_one_change_and_one_conflict(committed_shop: Shop) -> None:
    shop = committed_shop
    bill = await shop.open_takeaway()
    for register_index in (0, 1):
        await shop.login(register_index=register_index)
    responses = await asyncio.gather(
        _post(shop, f"/bills/{bill['id']}/lines", {"version": 1, "product_id": shop.products["cake"]}, 0),
        _post(
            shop, f"/bills/{bill['id']}/lines", {"version": 1, "product_id": shop.products["americano"]}, 1
        ),
    )
    assert sorted(response.status_code for response in responses) == [201, 409]
    conflict = next(response for response in responses if response.status_code == 409)
    assert conflict.json()["code"] == "stale_version"
    final = await shop.call("GET", f"/bills/{bill['id']}")
    assert len(final["lines"]) == 1
    assert final["version"] == 2


async def test_the_same_payment_sent_twice_at_once_charges_once(committed_shop: Shop) -> None:
    shop = committed_shop
    bill = await shop.add(await shop.open_takeaway(), "cake")
    key = new_key()
    body = {"version": bill["version"], "tender": "card", "approval_code": "X1", "close_when_paid": False}
    responses = await asyncio.gather(
        *(_post(shop, f"/bills/{bill['id']}/payments", body, 0, key) for _ in range(4))
    )
    assert all(response.status_code in (201, 409) for response in responses), [r.text for r in responses]
    assert any(response.status_code == 201 for response in responses)
    final = await shop.call("GET", f"/bills/{bill['id']}")
    assert [payment["amount"] for payment in final["payments"]] == [2800]
    assert final["paid_amount"] == 2800


async def test_two_different_payments_at_once_never_overpay(committed_shop: Shop) -> None:
    shop = committed_shop
    bill = await shop.add(await shop.open_takeaway(), "cake")
    body = {"version": bill["version"], "tender": "card", "approval_code": "X", "close_when_paid": False}
    responses = await asyncio.gather(
        _post(shop, f"/bills/{bill['id']}/payments", body, 0, new_key()),
        _post(shop, f"/bills/{bill['id']}/payments", body, 1, new_key()),
    )
    assert sorted(response.status_code for response in responses) == [201, 409]
    final = await shop.call("GET", f"/bills/{bill['id']}")
    assert final["paid_amount"] == 2800


async def test_bills_opened_at_once_get_distinct_numbers(
    committed_shop: Shop, migrated_database: Database
) -> None:
    shop = committed_shop
    for register_index in (0, 1):
        await shop.login(register_index=register_index)
    responses = await asyncio.gather(
        *(_post(shop, "/bills", {"order_type": "takeaway"}, index % 2) for index in range(12))
    )
    assert all(response.status_code == 201 for response in responses), [r.text for r in responses]
    numbers = sorted(response.json()["number"] for response in responses)
    assert numbers == list(range(1, 13))
    async with migrated_database.engine.connect() as connection:
        count = await connection.scalar(select(func.count(Bill.id)))
        payments = await connection.scalar(select(func.count(Payment.id)))
    assert (count, payments) == (12, 0)
