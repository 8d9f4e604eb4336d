"""Line and bill discounts count together against the staff member's discount limit (the
store's, 20 % by default); above it needs ``bill.discount_above_limit`` or a manager's PIN."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from tests.fingerprint import unchanged
from tests.shop import PINS, Shop


async def _cake_with_line_discount(shop: Shop, basis_points: int = 1500) -> dict[str, Any]:
    """A cake (28.00) with a 15 % line discount (4.20), within the cashier's 20 %."""
    bill = await shop.add(await shop.open_takeaway(), "cake")
    return await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines/{bill['lines'][0]['id']}/discount",
        {"version": bill["version"], "basis_points": basis_points, "reason": "regular"},
    )


async def _bill_discount(
    shop: Shop, bill: dict[str, Any], basis_points: int, role: Role, expect: int, **extra: Any
) -> dict[str, Any]:
    return await shop.call(
        "POST",
        f"/bills/{bill['id']}/discount",
        {"version": bill["version"], "basis_points": basis_points, "reason": "birthday", **extra},
        role=role,
        expect=expect,
    )


async def test_each_within_the_limit_but_together_above_it_is_refused(
    shop: Shop, session: AsyncSession
) -> None:
    # Given 15 % off the line (4.20 of 28.00)
    bill = await _cake_with_line_discount(shop)
    assert bill["lines"][0]["discount_amount"] == 420
    # When the cashier adds 10 % off the bill (2.38): 6.58 together, above 20 % (5.60)
    async with unchanged(session):
        refused = await _bill_discount(shop, bill, 1000, Role.CASHIER, 403)
    # Then it needs a manager, and says how far the limit goes
    assert refused["needs_approval"] is True
    assert (refused["discount_amount"], refused["limit_amount"]) == (658, 560)
    # And 5 % off the bill (1.19, 5.39 together) is within it
    bill = await _bill_discount(shop, bill, 500, Role.CASHIER, 200)
    assert bill["discount_amount"] == 119


async def test_a_bill_discount_first_then_a_line_discount_count_together_too(
    shop: Shop, session: AsyncSession
) -> None:
    bill = await shop.add(await shop.open_takeaway(), "cake")
    bill = await _bill_discount(shop, bill, 1500, Role.CASHIER, 200)
    async with unchanged(session):
        await shop.call(
            "POST",
            f"/bills/{bill['id']}/lines/{bill['lines'][0]['id']}/discount",
            {"version": bill["version"], "basis_points": 1000, "reason": "regular"},
            expect=403,
        )


@pytest.mark.parametrize(("role", "expected"), [(Role.CASHIER, 403), (Role.MANAGER, 200), (Role.OWNER, 200)])
async def test_who_may_go_above_the_limit_together(
    shop: Shop, session: AsyncSession, role: Role, expected: int
) -> None:
    bill = await _cake_with_line_discount(shop)
    await shop.login(role)
    async with unchanged(session, when=expected == 403):
        await _bill_discount(shop, bill, 1000, role, expected)


async def test_a_managers_pin_approves_it_on_the_spot(shop: Shop) -> None:
    bill = await _cake_with_line_discount(shop)
    approval = {"approver_staff_id": shop.staff_ids[Role.MANAGER], "approver_pin": PINS[Role.MANAGER]}
    bill = await _bill_discount(shop, bill, 1000, Role.CASHIER, 200, approval=approval)
    assert bill["discount_amount"] == 238


async def test_the_above_limit_permission_is_given_and_withheld_per_person(
    shop: Shop, session: AsyncSession
) -> None:
    # Given the owner withholds going above the limit from the manager
    await shop.call(
        "PUT",
        f"/staff/{shop.staff_ids[Role.MANAGER]}/permissions",
        {"withheld": ["bill.discount_above_limit"]},
        role=Role.OWNER,
    )
    bill = await _cake_with_line_discount(shop)
    await shop.login(Role.MANAGER)
    # Then the manager can neither go above it nor approve a cashier's discount above it
    async with unchanged(session):
        await _bill_discount(shop, bill, 1000, Role.MANAGER, 403)
    approval = {"approver_staff_id": shop.staff_ids[Role.MANAGER], "approver_pin": PINS[Role.MANAGER]}
    await _bill_discount(shop, bill, 1000, Role.CASHIER, 403, approval=approval)
    # When the owner gives it to the cashier, the cashier may
    await shop.call(
        "PUT",
        f"/staff/{shop.staff_ids[Role.CASHIER]}/permissions",
        {"granted": ["bill.discount_above_limit"]},
        role=Role.OWNER,
    )
    await _bill_discount(shop, bill, 1000, Role.CASHIER, 200)


async def test_lowering_a_discount_above_the_limit_is_always_allowed(shop: Shop) -> None:
    # Given a manager gave 50 % off the line
    bill = await shop.add(await shop.open_takeaway(), "cake")
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines/{bill['lines'][0]['id']}/discount",
        {"version": bill["version"], "basis_points": 5000, "reason": "manager's friend"},
        role=Role.MANAGER,
    )
    # When the cashier lowers it to 30 % (still above 20 %), it is allowed
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines/{bill['lines'][0]['id']}/discount",
        {"version": bill["version"], "basis_points": 3000, "reason": "corrected"},
    )
    assert bill["lines"][0]["discount_amount"] == 840
