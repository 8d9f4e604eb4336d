"""The members page's analytics tab: figures and charts (ECharts)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from nicegui import ui

from kassa.core.database import get_database, utc_now
from kassa.core.errors import KassaError
from kassa.core.i18n import format_money
from kassa.core.money import Money
from kassa.members import analytics
from kassa.members.ui.common import FIELD, WEEK_CHOICES, PageContext, TierProvider, figure
from kassa.web.layout import gettext, notify_error


class AnalyticsPanel:
    """Built empty with the page; filled when its tab is first opened (the figures read
    every member's bills) and again when the period changes."""

    def __init__(self, context: PageContext, tier_provider: TierProvider | None) -> None:
        self.context = context
        self.tier_provider = tier_provider
        self.is_loaded = False
        self._ = gettext()

    def build(self) -> None:
        _ = self._
        with ui.row().classes("w-full items-center gap-2"):
            self.weeks = ui.select(
                {weeks: _("Last {weeks} weeks").format(weeks=weeks) for weeks in WEEK_CHOICES},
                value=analytics.DEFAULT_WEEKS,
                on_change=self.reload,
            ).props(f'{FIELD} data-testid="analytics-weeks"')
            self.as_of = ui.label().classes("text-sm opacity-70")
        self.body = ui.column().classes("w-full gap-4").props('data-testid="members-analytics"')

    async def show(self) -> None:
        if not self.is_loaded:
            await self.reload()

    async def reload(self) -> None:
        _ = self._
        context = self.context
        today = context.local.local_date(utc_now())
        try:
            async with get_database().read_only() as session:
                tier_of = (
                    await self.tier_provider(session, context.actor.organization_id)
                    if self.tier_provider is not None
                    else None
                )
                result = await analytics.member_analytics(
                    session, context.actor, today=today, weeks=int(self.weeks.value), tier_of=tier_of
                )
        except KassaError as error:
            notify_error(error)
            return
        self.is_loaded = True
        self.as_of.set_text(
            _("From {start} to {today}").format(
                start=result.period_start.isoformat(), today=today.isoformat()
            )
        )
        self.body.clear()
        with self.body:
            with ui.element("div").classes("w-full grid gap-2 grid-cols-2 md:grid-cols-5"):
                figure(_("Members"), str(result.members_total), "analytics-members")
                figure(_("New in the period"), str(result.new_members_in_period), "analytics-new")
                for days, count in result.active_members.items():
                    figure(
                        _("Active (last {days} days)").format(days=days),
                        str(count),
                        f"analytics-active-{days}",
                    )
                rate = result.repeat_rate
                figure(
                    _("Repeat rate"),
                    f"{(rate * 100).quantize(Decimal('0.1'))} %" if rate is not None else "–",
                    "analytics-repeat",
                )
            ui.label(
                _(
                    "Repeat rate: members who came twice or more, of those who came in the period "
                    "({repeat} of {visiting})."
                ).format(repeat=result.repeat_members, visiting=result.visiting_members)
            ).classes("text-xs opacity-70")
            with ui.element("div").classes("w-full grid gap-4 grid-cols-1 lg:grid-cols-2"):
                with ui.card().classes("w-full"):
                    ui.label(_("New members per week")).classes("text-base font-bold")
                    bar_chart(
                        [week.week_start.strftime("%m-%d") for week in result.new_members],
                        [week.count for week in result.new_members],
                        _("New members"),
                        "analytics-new-chart",
                    )
                with ui.card().classes("w-full"):
                    if result.spend_grouping == analytics.SpendGrouping.TIER:
                        title = _("Spend per tier in the period")
                        names = [group.name or _("No tier") for group in result.spend_groups]
                    else:
                        title = _("Spend by registration store in the period")
                        names = [group.name for group in result.spend_groups]
                    ui.label(title).classes("text-base font-bold").props(
                        'data-testid="analytics-spend-title"'
                    )
                    bar_chart(
                        names,
                        [
                            float(Money(group.spend_amount, result.currency).to_decimal())
                            for group in result.spend_groups
                        ],
                        _("Total spend ({currency})").format(currency=result.currency),
                        "analytics-spend-chart",
                    )
                    for group, name in zip(result.spend_groups, names, strict=True):
                        ui.label(
                            _("{name}: {spend} (members: {members}, visits: {visits})").format(
                                name=name,
                                spend=format_money(
                                    Money(group.spend_amount, result.currency), context.locale
                                ),
                                members=group.members,
                                visits=group.visits,
                            )
                        ).classes("text-sm").props('data-testid="analytics-spend-group"')


def bar_chart(labels: list[str], values: Sequence[float | int], series: str, testid: str) -> None:
    ui.echart(
        {
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 48, "right": 16, "top": 16, "bottom": 32},
            "xAxis": {"type": "category", "data": labels},
            "yAxis": {"type": "value", "minInterval": 1},
            "series": [
                {"name": series, "type": "bar", "data": list(values), "itemStyle": {"color": "#3730a3"}}
            ],
        }
    ).classes("w-full h-64").props(f'data-testid="{testid}"')
