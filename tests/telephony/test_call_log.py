"""The call log: every call with its number, member, register, phone and outcome; calls
nobody acted on within two minutes are missed and listed for a call-back; a call's detail
shows the caller's last orders and usual items."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from kassa.core.database import utc_now
from kassa.telephony.models import PhoneCall
from kassa.telephony.service import MISSED_AFTER
from tests.telephony.conftest import PairedShop, act, call_in, get_list, pair_phone


async def _age(session: AsyncSession, call_id: int, by: timedelta) -> None:
    await session.execute(update(PhoneCall).where(PhoneCall.id == call_id).values(received_at=utc_now() - by))
    await session.commit()


async def _calls(paired: PairedShop, query: str = "", role: Role = Role.CASHIER) -> list[dict[str, Any]]:
    return await get_list(paired.shop, f"/stores/{paired.shop.store_id}/calls{query}", role)


async def test_the_log_lists_every_call_newest_first(paired: PairedShop, session: AsyncSession) -> None:
    known = await call_in(paired.shop, paired.token, "+86 138 0013 8000")
    unknown = await call_in(paired.shop, paired.token, "anonymous")
    await _age(session, known["call_id"], timedelta(minutes=5))
    await act(paired.shop, unknown["call_id"], "ignore")

    rows = await _calls(paired)

    assert [row["id"] for row in rows] == [unknown["call_id"], known["call_id"]]
    newest, oldest = rows
    assert (newest["number"], newest["member_name"], newest["outcome"], newest["is_missed"]) == (
        "anonymous",
        None,
        "ignored",
        False,
    )
    assert (oldest["phone_e164"], oldest["member_id"], oldest["member_name"]) == (
        "+8613800138000",
        paired.member["id"],
        "Li Na",
    )
    assert (oldest["register_id"], oldest["assistant_name"], oldest["outcome"]) == (
        paired.shop.register_ids[0],
        "Front phone",
        None,
    )
    assert oldest["register_name"]
    assert oldest["is_missed"] is True


async def test_missed_calls_are_those_nobody_acted_on_in_time(
    paired: PairedShop, session: AsyncSession
) -> None:
    ringing = await call_in(paired.shop, paired.token, "13800138000")
    missed = await call_in(paired.shop, paired.token, "13911112222")
    handled = await call_in(paired.shop, paired.token, "13800138000")
    await _age(session, missed["call_id"], MISSED_AFTER + timedelta(seconds=1))
    await act(paired.shop, handled["call_id"], "ignore")
    await _age(session, handled["call_id"], timedelta(hours=1))

    rows = await _calls(paired, "?missed=true")

    assert [row["id"] for row in rows] == [missed["call_id"]]
    everything = {row["id"]: row for row in await _calls(paired)}
    assert everything[ringing["call_id"]]["is_ringing"] is True
    assert everything[ringing["call_id"]]["is_missed"] is False
    assert everything[handled["call_id"]]["is_missed"] is False


async def test_a_returned_call_leaves_the_call_back_list(paired: PairedShop, session: AsyncSession) -> None:
    missed = await call_in(paired.shop, paired.token, "13911112222")
    await _age(session, missed["call_id"], timedelta(minutes=10))
    assert len(await _calls(paired, "?missed=true")) == 1

    done = await act(paired.shop, missed["call_id"], "called_back")

    assert done["call"]["outcome"] == "called_back"
    assert await _calls(paired, "?missed=true") == []


async def test_a_missed_caller_can_still_be_served(paired: PairedShop, session: AsyncSession) -> None:
    missed = await call_in(paired.shop, paired.token, "13800138000")
    await _age(session, missed["call_id"], timedelta(minutes=10))
    done = await act(paired.shop, missed["call_id"], "select_customer")
    assert done["call"]["outcome"] == "bill_opened"
    assert await _calls(paired, "?missed=true") == []


async def test_the_log_by_register(paired: PairedShop) -> None:
    back = await pair_phone(paired.shop, 1, "Back phone")
    await call_in(paired.shop, paired.token, "13800138000")
    second = await call_in(paired.shop, back, "13800138000")
    rows = await _calls(paired, f"?register_id={paired.shop.register_ids[1]}")
    assert [(row["id"], row["assistant_name"]) for row in rows] == [(second["call_id"], "Back phone")]


async def test_a_call_shows_the_callers_last_orders_and_usual_items(paired: PairedShop) -> None:
    shop = paired.shop
    member_id = paired.member["id"]
    large = shop.size_options["Large"]
    paid_orders: tuple[list[tuple[str, int, dict[str, Any]]], ...] = (
        [("americano", 1, {})],
        [("latte", 1, {"modifier_option_ids": [large]}), ("cake", 2, {})],
        [("latte", 2, {"modifier_option_ids": [large]})],
        [("latte", 1, {"modifier_option_ids": [shop.size_options["Regular"]]}), ("cake", 1, {})],
    )
    for lines in paid_orders:
        bill = await shop.open_takeaway()
        bill = await shop.call(
            "POST", f"/bills/{bill['id']}/member", {"version": bill["version"], "member_id": member_id}
        )
        for product, quantity, extra in lines:
            bill = await shop.add(bill, product, quantity, **extra)
        await shop.pay(bill, "card", approval_code="A1")
    call = await call_in(shop, paired.token, "13800138000")

    detail = await shop.call("GET", f"/telephony/calls/{call['call_id']}")

    assert detail["member"]["id"] == member_id
    assert detail["can_repeat"] is True
    orders = detail["last_orders"]
    assert len(orders) == 3  # the newest three
    assert [[(item["name"], item["quantity"]) for item in order["items"]] for order in orders] == [
        [("latte (Regular)", 1), ("cake", 1)],
        [("latte (Large)", 2)],
        [("latte (Large)", 1), ("cake", 2)],
    ]
    assert orders[0]["status"] == "closed"
    assert orders[0]["amount"] == 2400 + 2800
    assert [(item["name"], item["bill_count"]) for item in detail["usual_items"]] == [
        ("latte", 3),
        ("cake", 2),
        ("americano", 1),
    ]


async def test_an_unknown_callers_detail(paired: PairedShop) -> None:
    call = await call_in(paired.shop, paired.token, "anonymous")
    detail = await paired.shop.call("GET", f"/telephony/calls/{call['call_id']}")
    assert (detail["member"], detail["last_orders"], detail["usual_items"], detail["can_repeat"]) == (
        None,
        [],
        [],
        False,
    )
