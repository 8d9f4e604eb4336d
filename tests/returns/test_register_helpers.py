"""What the register's return screens read and call besides the API: how much of each line
can still be asked back, the manager's on-the-spot check, today's paid bills, and the
small rules behind the back-office forms."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Role
from kassa.core.errors import NotAuthenticated, ValidationFailed
from kassa.orders import service as orders
from kassa.returns import service
from kassa.returns.ui.view import date_range, parse_date, parse_words, reason_code_of
from kassa.staff.models import StaffMember
from kassa.stores.models import Store
from tests.returns.conftest import Worker
from tests.shop import Shop


async def _actor(session: AsyncSession, shop: Shop, role: Role) -> Actor:
    store = await session.get(Store, shop.store_id)
    assert store is not None
    return Actor(
        organization_id=store.organization_id,
        staff_id=shop.staff_ids[role],
        role=role,
        store_id=shop.store_id,
        register_id=shop.register_ids[0],
    )


async def _paid_cake_bill(shop: Shop) -> dict[str, Any]:
    bill = await shop.add(await shop.open_takeaway(), "cake", 2)
    bill = await shop.add(bill, "americano")
    bill = await shop.pay(bill, "cash", tendered_amount=10000)
    assert bill["status"] == "closed"
    return bill


def _line(bill: dict[str, Any], name: str) -> int:
    return next(line["id"] for line in bill["lines"] if line["name"] == name)


async def test_returnable_quantities_count_pending_and_approved_returns_of_a_paid_bill(
    shop: Shop, session: AsyncSession, worker: Worker
) -> None:
    # Given a paid bill of two cakes and an americano
    bill = await _paid_cake_bill(shop)
    cashier = await _actor(session, shop, Role.CASHIER)
    cake, americano = _line(bill, "cake"), _line(bill, "americano")
    assert await service.returnable_quantities(session, cashier, bill["id"]) == {cake: 2, americano: 1}

    # When one cake is asked back (pending), then approved, and the americano is asked back
    request = await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": cake, "quantity": 1}], "reason_code": "quality"},
        role=Role.WAITER,
    )
    assert await service.returnable_quantities(session, cashier, bill["id"]) == {cake: 1, americano: 1}
    await shop.call("POST", f"/returns/{request['id']}/approve", {})
    await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": americano, "quantity": 1}], "reason_code": "quality"},
        role=Role.WAITER,
    )

    # Then one cake is left to return, and no americano
    assert await service.returnable_quantities(session, cashier, bill["id"]) == {cake: 1, americano: 0}


async def test_a_manager_authorises_by_pin_and_a_wrong_pin_is_returned_not_raised(
    shop: Shop, session: AsyncSession, worker: Worker
) -> None:
    bill = await _paid_cake_bill(shop)
    request = await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": _line(bill, "cake"), "quantity": 1}], "reason_code": "quality"},
        role=Role.WAITER,
    )
    cashier = await _actor(session, shop, Role.CASHIER)
    manager_id = shop.staff_ids[Role.MANAGER]

    wrong = await service.authorize_manager(session, cashier, request["id"], manager_id, pin="9999")
    assert (wrong.manager, wrong.method) == (None, None)
    assert isinstance(wrong.error, NotAuthenticated)
    assert wrong.error.field == "manager.pin"
    manager = await session.get(StaffMember, manager_id)
    assert manager is not None
    assert manager.failed_pin_attempts == 1  # counted: the caller commits before refusing

    right = await service.authorize_manager(session, cashier, request["id"], manager_id, pin="2222")
    assert right.error is None
    assert right.manager is not None
    assert (right.manager.staff_id, right.manager.role, right.method) == (
        manager_id,
        Role.MANAGER,
        "manager_pin",
    )

    with pytest.raises(ValidationFailed) as refused:
        await service.authorize_manager(session, cashier, request["id"], manager_id)
    assert refused.value.field == "manager.pin"


async def test_todays_paid_bills_are_listed_newest_first_without_open_ones(
    shop: Shop, session: AsyncSession, worker: Worker
) -> None:
    first = await _paid_cake_bill(shop)
    second = await _paid_cake_bill(shop)
    await shop.add(await shop.open_takeaway(), "tart")
    cashier = await _actor(session, shop, Role.CASHIER)
    bills = await orders.closed_bills(session, cashier, shop.store_id)
    assert [bill.id for bill in bills] == [second["id"], first["id"]]


def test_reply_words_are_split_on_any_comma_and_deduplicated() -> None:
    assert parse_words("1, 是，确认、Y  1") == ["1", "是", "确认", "Y"]
    assert parse_words("  ") == []


def test_a_reason_code_is_made_from_its_name() -> None:
    assert reason_code_of("  Too   Salty ") == "too_salty"
    assert reason_code_of("太咸") == "太咸"
    assert reason_code_of("") == ""


def test_a_date_range_covers_whole_local_days() -> None:
    start, end = date_range(date(2026, 11, 1), date(2026, 11, 30), "Asia/Shanghai")
    assert start is not None
    assert end is not None
    assert start.astimezone(UTC) == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert date_range(None, None, "Asia/Shanghai") == (None, None)
    assert parse_date("2026-11-30") == date(2026, 11, 30)
    assert parse_date("30.11.2026") is None
    assert parse_date("") is None
