"""Points: earning on a bill (rate, tier multiplier, excluded categories, bonus products) once
per bill, taking back on returns, redeeming and giving back, expiry."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from kassa.core.database import utc_now
from kassa.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kassa.loyalty import service as loyalty
from kassa.loyalty.accounts import InsufficientBalance
from kassa.loyalty.models import PointsEntry, PointsEntryKind
from kassa.loyalty.points import expire_member_points, points_due_to_expire
from kassa.members.models import Member
from tests.loyalty.conftest import LoyaltyShop, close_bill, make_member
from tests.loyalty.test_tiers import GOLD, SILVER

EarnLine = loyalty.EarnLine


async def _settings(session: AsyncSession, shop: LoyaltyShop, **changes: object) -> None:
    values: dict[str, object] = {
        "points_per_currency_unit": 1,
        "excluded_category_ids": [shop.categories["gifts"]],
        "bonus_products": [loyalty.BonusProduct(shop.products["beans"], 50)],
        "redeem_points": 100,
        "redeem_value_amount": 100,
        **changes,
    }
    await loyalty.update_loyalty_settings(session, shop.owner, loyalty.SettingsInput(**values))  # type: ignore[arg-type]


def _lines(shop: LoyaltyShop) -> list[loyalty.EarnLine]:
    return [
        EarnLine(shop.products["latte"], shop.categories["coffee"], 4_850, 2),  # ¥48.50
        EarnLine(shop.products["beans"], shop.categories["coffee"], 8_800, 1),  # ¥88 + 50 bonus
        EarnLine(shop.products["gift"], shop.categories["gifts"], 10_000, 1),  # earns nothing
    ]


async def _balance(session: AsyncSession, shop: LoyaltyShop, member: Member) -> int:
    return (await loyalty.points_statement(session, shop.cashier, member.id)).balance


async def _earned(session: AsyncSession, shop: LoyaltyShop, member: Member, points: int) -> int:
    """A closed bill of the member that earned ``points`` (1 point per ¥1, no exclusions hit)."""
    bill = await close_bill(session, shop, member, points * 100)
    await loyalty.earn_for_bill(
        session,
        shop.cashier,
        member.id,
        bill.id,
        [EarnLine(shop.products["latte"], shop.categories["coffee"], points * 100)],
    )
    return bill.id


async def test_a_bill_earns_by_rate_excluding_categories_with_bonus_products_once(
    session: AsyncSession, shop: LoyaltyShop
) -> None:
    await _settings(session, shop)
    member = await make_member(session, shop)
    bill = await close_bill(session, shop, member, 23_650)
    entry = await loyalty.earn_for_bill(session, shop.cashier, member.id, bill.id, _lines(shop))
    # ¥136.50 eligible -> 136 points (rounded down once), + 50 for the beans; the gift card earns none
    assert (entry.kind, entry.points, entry.balance_after, entry.reference) == (
        PointsEntryKind.EARN,
        186,
        186,
        f"bill:{bill.id}",
    )
    assert entry.basis_amount == 23_650
    assert entry.expires_on is None
    # asked again (a retried checkout), the bill earns nothing more
    again = await loyalty.earn_for_bill(session, shop.cashier, member.id, bill.id, _lines(shop))
    assert again.id == entry.id
    assert await _balance(session, shop, member) == 186


async def test_the_tier_multiplies_the_base_points_but_not_the_bonus(
    session: AsyncSession, shop: LoyaltyShop
) -> None:
    await _settings(session, shop, points_expiry_months=12)
    await loyalty.replace_tiers(session, shop.owner, [SILVER, GOLD])
    member = await make_member(session, shop)
    await close_bill(session, shop, member, 500_000)
    await loyalty.evaluate_tier(session, shop.cashier, member.id)  # Gold: x1.5
    bill = await close_bill(session, shop, member, 23_650)
    entry = await loyalty.earn_for_bill(session, shop.cashier, member.id, bill.id, _lines(shop))
    assert entry.points == 13_650 * 15_000 // 1_000_000 + 50 == 254
    assert entry.expires_on is not None
    assert entry.expires_on > utc_now().date() + timedelta(days=360)


async def test_a_bill_earns_only_for_its_own_member(session: AsyncSession, shop: LoyaltyShop) -> None:
    member = await make_member(session, shop)
    other = await make_member(session, shop)
    bill = await close_bill(session, shop, other, 1_000)
    with pytest.raises(Conflict):
        await loyalty.earn_for_bill(session, shop.cashier, member.id, bill.id, [])
    with pytest.raises(ValidationFailed):
        await loyalty.earn_for_bill(
            session,
            shop.cashier,
            other.id,
            bill.id,
            [EarnLine(shop.products["latte"], shop.categories["coffee"], -1)],
        )
    with pytest.raises(PermissionDenied):
        await loyalty.earn_for_bill(session, shop.actors[Role.WAITER], other.id, bill.id, [])


async def test_returns_take_back_the_proportional_points_once_each(
    session: AsyncSession, shop: LoyaltyShop
) -> None:
    await _settings(session, shop, excluded_category_ids=[], bonus_products=[])
    member = await make_member(session, shop)
    bill = await close_bill(session, shop, member, 10_000)
    await loyalty.earn_for_bill(
        session,
        shop.cashier,
        member.id,
        bill.id,
        [EarnLine(shop.products["latte"], shop.categories["coffee"], 10_000)],
    )
    # a third returned, then the same return again, then the rest: 33 + 67 = all 100 points
    first = await loyalty.reverse_for_return(session, shop.cashier, member.id, bill.id, 501, 3_333)
    assert first is not None
    assert (first.kind, first.points, first.reference) == (PointsEntryKind.REVERSE, -33, "return:501")
    again = await loyalty.reverse_for_return(session, shop.cashier, member.id, bill.id, 501, 3_333)
    assert again is not None
    assert again.id == first.id
    rest = await loyalty.reverse_for_return(session, shop.cashier, member.id, bill.id, 502, 6_667)
    assert rest is not None
    assert rest.points == -67
    assert await _balance(session, shop, member) == 0
    # a bill that earned nothing takes nothing back
    plain = await close_bill(session, shop, member, 500)
    assert await loyalty.reverse_for_return(session, shop.cashier, member.id, plain.id, 503, 500) is None


async def test_a_return_never_takes_more_than_is_left(session: AsyncSession, shop: LoyaltyShop) -> None:
    await _settings(session, shop, excluded_category_ids=[], bonus_products=[])
    member = await make_member(session, shop)
    bill_id = await _earned(session, shop, member, 300)
    await loyalty.redeem_points(session, shop.cashier, member.id, 250, "bill:900:points")
    entry = await loyalty.reverse_for_return(session, shop.cashier, member.id, bill_id, 504, 30_000)
    assert entry is not None
    assert (entry.points, entry.balance_after) == (-50, 0)
    assert entry.note == "250 of 300 points were spent already"


async def test_redeem_and_give_back(session: AsyncSession, shop: LoyaltyShop) -> None:
    await _settings(
        session, shop, excluded_category_ids=[], bonus_products=[], redeem_points=100, redeem_value_amount=50
    )
    member = await make_member(session, shop)
    await _earned(session, shop, member, 1_000)
    # 100 points = ¥0.50: points go in steps of 2
    value = await loyalty.redeem_points(session, shop.cashier, member.id, 600, "bill:77:points")
    assert value == shop.money(300)
    assert await loyalty.redeem_points(session, shop.cashier, member.id, 600, "bill:77:points") == shop.money(
        300
    )
    with pytest.raises(Conflict):
        await loyalty.redeem_points(session, shop.cashier, member.id, 200, "bill:77:points")
    with pytest.raises(ValidationFailed):
        await loyalty.redeem_points(session, shop.cashier, member.id, 3, "bill:78:points")
    with pytest.raises(InsufficientBalance) as short:
        await loyalty.redeem_points(session, shop.cashier, member.id, 402, "bill:78:points")
    assert short.value.status == 409
    assert short.value.extra == {"points_balance": 400}

    # the payment is voided: give back part, then the rest, never more than was redeemed
    back = await loyalty.give_back_points(
        session, shop.cashier, member.id, 100, "bill:77:points", idempotency_key="void-1"
    )
    assert (back.kind, back.points, back.balance_after) == (PointsEntryKind.REFUND, 100, 500)
    again = await loyalty.give_back_points(
        session, shop.cashier, member.id, 100, "bill:77:points", idempotency_key="void-1"
    )
    assert again.id == back.id
    with pytest.raises(Conflict):
        await loyalty.give_back_points(session, shop.cashier, member.id, 501, "bill:77:points")
    await loyalty.give_back_points(session, shop.cashier, member.id, 500, "bill:77:points")
    assert await _balance(session, shop, member) == 1_000
    with pytest.raises(NotFound):
        await loyalty.give_back_points(session, shop.cashier, member.id, 1, "bill:unknown")
    statement = await loyalty.points_statement(session, shop.cashier, member.id)
    assert [(entry.kind, entry.points) for entry in statement.entries] == [
        (PointsEntryKind.REFUND, 500),
        (PointsEntryKind.REFUND, 100),
        (PointsEntryKind.REDEEM, -600),
        (PointsEntryKind.EARN, 1_000),
    ]


async def test_owners_adjust_points_with_a_reason(session: AsyncSession, shop: LoyaltyShop) -> None:
    member = await make_member(session, shop)
    entry = await loyalty.adjust_points(
        session, shop.owner, member.id, 40, reason="welcome gift", idempotency_key="adj-1"
    )
    assert (entry.kind, entry.points, entry.note) == (PointsEntryKind.ADJUST, 40, "welcome gift")
    with pytest.raises(InsufficientBalance):
        await loyalty.adjust_points(
            session, shop.owner, member.id, -41, reason="oops", idempotency_key="adj-2"
        )
    with pytest.raises(PermissionDenied):
        await loyalty.adjust_points(
            session, shop.actors[Role.MANAGER], member.id, 1, reason="x", idempotency_key="adj-3"
        )


async def test_points_expire_first_in_first_out(session: AsyncSession, shop: LoyaltyShop) -> None:
    await _settings(session, shop, excluded_category_ids=[], bonus_products=[], points_expiry_months=12)
    member = await make_member(session, shop)
    old_bill = await _earned(session, shop, member, 300)
    new_bill = await _earned(session, shop, member, 200)
    entries = (await session.scalars(select(PointsEntry).where(PointsEntry.member_id == member.id))).all()
    # the first earning is older: move its expiry back (as if earned last year)
    old = next(entry for entry in entries if entry.bill_id == old_bill)
    new = next(entry for entry in entries if entry.bill_id == new_bill)
    old.expires_on = date(2030, 3, 1)
    new.expires_on = date(2030, 9, 1)
    await session.flush()
    # 120 redeemed (from the oldest points) and 30 of the old bill returned
    await loyalty.redeem_points(session, shop.cashier, member.id, 120, "r1")
    await loyalty.reverse_for_return(session, shop.cashier, member.id, old_bill, 505, 3_000)
    assert await _balance(session, shop, member) == 350
    assert await points_due_to_expire(session, member.id, date(2030, 2, 28)) == 0
    # on 1 March: 300 - 30 returned - 120 spent = 150 expire
    assert await points_due_to_expire(session, member.id, date(2030, 3, 1)) == 150
    actor = shop.system
    expired = await expire_member_points(session, actor, member, date(2030, 3, 1))
    assert expired is not None
    assert (expired.points, expired.balance_after) == (-150, 200)
    assert await expire_member_points(session, actor, member, date(2030, 3, 1)) is None  # once a day
    assert await points_due_to_expire(session, member.id, date(2030, 3, 2)) == 0
    # in September the rest goes
    later = await expire_member_points(session, actor, member, date(2030, 9, 1))
    assert later is not None
    assert later.points == -200
    assert await _balance(session, shop, member) == 0


async def test_statement_pages_back(session: AsyncSession, shop: LoyaltyShop) -> None:
    await _settings(session, shop, excluded_category_ids=[], bonus_products=[])
    member = await make_member(session, shop)
    for _ in range(3):
        await _earned(session, shop, member, 10)
    first = await loyalty.points_statement(session, shop.cashier, member.id, limit=2)
    assert [entry.balance_after for entry in first.entries] == [30, 20]
    rest = await loyalty.points_statement(
        session, shop.cashier, member.id, limit=2, before_id=first.entries[-1].id
    )
    assert [entry.balance_after for entry in rest.entries] == [10]
    assert first.balance == 30
