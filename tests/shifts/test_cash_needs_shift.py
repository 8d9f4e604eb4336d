"""Cash moves only through a counted drawer: no cash payment, cash sale or cash refund on a
register with no open shift (store setting, on by default); and the blind drawer count."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from tests.factories import make_organization, make_store
from tests.fingerprint import unchanged
from tests.shop import Shop, new_key


async def _settings(shop: Shop, **changes: Any) -> dict[str, Any]:
    return await shop.call("PATCH", f"/stores/{shop.store_id}/settings", changes, role=Role.OWNER)


async def _open_shift(shop: Shop, register_index: int = 0, amount: int = 10000) -> dict[str, Any]:
    return await shop.call(
        "POST",
        f"/registers/{shop.register_ids[register_index]}/shifts",
        {"amount": amount},
        register_index=register_index,
    )


async def _cake_bill(shop: Shop, register_index: int = 0) -> dict[str, Any]:
    bill = await shop.call("POST", "/bills", {"order_type": "takeaway"}, register_index=register_index)
    return await shop.call(
        "POST",
        f"/bills/{bill['id']}/lines",
        {"version": bill["version"], "product_id": shop.products["cake"], "quantity": 1},
        register_index=register_index,
    )


async def _pay_cash(shop: Shop, bill: dict[str, Any], register_index: int, expect: int) -> dict[str, Any]:
    return await shop.call(
        "POST",
        f"/bills/{bill['id']}/payments",
        {"version": bill["version"], "tender": "cash", "tendered_amount": 3000},
        register_index=register_index,
        key=new_key(),
        expect=expect,
    )


async def test_a_new_store_asks_for_an_open_shift(session: AsyncSession) -> None:
    from kassa.core.auth import Actor
    from kassa.stores import service as stores

    organization = await make_organization(session)
    store = await stores.create_store(
        session,
        Actor.system(organization.id),
        name="Fresh",
        currency="CNY",
        timezone="Asia/Shanghai",
        phone_region="CN",
        locale="zh_CN",
        vat_rates=[stores.VatRateInput("standard", "6%", 600, is_default=True)],
    )
    assert (store.cash_requires_open_shift, store.is_drawer_count_blind) == (True, False)
    assert (await make_store(session, organization)).cash_requires_open_shift is False  # test fixtures


async def test_no_cash_on_a_register_without_an_open_shift(shop: Shop, session: AsyncSession) -> None:
    # Given the store asks for an open shift and register 0 has one, register 1 none
    await _settings(shop, cash_requires_open_shift=True)
    await _open_shift(shop, 0)
    bill = await _cake_bill(shop, 1)
    # When cash is taken on register 1, it is refused and nothing changes
    async with unchanged(session):
        refused = await _pay_cash(shop, bill, 1, 409)
    assert (refused["code"], refused["errors"][0]["field"]) == ("shift_required", "register_id")
    # and a one-step cash sale there too
    async with unchanged(session):
        sale = await shop.call(
            "POST",
            "/sales",
            {
                "order_type": "takeaway",
                "lines": [{"product_id": shop.products["cake"], "quantity": 1}],
                "tenders": [{"tender": "cash", "tendered_amount": 3000}],
            },
            register_index=1,
            key=new_key(),
            expect=409,
        )
    assert sale["code"] == "shift_required"
    # But a card is fine without a shift, and cash on register 0 (its shift is open)
    card_bill = await _cake_bill(shop, 1)
    await shop.call(
        "POST",
        f"/bills/{card_bill['id']}/payments",
        {"version": card_bill["version"], "tender": "card", "approval_code": "A1"},
        register_index=1,
        key=new_key(),
    )
    paid = await _pay_cash(shop, await _cake_bill(shop, 0), 0, 201)
    assert paid["status"] == "closed"


async def test_a_cash_payment_is_voided_only_while_its_drawer_is_counted(
    shop: Shop, session: AsyncSession
) -> None:
    # Given 20.00 of a cake's 28.00 paid in cash during register 0's shift, which then closed
    await _settings(shop, cash_requires_open_shift=True)
    shift = await _open_shift(shop, 0)
    bill = await _cake_bill(shop, 0)
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/payments",
        {"version": bill["version"], "tender": "cash", "amount": 2000, "tendered_amount": 2000},
        key=new_key(),
    )
    await shop.call("POST", f"/shifts/{shift['id']}/close", {"amount": 12000})
    path = f"/bills/{bill['id']}/payments/{bill['payments'][0]['id']}/void"
    # When the cashier voids the cash payment, it is refused: no drawer counts it back out
    async with unchanged(session):
        refused = await shop.call(
            "POST", path, {"version": bill["version"], "reason": "wrong bill"}, expect=409
        )
    assert refused["code"] == "shift_required"
    # And a new shift on that register does not count it back out either (it never held it)
    await _open_shift(shop, 0)
    async with unchanged(session):
        again = await shop.call(
            "POST", path, {"version": bill["version"], "reason": "wrong bill"}, expect=409
        )
    assert again["code"] == "shift_required"


async def test_a_cash_payment_of_the_open_shift_is_voided(shop: Shop) -> None:
    await _settings(shop, cash_requires_open_shift=True)
    await _open_shift(shop, 0)
    bill = await _cake_bill(shop, 0)
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/payments",
        {"version": bill["version"], "tender": "cash", "amount": 2000, "tendered_amount": 2000},
        key=new_key(),
    )
    voided = await shop.call(
        "POST",
        f"/bills/{bill['id']}/payments/{bill['payments'][0]['id']}/void",
        {"version": bill["version"], "reason": "wrong bill"},
    )
    assert voided["paid_amount"] == 0


async def test_with_the_setting_off_cash_needs_no_shift(shop: Shop) -> None:
    settings = await _settings(shop, cash_requires_open_shift=False)
    assert settings["cash_requires_open_shift"] is False
    await _pay_cash(shop, await _cake_bill(shop, 1), 1, 201)


async def test_no_cash_refund_from_a_drawer_without_a_shift(shop: Shop, session: AsyncSession) -> None:
    # Given a cake paid in cash on register 0 during its shift, which then closed
    await _settings(shop, cash_requires_open_shift=True)
    shift = await _open_shift(shop, 0)
    bill = await _pay_cash(shop, await _cake_bill(shop, 0), 0, 201)
    await shop.call("POST", f"/shifts/{shift['id']}/close", {"amount": 12800})
    request = await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": bill["lines"][0]["id"], "quantity": 1}], "reason_code": "quality"},
    )
    # When the cashier approves it at the register, the cash cannot come out of a drawer
    async with unchanged(session):
        refused = await shop.call("POST", f"/returns/{request['id']}/approve", {}, expect=409)
    assert refused["code"] == "shift_required"
    # Then with a shift open again it is handed back at once
    await _open_shift(shop, 0)
    approved = await shop.call("POST", f"/returns/{request['id']}/approve", {})
    assert [(refund["tender"], refund["status"]) for refund in approved["refunds"]] == [("cash", "succeeded")]


async def test_a_pending_cash_refund_is_paid_out_only_with_a_shift(shop: Shop, session: AsyncSession) -> None:
    # Given a cash refund made in the back office (no register), waiting to be paid out
    await _settings(shop, cash_requires_open_shift=True)
    await _open_shift(shop, 0)
    bill = await _pay_cash(shop, await _cake_bill(shop, 0), 0, 201)
    request = await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": bill["lines"][0]["id"], "quantity": 1}], "reason_code": "quality"},
    )
    from kassa.core.auth import Actor
    from kassa.returns import service as returns
    from kassa.stores.models import Store

    store = await session.get(Store, shop.store_id)
    assert store is not None
    office = Actor(
        organization_id=store.organization_id,
        staff_id=shop.staff_ids[Role.MANAGER],
        role=Role.MANAGER,
        store_id=store.id,
        store_ids=frozenset({store.id}),
    )
    await returns.approve(session, office, request["id"])
    await session.commit()
    pending = await shop.call("GET", f"/stores/{shop.store_id}/refunds/to-pay-out")
    assert [refund["tender"] for refund in pending] == ["cash"]
    # When a cashier on register 1 (no shift) pays it out, it is refused
    await shop.login(Role.CASHIER, 1)
    async with unchanged(session):
        refused = await shop.call(
            "POST", f"/refunds/{pending[0]['id']}/pay-out", {}, register_index=1, expect=409
        )
    assert refused["code"] == "shift_required"
    # and on register 0 (its shift open) it is paid out
    done = await shop.call("POST", f"/refunds/{pending[0]['id']}/pay-out", {})
    assert done["status"] == "succeeded"


@pytest.mark.parametrize(
    ("role", "expected"), [(Role.WAITER, 403), (Role.CASHIER, 403), (Role.MANAGER, 403), (Role.OWNER, 200)]
)
async def test_who_sets_the_cash_rules(shop: Shop, session: AsyncSession, role: Role, expected: int) -> None:
    await shop.login(role)
    for change in ({"cash_requires_open_shift": False}, {"is_drawer_count_blind": True}):
        async with unchanged(session, when=expected == 403):
            await shop.call("PATCH", f"/stores/{shop.store_id}/settings", change, role=role, expect=expected)


# --- the blind drawer count ---------------------------------------------------------------


async def test_a_blind_count_hides_the_expected_cash_until_the_count_is_in(shop: Shop) -> None:
    # Given a blind count, a shift with a 100.00 float and a 28.00 cash sale
    await _settings(shop, is_drawer_count_blind=True)
    shift = await _open_shift(shop, 0)
    await _pay_cash(shop, await _cake_bill(shop, 0), 0, 201)
    # When the cashier looks at the X report, no figure gives the expected cash away
    report = await shop.call("GET", f"/shifts/{shift['id']}/x-report")
    assert report["is_count_blind"] is True
    assert (report["expected_cash_amount"], report["cash_sales_amount"], report["cash_refunds_amount"]) == (
        None,
        None,
        None,
    )
    assert [tender["tender"] for tender in report["tenders"]] == []
    text = (
        await shop.client.get(f"/api/v1/shifts/{shift['id']}/x-report.txt", headers=await shop.login())
    ).text
    assert "128.00" not in text
    # nor does taking too much out of the drawer
    refused = await shop.call(
        "POST",
        f"/shifts/{shift['id']}/cash-movements",
        {"kind": "cash_out", "amount": 999999, "reason": "bank"},
        expect=409,
    )
    assert "expected_cash_amount" not in refused
    assert "128" not in refused["detail"]
    # But a manager (who reads reports) sees it
    managed = await shop.call("GET", f"/shifts/{shift['id']}/x-report", role=Role.MANAGER)
    assert managed["expected_cash_amount"] == 12800
    # And once the cashier's count is in, the closing report shows the difference
    closed = await shop.call("POST", f"/shifts/{shift['id']}/close", {"amount": 12700})
    assert (closed["expected_cash_amount"], closed["difference_amount"]) == (12800, -100)
    assert closed["is_count_blind"] is False


async def test_without_a_blind_count_the_cashier_sees_the_expected_cash(shop: Shop) -> None:
    shift = await _open_shift(shop, 0)
    await _pay_cash(shop, await _cake_bill(shop, 0), 0, 201)
    report = await shop.call("GET", f"/shifts/{shift['id']}/x-report")
    assert (report["expected_cash_amount"], report["is_count_blind"]) == (12800, False)
