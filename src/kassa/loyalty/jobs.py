"""The daily loyalty run, durable through the outbox: expire coupons and points, give birthday
coupons, move members down whose last 12 months no longer hold their tier.

``loyalty.daily`` (one message per day, ``dedupe_key`` "loyalty.daily:<date>", due at 03:00
in the first store's time zone) first queues the next day's run, then one
``loyalty.daily.organization`` message per organization. That message does one batch of one
step and, in the same transaction, queues the next batch, so every batch commits with its
successor or not at all, a crash loses nothing, and no handler runs long. Every step is
idempotent (unique keys on birthday coupons and expiry entries), as delivery is at least once.
A day missed while the server was off is caught up on start: ``ensure_daily_job`` queues
today's run (a no-op when it exists) and the runs catch up day by day.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from sqlalchemy import extract, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.products import localized_name
from kassa.core import outbox
from kassa.core.auth import Actor
from kassa.core.database import Database, get_database
from kassa.core.i18n import normalize_locale
from kassa.core.money import Money
from kassa.core.outbox import ClaimedMessage, Handler, PermanentFailure
from kassa.daily_jobs import DailyJob, job_timezone
from kassa.loyalty.accounts import local_date, loyalty_settings, organization_timezone
from kassa.loyalty.coupons import expire_coupons, issue_one_coupon, validity
from kassa.loyalty.models import Coupon, CouponDefinition, CouponSource, DiscountKind, LoyaltyAccount
from kassa.loyalty.points import expire_points
from kassa.loyalty.rules import birthday_in
from kassa.loyalty.tiers import reevaluate
from kassa.members.models import Member
from kassa.notifications import service as notifications
from kassa.stores.models import Organization, Store

logger = logging.getLogger(__name__)

DAILY_KIND = "loyalty.daily"
ORGANIZATION_KIND = "loyalty.daily.organization"
DAILY = DailyJob(DAILY_KIND, time(3, 0))
BATCH_SIZE = 200
BIRTHDAY_EVENT = "birthday_coupon"
STEPS = ("coupons", "points", "birthdays", "tiers")


async def ensure_daily_job(database: Database, *, now: datetime | None = None) -> None:
    """Make sure the daily run is queued: today's (at 03:00, or at once when that has passed
    and it never ran) and tomorrow's. Called when a worker starts; harmless when they exist."""
    await DAILY.ensure_queued(database, now=now)


def _payload_date(claimed: ClaimedMessage, name: str = "date") -> date:
    try:
        return date.fromisoformat(str(claimed.payload[name]))
    except (KeyError, ValueError) as error:
        raise PermanentFailure(f"outbox message {claimed.id} names no {name}") from error


async def run_daily(claimed: ClaimedMessage) -> None:
    """The ``loyalty.daily`` handler: queue tomorrow's run first (so a failing day never stops
    the next), then every organization's work for the day."""
    day = _payload_date(claimed)
    async with get_database().unit_of_work() as session:
        timezone = await job_timezone(session)
        await DAILY.queue_day(session, day + timedelta(days=1), timezone)
        moment = DAILY.run_moment(day, timezone)
        for organization_id in (
            await session.scalars(select(Organization.id).order_by(Organization.id))
        ).all():
            organization_day = local_date(moment, await organization_timezone(session, organization_id))
            await _queue_step(session, day, organization_id, organization_day, moment, STEPS[0], 0)


async def _queue_step(
    session: AsyncSession,
    run_day: date,
    organization_id: int,
    organization_day: date,
    moment: datetime,
    step: str,
    after_id: int,
) -> None:
    await outbox.enqueue(
        session,
        ORGANIZATION_KIND,
        {
            "run_date": run_day.isoformat(),
            "organization_id": organization_id,
            "date": organization_day.isoformat(),
            "moment": moment.isoformat(),
            "step": step,
            "after_id": after_id,
        },
        dedupe_key=f"{DAILY_KIND}:{run_day.isoformat()}:{organization_id}:{step}:{after_id}",
        not_before=moment,
    )


async def run_organization_day(claimed: ClaimedMessage) -> None:
    """The ``loyalty.daily.organization`` handler: one batch of one step, and the next."""
    payload = claimed.payload
    try:
        organization_id = int(payload["organization_id"])
        step = str(payload["step"])
        after_id = int(payload["after_id"])
        moment = datetime.fromisoformat(str(payload["moment"]))
    except (KeyError, TypeError, ValueError) as error:
        raise PermanentFailure(f"outbox message {claimed.id} is malformed") from error
    if step not in STEPS:
        raise PermanentFailure(f"no loyalty step {step!r}")
    day = _payload_date(claimed)
    run_day = _payload_date(claimed, "run_date")
    async with get_database().unit_of_work() as session:
        last = await run_step(session, organization_id, step, day, moment, after_id)
        if last is not None:
            await _queue_step(session, run_day, organization_id, day, moment, step, last)
        elif STEPS.index(step) + 1 < len(STEPS):
            await _queue_step(session, run_day, organization_id, day, moment, STEPS[STEPS.index(step) + 1], 0)


async def run_step(
    session: AsyncSession, organization_id: int, step: str, day: date, moment: datetime, after_id: int
) -> int | None:
    """Do one batch of ``step``; returns the last id handled when more may follow, else None."""
    if step == "coupons":
        await expire_coupons(session, organization_id, day)
        return None
    if step == "points":
        _expired, last = await expire_points(
            session, organization_id, day, after_member_id=after_id, limit=BATCH_SIZE
        )
        return last
    if step == "birthdays":
        _issued, last = await issue_birthday_coupons(
            session, organization_id, day, after_member_id=after_id, limit=BATCH_SIZE
        )
        return last
    return await reevaluate_tiers(
        session, organization_id, moment, after_account_id=after_id, limit=BATCH_SIZE
    )


# --- birthdays ----------------------------------------------------------------------------


def coupon_text(coupon: Coupon, locale: str) -> str:
    """A coupon for an SMS: its name and value, e.g. "生日券 ¥20.00" or "Birthday treat 15% off"."""
    name = localized_name(coupon.name, coupon.name_translations, locale)
    if coupon.discount_kind == DiscountKind.PERCENT:
        basis_points = coupon.discount_basis_points or 0
        if locale == "zh_CN":
            tenths = Decimal(10_000 - basis_points) / 1000  # 1500 off: 8.5折
            return f"{name} {tenths.normalize():f}折"
        return f"{name} {(Decimal(basis_points) / 100).normalize():f}% off"
    return f"{name} {Money(coupon.discount_amount or 0, coupon.currency).format(locale)}"


def _birthday_filter(target: date) -> Any:
    days = [target.day]
    if target.month == 2 and target.day == 28 and birthday_in(target.year, date(2000, 2, 29)) == target:
        days.append(29)  # no 29 February this year: those members celebrate on the 28th
    return (extract("month", Member.birthday) == target.month) & (extract("day", Member.birthday).in_(days))


async def issue_birthday_coupons(
    session: AsyncSession,
    organization_id: int,
    on: date,
    *,
    after_member_id: int = 0,
    limit: int = BATCH_SIZE,
) -> tuple[int, int | None]:
    """Give the organization's birthday coupon to members whose birthday is the set number
    of days after ``on``: once per member and year (the coupon's unique issue key), texted
    only to members who agreed to marketing SMS. Returns (coupons issued, the last member
    looked at when more may follow, else None)."""
    settings = await loyalty_settings(session, organization_id)
    if settings.birthday_coupon_definition_id is None:
        return 0, None
    definition = await session.get(CouponDefinition, settings.birthday_coupon_definition_id)
    if definition is None or not definition.is_active:
        return 0, None
    first_day, last_day = validity(definition, on)
    if last_day < on:
        logger.warning("the birthday coupon of organization %s has run out", organization_id)
        return 0, None
    target = on + timedelta(days=settings.birthday_days_before)
    members = (
        await session.scalars(
            select(Member)
            .where(
                Member.organization_id == organization_id,
                Member.erased_at.is_(None),
                Member.birthday.is_not(None),
                _birthday_filter(target),
                Member.id > after_member_id,
            )
            .order_by(Member.id)
            .limit(limit)
        )
    ).all()
    actor = Actor.system(organization_id, name="loyalty birthday coupons")
    issued = 0
    for member in members:
        coupon = await issue_one_coupon(
            session,
            actor,
            definition,
            member.id,
            CouponSource.BIRTHDAY,
            f"birthday:{member.id}:{target.year}",
            max(first_day, on),
            last_day,
        )
        if coupon is None:
            continue
        issued += 1
        if member.marketing_sms_opt_in:
            await _text_birthday_coupon(session, actor, member, coupon)
    return issued, (members[-1].id if len(members) == limit else None)


async def _text_birthday_coupon(session: AsyncSession, actor: Actor, member: Member, coupon: Coupon) -> None:
    store = await session.get(Store, member.registered_at_store_id)
    if store is None:
        return
    locale = normalize_locale(store.locale)
    await notifications.queue_message(
        session,
        store=store,
        to=member.phone_e164,
        event=BIRTHDAY_EVENT,
        variables={
            "name": member.name,
            "coupon": coupon_text(coupon, locale),
            "valid_until": format_date(coupon.valid_until, "long", locale=locale),
        },
        cause=notifications.Cause.of(actor, "loyalty.birthday_coupon"),
        dedupe_key=f"birthday-coupon:{coupon.id}",
    )


# --- tiers --------------------------------------------------------------------------------


async def reevaluate_tiers(
    session: AsyncSession,
    organization_id: int,
    moment: datetime,
    *,
    after_account_id: int = 0,
    limit: int = BATCH_SIZE,
) -> int | None:
    """Re-judge members holding a tier (their 12 months move on even without a purchase);
    returns the last account looked at when more may follow."""
    accounts = (
        await session.scalars(
            select(LoyaltyAccount)
            .where(
                LoyaltyAccount.organization_id == organization_id,
                LoyaltyAccount.tier_id.is_not(None),
                LoyaltyAccount.id > after_account_id,
            )
            .order_by(LoyaltyAccount.id)
            .limit(limit)
        )
    ).all()
    actor = Actor.system(organization_id, name="loyalty daily tiers")
    for account in accounts:
        member = await session.get(Member, account.member_id)
        if member is not None:
            await reevaluate(session, actor, member, at=moment, cause="daily")
    return accounts[-1].id if len(accounts) == limit else None


def register_loyalty_handlers(handlers: dict[str, Handler]) -> None:
    handlers[DAILY_KIND] = run_daily
    handlers[ORGANIZATION_KIND] = run_organization_day
