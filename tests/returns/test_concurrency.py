"""Two people approving one return at the same moment: one approval, one refund. Real
commits on several connections (SQLite serialises writers; PostgreSQL locks the row)."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from kassa.core.auth import Role
from kassa.core.database import Database
from kassa.payments.models import Payment, Refund
from tests.returns.test_returns import _line, _paid_bill
from tests.shop import Shop


async def test_two_approvals_at_once_make_one_refund(
    committed_shop: Shop, migrated_database: Database
) -> None:
    shop = committed_shop
    bill = await _paid_bill(shop)
    request = await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": _line(bill, "cake"), "quantity": 2}], "reason_code": "quality"},
        role=Role.WAITER,
    )
    cashier = await shop.login(Role.CASHIER, 0)
    manager = await shop.login(Role.MANAGER, 1)

    async def approve(headers: dict[str, str]) -> httpx.Response:
        return await shop.client.post(f"/api/v1/returns/{request['id']}/approve", json={}, headers=headers)

    responses = await asyncio.gather(approve(cashier), approve(manager), approve(cashier))
    assert sorted(response.status_code for response in responses) == [200, 409, 409], [
        r.text for r in responses
    ]
    async with migrated_database.sessionmaker() as session:
        refunds = (await session.scalars(select(Refund))).all()
        refunded = await session.scalar(select(func.sum(Payment.refunded_amount)))
    assert sum(refund.amount for refund in refunds) == refunded == 5040


async def test_two_requests_at_once_cannot_return_more_than_was_sold(committed_shop: Shop) -> None:
    shop = committed_shop
    bill = await _paid_bill(shop)
    body = {"lines": [{"line_id": _line(bill, "cake"), "quantity": 2}], "reason_code": "quality"}
    waiter = await shop.login(Role.WAITER, 0)
    cashier = await shop.login(Role.CASHIER, 1)
    responses = await asyncio.gather(
        *(
            shop.client.post(f"/api/v1/bills/{bill['id']}/returns", json=body, headers=headers)
            for headers in (waiter, cashier, waiter)
        )
    )
    assert sorted(response.status_code for response in responses) == [201, 409, 409], [
        r.text for r in responses
    ]
