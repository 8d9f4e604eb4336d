"""Member analytics on a fixed data set with controlled dates (Shanghai time), as of a
given day: sign-ups per week, active members, the repeat rate, spend per store or tier."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from kassa.core.errors import PermissionDenied, ValidationFailed
from kassa.members import analytics
from kassa.members.analytics import NO_TIER, SpendGroup, SpendGrouping, WeekCount
from kassa.members.models import Member
from kassa.orders.models import BillStatus
from tests.factories import make_organization, make_staff, make_store
from tests.members.conftest import MemberShop, make_member
from tests.members.sales import Sales, day, local, make_sales, refund, sell
from tests.shop import Shop

TODAY = day("2026-03-18")  # a Wednesday: with 4 weeks the period runs from Monday 23 February


@pytest.fixture
async def data(session: AsyncSession, member_shop: MemberShop) -> dict[str, Member]:
    sales = await make_sales(session, member_shop)
    owner = member_shop.actors[Role.OWNER]
    signups = {
        "A": (local(2026, 2, 22, 23, 30), member_shop.store),  # the Sunday before the period
        "B": (local(2026, 2, 23, 0, 10), member_shop.store),  # 22 February 16:10 UTC: in week 1
        "C": (local(2026, 3, 4), member_shop.store),
        "D": (local(2026, 3, 5), member_shop.store),
        "E": (local(2026, 3, 18, 23, 59), member_shop.store),  # the last minute of today
        "F": (local(2026, 3, 19, 0, 1), member_shop.store),  # tomorrow: not yet
        "G": (local(2026, 3, 10), member_shop.store),  # erased later: still a sign-up that week
        "H": (local(2026, 1, 10), member_shop.other_store),
    }
    members = {}
    for name, (when, store) in signups.items():
        member = await make_member(session, owner, store, name=name)
        member.created_at = when
        members[name] = member
    members["G"].erased_at = local(2026, 3, 12)
    await session.flush()
    await _bills(session, sales, members)
    return members


async def _bills(session: AsyncSession, sales: Sales, members: dict[str, Member]) -> None:
    other = sales.shop.other_store
    await sell(session, sales, members["A"], [("latte", 1)], closed_at=local(2026, 3, 18, 21))
    await sell(session, sales, members["A"], [("americano", 1)], closed_at=local(2026, 3, 10))
    await sell(session, sales, members["B"], [("cake", 1)], closed_at=local(2026, 2, 17, 0, 5))  # 30 days ago
    await sell(session, sales, members["B"], [("latte", 1)], closed_at=local(2026, 3, 1))
    await sell(session, sales, members["C"], [("tart", 1)], closed_at=local(2026, 1, 5))
    await sell(session, sales, members["D"], [("tart", 1)], closed_at=local(2026, 2, 16, 23, 59))  # 31 days
    returned = await sell(
        session, sales, members["H"], [("cake", 1)], closed_at=local(2026, 3, 12), store=other
    )
    await refund(session, sales, returned, 500)
    await sell(session, sales, members["H"], [("tart", 1)], closed_at=local(2026, 3, 13), store=other)
    await sell(session, sales, members["E"], [("latte", 1)], closed_at=None, status=BillStatus.OPEN)
    await sell(session, sales, members["F"], [("latte", 3)], closed_at=local(2026, 3, 19, 0, 30))  # tomorrow
    await sell(session, sales, None, [("latte", 9)], closed_at=local(2026, 3, 18))  # no member
    # another organization's members count nowhere
    elsewhere = await make_organization(session, name="Elsewhere")
    store = await make_store(session, elsewhere)
    staff = await make_staff(session, store, role=Role.OWNER)
    assert staff.id is not None


async def test_the_figures_as_of_a_day(
    session: AsyncSession, member_shop: MemberShop, data: dict[str, Member]
) -> None:
    result = await analytics.member_analytics(session, member_shop.actors[Role.MANAGER], today=TODAY, weeks=4)
    assert (result.today, result.weeks, result.period_start, result.currency) == (
        TODAY,
        4,
        day("2026-02-23"),
        "CNY",
    )
    assert result.new_members == [
        WeekCount(day("2026-02-23"), 1),  # B
        WeekCount(day("2026-03-02"), 2),  # C, D
        WeekCount(day("2026-03-09"), 1),  # G
        WeekCount(day("2026-03-16"), 1),  # E
    ]
    assert result.new_members_in_period == 5
    assert result.members_total == 6  # A B C D E H: F signs up tomorrow, G was erased
    # A, B (17 February is 30 days back, today included) and H; D came 31 days ago
    assert result.active_members == {30: 3, 90: 5}
    # in the period A and H came twice, B once
    assert (result.visiting_members, result.repeat_members, result.repeat_rate) == (3, 2, Decimal("0.6667"))
    assert result.spend_grouping == SpendGrouping.REGISTRATION_STORE
    assert result.spend_groups == [
        SpendGroup(member_shop.store.name, member_shop.store.id, 2, 3, 2400 + 1800 + 2400),
        SpendGroup(member_shop.other_store.name, member_shop.other_store.id, 1, 2, 2800 + 800 - 500),
    ]


async def test_spend_per_tier_through_the_hook(
    session: AsyncSession, member_shop: MemberShop, data: dict[str, Member]
) -> None:
    actor = member_shop.actors[Role.OWNER]
    tiers = {data["A"].id: "Gold", data["H"].id: "Gold", data["B"].id: "Silver", data["C"].id: "Silver"}
    result = await analytics.member_analytics(session, actor, today=TODAY, weeks=4, tier_of=tiers)
    assert result.spend_grouping == SpendGrouping.TIER
    assert result.spend_groups == [
        SpendGroup("Gold", None, 2, 4, 4200 + 3100),
        SpendGroup("Silver", None, 1, 1, 2400),
    ]
    partial = await analytics.member_analytics(
        session, actor, today=TODAY, weeks=4, tier_of={data["A"].id: "Gold"}
    )
    assert partial.spend_groups == [
        SpendGroup(NO_TIER, None, 2, 3, 5500),
        SpendGroup("Gold", None, 1, 2, 4200),
    ]


async def test_a_quiet_period_has_no_repeat_rate(
    session: AsyncSession, member_shop: MemberShop, data: dict[str, Member]
) -> None:
    result = await analytics.member_analytics(
        session, member_shop.actors[Role.MANAGER], today=day("2025-06-04"), weeks=1
    )
    assert result.new_members == [WeekCount(day("2025-06-02"), 0)]
    assert (result.members_total, result.visiting_members, result.repeat_rate) == (0, 0, None)
    assert result.active_members == {30: 0, 90: 0}
    assert [group.spend_amount for group in result.spend_groups] == [0, 0]


async def test_analytics_need_reports_and_a_sensible_period(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    with pytest.raises(PermissionDenied):
        await analytics.member_analytics(session, member_shop.cashier, today=TODAY)
    with pytest.raises(ValidationFailed) as error:
        await analytics.member_analytics(session, member_shop.actors[Role.MANAGER], today=TODAY, weeks=0)
    assert error.value.field == "weeks"


# --- the loyalty hook ---------------------------------------------------------------------


def _fake_loyalty(monkeypatch: pytest.MonkeyPatch, **attributes: object) -> None:
    module = types.ModuleType("kassa.loyalty")
    module.__spec__ = importlib.machinery.ModuleSpec("kassa.loyalty", None)
    for name, value in attributes.items():
        setattr(module, name, value)
    monkeypatch.setitem(sys.modules, "kassa.loyalty", module)
    monkeypatch.delitem(sys.modules, "kassa.loyalty.service", raising=False)


async def _tiers(session: AsyncSession, organization_id: int) -> dict[int, str]:
    return {}


def test_the_tier_provider_is_found_only_when_loyalty_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_loyalty(monkeypatch, member_tiers=_tiers)
    assert analytics.loyalty_tier_provider() is _tiers
    _fake_loyalty(monkeypatch)
    assert analytics.loyalty_tier_provider() is None
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, package=None: None)
    assert analytics.loyalty_tier_provider() is None


async def test_the_analytics_api(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
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
    refused = await shop.call("GET", "/members/analytics", expect=403)
    assert refused["permission"] == "report.view"
    result = await shop.call("GET", "/members/analytics?weeks=2", role=Role.MANAGER)
    assert (result["weeks"], len(result["new_members"]), result["new_members_in_period"]) == (2, 2, 1)
    assert result["members_total"] == 1
    assert result["active_members"] == [{"days": 30, "members": 0}, {"days": 90, "members": 0}]
    # loyalty is installed: spend is grouped by tier (nobody has one yet)
    assert (result["repeat_rate"], result["spend_grouping"]) == (None, "tier")

    # with loyalty in place the spend is per tier
    async def tiers(session: AsyncSession, organization_id: int) -> dict[int, str]:
        return {member["id"]: "Gold"}

    _fake_loyalty(monkeypatch, member_tiers=tiers)
    past = await shop.call("GET", "/members/analytics?weeks=1&today=2020-01-01", role=Role.OWNER)
    assert (past["today"], past["period_start"], past["new_members"]) == (
        "2020-01-01",
        "2019-12-30",
        [{"week_start": "2019-12-30", "count": 0}],
    )
    assert (past["spend_grouping"], past["spend_groups"]) == ("tier", [])
    wrong = await shop.call("GET", "/members/analytics?weeks=0", role=Role.MANAGER, expect=422)
    assert [error["field"] for error in wrong["errors"]] == ["weeks"]
