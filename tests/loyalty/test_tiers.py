"""Tiers: a member's last 12 months (spend, or points) put them in a tier; changes up and down
are recorded, audited and texted only to members who agreed to marketing SMS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.audit import AuditRecord
from kassa.core.auth import Role
from kassa.core.database import utc_now
from kassa.core.errors import PermissionDenied, ValidationFailed
from kassa.loyalty import service as loyalty
from kassa.loyalty.models import LoyaltyAccount, TierBasis, TierChange
from kassa.members.models import Member
from kassa.notifications.models import Message
from kassa.orders.models import BillStatus
from kassa.payments.models import Payment, PaymentStatus, Refund, RefundStatus, Tender
from tests.fingerprint import unchanged
from tests.loyalty.conftest import LoyaltyShop, close_bill, make_member

SILVER = loyalty.TierInput(
    name="Silver",
    name_translations={"zh_CN": "银卡会员", "en": "Silver"},
    rank=1,
    spend_threshold_amount=100_000,
    points_threshold=1_000,
    discount_basis_points=500,
    points_multiplier_basis_points=12_000,
)
GOLD = loyalty.TierInput(
    name="Gold",
    name_translations={"zh_CN": "金卡会员", "en": "Gold"},
    rank=2,
    spend_threshold_amount=500_000,
    points_threshold=5_000,
    discount_basis_points=1_000,
    points_multiplier_basis_points=15_000,
)


async def set_tiers(session: AsyncSession, shop: LoyaltyShop) -> None:
    await loyalty.replace_tiers(session, shop.owner, [SILVER, GOLD])


async def _messages(session: AsyncSession, member: Member) -> list[Message]:
    rows = await session.scalars(
        select(Message).where(Message.to_address == member.phone_e164).order_by(Message.id)
    )
    return list(rows.all())


async def _tier_name(session: AsyncSession, shop: LoyaltyShop, member: Member) -> str | None:
    view = await loyalty.member_tier(session, shop.organization.id, member.id)
    return view.name if view is not None else None


async def _refund(
    session: AsyncSession, shop: LoyaltyShop, bill_id: int, amount: int, status: RefundStatus
) -> None:
    payment = Payment(
        bill_id=bill_id,
        store_id=shop.store.id,
        register_id=shop.register.id,
        tender=Tender.CARD,
        status=PaymentStatus.SUCCEEDED,
        amount=amount,
        currency="CNY",
        idempotency_key=f"refund-test-{bill_id}-{status.value}",
        refunded_amount=amount,
        created_by_staff_id=shop.cashier.staff_id,
    )
    session.add(payment)
    await session.flush()
    session.add(
        Refund(
            payment_id=payment.id,
            bill_id=bill_id,
            store_id=shop.store.id,
            tender=Tender.CARD,
            amount=amount,
            currency="CNY",
            status=status,
            reason="test",
            source_type="return",
            source_id=1,
        )
    )
    await session.flush()


async def test_a_member_moves_up_with_their_spend_and_is_texted_when_opted_in(
    session: AsyncSession, shop: LoyaltyShop
) -> None:
    # given two tiers and a member who agreed to marketing SMS
    await set_tiers(session, shop)
    member = await make_member(session, shop, marketing_sms=True, name="Li Lei")
    assert await loyalty.evaluate_tier(session, shop.cashier, member.id) is None
    assert await _tier_name(session, shop, member) is None

    # when they spend ¥1,200 (with 抹零 rounding counted as paid)
    await close_bill(session, shop, member, 120_010, rounding=-10)
    change = await loyalty.evaluate_tier(session, shop.cashier, member.id)

    # then they are Silver, the change is recorded, audited and texted in the store's language
    assert change is not None
    assert (change.from_tier_id, change.basis, change.qualifying_value, change.cause) == (
        None,
        TierBasis.SPEND,
        120_000,
        "staff",
    )
    view = await loyalty.member_tier(session, shop.organization.id, member.id)
    assert view is not None
    assert (view.name, view.display_name("zh_CN"), view.discount_basis_points) == ("Silver", "银卡会员", 500)
    assert view.points_multiplier_basis_points == 12_000
    assert view.next_tier is not None
    assert view.next_tier.name == "Gold"
    assert (view.qualifying_value, view.remaining_to_next_tier) == (120_000, 380_000)
    [message] = await _messages(session, member)
    assert message.event == "tier_change"
    assert (
        message.body == f"【{shop.store.name}】Li Lei，您的会员等级已变更为银卡会员，感谢您的支持！回复TD退订"
    )
    await session.commit()  # audit records are appended at the commit
    record = await session.scalar(select(AuditRecord).where(AuditRecord.action == "loyalty.tier_change"))
    assert record is not None
    assert record.after == {
        "tier_id": change.to_tier_id,
        "basis": "spend",
        "qualifying_value": 120_000,
        "cause": "staff",
    }

    # and evaluating again changes nothing and sends nothing more
    assert await loyalty.evaluate_tier(session, shop.cashier, member.id) is None
    await close_bill(session, shop, member, 400_000)
    up = await loyalty.evaluate_tier(session, shop.cashier, member.id)
    assert up is not None
    assert (up.from_tier_id, up.to_tier_id) == (change.to_tier_id, view.next_tier.tier_id)
    assert await _tier_name(session, shop, member) == "Gold"
    assert len(await _messages(session, member)) == 2


async def test_a_member_moves_down_when_their_purchases_leave_the_12_months(
    session: AsyncSession, shop: LoyaltyShop
) -> None:
    await set_tiers(session, shop)
    member = await make_member(session, shop, marketing_sms=True)
    now = utc_now()
    await close_bill(session, shop, member, 600_000, closed_at=now - timedelta(days=300))
    await close_bill(session, shop, member, 150_000, closed_at=now - timedelta(days=10))
    assert await loyalty.evaluate_tier(session, shop.cashier, member.id, at=now) is not None
    assert await _tier_name(session, shop, member) == "Gold"

    # 70 days later the big purchase is more than a year old: down to Silver
    down = await loyalty.evaluate_tier(session, shop.cashier, member.id, at=now + timedelta(days=70))
    assert down is not None
    assert down.qualifying_value == 150_000
    assert await _tier_name(session, shop, member) == "Silver"
    # a year after the last purchase: no tier at all, and the SMS says so
    gone = await loyalty.evaluate_tier(session, shop.cashier, member.id, at=now + timedelta(days=400))
    assert gone is not None
    assert gone.to_tier_id is None
    assert await _tier_name(session, shop, member) is None
    bodies = [message.body for message in await _messages(session, member)]
    assert len(bodies) == 3
    assert "金卡会员" in bodies[0]
    assert "银卡会员" in bodies[1]
    assert "普通会员" in bodies[2]
    history = (
        await session.scalars(
            select(TierChange).where(TierChange.member_id == member.id).order_by(TierChange.id)
        )
    ).all()
    assert [item.qualifying_value for item in history] == [750_000, 150_000, 0]


async def test_no_sms_for_a_member_without_marketing_consent(
    session: AsyncSession, shop: LoyaltyShop
) -> None:
    await set_tiers(session, shop)
    member = await make_member(session, shop, marketing_sms=False)
    await close_bill(session, shop, member, 500_000)
    change = await loyalty.evaluate_tier(session, shop.cashier, member.id)
    assert change is not None
    assert await _tier_name(session, shop, member) == "Gold"
    assert await _messages(session, member) == []


async def test_refunds_and_open_bills_do_not_count_as_spend(session: AsyncSession, shop: LoyaltyShop) -> None:
    await set_tiers(session, shop)
    member = await make_member(session, shop)
    bill = await close_bill(session, shop, member, 150_000)
    await _refund(session, shop, bill.id, 60_000, RefundStatus.SUCCEEDED)
    await _refund(session, shop, bill.id, 1_000, RefundStatus.CANCELLED)  # never paid out: counts as spend
    await close_bill(session, shop, member, 90_000, status=BillStatus.OPEN)
    await close_bill(session, shop, None, 900_000)  # someone else's
    assert await loyalty.evaluate_tier(session, shop.cashier, member.id) is None
    position = await loyalty.member_loyalty(session, shop.cashier, member.id)
    assert position.standing.qualifying_value == 90_000
    assert position.standing.next_tier is not None
    assert position.standing.next_tier.name == "Silver"
    assert position.standing.remaining_to_next_tier == 10_000


async def test_tiers_by_points_earned(session: AsyncSession, shop: LoyaltyShop) -> None:
    await set_tiers(session, shop)
    await loyalty.update_loyalty_settings(
        session, shop.owner, loyalty.SettingsInput(tier_basis=TierBasis.POINTS, points_per_currency_unit=1)
    )
    member = await make_member(session, shop)
    bill = await close_bill(session, shop, member, 120_000)
    # ¥1,200 earns 1,200 points, which reach Silver's 1,000 (the bill's earning evaluates the tier)
    await loyalty.earn_for_bill(
        session,
        shop.cashier,
        member.id,
        bill.id,
        [loyalty.EarnLine(shop.products["latte"], shop.categories["coffee"], 120_000)],
    )
    assert await _tier_name(session, shop, member) == "Silver"
    # a return takes 300 points back: 900 < 1,000, down again
    await loyalty.reverse_for_return(session, shop.cashier, member.id, bill.id, 1, 30_000)
    assert await _tier_name(session, shop, member) is None


async def test_switched_off_tiers_are_kept_and_members_move_on_their_next_evaluation(
    session: AsyncSession, shop: LoyaltyShop
) -> None:
    await set_tiers(session, shop)
    member = await make_member(session, shop)
    await close_bill(session, shop, member, 600_000)
    await loyalty.evaluate_tier(session, shop.cashier, member.id)
    tiers = await loyalty.list_tiers(session, shop.cashier)
    silver = next(tier for tier in tiers if tier.name == "Silver")
    # the owner keeps only Silver (renamed): Gold is switched off
    kept = await loyalty.replace_tiers(
        session,
        shop.owner,
        [loyalty.TierInput(name="Silver+", rank=1, spend_threshold_amount=100_000, tier_id=silver.id)],
    )
    assert [(tier.id, tier.name) for tier in kept] == [(silver.id, "Silver+")]
    assert await _tier_name(session, shop, member) is None  # Gold no longer applies
    account = await session.scalar(select(LoyaltyAccount).where(LoyaltyAccount.member_id == member.id))
    assert account is not None
    assert account.tier_id is not None
    await loyalty.evaluate_tier(session, shop.cashier, member.id)
    assert await _tier_name(session, shop, member) == "Silver+"


@pytest.mark.parametrize(
    ("tiers", "field"),
    [
        ([SILVER, loyalty.TierInput(name="Dup", rank=1)], "tiers"),
        (
            [
                loyalty.TierInput(name="Low", rank=2, spend_threshold_amount=10),
                loyalty.TierInput(name="High", rank=3),
            ],
            "tiers",
        ),
        ([loyalty.TierInput(name="Too much", rank=1, discount_basis_points=10_001)], "tiers[0]"),
        ([loyalty.TierInput(name=" ", rank=1)], "tiers[0].name"),
    ],
)
async def test_bad_tiers_are_refused(
    session: AsyncSession, shop: LoyaltyShop, tiers: list[loyalty.TierInput], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await loyalty.replace_tiers(session, shop.owner, tiers)
    assert field in {problem.field for problem in refused.value.errors}


@pytest.mark.parametrize("role", [Role.MANAGER, Role.CASHIER, Role.WAITER])
async def test_only_owners_set_tiers(session: AsyncSession, shop: LoyaltyShop, role: Role) -> None:
    async with unchanged(session):
        with pytest.raises(PermissionDenied):
            await loyalty.replace_tiers(session, shop.actors[role], [SILVER])


async def test_only_the_basis_in_use_must_rise_with_rank(session: AsyncSession, shop: LoyaltyShop) -> None:
    # points thresholds that fall with rank are fine while tiers go by spend ...
    await loyalty.replace_tiers(
        session,
        shop.owner,
        [
            loyalty.TierInput(name="Silver", rank=1, spend_threshold_amount=100_000, points_threshold=5_000),
            loyalty.TierInput(name="Gold", rank=2, spend_threshold_amount=500_000, points_threshold=1_000),
        ],
    )
    # ... but switching to points needs them put right first
    with pytest.raises(ValidationFailed) as refused:
        await loyalty.update_loyalty_settings(
            session, shop.owner, loyalty.SettingsInput(tier_basis=TierBasis.POINTS)
        )
    assert refused.value.field == "tier_basis"
