"""The customer's side of a return: the SMS, the reply (confirm or dispute), the store's
confirmation modes, the time-out, and an SMS gateway that is down for a while."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from kassa.core.outbox import OutboxMessage, OutboxStatus
from kassa.notifications import service as notifications
from kassa.notifications.models import Message
from kassa.notifications.providers.log import LogProvider
from tests.returns.conftest import Worker
from tests.returns.test_returns import _line, _paid_bill, _payments
from tests.shop import Shop

PHONE = "+8613800138000"


async def _approved_return(shop: Shop, *, mode: str = "before_refund", **settings: Any) -> dict[str, Any]:
    await shop.call(
        "PATCH",
        f"/stores/{shop.store_id}/return-settings",
        {"confirmation_mode": mode, **settings},
        role=Role.OWNER,
    )
    bill = await _paid_bill(shop, phone="138 0013 8000")
    request = await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": _line(bill, "cake"), "quantity": 1}], "reason_code": "quality"},
        role=Role.WAITER,
    )
    assert request["customer_phone"] == PHONE
    return await shop.call("POST", f"/returns/{request['id']}/approve", {})


async def _reply(shop: Shop, text: str, sender: str = "13800138000") -> None:
    token = (await shop.call("GET", "/notifications/webhooks", role=Role.OWNER))["token"]
    response = await shop.client.post(
        f"/api/v1/notifications/webhooks/log/inbound?token={token}",
        json={"from": sender, "body": text},
    )
    assert response.status_code == 200, response.text


async def test_the_refund_waits_for_the_customer_who_confirms_by_sms(
    shop: Shop, session: AsyncSession, worker: Worker, sms: LogProvider
) -> None:
    approved = await _approved_return(shop)
    assert (approved["confirmation"], approved["refund_state"]) == ("awaiting", "held")
    assert {refund["status"] for refund in approved["refunds"]} == {"pending"}
    assert all(refund["is_held"] for refund in approved["refunds"])

    await worker.run()
    [notice] = sms.sent
    assert notice.to == PHONE
    code = approved["reply_code"]
    for expected in ("cake x1", "菜品质量", "¥25.20", "现金当场退还", "银行卡3–7个工作日", f"1 {code}"):
        assert expected in notice.body, expected
    # Nothing is paid out yet: a cashier sees no cash to hand back
    assert await shop.call("GET", f"/stores/{shop.store_id}/refunds/to-pay-out") == []

    await _reply(shop, f"1 {code}")
    confirmed = await shop.call("GET", f"/returns/{approved['id']}")
    assert confirmed["confirmation"] == "confirmed"
    assert confirmed["refund_state"] == "in_progress"
    # the cash and the card now wait for a cashier at the drawer / the terminal
    to_pay = await shop.call("GET", f"/stores/{shop.store_id}/refunds/to-pay-out")
    assert sorted(refund["tender"] for refund in to_pay) == ["card", "cash"]
    for refund in to_pay:
        await shop.call("POST", f"/refunds/{refund['id']}/pay-out", {"approval_code": "RF9"})
    done = await shop.call("GET", f"/returns/{approved['id']}")
    assert (done["refund_state"], done["refunded_amount"]) == ("done", 2520)

    log = await shop.call("GET", f"/stores/{shop.store_id}/messages", role=Role.MANAGER)
    [logged] = [message for message in log if message["event"] == "return_notice"]
    assert (logged["status"], logged["provider"], logged["caused_by"]) == ("sent", "log", "return.approved")
    assert logged["caused_by_staff_id"] == shop.staff_ids[Role.CASHIER]
    assert [reply["outcome"] for reply in logged["replies"]] == ["return confirmed"]


async def test_a_dispute_goes_to_the_manager_who_may_refuse_the_refund(
    shop: Shop, session: AsyncSession, worker: Worker
) -> None:
    approved = await _approved_return(shop)
    bill_id = approved["bill_id"]
    await _reply(shop, "N")  # the only return awaiting this number: no code needed
    disputed = await shop.call("GET", f"/returns/{approved['id']}")
    assert disputed["confirmation"] == "disputed"
    queue = await shop.call("GET", f"/stores/{shop.store_id}/returns/queue", role=Role.MANAGER)
    assert [item["id"] for item in queue] == [approved["id"]]
    cashier_queue = await shop.call("GET", f"/stores/{shop.store_id}/returns/queue")
    assert cashier_queue == []
    await shop.call(
        "POST", f"/returns/{approved['id']}/resolve", {"refund": False, "comment": "x"}, expect=403
    )
    settled = await shop.call(
        "POST",
        f"/returns/{approved['id']}/resolve",
        {"refund": False, "comment": "the customer ate it"},
        role=Role.MANAGER,
    )
    assert (settled["confirmation"], settled["refund_state"]) == ("resolved", "cancelled")
    # the money reserved for the refund is free again
    assert await _payments(session, bill_id) == {"cash": (3000, 0), "card": (3660, 0)}


async def test_pay_at_once_mode_refunds_now_and_only_records_the_reply(shop: Shop, worker: Worker) -> None:
    approved = await _approved_return(shop, mode="after_refund")
    assert approved["confirmation"] == "awaiting"
    assert {refund["tender"]: refund["status"] for refund in approved["refunds"]} == {
        "cash": "succeeded",
        "card": "pending",
    }
    await _reply(shop, f"Y {approved['reply_code']}")
    assert (await shop.call("GET", f"/returns/{approved['id']}"))["confirmation"] == "confirmed"


async def test_without_a_reply_in_time_the_return_is_confirmed_or_escalated(
    shop: Shop, worker: Worker
) -> None:
    approved = await _approved_return(shop, confirmation_timeout_minutes=30)
    await worker.run()
    assert (await shop.call("GET", f"/returns/{approved['id']}"))["confirmation"] == "awaiting"
    worker.clock.advance(minutes=31)
    await worker.run()
    confirmed = await shop.call("GET", f"/returns/{approved['id']}")
    assert (confirmed["confirmation"], confirmed["refund_state"]) == ("auto_confirmed", "in_progress")

    await shop.call(
        "PATCH", f"/stores/{shop.store_id}/return-settings", {"timeout_action": "escalate"}, role=Role.OWNER
    )
    bill = await _paid_bill(shop, phone="13800138000")
    request = await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": _line(bill, "americano"), "quantity": 1}], "reason_code": "too_slow"},
    )
    await shop.call("POST", f"/returns/{request['id']}/approve", {})
    worker.clock.advance(minutes=31)
    await worker.run()
    escalated = await shop.call("GET", f"/returns/{request['id']}")
    assert (escalated["confirmation"], escalated["refund_state"]) == ("escalated", "held")
    queue = await shop.call("GET", f"/stores/{shop.store_id}/returns/queue", role=Role.MANAGER)
    assert request["id"] in [item["id"] for item in queue]
    settled = await shop.call(
        "POST",
        f"/returns/{request['id']}/resolve",
        {"refund": True, "comment": "called her"},
        role=Role.MANAGER,
    )
    assert settled["refund_state"] == "in_progress"


async def test_replies_find_their_return_by_the_code_when_several_wait(shop: Shop, worker: Worker) -> None:
    first = await _approved_return(shop)
    bill = await _paid_bill(shop, phone="13800138000")
    request = await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": _line(bill, "americano"), "quantity": 1}], "reason_code": "quality"},
    )
    second = await shop.call("POST", f"/returns/{request['id']}/approve", {})
    await _reply(shop, "1")  # ambiguous: recorded, nothing decided
    assert (await shop.call("GET", f"/returns/{first['id']}"))["confirmation"] == "awaiting"
    assert (await shop.call("GET", f"/returns/{second['id']}"))["confirmation"] == "awaiting"
    await _reply(shop, f"确认 {first['reply_code']}")
    assert (await shop.call("GET", f"/returns/{first['id']}"))["confirmation"] == "confirmed"
    assert (await shop.call("GET", f"/returns/{second['id']}"))["confirmation"] == "awaiting"


async def test_a_gateway_that_is_down_delays_the_sms_which_then_arrives_once(
    shop: Shop, session: AsyncSession, worker: Worker, sms: LogProvider
) -> None:
    sms.fail_with = "unavailable"
    approved = await _approved_return(shop)
    for _ in range(3):
        await worker.run()
        worker.clock.advance(minutes=10)
    assert sms.sent == []
    message = await session.scalar(select(Message).where(Message.subject_id == approved["id"]))
    assert message is not None
    await session.refresh(message)
    assert message.status.value == "queued"
    assert message.error is not None
    assert "unavailable" in message.error

    sms.fail_with = None
    await worker.run()
    worker.clock.advance(hours=1)
    await worker.run()
    assert [sent.message_id for sent in sms.sent] == [message.id]
    await session.refresh(message)
    assert message.status.value == "sent"
    outbox_row = await session.scalar(
        select(OutboxMessage).where(OutboxMessage.dedupe_key == f"message:{message.id}")
    )
    assert outbox_row is not None
    assert outbox_row.status == OutboxStatus.SENT


async def test_a_second_provider_takes_over_when_the_first_is_down(
    shop: Shop, session: AsyncSession, worker: Worker
) -> None:
    down, backup = LogProvider("primary", fail_with="unavailable"), LogProvider("backup")
    notifications.configure_providers(sms=[down, backup])
    approved = await _approved_return(shop)
    await worker.run()
    assert (down.sent, [sent.to for sent in backup.sent]) == ([], [PHONE])
    message = await session.scalar(select(Message).where(Message.subject_id == approved["id"]))
    assert message is not None
    await session.refresh(message)
    assert (message.status.value, message.provider) == ("sent", "backup")


async def test_the_member_on_the_bill_gets_the_return_sms(
    shop: Shop, worker: Worker, sms: LogProvider
) -> None:
    member = await shop.call(
        "POST",
        "/members",
        {
            "phone": "139 0000 2222",
            "name": "Li Na",
            "privacy_policy_accepted": True,
            "privacy_policy_version": "2026-11",
        },
    )
    bill = await shop.add(await shop.open_takeaway(), "cake")
    missing = await shop.call(
        "POST", f"/bills/{bill['id']}/member", {"version": bill["version"], "member_id": 999999}, expect=404
    )
    assert missing["errors"][0]["field"] == "member_id"
    bill = await shop.call(
        "POST", f"/bills/{bill['id']}/member", {"version": bill["version"], "member_id": member["id"]}
    )
    assert bill["member_id"] == member["id"]
    bill = await shop.pay(bill, "cash", tendered_amount=2800)
    request = await shop.call(
        "POST",
        f"/bills/{bill['id']}/returns",
        {"lines": [{"line_id": _line(bill, "cake"), "quantity": 1}], "reason_code": "quality"},
    )
    assert request["customer_phone"] == "+8613900002222"
    await shop.call("POST", f"/returns/{request['id']}/approve", {})
    await worker.run()
    assert [message.to for message in sms.sent] == ["+8613900002222"]
