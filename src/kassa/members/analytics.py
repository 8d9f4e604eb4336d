"""Member figures for the back office: sign-ups per week, active members, the repeat rate,
and spend per loyalty tier (or, until loyalty is there, per registration store).

Bills count by the rules of ``members.profile`` (closed bills; paid = total + rounding;
less succeeded refunds; a visit is a closed bill). Days are the local calendar days of
the actor's store (an owner: the organization's first store), and every figure is taken
as of ``today``, which the caller passes in, so the same data always gives the same answer:

- the **period** is the last ``weeks`` weeks, Monday to Sunday, the last one being the
  week of ``today`` (up to and including ``today``);
- **new members per week** counts every sign-up of each week (erased members included:
  an erasure does not change the past);
- **active members** came (a closed bill) in the last 30 or 90 days, ``today`` included;
- the **repeat rate** is the share of members with two or more visits in the period among
  those with at least one;
- **spend per group** is the total spend on bills closed in the period, per loyalty tier
  (``tier_of``: member id → tier name; members not in it are in the ``NO_TIER`` group) or,
  without tiers, per the store the member signed up in.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import cast

from sqlalchemy import ColumnElement, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Permission
from kassa.core.errors import ValidationFailed
from kassa.members.models import Member
from kassa.members.profile import (
    closed_bill_figures,
    in_period,
    local_settings,
    spend_expression,
    succeeded_refunds,
)
from kassa.orders.models import Bill, BillStatus
from kassa.stores.models import Store

logger = logging.getLogger(__name__)

DEFAULT_WEEKS = 12
MAX_WEEKS = 104
ACTIVE_WINDOWS = (30, 90)
NO_TIER = ""
RATE_PLACES = Decimal("0.0001")

TierProvider = Callable[[AsyncSession, int], Awaitable[dict[int, str]]]


class SpendGrouping(StrEnum):
    TIER = "tier"
    REGISTRATION_STORE = "registration_store"


@dataclass(frozen=True)
class WeekCount:
    week_start: date  # a Monday
    count: int


@dataclass(frozen=True)
class SpendGroup:
    """Members of one tier (or one registration store) who came in the period."""

    name: str  # the tier's name (``NO_TIER``: none), or the store's
    store_id: int | None  # the store, when grouped by registration store
    members: int
    visits: int
    spend_amount: int


@dataclass(frozen=True)
class MemberAnalytics:
    today: date
    weeks: int
    period_start: date  # the Monday the period begins
    currency: str
    members_total: int  # signed up by ``today`` and not erased
    new_members: list[WeekCount]  # oldest week first
    active_members: dict[int, int]  # days → members with a closed bill in the last so many days
    visiting_members: int  # members with 1+ visits in the period
    repeat_members: int  # members with 2+ visits in the period
    spend_grouping: SpendGrouping
    spend_groups: list[SpendGroup]

    @property
    def repeat_rate(self) -> Decimal | None:
        """Repeat members / visiting members, to four places (half up); None without visits."""
        if not self.visiting_members:
            return None
        return (Decimal(self.repeat_members) / self.visiting_members).quantize(RATE_PLACES, ROUND_HALF_UP)

    @property
    def new_members_in_period(self) -> int:
        return sum(week.count for week in self.new_members)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


async def member_analytics(
    session: AsyncSession,
    actor: Actor,
    *,
    today: date,
    weeks: int = DEFAULT_WEEKS,
    tier_of: Mapping[int, str] | None = None,
) -> MemberAnalytics:
    """The organization's member figures as of ``today`` over the last ``weeks`` weeks.
    LOYALTY HOOK: pass ``tier_of`` (member id → tier name) to get spend per tier instead
    of per registration store; see ``loyalty_tier_provider``."""
    actor.require(Permission.REPORT_VIEW)
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValidationFailed(f"from 1 to {MAX_WEEKS} weeks", field="weeks")
    local = await local_settings(session, actor)
    organization_id = actor.organization_id
    period_start = monday_of(today) - timedelta(weeks=weeks - 1)
    starts = [period_start + timedelta(weeks=index) for index in range(weeks)]
    end = local.start_of(today + timedelta(days=1))
    period = in_period(local.start_of(period_start), end)

    week_index = case(
        *[
            (Member.created_at >= local.start_of(start), index)
            for index, start in reversed(list(enumerate(starts)))
        ],
        else_=-1,
    )
    signed_up: dict[int, int] = dict(
        (
            await session.execute(
                select(week_index, func.count(Member.id))
                .where(
                    Member.organization_id == organization_id,
                    Member.created_at >= local.start_of(period_start),
                    Member.created_at < end,
                )
                .group_by(week_index)
            )
        ).all()
    )
    members_total = await session.scalar(
        select(func.count(Member.id)).where(
            Member.organization_id == organization_id, Member.erased_at.is_(None), Member.created_at < end
        )
    )
    active: dict[int, int] = {}
    for days in ACTIVE_WINDOWS:
        window = in_period(local.start_of(today - timedelta(days=days - 1)), end)
        active[days] = int(
            await session.scalar(
                select(func.count(distinct(Bill.member_id)))
                .join(Member, Member.id == Bill.member_id)
                .where(Member.organization_id == organization_id, Bill.status == BillStatus.CLOSED, window)
            )
            or 0
        )
    visits = closed_bill_figures(organization_id, period)
    repeat_row = (
        await session.execute(
            select(func.count(), func.sum(case((visits.c.visits >= 2, 1), else_=0))).select_from(visits)
        )
    ).one()
    if tier_of is not None:
        grouping = SpendGrouping.TIER
        groups = await _spend_per_tier(session, organization_id, period, tier_of)
    else:
        grouping = SpendGrouping.REGISTRATION_STORE
        groups = await _spend_per_registration_store(session, organization_id, period)
    return MemberAnalytics(
        today=today,
        weeks=weeks,
        period_start=period_start,
        currency=local.currency,
        members_total=int(members_total or 0),
        new_members=[WeekCount(start, int(signed_up.get(index, 0))) for index, start in enumerate(starts)],
        active_members=active,
        visiting_members=int(repeat_row[0] or 0),
        repeat_members=int(repeat_row[1] or 0),
        spend_grouping=grouping,
        spend_groups=groups,
    )


async def _spend_per_member(
    session: AsyncSession, organization_id: int, period: ColumnElement[bool]
) -> list[tuple[int, int, int]]:
    """(member id, visits, spend) of every member who came in the period."""
    bills = closed_bill_figures(organization_id, period)
    refunds = succeeded_refunds(organization_id, period)
    rows = await session.execute(
        select(bills.c.member_id, bills.c.visits, spend_expression(bills, refunds)).outerjoin(
            refunds, refunds.c.member_id == bills.c.member_id
        )
    )
    return [(int(member_id), int(visits), int(spend)) for member_id, visits, spend in rows.all()]


async def _spend_per_tier(
    session: AsyncSession, organization_id: int, period: ColumnElement[bool], tier_of: Mapping[int, str]
) -> list[SpendGroup]:
    totals: dict[str, list[int]] = {}
    for member_id, visits, spend in await _spend_per_member(session, organization_id, period):
        group = totals.setdefault(tier_of.get(member_id, NO_TIER), [0, 0, 0])
        group[0] += 1
        group[1] += visits
        group[2] += spend
    return sorted(
        (SpendGroup(name, None, members, visits, spend) for name, (members, visits, spend) in totals.items()),
        key=lambda group: (-group.spend_amount, group.name),
    )


async def _spend_per_registration_store(
    session: AsyncSession, organization_id: int, period: ColumnElement[bool]
) -> list[SpendGroup]:
    """Every store of the organization, the ones nobody signed up in with zeros."""
    bills = closed_bill_figures(organization_id, period)
    refunds = succeeded_refunds(organization_id, period)
    rows = await session.execute(
        select(
            Member.registered_at_store_id,
            func.count(Member.id),
            func.sum(bills.c.visits),
            func.sum(spend_expression(bills, refunds)),
        )
        .join(bills, bills.c.member_id == Member.id)
        .outerjoin(refunds, refunds.c.member_id == Member.id)
        .group_by(Member.registered_at_store_id)
    )
    figures = {
        store_id: (int(members), int(visits), int(spend)) for store_id, members, visits, spend in rows.all()
    }
    stores = (
        await session.execute(
            select(Store.id, Store.name).where(Store.organization_id == organization_id).order_by(Store.id)
        )
    ).all()
    return [SpendGroup(name, store_id, *figures.get(store_id, (0, 0, 0))) for store_id, name in stores]


def loyalty_tier_provider() -> TierProvider | None:
    """LOYALTY HOOK: the loyalty capability's ``member_tiers(session, organization_id) ->
    dict[int, str]`` (member id → tier name) when that capability is installed and has it
    (in ``kassa.loyalty`` or ``kassa.loyalty.service``), else None. Looked up at run time,
    so the members capability never imports loyalty."""
    if importlib.util.find_spec("kassa.loyalty") is None:
        return None
    for module_name in ("kassa.loyalty", "kassa.loyalty.service"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        except Exception:  # a capability half-built must not take the members page down
            logger.exception("could not import %s for member tiers", module_name)
            continue
        function = getattr(module, "member_tiers", None)
        if callable(function):
            return cast(TierProvider, function)
    return None
