"""Voiding a line the kitchen already has: the void permission and a reason from the
store's list; lines not yet sent come off as before."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.audit import AuditRecord
from kassa.core.auth import Role
from tests.fingerprint import unchanged
from tests.shop import Shop

DEFAULT_REASONS = ["Customer changed their mind", "Wrong item", "Kitchen could not make it"]


async def _sent_cake(shop: Shop) -> dict[str, Any]:
    bill = await shop.add(await shop.open_takeaway(), "cake")
    await shop.call("POST", f"/bills/{bill['id']}/kitchen", {"version": bill["version"]})
    return await shop.call("GET", f"/bills/{bill['id']}")


async def _void(shop: Shop, bill: dict[str, Any], reason: str, role: Role, expect: int) -> dict[str, Any]:
    return await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines/{bill['lines'][0]['id']}/void",
        {"version": bill["version"], "reason": reason},
        role=role,
        expect=expect,
    )


async def test_a_store_starts_with_sensible_void_reasons(shop: Shop) -> None:
    settings = await shop.call("GET", f"/stores/{shop.store_id}/settings", role=Role.WAITER)
    assert settings["void_reasons"] == DEFAULT_REASONS


@pytest.mark.parametrize(
    ("role", "reason", "expected"),
    [
        (Role.WAITER, "Wrong item", 403),
        (Role.CASHIER, "", 422),
        (Role.CASHIER, "dropped it", 422),
        (Role.CASHIER, "Wrong item", 200),
        (Role.MANAGER, "Kitchen could not make it", 200),
        (Role.OWNER, "Customer changed their mind", 200),
    ],
)
async def test_who_voids_a_line_the_kitchen_has_and_why(
    shop: Shop, session: AsyncSession, role: Role, reason: str, expected: int
) -> None:
    bill = await _sent_cake(shop)
    await shop.login(role)
    async with unchanged(session, when=expected != 200):
        answer = await _void(shop, bill, reason, role, expected)
    if expected == 422:
        assert answer["errors"][0]["field"] == "reason"
        assert answer["void_reasons"] == DEFAULT_REASONS
    if expected == 403:
        assert answer["permission"] == "bill.void_sent_line"
    if expected == 200:
        assert answer["lines"][0]["void_reason"] == reason
        record = await session.scalar(select(AuditRecord).where(AuditRecord.action == "bill.line_void"))
        assert record is not None
        assert (record.after["reason"], record.after["was_sent_to_kitchen"]) == (reason, True)


async def test_a_waiter_still_takes_off_a_line_not_sent(shop: Shop) -> None:
    bill = await shop.call("POST", "/bills", {"order_type": "takeaway"}, role=Role.WAITER)
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines",
        {"version": bill["version"], "product_id": shop.products["cake"], "quantity": 1},
        role=Role.WAITER,
    )
    answer = await _void(shop, bill, "", Role.WAITER, 200)
    assert answer["lines"][0]["status"] == "voided"


async def test_the_void_permission_is_given_and_withheld_per_person(
    shop: Shop, session: AsyncSession
) -> None:
    await shop.call(
        "PUT",
        f"/staff/{shop.staff_ids[Role.WAITER]}/permissions",
        {"granted": ["bill.void_sent_line"]},
        role=Role.MANAGER,
    )
    await shop.call(
        "PUT",
        f"/staff/{shop.staff_ids[Role.CASHIER]}/permissions",
        {"withheld": ["bill.void_sent_line"]},
        role=Role.MANAGER,
    )
    bill = await _sent_cake(shop)
    await shop.login(Role.WAITER)
    async with unchanged(session):
        await _void(shop, bill, "Wrong item", Role.CASHIER, 403)
    await _void(shop, bill, "Wrong item", Role.WAITER, 200)


@pytest.mark.parametrize(
    ("role", "expected"), [(Role.WAITER, 403), (Role.CASHIER, 403), (Role.MANAGER, 403), (Role.OWNER, 200)]
)
async def test_who_edits_the_void_reasons(
    shop: Shop, session: AsyncSession, role: Role, expected: int
) -> None:
    await shop.login(role)
    async with unchanged(session, when=expected == 403):
        await shop.call(
            "PATCH",
            f"/stores/{shop.store_id}/settings",
            {"void_reasons": ["Spilled"]},
            role=role,
            expect=expected,
        )


async def test_the_edited_list_is_the_one_that_counts(shop: Shop) -> None:
    settings = await shop.call(
        "PATCH",
        f"/stores/{shop.store_id}/settings",
        {"void_reasons": [" Spilled ", "Spilled", "Wrong table"]},
        role=Role.OWNER,
    )
    assert settings["void_reasons"] == ["Spilled", "Wrong table"]
    bill = await _sent_cake(shop)
    await _void(shop, bill, "Wrong item", Role.CASHIER, 422)
    await _void(shop, bill, "Spilled", Role.CASHIER, 200)
    refused = await shop.call(
        "PATCH", f"/stores/{shop.store_id}/settings", {"void_reasons": [" "]}, role=Role.OWNER, expect=422
    )
    assert refused["errors"][0]["field"] in ("void_reasons", "void_reasons.0")
