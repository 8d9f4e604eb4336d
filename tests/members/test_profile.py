"""A member's profile (figures, favourite items, order history with returns), the usual
order, and the back office's member list with its filters."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.models import Product
from kassa.core.auth import Actor, Role
from kassa.core.errors import NotFound, ValidationFailed
from kassa.members import profile
from kassa.members.models import Member
from kassa.orders.models import BillStatus
from kassa.payments.models import RefundStatus
from kassa.returns.models import RefundState, ReturnStatus
from tests.factories import make_organization, make_staff, make_store
from tests.members.conftest import MemberShop, make_member
from tests.members.sales import Sales, day, local, make_sales, refund, return_on, sell
from tests.shop import Shop


@pytest.fixture
async def sales(session: AsyncSession, member_shop: MemberShop) -> Sales:
    return await make_sales(session, member_shop)


async def _history_member(session: AsyncSession, sales: Sales) -> tuple[Member, list[int]]:
    """Li Na: three closed bills (one returned and partly refunded, one refunded in full),
    an open one, a cancelled one, a merged one; and a bill of someone else."""
    shop = sales.shop
    member = await make_member(session, shop.cashier, shop.store, name="Li Na")
    other = await make_member(session, shop.cashier, shop.store, name="Wang Fang")
    first = await sell(session, sales, member, [("latte", 2), ("cake", 1)], closed_at=local(2026, 3, 2, 10))
    # 48.05 with 抹零 of 0.05: paid 48.00; a tart sent back (8.00 refunded), two refunds not done
    second = await sell(
        session,
        sales,
        member,
        [("latte", 1), ("tart", 3, 2405)],
        closed_at=local(2026, 3, 9, 19),
        rounding_amount=-5,
        store=shop.other_store,
    )
    await return_on(session, sales, second, 800)
    await return_on(session, sales, second, 300, status=ReturnStatus.PENDING, refund_state=RefundState.NONE)
    await refund(session, sales, second, 800)
    await refund(session, sales, second, 300, RefundStatus.PENDING)
    await refund(session, sales, second, 200, RefundStatus.FAILED)
    # refunded in full: still a visit, spending nothing; the voided cakes were never sold
    third = await sell(
        session, sales, member, [("latte", 1)], voided=[("cake", 2)], closed_at=local(2026, 3, 16, 8, 30)
    )
    await refund(session, sales, third, 2400)
    open_bill = await sell(
        session,
        sales,
        member,
        [("latte", 5)],
        closed_at=None,
        status=BillStatus.OPEN,
        opened_at=local(2026, 3, 17),
    )
    cancelled = await sell(
        session,
        sales,
        member,
        [],
        voided=[("tart", 1)],
        closed_at=None,
        status=BillStatus.CANCELLED,
        opened_at=local(2026, 3, 18),
    )
    await sell(
        session,
        sales,
        member,
        [("cake", 9)],
        closed_at=None,
        status=BillStatus.MERGED,
        opened_at=local(2026, 3, 19),
    )
    await sell(session, sales, other, [("cake", 9)], closed_at=local(2026, 3, 10))
    return member, [cancelled.id, open_bill.id, third.id, second.id, first.id]


async def test_the_profile_adds_up_paid_returned_and_refunded_bills(
    session: AsyncSession, sales: Sales
) -> None:
    # given a member with paid, returned, refunded, open, cancelled and merged bills
    member, newest_first = await _history_member(session, sales)
    # when the back office opens the profile
    result = await profile.member_profile(session, sales.shop.actors[Role.MANAGER], member.id)
    # then only the closed bills count: paid 76.00 + 48.00 + 24.00, less 8.00 and 24.00 refunded
    figures = result.figures
    assert (figures.visits, figures.paid_amount, figures.refunded_amount) == (3, 14800, 3200)
    assert figures.total_spend_amount == 11600
    assert figures.average_bill_amount == 3867  # 116.00 / 3 = 38.666…, half up
    assert (figures.first_visit_at, figures.last_visit_at) == (
        local(2026, 3, 2, 10),
        local(2026, 3, 16, 8, 30),
    )
    assert result.currency == "CNY"
    # favourites: by quantity, from active lines of closed bills
    assert [(item.name, item.quantity, item.bill_count) for item in result.favourites] == [
        ("latte", 4, 3),
        ("tart", 3, 1),
        ("cake", 1, 1),
    ]
    # the history: newest first, merged bills left out, with the returns and refunds
    assert [bill.bill_id for bill in result.history] == newest_first
    assert result.history_total == 5
    by_id = {bill.bill_id: bill for bill in result.history}
    second = by_id[newest_first[3]]
    assert (second.store_id, second.store_name) == (sales.shop.other_store.id, sales.shop.other_store.name)
    assert (second.amount, second.refunded_amount, second.business_date) == (4800, 800, day("2026-03-09"))
    assert [(item.status, item.amount, item.refund_state) for item in second.returns] == [
        (ReturnStatus.APPROVED, 800, RefundState.DONE),
        (ReturnStatus.PENDING, 300, RefundState.NONE),
    ]
    assert (by_id[newest_first[2]].amount, by_id[newest_first[2]].refunded_amount) == (2400, 2400)
    assert [(by_id[bill_id].status, by_id[bill_id].amount) for bill_id in newest_first[:2]] == [
        (BillStatus.CANCELLED, 0),
        (BillStatus.OPEN, 12000),
    ]
    assert by_id[newest_first[1]].closed_at is None
    # and the history pages
    page = await profile.member_profile(
        session, sales.shop.cashier, member.id, history_limit=2, history_offset=1
    )
    assert [bill.bill_id for bill in page.history] == newest_first[1:3]
    assert page.figures == figures


async def test_a_member_without_bills_has_zero_figures(session: AsyncSession, sales: Sales) -> None:
    member = await make_member(session, sales.shop.cashier, sales.shop.store)
    result = await profile.member_profile(session, sales.shop.actors[Role.WAITER], member.id)
    assert result.figures == profile.MemberFigures(member.id)
    assert (result.figures.total_spend_amount, result.figures.average_bill_amount) == (0, None)
    assert (result.favourites, result.history, result.history_total) == ([], [], 0)


async def test_favourites_are_the_top_five(session: AsyncSession, sales: Sales) -> None:
    member = await make_member(session, sales.shop.cashier, sales.shop.store)
    await sell(
        session,
        sales,
        member,
        [("latte", 1), ("americano", 2), ("cake", 3), ("tart", 4)],
        closed_at=local(2026, 3, 2),
    )
    await sell(session, sales, member, [("latte", 1), ("americano", 1)], closed_at=local(2026, 3, 3))
    result = await profile.favourite_items(session, member.id, limit=3)
    # americano and tart: 3 and 4; cake 3 on one bill ranks after americano 3 on two
    assert [(item.name, item.quantity) for item in result] == [("tart", 4), ("americano", 3), ("cake", 3)]


async def test_the_usual_order_looks_at_recent_bills_and_products_on_sale(
    session: AsyncSession, sales: Sales
) -> None:
    # given a member who drank americanos long ago and lattes with tarts lately
    member = await make_member(session, sales.shop.cashier, sales.shop.store)
    for week in (1, 2, 3):
        await sell(session, sales, member, [("americano", 1)], closed_at=local(2026, 1, week))
    await sell(session, sales, member, [("latte", 1), ("tart", 2)], closed_at=local(2026, 3, 1))
    await sell(session, sales, member, [("latte", 2), ("tart", 2)], closed_at=local(2026, 3, 2))
    await sell(session, sales, member, [("latte", 1), ("cake", 1)], closed_at=local(2026, 3, 3))
    # when the register asks for the usual order over the last three bills
    usual = await profile.usual_order(session, member.id, recent_bills=3)
    # then lattes (on 3 bills, 4 in all: usually 1) and tarts (2 bills, 2 each) lead
    assert [(item.name, item.bill_count, item.usual_quantity) for item in usual] == [
        ("latte", 3, 1),
        ("tart", 2, 2),
        ("cake", 1, 1),
    ]
    # and a product taken off the menu is not suggested
    cake = await session.get(Product, sales.products["cake"])
    assert cake is not None
    cake.is_active = False
    await session.flush()
    assert [item.name for item in await profile.usual_order(session, member.id, recent_bills=3)] == [
        "latte",
        "tart",
    ]
    # over all six bills lattes and americanos are on three each; more lattes were taken
    assert [item.name for item in await profile.usual_order(session, member.id, limit=2)] == [
        "latte",
        "americano",
    ]


async def test_a_profile_is_not_shown_across_organizations(session: AsyncSession, sales: Sales) -> None:
    member = await make_member(session, sales.shop.cashier, sales.shop.store)
    stranger_organization = await make_organization(session, name="Elsewhere")
    stranger_store = await make_store(session, stranger_organization)
    stranger = await make_staff(session, stranger_store, role=Role.MANAGER)
    actor = Actor(stranger.organization_id, stranger.id, Role.MANAGER, stranger_store.id)
    with pytest.raises(NotFound) as error:
        await profile.member_profile(session, actor, member.id)
    assert error.value.field == "member_id"
    with pytest.raises(ValidationFailed) as bad_limit:
        await profile.member_profile(session, sales.shop.cashier, member.id, history_limit=0)
    assert bad_limit.value.field == "history_limit"


# --- through the register and the API -----------------------------------------------------


async def test_the_profile_api_agrees_with_the_register_flow(shop: Shop) -> None:
    # given a member attached to a bill with 3.33 % off, paid in cash (抹零), and a return
    member = await shop.call(
        "POST",
        "/members",
        {
            "phone": "13800138000",
            "name": "Li Na",
            "privacy_policy_accepted": True,
            "privacy_policy_version": "v1",
        },
        expect=201,
    )
    bill = await shop.open_takeaway()
    bill = await shop.call(
        "POST", f"/bills/{bill['id']}/member", {"version": bill["version"], "member_id": member["id"]}
    )
    bill = await shop.add(bill, "cake", 2)
    bill = await shop.add(bill, "americano")
    bill = await shop.call(
        "POST",
        f"/bills/{bill['id']}/discount",
        {"version": bill["version"], "basis_points": 333, "reason": "regular"},
        role=Role.MANAGER,
    )
    bill = await shop.pay(bill, "cash", tendered_amount=10000)
    assert bill["status"] == "closed"
    paid = bill["total_amount"] + bill["rounding_amount"]
    assert bill["rounding_amount"] < 0  # the fen were rounded off
    lines = {line["name"]: line["id"] for line in bill["lines"]}

    async def send_back(name: str) -> dict[str, Any]:
        request = await shop.call(
            "POST",
            f"/bills/{bill['id']}/returns",
            {"lines": [{"line_id": lines[name], "quantity": 1}], "reason_code": "quality"},
        )
        return await shop.call("POST", f"/returns/{request['id']}/approve", {}, role=Role.MANAGER)

    # the americano's refund waits for the member's confirmation (they have a phone)
    held = await send_back("americano")
    assert {item["status"] for item in held["refunds"]} == {"pending"}
    # the store then refunds at once: a cake's refund is paid out
    await shop.call(
        "PATCH",
        f"/stores/{shop.store_id}/return-settings",
        {"confirmation_mode": "after_refund"},
        role=Role.OWNER,
    )
    approved = await send_back("cake")
    assert {item["status"] for item in approved["refunds"]} == {"succeeded"}
    refunded = sum(item["amount"] for item in approved["refunds"])
    # when the profile is asked for
    result = await shop.call("GET", f"/members/{member['id']}/profile", role=Role.WAITER)
    # then it shows what the register took and gave back
    assert result["figures"] == {
        "visits": 1,
        "paid_amount": paid,
        "refunded_amount": refunded,
        "total_spend_amount": paid - refunded,
        "average_bill_amount": paid - refunded,
        "first_visit_at": bill["closed_at"],
        "last_visit_at": bill["closed_at"],
    }
    assert [(item["name"], item["quantity"]) for item in result["favourites"]] == [
        ("cake", 2),
        ("americano", 1),
    ]
    [entry] = result["history"]
    assert (entry["bill_id"], entry["amount"], entry["refunded_amount"], entry["status"]) == (
        bill["id"],
        paid,
        refunded,
        "closed",
    )
    assert [(item["status"], item["amount"], item["refund_state"]) for item in entry["returns"]] == [
        ("approved", held["amount"], "held"),
        ("approved", approved["amount"], "done"),
    ]
    assert result["member"]["id"] == member["id"]
    usual = cast(list[dict[str, Any]], await shop.call("GET", f"/members/{member['id']}/usual-order"))
    assert [(item["name"], item["usual_quantity"]) for item in usual] == [("cake", 2), ("americano", 1)]
    missing = await shop.call("GET", "/members/999999/profile", expect=404)
    assert missing["errors"][0]["field"] == "member_id"


# --- the member list ----------------------------------------------------------------------


async def _list_data(session: AsyncSession, sales: Sales) -> dict[str, Member]:
    """Five members with controlled sign-up times, tags and bills (Shanghai time)."""
    shop = sales.shop
    made: dict[str, Member] = {}
    signups = {
        "Ann": (local(2026, 1, 5), ["VIP", "oat milk"]),
        "Bo": (local(2026, 2, 1, 0, 30), ["vip"]),  # 2026-01-31 16:30 UTC: 1 February in Shanghai
        "Cai": (local(2026, 2, 20), ["students"]),
        "Dan": (local(2026, 3, 1), ["vip student"]),
        "Eve": (local(2026, 3, 10), []),
    }
    for name, (when, tags) in signups.items():
        member = await make_member(session, shop.cashier, shop.store, name=name, tags=tags)
        member.created_at = when
        made[name] = member
    await session.flush()
    await sell(session, sales, made["Ann"], [("latte", 5)], closed_at=local(2026, 2, 1))  # 120.00
    await sell(session, sales, made["Ann"], [("tart", 1)], closed_at=local(2026, 3, 15, 23, 50))  # 8.00
    await sell(session, sales, made["Bo"], [("cake", 2)], closed_at=local(2026, 2, 28))  # 56.00
    await refund(
        session,
        sales,
        await sell(session, sales, made["Cai"], [("latte", 1)], closed_at=local(2026, 3, 1)),
        2400,
    )
    await sell(session, sales, made["Dan"], [("americano", 2)], closed_at=local(2026, 3, 16, 0, 10))  # 36.00
    return made


async def _names(
    session: AsyncSession, actor: Actor, filters: profile.MemberFilter, **paging: int
) -> list[str]:
    page = await profile.list_members(session, actor, filters, **paging)
    return [row.member.name for row in page.rows]


async def test_the_member_list_filters(session: AsyncSession, sales: Sales) -> None:
    made = await _list_data(session, sales)
    actor = sales.shop.actors[Role.MANAGER]
    every = profile.MemberFilter()
    # newest sign-ups first, with their figures
    page = await profile.list_members(session, actor, every)
    assert [row.member.name for row in page.rows] == ["Eve", "Dan", "Cai", "Bo", "Ann"]
    assert page.total == 5
    assert [(row.figures.visits, row.figures.total_spend_amount) for row in page.rows] == [
        (0, 0),
        (1, 3600),
        (1, 0),
        (1, 5600),
        (2, 12800),
    ]
    # a tag: the whole tag, any case
    assert await _names(session, actor, replace(every, tag=" vip ")) == ["Bo", "Ann"]
    assert await _names(session, actor, replace(every, tag="student")) == []
    # the last visit, in local days (Ann's 23:50 and Dan's 00:10 fall on 15 and 16 March)
    assert await _names(session, actor, replace(every, last_visit_from=day("2026-03-16"))) == ["Dan"]
    assert await _names(session, actor, replace(every, last_visit_to=day("2026-03-15"))) == [
        "Cai",
        "Bo",
        "Ann",
    ]
    assert await _names(
        session, actor, replace(every, last_visit_from=day("2026-03-01"), last_visit_to=day("2026-03-15"))
    ) == ["Cai", "Ann"]
    # total spend, after refunds; members who never came spent 0
    assert await _names(session, actor, replace(every, spend_at_least_amount=5600)) == ["Bo", "Ann"]
    assert await _names(session, actor, replace(every, spend_at_most_amount=3600)) == ["Eve", "Dan", "Cai"]
    assert await _names(
        session, actor, replace(every, spend_at_least_amount=1, spend_at_most_amount=5600)
    ) == ["Dan", "Bo"]
    # registered between two local days, both included
    assert await _names(
        session, actor, replace(every, registered_from=day("2026-02-01"), registered_to=day("2026-03-01"))
    ) == ["Dan", "Cai", "Bo"]
    assert await _names(session, actor, replace(every, registered_to=day("2026-01-31"))) == ["Ann"]
    # the counter search with the filters
    assert await _names(session, actor, replace(every, text="a", tag="vip")) == ["Ann"]
    assert await _names(session, actor, replace(every, text=made["Cai"].phone_e164)) == ["Cai"]
    assert await _names(session, actor, replace(every, text=made["Dan"].card_number)) == ["Dan"]
    assert await _names(session, actor, replace(every, text=made["Bo"].phone_last4)) == ["Bo"]
    # everything at once
    combined = replace(
        every,
        tag="VIP",
        last_visit_from=day("2026-03-01"),
        spend_at_least_amount=10000,
        registered_to=day("2026-01-31"),
    )
    assert await _names(session, actor, combined) == ["Ann"]


async def test_the_member_list_pages(session: AsyncSession, sales: Sales) -> None:
    await _list_data(session, sales)
    actor = sales.shop.cashier
    every = profile.MemberFilter()
    assert await _names(session, actor, every, offset=0, limit=2) == ["Eve", "Dan"]
    assert await _names(session, actor, every, offset=2, limit=2) == ["Cai", "Bo"]
    last = await profile.list_members(
        session, actor, replace(every, spend_at_most_amount=0), offset=1, limit=2
    )
    assert ([row.member.name for row in last.rows], last.total) == (["Cai"], 2)


async def test_the_tier_hook_narrows_the_list(session: AsyncSession, sales: Sales) -> None:
    made = await _list_data(session, sales)
    actor = sales.shop.cashier
    chosen = {made["Ann"].id, made["Eve"].id}
    assert await _names(session, actor, profile.MemberFilter(tier_member_ids=chosen)) == ["Eve", "Ann"]
    as_query = select(Member.id).where(Member.name.in_(["Bo", "Cai"]))
    assert await _names(session, actor, profile.MemberFilter(tier_member_ids=as_query)) == ["Cai", "Bo"]
    assert await _names(session, actor, profile.MemberFilter(tier_member_ids=set())) == []


async def test_erased_members_are_not_listed(session: AsyncSession, sales: Sales) -> None:
    made = await _list_data(session, sales)
    made["Eve"].erased_at = local(2026, 3, 17)
    await session.flush()
    assert "Eve" not in await _names(session, sales.shop.cashier, profile.MemberFilter())


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"last_visit_from": day("2026-03-02"), "last_visit_to": day("2026-03-01")}, "last_visit_to"),
        ({"registered_from": day("2026-03-02"), "registered_to": day("2026-03-01")}, "registered_to"),
        ({"spend_at_least_amount": 200, "spend_at_most_amount": 100}, "spend_at_most_amount"),
        ({"spend_at_least_amount": -1}, "spend_at_least_amount"),
    ],
)
async def test_a_backwards_range_is_refused(
    session: AsyncSession, member_shop: MemberShop, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as error:
        await profile.list_members(session, member_shop.cashier, profile.MemberFilter(**changes))
    assert error.value.field == field


async def test_the_list_api(shop: Shop) -> None:
    created = []
    for index, tags in enumerate((["vip"], [], ["VIP", "regular"])):
        created.append(
            await shop.call(
                "POST",
                "/members",
                {
                    "phone": f"1380013800{index}",
                    "name": f"Member {index}",
                    "tags": tags,
                    "privacy_policy_accepted": True,
                    "privacy_policy_version": "v1",
                },
                expect=201,
            )
        )
    page = await shop.call("GET", "/members/list?tag=vip&limit=1", role=Role.WAITER)
    assert (page["total"], page["offset"], page["limit"]) == (2, 0, 1)
    [item] = page["items"]
    assert item["member"]["id"] == created[2]["id"]
    assert item["figures"]["visits"] == 0
    second = await shop.call("GET", "/members/list?tag=vip&limit=1&offset=1")
    assert [item["member"]["id"] for item in second["items"]] == [created[0]["id"]]
    everyone = await shop.call("GET", "/members/list?spend_at_most_amount=0&registered_from=2026-01-01")
    assert everyone["total"] == 3
    wrong = await shop.call(
        "GET", "/members/list?registered_from=2026-03-02&registered_to=2026-03-01", expect=422
    )
    assert [error["field"] for error in wrong["errors"]] == ["registered_to"]
    bad = await shop.call("GET", "/members/list?limit=500", expect=422)
    assert [error["field"] for error in bad["errors"]] == ["limit"]
