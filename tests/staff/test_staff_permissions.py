"""Permissions given or withheld per staff member on top of the role, and what a manager
may not do to an owner (unlock, new PIN or password, permissions)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.audit import AuditRecord
from kassa.core.auth import Role
from kassa.core.database import utc_now
from kassa.staff.models import StaffMember
from tests.fingerprint import unchanged
from tests.shop import Shop


async def _me(shop: Shop, role: Role) -> set[str]:
    return set((await shop.call("GET", "/auth/me", role=role))["permissions"])


async def test_a_manager_gives_and_withholds_and_the_session_follows_at_once(
    shop: Shop, session: AsyncSession
) -> None:
    # given a waiter and a cashier already logged in
    assert "bill.discount" not in await _me(shop, Role.WAITER)
    assert "payment.void" in await _me(shop, Role.CASHIER)
    # when the manager gives the waiter discounts and withholds payment voids from the cashier
    waiter = await shop.call(
        "PUT",
        f"/staff/{shop.staff_ids[Role.WAITER]}/permissions",
        {"granted": ["bill.discount"]},
        role=Role.MANAGER,
    )
    cashier = await shop.call(
        "PUT",
        f"/staff/{shop.staff_ids[Role.CASHIER]}/permissions",
        {"withheld": ["payment.void"]},
        role=Role.MANAGER,
    )
    # then the rows say so and the open sessions have the new sets at their next request
    assert (waiter["granted_permissions"], waiter["withheld_permissions"]) == (["bill.discount"], [])
    assert "bill.discount" in waiter["permissions"]
    assert (cashier["granted_permissions"], cashier["withheld_permissions"]) == ([], ["payment.void"])
    assert "bill.discount" in await _me(shop, Role.WAITER)
    assert "payment.void" not in await _me(shop, Role.CASHIER)
    # and a withheld permission is enforced by the service: the waiter now discounts a line
    bill = await shop.call("POST", "/bills", {"order_type": "takeaway"}, role=Role.WAITER)
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines",
        {"version": bill["version"], "product_id": shop.products["cake"], "quantity": 1},
        role=Role.WAITER,
    )
    await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines/{bill['lines'][0]['id']}/discount",
        {"version": bill["version"], "basis_points": 1000, "reason": "regular"},
        role=Role.WAITER,
    )
    # and both changes are audited
    actions = (
        await session.scalars(select(AuditRecord).where(AuditRecord.action == "staff.permissions"))
    ).all()
    assert len(actions) == 2


async def test_giving_back_the_role_default_clears_the_override(shop: Shop) -> None:
    path = f"/staff/{shop.staff_ids[Role.CASHIER]}/permissions"
    await shop.call("PUT", path, {"withheld": ["payment.void"]}, role=Role.MANAGER)
    answer = await shop.call("PUT", path, {"granted": ["payment.void"]}, role=Role.MANAGER)
    assert (answer["granted_permissions"], answer["withheld_permissions"]) == ([], [])
    assert "payment.void" in await _me(shop, Role.CASHIER)


@pytest.mark.parametrize(
    ("acting_role", "target_role", "body", "expected"),
    [
        (Role.WAITER, Role.CASHIER, {"withheld": ["payment.void"]}, 403),
        (Role.CASHIER, Role.WAITER, {"granted": ["bill.discount"]}, 403),
        # a manager gives only what they hold themselves
        (Role.MANAGER, Role.CASHIER, {"granted": ["settings.manage"]}, 403),
        (Role.MANAGER, Role.CASHIER, {"granted": ["api_key.manage"]}, 403),
        # never an owner's permissions, never their own
        (Role.MANAGER, Role.OWNER, {"withheld": ["staff.manage"]}, 403),
        (Role.MANAGER, Role.MANAGER, {"granted": ["settings.manage"]}, 403),
        (Role.MANAGER, Role.CASHIER, {"granted": ["report.view"]}, 200),
        (Role.OWNER, Role.CASHIER, {"granted": ["settings.manage"]}, 200),
        (Role.OWNER, Role.MANAGER, {"withheld": ["staff.manage"]}, 200),
        # the same permission given and withheld is a mistake
        (Role.OWNER, Role.CASHIER, {"granted": ["report.view"], "withheld": ["report.view"]}, 422),
        (Role.OWNER, Role.CASHIER, {"granted": ["no.such"]}, 422),
    ],
)
async def test_who_may_change_whose_permissions(
    shop: Shop,
    session: AsyncSession,
    acting_role: Role,
    target_role: Role,
    body: dict[str, list[str]],
    expected: int,
) -> None:
    await shop.login(acting_role)
    async with unchanged(session, when=expected != 200):
        await shop.call(
            "PUT",
            f"/staff/{shop.staff_ids[target_role]}/permissions",
            body,
            role=acting_role,
            expect=expected,
        )


async def test_a_refusal_names_the_permissions_the_manager_lacks(shop: Shop) -> None:
    answer = await shop.call(
        "PUT",
        f"/staff/{shop.staff_ids[Role.CASHIER]}/permissions",
        {"granted": ["settings.manage", "report.view"]},
        role=Role.MANAGER,
        expect=403,
    )
    assert answer["permissions"] == ["settings.manage"]


async def _lock(session: AsyncSession, staff_id: int) -> None:
    await session.execute(
        update(StaffMember)
        .where(StaffMember.id == staff_id)
        .values(locked_until=utc_now() + timedelta(minutes=15), failed_pin_attempts=0)
    )
    await session.commit()


@pytest.mark.parametrize(
    ("acting_role", "target_role", "expected"),
    [
        (Role.MANAGER, Role.OWNER, 403),
        (Role.CASHIER, Role.WAITER, 403),
        (Role.MANAGER, Role.CASHIER, 200),
        (Role.MANAGER, Role.MANAGER, 200),
        (Role.OWNER, Role.OWNER, 200),
    ],
)
async def test_who_may_unlock_whom(
    shop: Shop, session: AsyncSession, acting_role: Role, target_role: Role, expected: int
) -> None:
    await shop.login(acting_role)
    await _lock(session, shop.staff_ids[target_role])
    async with unchanged(session, when=expected == 403):
        await shop.call(
            "POST", f"/staff/{shop.staff_ids[target_role]}/unlock", role=acting_role, expect=expected
        )


@pytest.mark.parametrize(
    ("acting_role", "target_role", "body", "expected"),
    [
        (Role.MANAGER, Role.OWNER, {"pin": "9999"}, 403),
        (Role.MANAGER, Role.OWNER, {"password": "a-new-long-password"}, 403),
        (Role.WAITER, Role.CASHIER, {"pin": "9999"}, 403),
        (Role.MANAGER, Role.CASHIER, {"pin": "9999"}, 200),
        (Role.OWNER, Role.OWNER, {"pin": "9999"}, 200),
        (Role.MANAGER, Role.CASHIER, {"password": "a-new-long-password"}, 422),
        (Role.MANAGER, Role.CASHIER, {}, 422),
    ],
)
async def test_who_may_reset_whose_pin_or_password(
    shop: Shop,
    session: AsyncSession,
    acting_role: Role,
    target_role: Role,
    body: dict[str, str],
    expected: int,
) -> None:
    await shop.login(acting_role)
    async with unchanged(session, when=expected != 200):
        await shop.call(
            "POST",
            f"/staff/{shop.staff_ids[target_role]}/credentials",
            body,
            role=acting_role,
            expect=expected,
        )


async def test_a_new_pin_ends_the_sessions_and_works(shop: Shop) -> None:
    cashier = await shop.login(Role.CASHIER)
    await shop.call(
        "POST", f"/staff/{shop.staff_ids[Role.CASHIER]}/credentials", {"pin": "9999"}, role=Role.MANAGER
    )
    assert (await shop.client.get("/api/v1/auth/me", headers=cashier)).status_code == 401
    response = await shop.client.post(
        "/api/v1/auth/pin",
        json={"register_id": shop.register_ids[0], "staff_id": shop.staff_ids[Role.CASHIER], "pin": "9999"},
        headers=shop.device(),
    )
    assert response.status_code == 200
