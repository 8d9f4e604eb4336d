"""Stored value and points as tenders, through the wallet interface the loyalty capability
fills: the member must be on the bill, a short balance is a conflict and no payment, a mix
with cash closes the bill, and a return gives the member's part back to the member."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Role
from kassa.core.errors import Conflict
from kassa.core.money import Money
from kassa.payments import member_tenders
from kassa.payments.models import Tender
from tests.shop import Shop


class FakeWallet:
    def __init__(self, balance: int) -> None:
        self.balance = balance
        self.refunds: list[tuple[str, int, str]] = []

    async def charge(
        self,
        session: AsyncSession,
        actor: Actor,
        member_id: int,
        tender: Tender,
        amount: Money,
        reference: str,
    ) -> dict[str, Any]:
        if amount.amount > self.balance:
            raise Conflict("the balance is short", field="amount")
        self.balance -= amount.amount
        return {"taken": amount.amount}

    async def refund(
        self,
        session: AsyncSession,
        actor: Actor,
        member_id: int,
        tender: Tender,
        amount: Money,
        reference: str,
    ) -> dict[str, Any]:
        self.balance += amount.amount
        self.refunds.append((tender.value, amount.amount, reference))
        return {"given_back": amount.amount}


@pytest.fixture
def wallet() -> Iterator[FakeWallet]:
    fake = FakeWallet(2000)
    member_tenders.set_member_wallet(fake)
    yield fake
    member_tenders.set_member_wallet(None)


async def _bill_with_member(shop: Shop) -> dict[str, Any]:
    member = await shop.call(
        "POST",
        "/members",
        {
            "phone": "13800138000",
            "name": "Li Na",
            "privacy_policy_accepted": True,
            "privacy_policy_version": "2026-11",
        },
    )
    bill = await shop.add(await shop.open_takeaway(), "cake")
    return await shop.call(
        "POST", f"/bills/{bill['id']}/member", {"version": bill["version"], "member_id": member["id"]}
    )


async def test_stored_value_pays_part_and_cash_the_rest(shop: Shop, wallet: FakeWallet) -> None:
    bill = await _bill_with_member(shop)
    short = await shop.pay(bill, "stored_value", amount=2500, expect=409)
    assert short["detail"] == "the balance is short"
    bill = await shop.call("GET", f"/bills/{bill['id']}")
    assert bill["payments"] == []
    bill = await shop.pay(bill, "stored_value", amount=2000)
    assert (bill["paid_amount"], bill["status"], wallet.balance) == (2000, "open", 0)
    bill = await shop.pay(bill, "cash", tendered_amount=1000)
    assert bill["status"] == "closed"

    await shop.call(
        "PATCH",
        f"/stores/{shop.store_id}/return-settings",
        {"confirmation_mode": "after_refund"},
        role=Role.OWNER,
    )
    request = await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": bill["lines"][0]["id"], "quantity": 1}], "reason_code": "quality"},
    )
    approved = await shop.call("POST", f"/returns/{request['id']}/approve", {})
    refunds = {refund["tender"]: (refund["amount"], refund["status"]) for refund in approved["refunds"]}
    assert refunds == {"stored_value": (2000, "succeeded"), "cash": (800, "succeeded")}
    assert wallet.balance == 2000
    assert wallet.refunds[0][0] == "stored_value"


async def test_a_member_tender_needs_the_member_on_the_bill(shop: Shop, wallet: FakeWallet) -> None:
    bill = await shop.add(await shop.open_takeaway(), "cake")
    refused = await shop.pay(bill, "points", amount=100, expect=409)
    assert refused["errors"][0]["field"] == "member_id"


async def test_without_a_wallet_the_member_tenders_are_refused_clearly(shop: Shop) -> None:
    bill = await _bill_with_member(shop)
    member_tenders.set_member_wallet(None)
    refused = await shop.pay(bill, "stored_value", expect=409)
    assert refused["errors"][0]["field"] == "tender"
