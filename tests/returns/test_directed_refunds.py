"""A refund goes back to the bill's tenders in proportion; a manager (``refund.direct``)
may send it to one chosen tender instead, with a reason, audited and on the Z report."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.audit import AuditRecord
from kassa.core.auth import Role
from kassa.payments.models import Payment
from tests.fingerprint import unchanged
from tests.returns.conftest import Worker
from tests.shop import PINS, Shop

TERMINAL_DOWN = {"tender": "cash", "reason": "card terminal is down"}


async def _paid_bill(shop: Shop, *, card: bool = True) -> dict[str, Any]:
    """cake x2 (56.00): 30.00 cash + 26.00 card, or all cash."""
    bill = await shop.add(await shop.open_takeaway(), "cake", 2)
    if card:
        bill = await shop.pay(bill, "cash", amount=3000, tendered_amount=3000)
        bill = await shop.pay(bill, "card", approval_code="A1")
    else:
        bill = await shop.pay(bill, "cash", tendered_amount=5600)
    assert bill["status"] == "closed"
    return bill


async def _request(shop: Shop, bill: dict[str, Any], quantity: int = 1) -> dict[str, Any]:
    return await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": bill["lines"][0]["id"], "quantity": quantity}], "reason_code": "quality"},
        role=Role.WAITER,
    )


async def _refunded(session: AsyncSession, bill_id: int) -> dict[str, int]:
    rows = (await session.scalars(select(Payment).where(Payment.bill_id == bill_id))).all()
    for row in rows:
        await session.refresh(row)
    return {row.tender.value: row.refunded_amount for row in rows}


async def test_by_default_each_tender_gets_its_share_back(shop: Shop, worker: Worker) -> None:
    bill = await _paid_bill(shop)
    approved = await shop.call("POST", f"/returns/{(await _request(shop, bill))['id']}/approve", {})
    assert sorted(
        (refund["tender"], refund["amount"], refund["directed_from_tender"]) for refund in approved["refunds"]
    ) == [
        ("card", 1300, None),
        ("cash", 1500, None),
    ]


async def test_a_manager_sends_it_all_to_cash_when_the_terminal_is_down(
    shop: Shop, session: AsyncSession, worker: Worker
) -> None:
    # Given a cake paid half in cash, half by card, asked back
    bill = await _paid_bill(shop)
    request = await _request(shop, bill)
    # When the manager approves it with the refund directed to cash
    approved = await shop.call(
        "POST", f"/returns/{request['id']}/approve", {"refund_to": TERMINAL_DOWN}, role=Role.MANAGER
    )
    # Then both shares are handed back in cash at once, the card's marked as directed
    refunds = sorted(
        (
            refund["tender"],
            refund["amount"],
            refund["status"],
            refund["directed_from_tender"],
            refund["direction_reason"],
        )
        for refund in approved["refunds"]
    )
    assert refunds == [
        ("cash", 1300, "succeeded", "card", "card terminal is down"),
        ("cash", 1500, "succeeded", None, None),
    ]
    # And each payment still gives back no more than its share (the card's is reserved on it)
    assert await _refunded(session, bill["id"]) == {"cash": 1500, "card": 1300}
    # And it is audited with who directed it and why
    records = (await session.scalars(select(AuditRecord).where(AuditRecord.action == "refund.create"))).all()
    directed = [record.after for record in records if record.after and record.after["directed_from_tender"]]
    assert len(directed) == 1
    assert (directed[0]["tender"], directed[0]["directed_from_tender"], directed[0]["direction_reason"]) == (
        "cash",
        "card",
        "card terminal is down",
    )
    assert directed[0]["directed_by_staff_id"] == shop.staff_ids[Role.MANAGER]
    # And the Z report shows it
    report = await shop.call(
        "GET", f"/stores/{shop.store_id}/z-report?business_date={bill['business_date']}", role=Role.MANAGER
    )
    assert report["refunds"]["directed"] == [
        {
            "from_tender": "card",
            "to_tender": "cash",
            "count": 1,
            "amount": 1300,
            "reasons": ["card terminal is down"],
        }
    ]
    headers = await shop.login(Role.MANAGER)
    text = (
        await shop.client.get(
            f"/api/v1/stores/{shop.store_id}/z-report.txt?business_date={bill['business_date']}&locale=en",
            headers=headers,
        )
    ).text
    assert "Directed" in text
    assert "card terminal is down" in text
    pdf = await shop.client.get(
        f"/api/v1/stores/{shop.store_id}/z-report.pdf?business_date={bill['business_date']}", headers=headers
    )
    assert pdf.status_code == 200


async def test_a_cashier_directs_it_with_a_managers_pin(shop: Shop, worker: Worker) -> None:
    bill = await _paid_bill(shop)
    request = await _request(shop, bill)
    approved = await shop.call(
        "POST",
        f"/returns/{request['id']}/approve",
        {
            "refund_to": TERMINAL_DOWN,
            "manager": {"manager_staff_id": shop.staff_ids[Role.MANAGER], "pin": PINS[Role.MANAGER]},
        },
    )
    assert {refund["tender"] for refund in approved["refunds"]} == {"cash"}


@pytest.mark.parametrize(
    ("role", "refund_to", "expected", "field"),
    [
        (Role.CASHIER, TERMINAL_DOWN, 403, None),
        (Role.MANAGER, {"tender": "cash", "reason": ""}, 422, "refund_to.reason"),
        (Role.MANAGER, {"tender": "cash", "reason": "   "}, 422, "refund_to.reason"),
        (Role.MANAGER, {"tender": "wechat_pay", "reason": "customer asks"}, 422, "refund_to.tender"),
        (Role.MANAGER, {"tender": "points", "reason": "customer asks"}, 422, "refund_to.tender"),
        (Role.MANAGER, TERMINAL_DOWN, 200, None),
        (Role.OWNER, {"tender": "card", "reason": "the customer wants it on the card"}, 200, None),
    ],
)
async def test_who_directs_a_refund_and_where(
    shop: Shop,
    session: AsyncSession,
    worker: Worker,
    role: Role,
    refund_to: dict[str, str],
    expected: int,
    field: str | None,
) -> None:
    bill = await _paid_bill(shop)
    request = await _request(shop, bill)
    await shop.login(role)
    async with unchanged(session, when=expected != 200):
        answer = await shop.call(
            "POST", f"/returns/{request['id']}/approve", {"refund_to": refund_to}, role=role, expect=expected
        )
    if field is not None:
        assert field in {error["field"] for error in answer["errors"]}
    if expected == 403:
        assert answer["permission"] == "refund.direct"


async def test_not_to_a_card_the_bill_was_not_paid_with(
    shop: Shop, session: AsyncSession, worker: Worker
) -> None:
    bill = await _paid_bill(shop, card=False)
    request = await _request(shop, bill)
    await shop.login(Role.MANAGER)
    async with unchanged(session):
        answer = await shop.call(
            "POST",
            f"/returns/{request['id']}/approve",
            {"refund_to": {"tender": "card", "reason": "customer asks"}},
            role=Role.MANAGER,
            expect=422,
        )
    assert answer["tenders"] == ["cash"]


async def test_the_permission_is_given_per_person(shop: Shop, worker: Worker) -> None:
    await shop.call(
        "PUT",
        f"/staff/{shop.staff_ids[Role.CASHIER]}/permissions",
        {"granted": ["refund.direct"]},
        role=Role.MANAGER,
    )
    bill = await _paid_bill(shop)
    request = await _request(shop, bill)
    approved = await shop.call("POST", f"/returns/{request['id']}/approve", {"refund_to": TERMINAL_DOWN})
    assert {refund["tender"] for refund in approved["refunds"]} == {"cash"}
