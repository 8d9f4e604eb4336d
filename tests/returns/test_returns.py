"""The return flow through the API: request, approval rights, exact refunds across mixed
tenders, the slip, stock, the customer SMS and the reply, disputes, time-outs, archive."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.models import StoreProduct
from kassa.core.auth import Role
from kassa.notifications.providers.log import LogProvider
from kassa.payments.models import Payment
from kassa.staff.models import StaffMember
from tests.returns.conftest import Worker
from tests.shop import Shop


async def _paid_bill(shop: Shop, *, discount: int | None = 1000, phone: str | None = None) -> dict[str, Any]:
    """cake x2 (56.00) + americano (18.00), 10 % off: 66.60, paid 30.00 cash + 36.60 card."""
    extra = {"delivery_phone": phone, "delivery_address": "1 Main St"} if phone else {}
    bill = await shop.call("POST", "/bills", {"order_type": "delivery" if phone else "takeaway", **extra})
    bill = await shop.add(bill, "cake", 2)
    bill = await shop.add(bill, "americano")
    if discount:
        bill = await shop.call(
            "POST",
            f"/bills/{bill['id']}/discount",
            {"version": bill["version"], "basis_points": discount, "reason": "regular"},
        )
    bill = await shop.pay(bill, "cash", amount=3000, tendered_amount=3000)
    bill = await shop.pay(bill, "card", approval_code="A1")
    assert bill["status"] == "closed"
    return bill


def _line(bill: dict[str, Any], name: str) -> int:
    return next(line["id"] for line in bill["lines"] if line["name"] == name)


async def _request(
    shop: Shop, bill: dict[str, Any], lines: list[tuple[str, int]], role: Role = Role.WAITER, **extra: Any
) -> dict[str, Any]:
    return await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {
            "lines": [{"line_id": _line(bill, name), "quantity": quantity} for name, quantity in lines],
            "reason_code": "quality",
            **extra,
        },
        role=role,
    )


async def _payments(session: AsyncSession, bill_id: int) -> dict[str, tuple[int, int]]:
    rows = (await session.scalars(select(Payment).where(Payment.bill_id == bill_id))).all()
    for row in rows:
        await session.refresh(row)
    return {row.tender.value: (row.amount, row.refunded_amount) for row in rows}


# --- open bills ---------------------------------------------------------------------------


async def test_an_open_bill_loses_the_returned_lines_and_the_stock_comes_back(
    shop: Shop, session: AsyncSession, worker: Worker
) -> None:
    bill = await shop.add(await shop.open_takeaway(), "tart", 2)
    bill = await shop.add(bill, "americano")
    request = await _request(shop, bill, [("tart", 1)])
    assert (request["status"], request["amount"], request["bill_was_paid"]) == ("pending", 800, False)

    approved = await shop.call("POST", f"/returns/{request['id']}/approve", {"comment": "ok"})
    assert (approved["status"], approved["refund_state"], approved["refunds"]) == ("approved", "none", [])
    after = await shop.call("GET", f"/bills/{bill['id']}")
    tart = next(line for line in after["lines"] if line["name"] == "tart")
    assert (tart["quantity"], after["total_amount"]) == (1, 800 + 1800)
    stock = await session.scalar(
        select(StoreProduct.stock_quantity).where(StoreProduct.product_id == shop.products["tart"])
    )
    assert stock == 3 - 2 + 1  # not made yet: back on the shelf


async def test_a_dish_already_made_is_waste_not_stock(
    shop: Shop, session: AsyncSession, worker: Worker
) -> None:
    bill = await shop.add(await shop.open_takeaway(), "tart", 2)
    await shop.call("POST", f"/bills/{bill['id']}/kitchen", {"version": bill["version"]})
    bill = await shop.call("GET", f"/bills/{bill['id']}")
    request = await _request(shop, bill, [("tart", 2)])
    assert request["lines"][0]["was_prepared"] is True
    await shop.call("POST", f"/returns/{request['id']}/approve", {})
    after = await shop.call("GET", f"/bills/{bill['id']}")
    assert [line["status"] for line in after["lines"]] == ["voided"]
    stock = await session.scalar(
        select(StoreProduct.stock_quantity).where(StoreProduct.product_id == shop.products["tart"])
    )
    assert stock == 1  # 3 - 2 sold; the returned two were made, so they stay off the shelf


async def test_no_more_can_be_asked_back_than_was_sold(shop: Shop, worker: Worker) -> None:
    bill = await _paid_bill(shop)
    await _request(shop, bill, [("cake", 1)])
    refused = await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": _line(bill, "cake"), "quantity": 2}], "reason_code": "quality"},
        role=Role.WAITER,
        expect=409,
    )
    assert refused["errors"][0]["field"] == "lines.0.quantity"
    assert refused["returnable"] == 1
    bad_reason = await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": _line(bill, "cake"), "quantity": 1}], "reason_code": "nope"},
        role=Role.WAITER,
        expect=422,
    )
    assert bad_reason["errors"][0]["field"] == "reason_code"


# --- approval rights ----------------------------------------------------------------------


async def test_who_may_approve(shop: Shop, worker: Worker) -> None:
    bill = await _paid_bill(shop)
    request = await _request(shop, bill, [("americano", 1)])
    denied = await shop.call("POST", f"/returns/{request['id']}/approve", {}, role=Role.WAITER, expect=403)
    assert denied["permission"] == "return.approve"
    await shop.call("POST", f"/returns/{request['id']}/reject", {"comment": ""}, expect=422)
    rejected = await shop.call("POST", f"/returns/{request['id']}/reject", {"comment": "was fine"})
    assert rejected["status"] == "rejected"
    again = await shop.call("POST", f"/returns/{request['id']}/approve", {}, expect=409)
    assert again["detail"] == "this return was decided already"


async def test_above_the_limit_a_manager_approves_by_role_or_pin(shop: Shop, worker: Worker) -> None:
    await shop.call(
        "PATCH",
        f"/stores/{shop.store_id}/return-settings",
        {"manager_threshold_amount": 2000},
        role=Role.OWNER,
    )
    bill = await _paid_bill(shop)
    request = await _request(shop, bill, [("cake", 1)])  # 25.20 > 20.00
    denied = await shop.call("POST", f"/returns/{request['id']}/approve", {}, expect=403)
    assert denied["errors"][0]["field"] == "manager"
    assert (denied["threshold"], denied["amount"]) == (2000, 2520)
    wrong = await shop.call(
        "POST",
        f"/returns/{request['id']}/approve",
        {"manager": {"manager_staff_id": shop.staff_ids[Role.MANAGER], "pin": "9999"}},
        expect=401,
    )
    assert wrong["errors"][0]["field"] == "manager.pin"
    approved = await shop.call(
        "POST",
        f"/returns/{request['id']}/approve",
        {"manager": {"manager_staff_id": shop.staff_ids[Role.MANAGER], "pin": "2222"}},
    )
    assert (approved["status"], approved["approval_method"]) == ("approved", "manager_pin")
    assert approved["manager_staff_id"] == shop.staff_ids[Role.MANAGER]
    second = await _request(shop, bill, [("cake", 1)])
    by_role = await shop.call("POST", f"/returns/{second['id']}/approve", {}, role=Role.MANAGER)
    assert by_role["approval_method"] == "role"


async def test_a_manager_far_away_approves_with_a_code_sent_by_sms(
    shop: Shop, session: AsyncSession, worker: Worker, sms: LogProvider
) -> None:
    manager = await session.get(StaffMember, shop.staff_ids[Role.MANAGER])
    assert manager is not None
    manager.phone = "139 0000 1111"
    await session.flush()
    await shop.call(
        "PATCH", f"/stores/{shop.store_id}/return-settings", {"manager_threshold_amount": 0}, role=Role.OWNER
    )
    bill = await _paid_bill(shop)
    request = await _request(shop, bill, [("americano", 1)])
    sent = await shop.call(
        "POST", f"/returns/{request['id']}/manager-code", {"manager_staff_id": shop.staff_ids[Role.MANAGER]}
    )
    assert await worker.run() >= 1
    [message] = [message for message in sms.sent if message.to == "+8613900001111"]
    assert message.message_id == sent["message_id"]
    code = re.search(r"\d{6}", message.body)
    assert code is not None
    body = {"manager": {"manager_staff_id": shop.staff_ids[Role.MANAGER], "sms_code": "000000"}}
    if code.group() == "000000":
        body["manager"]["sms_code"] = "111111"
    wrong = await shop.call("POST", f"/returns/{request['id']}/approve", body, expect=401)
    assert "tries left" in wrong["detail"]
    body["manager"]["sms_code"] = code.group()
    approved = await shop.call("POST", f"/returns/{request['id']}/approve", body)
    assert approved["approval_method"] == "manager_sms_code"
    reused = await _request(shop, bill, [("cake", 1)])
    used_up = await shop.call("POST", f"/returns/{reused['id']}/approve", body, expect=401)
    assert used_up["errors"][0]["field"] == "manager.sms_code"


# --- refunds ------------------------------------------------------------------------------


async def test_partial_returns_refund_exactly_what_was_paid_across_mixed_tenders(
    shop: Shop, session: AsyncSession, worker: Worker
) -> None:
    bill = await _paid_bill(shop)
    assert (bill["total_amount"], bill["discount_amount"]) == (6660, 740)
    refunded: list[dict[str, Any]] = []
    for lines in ([("cake", 1)], [("cake", 1)], [("americano", 1)]):
        request = await _request(shop, bill, lines)
        approved = await shop.call("POST", f"/returns/{request['id']}/approve", {})
        refunded.append(approved)
    # each cake carries 56.00 - 5.60 of the discount = 50.40, half each; the coffee 18.00 - 1.80
    assert [item["amount"] for item in refunded] == [2520, 2520, 1620]
    # spread over cash (30.00) and card (36.60) in proportion to what each can still give back
    first_refunds = {refund["tender"]: refund["amount"] for refund in refunded[0]["refunds"]}
    assert first_refunds == {"cash": 1135, "card": 1385}
    assert sum(item["amount"] for item in refunded) == bill["total_amount"]
    assert await _payments(session, bill["id"]) == {"cash": (3000, 3000), "card": (3660, 3660)}
    # a cashier at the register hands the cash back at once; the card waits for the terminal
    assert {refund["tender"]: refund["status"] for refund in refunded[0]["refunds"]} == {
        "cash": "succeeded",
        "card": "pending",
    }
    to_pay = await shop.call("GET", f"/stores/{shop.store_id}/refunds/to-pay-out")
    assert sorted(refund["amount"] for refund in to_pay) == sorted(
        refund["amount"] for item in refunded for refund in item["refunds"] if refund["tender"] == "card"
    )
    await shop.call("POST", f"/refunds/{to_pay[0]['id']}/pay-out", {}, expect=422)
    for refund in to_pay:
        done = await shop.call("POST", f"/refunds/{refund['id']}/pay-out", {"approval_code": "RF1"})
        assert done["status"] == "succeeded"
    final = await shop.call("GET", f"/returns/{refunded[0]['id']}")
    assert (final["refund_state"], final["refunded_amount"]) == ("done", 2520)
    nothing_left = await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": _line(bill, "cake"), "quantity": 1}], "reason_code": "quality"},
        expect=409,
    )
    assert nothing_left["returnable"] == 0


async def test_the_return_slip_names_everything(shop: Shop, worker: Worker) -> None:
    bill = await _paid_bill(shop)
    request = await _request(shop, bill, [("cake", 1)], reason_text="too sweet")
    await shop.call("POST", f"/returns/{request['id']}/approve", {})
    headers = await shop.login()
    slip = (await shop.client.get(f"/api/v1/returns/{request['id']}/slip", headers=headers)).text
    for expected in (
        "退菜单",
        f"R{request['id']}",
        "cake",
        "25.20",
        "菜品质量",
        "too sweet",
        "申请人",
        "审批人",
    ):
        assert expected in slip, expected


async def test_the_z_report_and_the_drawer_count_the_refunds(shop: Shop, worker: Worker) -> None:
    register_id = shop.register_ids[0]
    shift = await shop.call("POST", f"/registers/{register_id}/shifts", {"amount": 10000})
    bill = await _paid_bill(shop)
    request = await _request(shop, bill, [("cake", 1)])
    await shop.call("POST", f"/returns/{request['id']}/approve", {})
    report = await shop.call("GET", f"/stores/{shop.store_id}/z-report", role=Role.MANAGER)
    assert report["refunds"]["returns_count"] == 1
    assert report["refunds"]["by_tender"] == [{"tender": "cash", "count": 1, "amount": 1135}]
    x_report = await shop.call("GET", f"/shifts/{shift['id']}/x-report")
    assert x_report["cash_refunds_amount"] == 1135
    assert x_report["expected_cash_amount"] == 10000 + 3000 - 1135
