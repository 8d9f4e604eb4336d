"""What the register does about a call, each recorded on the call: select the caller,
a new order for them (the open bill parked), add an unknown caller, repeat their last
order, a reservation, ignore. A call is handled once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from kassa.core.events import Event, InProcessEventBus
from kassa.stores.models import Organization, Store
from kassa.telephony.models import PhoneCall
from kassa.telephony.service import CALL_HANDLED_EVENT, register_topic
from tests.factories import device_headers, make_device, make_register, make_staff, make_store
from tests.shop import Shop
from tests.telephony.conftest import PairedShop, act, call_in, get_list, new_phone


async def _bill(shop: Shop, bill_id: int) -> dict[str, Any]:
    return await shop.call("GET", f"/bills/{bill_id}")


async def _open_bill_with_a_cake(shop: Shop) -> dict[str, Any]:
    return await shop.add(await shop.open_takeaway(), "cake")


async def test_a_new_order_parks_the_open_bill_and_opens_one_for_the_caller(
    paired: PairedShop, session: AsyncSession
) -> None:
    shop = paired.shop
    serving = await _open_bill_with_a_cake(shop)  # the customer at the counter
    call = await call_in(shop, paired.token, "+86 138 0013 8000")

    done = await act(shop, call["call_id"], "new_order", bill_id=serving["id"], version=serving["version"])

    parked = await _bill(shop, serving["id"])
    assert (parked["status"], parked["is_parked"], len(parked["lines"])) == ("open", True, 1)
    assert parked["member_id"] is None
    new_bill = await _bill(shop, done["bill_id"])
    assert new_bill["id"] != serving["id"]
    assert (new_bill["status"], new_bill["order_type"], new_bill["member_id"]) == (
        "open",
        "takeaway",
        paired.member["id"],
    )
    assert new_bill["lines"] == []
    assert new_bill["register_id"] == shop.register_ids[0]
    assert done["bill_version"] == new_bill["version"]
    assert done["parked_bill_id"] == serving["id"]
    # Both are among the open bills (the parked one to resume later)
    queue = await get_list(shop, f"/stores/{shop.store_id}/bills/open")
    open_ids = {bill["id"] for bill in queue}
    assert {serving["id"], new_bill["id"]} <= open_ids
    # The call says what was done
    assert done["call"]["outcome"] == "new_order"
    stored = await session.get(PhoneCall, call["call_id"])
    assert stored is not None
    assert (stored.outcome, stored.bill_id, stored.parked_bill_id) == (
        "new_order",
        new_bill["id"],
        serving["id"],
    )
    assert stored.handled_by_staff_id == shop.staff_ids[Role.CASHIER]
    assert stored.handled_at is not None


async def test_select_puts_the_caller_on_the_open_bill(paired: PairedShop) -> None:
    shop = paired.shop
    bill = await _open_bill_with_a_cake(shop)
    call = await call_in(shop, paired.token, "13800138000")

    done = await act(shop, call["call_id"], "select_customer", bill_id=bill["id"], version=bill["version"])

    assert done["bill_id"] == bill["id"]
    assert (await _bill(shop, bill["id"]))["member_id"] == paired.member["id"]
    assert (done["call"]["outcome"], done["call"]["bill_id"], done["parked_bill_id"]) == (
        "customer_selected",
        bill["id"],
        None,
    )


@pytest.mark.parametrize("action", ["select_customer", "new_order"])
async def test_with_no_bill_open_a_takeaway_bill_is_opened_for_the_caller(
    paired: PairedShop, action: str
) -> None:
    call = await call_in(paired.shop, paired.token, "13800138000")

    done = await act(paired.shop, call["call_id"], action)

    bill = await _bill(paired.shop, done["bill_id"])
    assert (bill["order_type"], bill["member_id"], bill["status"]) == (
        "takeaway",
        paired.member["id"],
        "open",
    )
    assert bill["pickup_code"] is not None
    assert done["call"]["outcome"] == "bill_opened"


async def test_a_call_is_handled_once(paired: PairedShop) -> None:
    call = await call_in(paired.shop, paired.token, "13800138000")
    await act(paired.shop, call["call_id"], "select_customer")

    # A second screen of the register taps too late
    refused = await act(paired.shop, call["call_id"], "new_order", expect=409)

    assert refused["code"] == "call_handled"
    assert refused["outcome"] == "bill_opened"


async def test_a_stale_bill_leaves_the_call_unhandled(paired: PairedShop, session: AsyncSession) -> None:
    shop = paired.shop
    bill = await _open_bill_with_a_cake(shop)
    call = await call_in(shop, paired.token, "13800138000")
    await shop.add(bill, "tart")  # changed on another screen meanwhile

    refused = await act(
        shop, call["call_id"], "new_order", bill_id=bill["id"], version=bill["version"], expect=409
    )

    assert refused["code"] == "stale_version"
    stored = await session.get(PhoneCall, call["call_id"], populate_existing=True)
    assert stored is not None
    assert stored.outcome is None
    assert (await _bill(shop, bill["id"]))["is_parked"] is False


async def test_a_bill_needs_its_version(paired: PairedShop) -> None:
    bill = await _open_bill_with_a_cake(paired.shop)
    call = await call_in(paired.shop, paired.token, "13800138000")
    refused = await act(paired.shop, call["call_id"], "select_customer", bill_id=bill["id"], expect=422)
    assert [error["field"] for error in refused["errors"]] == ["version"]


async def test_an_unknown_caller_cannot_be_selected(paired: PairedShop) -> None:
    call = await call_in(paired.shop, paired.token, "13911112222")
    refused = await act(paired.shop, call["call_id"], "select_customer", expect=422)
    assert [error["field"] for error in refused["errors"]] == ["call_id"]


def _customer(phone: str, name: str = "Wang Fang") -> dict[str, Any]:
    return {
        "phone": phone,
        "name": name,
        "privacy_policy_accepted": True,
        "privacy_policy_version": "2026-11",
    }


async def test_an_unknown_caller_is_added_and_gets_a_bill(paired: PairedShop, session: AsyncSession) -> None:
    shop = paired.shop
    phone = new_phone()
    call = await call_in(shop, paired.token, f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}")
    assert call["member"] is None

    done = await act(shop, call["call_id"], "add_customer", customer=_customer(phone))

    member = await shop.call("GET", f"/members/{done['member_id']}")
    assert (member["name"], member["phone"]) == ("Wang Fang", f"+86{phone}")
    bill = await _bill(shop, done["bill_id"])
    assert bill["member_id"] == member["id"]
    assert done["call"]["outcome"] == "customer_added"
    assert done["call"]["member_id"] == member["id"]
    # The next call from them knows them
    again = await call_in(shop, paired.token, phone)
    assert again["member"]["id"] == member["id"]


async def test_an_added_caller_may_get_a_new_order_beside_the_open_bill(paired: PairedShop) -> None:
    shop = paired.shop
    serving = await _open_bill_with_a_cake(shop)
    call = await call_in(shop, paired.token, new_phone())

    done = await act(
        shop,
        call["call_id"],
        "add_customer",
        customer=_customer(call["number"]),
        bill_id=serving["id"],
        version=serving["version"],
        new_order=True,
    )

    assert done["parked_bill_id"] == serving["id"]
    assert (await _bill(shop, serving["id"]))["is_parked"] is True
    assert (await _bill(shop, done["bill_id"]))["member_id"] == done["member_id"]


async def test_adding_needs_the_customer_and_their_consent(paired: PairedShop, session: AsyncSession) -> None:
    call = await call_in(paired.shop, paired.token, new_phone())
    refused = await act(paired.shop, call["call_id"], "add_customer", expect=422)
    assert [error["field"] for error in refused["errors"]] == ["customer"]
    customer = {**_customer(call["number"]), "privacy_policy_accepted": False}
    refused = await act(paired.shop, call["call_id"], "add_customer", customer=customer, expect=422)
    assert [error["field"] for error in refused["errors"]] == ["privacy_policy_accepted"]
    stored = await session.get(PhoneCall, call["call_id"], populate_existing=True)
    assert stored is not None
    assert stored.outcome is None  # nothing done, the call still waits


async def test_a_known_caller_is_not_added_again(paired: PairedShop) -> None:
    call = await call_in(paired.shop, paired.token, "13800138000")
    refused = await act(
        paired.shop, call["call_id"], "add_customer", customer=_customer("13800138000"), expect=422
    )
    assert [error["field"] for error in refused["errors"]] == ["call_id"]


async def _paid_order(
    shop: Shop, member_id: int, lines: list[tuple[str, int, dict[str, Any]]]
) -> dict[str, Any]:
    bill = await shop.open_takeaway()
    bill = await shop.call(
        "POST", f"/bills/{bill['id']}/member", {"version": bill["version"], "member_id": member_id}
    )
    for product, quantity, extra in lines:
        bill = await shop.add(bill, product, quantity, **extra)
    return await shop.pay(bill, "card", approval_code="A1")


async def test_repeat_last_order_copies_its_lines_and_reports_what_is_sold_out(
    paired: PairedShop, session: AsyncSession
) -> None:
    shop = paired.shop
    member_id = paired.member["id"]
    large = shop.size_options["Large"]
    await _paid_order(shop, member_id, [("americano", 1, {})])  # an older order
    last = await _paid_order(
        shop,
        member_id,
        [
            ("latte", 2, {"modifier_option_ids": [large], "note": "oat milk"}),
            ("cake", 1, {}),
            ("tart", 2, {}),  # 3 counted: 1 left now
        ],
    )
    call = await call_in(shop, paired.token, "13800138000")

    done = await act(shop, call["call_id"], "repeat_last_order")

    bill = await _bill(shop, done["bill_id"])
    assert bill["id"] != last["id"]
    assert (bill["member_id"], bill["order_type"], bill["status"]) == (member_id, "takeaway", "open")
    copied = [
        (line["product_id"], line["quantity"], [m["option_id"] for m in line["modifiers"]], line["note"])
        for line in bill["lines"]
    ]
    assert copied == [(shop.products["latte"], 2, [large], "oat milk"), (shop.products["cake"], 1, [], "")]
    assert done["skipped"] == [
        {"product_id": shop.products["tart"], "name": "tart", "quantity": 2, "reason": "sold_out"}
    ]
    assert done["call"]["outcome"] == "order_repeated"
    assert done["call"]["details"]["repeated_bill_id"] == last["id"]
    assert done["call"]["details"]["skipped"][0]["reason"] == "sold_out"


async def test_repeat_with_nothing_paid_before_is_refused(paired: PairedShop, session: AsyncSession) -> None:
    call = await call_in(paired.shop, paired.token, "13800138000")
    refused = await act(paired.shop, call["call_id"], "repeat_last_order", expect=409)
    assert [error["field"] for error in refused["errors"]] == ["call_id"]
    stored = await session.get(PhoneCall, call["call_id"], populate_existing=True)
    assert stored is not None
    assert stored.outcome is None
    assert await get_list(paired.shop, f"/stores/{paired.shop.store_id}/bills/open") == []


async def test_ignore_and_reservation_are_recorded(paired: PairedShop) -> None:
    first = await call_in(paired.shop, paired.token, "13800138000")
    second = await call_in(paired.shop, paired.token, "13800138000")

    ignored = await act(paired.shop, first["call_id"], "ignore")
    reserved = await act(paired.shop, second["call_id"], "reservation_made", reservation_id=42)

    assert (ignored["call"]["outcome"], ignored["bill_id"]) == ("ignored", None)
    assert (reserved["call"]["outcome"], reserved["call"]["details"]) == (
        "reservation_made",
        {"reservation_id": 42},
    )
    refused = await act(paired.shop, second["call_id"], "reservation_made", reservation_id=43, expect=409)
    assert refused["code"] == "call_handled"


async def test_a_handled_call_closes_its_popup_on_every_screen_of_the_register(
    paired: PairedShop, event_bus: InProcessEventBus
) -> None:
    heard: list[Event] = []
    event_bus.subscribe(register_topic(paired.shop.register_ids[0]), heard.append)
    call = await call_in(paired.shop, paired.token, "13800138000")
    done = await act(paired.shop, call["call_id"], "select_customer")
    handled = [event for event in heard if event.name == CALL_HANDLED_EVENT]
    assert [event.payload for event in handled] == [
        {"call_id": call["call_id"], "outcome": "bill_opened", "bill_id": done["bill_id"]}
    ]


async def test_calls_of_another_store_are_out_of_reach(paired: PairedShop, session: AsyncSession) -> None:
    store = await session.get(Store, paired.shop.store_id)
    organization = await session.get(Organization, store.organization_id) if store else None
    assert organization is not None
    other = await make_store(session, organization)
    register = await make_register(session, other)
    staff = await make_staff(session, other, role=Role.CASHIER, pin="5555")
    device = device_headers(await make_device(session, register))
    await session.commit()
    login = await paired.shop.client.post(
        "/api/v1/auth/pin",
        json={"register_id": register.id, "staff_id": staff.id, "pin": "5555"},
        headers=device,
    )
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    call = await call_in(paired.shop, paired.token, "13800138000")
    for method, path, body in (
        ("POST", f"/api/v1/telephony/calls/{call['call_id']}/actions", {"action": "ignore"}),
        ("GET", f"/api/v1/telephony/calls/{call['call_id']}", None),
        ("GET", f"/api/v1/stores/{paired.shop.store_id}/calls", None),
    ):
        response = await paired.shop.client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (path, response.text)
