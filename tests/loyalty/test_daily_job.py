"""The daily loyalty run through the outbox, on a clock the test moves: birthday coupons N days
ahead (once a year, texted only to members who agreed), coupon and points expiry, tier
downgrades, and the run queueing the next day's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.database import Database
from kassa.core.outbox import OutboxMessage, OutboxStatus
from kassa.loyalty import service as loyalty
from kassa.loyalty.jobs import (
    DAILY_KIND,
    ORGANIZATION_KIND,
    coupon_text,
    ensure_daily_job,
    issue_birthday_coupons,
)
from kassa.loyalty.models import (
    Coupon,
    CouponSource,
    CouponStatus,
    DiscountKind,
    PointsEntry,
    PointsEntryKind,
)
from kassa.members.models import Member
from kassa.notifications.providers.log import LogProvider
from tests.loyalty.conftest import LoyaltyShop, amount_coupon, close_bill, make_member
from tests.loyalty.test_tiers import GOLD, SILVER
from tests.returns.conftest import Worker

# A frozen day, far from today: 10 March 2031, 02:00 in Shanghai (the store's zone).
FROZEN = datetime(2031, 3, 9, 18, 0, tzinfo=UTC)
RUN_DAY = date(2031, 3, 10)


async def _birthday_setup(session: AsyncSession, shop: LoyaltyShop, days_before: int = 7) -> int:
    definition_id = await amount_coupon(session, shop, amount=2_000, valid_days=30, name="Birthday treat")
    await loyalty.update_loyalty_settings(
        session,
        shop.owner,
        loyalty.SettingsInput(birthday_coupon_definition_id=definition_id, birthday_days_before=days_before),
    )
    return definition_id


async def _daily_messages(session: AsyncSession) -> list[OutboxMessage]:
    rows = await session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == DAILY_KIND).order_by(OutboxMessage.next_attempt_at)
    )
    return list(rows.all())


async def _coupons(session: AsyncSession, member: Member) -> list[Coupon]:
    return list((await session.scalars(select(Coupon).where(Coupon.member_id == member.id))).all())


async def test_the_birthday_run_gives_one_coupon_and_one_sms_on_a_frozen_day(
    session: AsyncSession, shop: LoyaltyShop, database: Database, worker: Worker, sms: LogProvider
) -> None:
    # given a birthday coupon 7 days ahead, and members with birthdays around 17 March
    await _birthday_setup(session, shop)
    opted_in = await make_member(
        session, shop, marketing_sms=True, birthday=date(1990, 3, 17), name="Zhao Min"
    )
    silent = await make_member(session, shop, marketing_sms=False, birthday=date(1985, 3, 17))
    not_yet = await make_member(session, shop, marketing_sms=True, birthday=date(1990, 3, 18))
    no_birthday = await make_member(session, shop, marketing_sms=True)
    await session.commit()

    # when the worker starts on the frozen day: today's run is queued for 03:00, and tomorrow's
    worker.clock.moment = FROZEN
    await ensure_daily_job(database, now=worker.clock())
    queued = await _daily_messages(session)
    assert [message.dedupe_key for message in queued] == [
        "loyalty.daily:2031-03-10",
        "loyalty.daily:2031-03-11",
    ]
    assert await worker.run() == 0  # 02:00: nothing due yet
    worker.clock.advance(hours=1, minutes=5)
    # the day's run, one organization's four steps, and the one SMS
    assert await worker.run() == 1 + 4 + 1

    # then the members whose birthday is on 17 March have a birthday coupon valid from the run's day
    [coupon] = await _coupons(session, opted_in)
    assert (coupon.source, coupon.status, coupon.valid_from, coupon.valid_until) == (
        CouponSource.BIRTHDAY,
        CouponStatus.ISSUED,
        RUN_DAY,
        RUN_DAY + timedelta(days=29),
    )
    assert coupon.issue_key == f"birthday:{opted_in.id}:2031"
    assert len(await _coupons(session, silent)) == 1
    assert await _coupons(session, not_yet) == []
    assert await _coupons(session, no_birthday) == []
    # and only the one who agreed to marketing SMS is texted, in the store's language
    assert [message.to for message in sms.sent] == [opted_in.phone_e164]
    assert sms.sent[0].body == (
        f"【{shop.store.name}】Zhao Min生日快乐！送您立减券 ¥20.00，2031年4月8日前有效。回复TD退订"
    )

    # when the run for that day is delivered again (at least once) nothing more is issued
    day_run = await session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.dedupe_key == "loyalty.daily:2031-03-10")
        .execution_options(populate_existing=True)
    )
    assert day_run is not None
    assert day_run.status == OutboxStatus.SENT
    day_run.status = OutboxStatus.PENDING
    for message in (
        await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == ORGANIZATION_KIND))
    ).all():
        await session.delete(message)
    await session.commit()
    assert await worker.run() == 1 + 4
    assert len(await _coupons(session, opted_in)) == 1
    assert len(await _coupons(session, silent)) == 1
    assert len(sms.sent) == 1

    # the next day's run is waiting for 03:00 tomorrow, and runs then (not_yet's birthday is the 18th)
    tomorrow = await session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.dedupe_key == "loyalty.daily:2031-03-11")
        .execution_options(populate_existing=True)
    )
    assert tomorrow is not None
    assert tomorrow.status == OutboxStatus.PENDING
    worker.clock.advance(days=1)
    assert await worker.run() == 1 + 4 + 1
    assert len(await _coupons(session, not_yet)) == 1
    assert [message.to for message in sms.sent] == [opted_in.phone_e164, not_yet.phone_e164]
    assert await session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == "loyalty.daily:2031-03-12")
    )


async def test_29_february_birthdays_are_celebrated_on_the_28th_in_other_years(
    session: AsyncSession, shop: LoyaltyShop
) -> None:
    await _birthday_setup(session, shop, days_before=0)
    leap = await make_member(session, shop, birthday=date(2000, 2, 29))
    assert await issue_birthday_coupons(session, shop.organization.id, date(2031, 2, 28)) == (1, None)
    assert len(await _coupons(session, leap)) == 1
    assert await issue_birthday_coupons(session, shop.organization.id, date(2032, 2, 28)) == (0, None)
    assert await issue_birthday_coupons(session, shop.organization.id, date(2032, 2, 29)) == (1, None)


async def test_the_daily_run_expires_points_and_coupons_and_moves_tiers_down(
    session: AsyncSession, shop: LoyaltyShop, database: Database, worker: Worker, sms: LogProvider
) -> None:
    # given expiring points, a coupon that ran out and a Gold member whose purchases are old
    await loyalty.update_loyalty_settings(session, shop.owner, loyalty.SettingsInput(points_expiry_months=12))
    await loyalty.replace_tiers(session, shop.owner, [SILVER, GOLD])
    member = await make_member(session, shop)
    bill = await close_bill(session, shop, member, 600_000)
    await loyalty.earn_for_bill(
        session,
        shop.cashier,
        member.id,
        bill.id,
        [loyalty.EarnLine(shop.products["latte"], shop.categories["coffee"], 600_000)],
    )
    assert (await loyalty.member_tier(session, shop.organization.id, member.id)) is not None
    earned = await session.scalar(select(PointsEntry).where(PointsEntry.member_id == member.id))
    assert earned is not None
    earned.expires_on = RUN_DAY  # as if earned a year before the frozen day
    [coupon] = await loyalty.issue_coupon(
        session, shop.cashier, await amount_coupon(session, shop), [member.id]
    )
    coupon.valid_until = RUN_DAY - timedelta(days=1)
    await session.commit()

    worker.clock.moment = FROZEN + timedelta(hours=2)
    await ensure_daily_job(database, now=worker.clock())
    assert await worker.run() == 1 + 4

    statement = await loyalty.points_statement(session, shop.cashier, member.id)
    assert statement.balance == 0
    assert statement.entries[0].kind == PointsEntryKind.EXPIRE
    assert statement.entries[0].points == -6_000
    await session.refresh(coupon)
    assert coupon.status == CouponStatus.EXPIRED
    # the bill closed today is more than a year before the run in 2031: no tier any more
    assert await loyalty.member_tier(session, shop.organization.id, member.id) is None


def test_coupon_text_in_both_languages() -> None:
    coupon = Coupon(
        name="Birthday",
        name_translations={"zh_CN": "生日券"},
        currency="CNY",
        discount_kind=DiscountKind.PERCENT,
        discount_basis_points=1_500,
    )
    assert coupon_text(coupon, "zh_CN") == "生日券 8.5折"
    assert coupon_text(coupon, "en") == "Birthday 15% off"
