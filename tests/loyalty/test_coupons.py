"""Coupons: issued with copied terms, usable within their window, above their minimum spend,
on their products, redeemed once; the pure discount rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from kassa.core.database import utc_now
from kassa.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kassa.loyalty import service as loyalty
from kassa.loyalty.accounts import organization_today
from kassa.loyalty.models import CouponSource, CouponStatus, DiscountKind
from kassa.loyalty.rules import coupon_discount
from tests.loyalty.conftest import LoyaltyShop, amount_coupon, close_bill, make_member


@dataclass(frozen=True)
class Terms:
    discount_kind: str
    discount_amount: int | None = None
    discount_basis_points: int | None = None
    minimum_spend_amount: int = 0
    currency: str = "CNY"


@pytest.mark.parametrize(
    ("terms", "subtotal", "eligible", "discount"),
    [
        (Terms("amount", 2_000), 10_000, 10_000, 2_000),
        (Terms("amount", 2_000, minimum_spend_amount=10_000), 9_999, 9_999, 0),  # below the minimum spend
        (
            Terms("amount", 2_000, minimum_spend_amount=10_000),
            10_000,
            1_500,
            1_500,
        ),  # never more than eligible
        (Terms("amount", 2_000), 10_000, 0, 0),  # nothing eligible
        (Terms("percent", discount_basis_points=1_500), 10_000, 3_333, 500),  # 499.95 rounds half up
        (Terms("percent", discount_basis_points=10_000), 10_000, 10_000, 10_000),
    ],
)
def test_coupon_discount(terms: Terms, subtotal: int, eligible: int, discount: int) -> None:
    assert coupon_discount(terms, subtotal, eligible) == discount


def test_coupon_discount_needs_an_eligible_part_of_the_subtotal() -> None:
    with pytest.raises(ValidationFailed):
        coupon_discount(Terms("amount", 100), 1_000, 1_001)


async def test_a_coupon_is_issued_with_its_terms_copied_and_redeemed_once(
    session: AsyncSession, shop: LoyaltyShop
) -> None:
    definition_id = await amount_coupon(session, shop, amount=2_000, minimum=10_000, valid_days=7)
    member = await make_member(session, shop)
    [coupon] = await loyalty.issue_coupon(session, shop.cashier, definition_id, [member.id])
    today = await organization_today(session, shop.organization.id)
    assert (coupon.status, coupon.source, coupon.valid_from, coupon.valid_until) == (
        CouponStatus.ISSUED,
        CouponSource.STAFF,
        today,
        today + timedelta(days=6),
    )
    assert len(coupon.code) == 10
    # the owner changes the definition: the coupon keeps its terms
    await loyalty.update_coupon_definition(
        session,
        shop.owner,
        definition_id,
        loyalty.CouponDefinitionInput(
            name="¥5 off", discount_kind=DiscountKind.AMOUNT, discount_amount=500, valid_days=7
        ),
    )
    bill = await close_bill(session, shop, member, 12_000)
    with pytest.raises(Conflict):  # below the minimum spend
        await loyalty.redeem_coupon(session, shop.cashier, coupon.id, bill.id, 9_000, 9_000)
    assert await loyalty.redeem_coupon(session, shop.cashier, coupon.id, bill.id, 12_000, 12_000) == 2_000
    # the same bill asking again gets the same discount; another bill is refused
    assert await loyalty.redeem_coupon(session, shop.cashier, coupon.id, bill.id, 12_000, 12_000) == 2_000
    other_bill = await close_bill(session, shop, member, 12_000)
    with pytest.raises(Conflict):
        await loyalty.redeem_coupon(session, shop.cashier, coupon.id, other_bill.id, 12_000, 12_000)
    assert await loyalty.member_coupons(session, shop.cashier, member.id, usable_on=today) == []
    # the bill is voided: the coupon comes back and works on another bill
    await loyalty.unredeem_coupon(session, shop.cashier, coupon.id, bill.id)
    assert [
        item.id for item in await loyalty.member_coupons(session, shop.cashier, member.id, usable_on=today)
    ] == [coupon.id]
    assert (
        await loyalty.redeem_coupon(session, shop.cashier, coupon.id, other_bill.id, 12_000, 12_000) == 2_000
    )


async def test_a_coupon_works_only_within_its_window(session: AsyncSession, shop: LoyaltyShop) -> None:
    today = await organization_today(session, shop.organization.id)
    later = await amount_coupon(
        session,
        shop,
        valid_days=None,
        valid_from=today + timedelta(days=3),
        valid_until=today + timedelta(days=10),
    )
    member = await make_member(session, shop)
    [coupon] = await loyalty.issue_coupon(session, shop.cashier, later, [member.id])
    assert (coupon.valid_from, coupon.valid_until) == (today + timedelta(days=3), today + timedelta(days=10))
    bill = await close_bill(session, shop, member, 5_000)
    with pytest.raises(Conflict):
        await loyalty.redeem_coupon(session, shop.cashier, coupon.id, bill.id, 5_000, 5_000)
    assert await loyalty.member_coupons(session, shop.cashier, member.id, usable_on=today) == []
    assert (
        len(
            await loyalty.member_coupons(
                session, shop.cashier, member.id, usable_on=today + timedelta(days=3)
            )
        )
        == 1
    )
    assert (
        await loyalty.redeem_coupon(
            session, shop.cashier, coupon.id, bill.id, 5_000, 5_000, at=utc_now() + timedelta(days=4)
        )
        == 2_000
    )
    # a window that has ended issues nothing
    ended = await amount_coupon(
        session,
        shop,
        valid_days=None,
        valid_from=today - timedelta(days=10),
        valid_until=today - timedelta(days=1),
    )
    with pytest.raises(Conflict):
        await loyalty.issue_coupon(session, shop.cashier, ended, [member.id])
    # and the daily expiry marks unused coupons whose last day has passed
    [short] = await loyalty.issue_coupon(
        session, shop.cashier, await amount_coupon(session, shop, valid_days=1), [member.id]
    )
    assert await loyalty.expire_coupons(session, shop.organization.id, today + timedelta(days=1)) == 1
    await session.refresh(short)
    assert short.status == CouponStatus.EXPIRED


async def test_a_product_coupon_discounts_only_its_products(session: AsyncSession, shop: LoyaltyShop) -> None:
    definition = await loyalty.create_coupon_definition(
        session,
        shop.owner,
        loyalty.CouponDefinitionInput(
            name="Latte 20% off",
            discount_kind=DiscountKind.PERCENT,
            discount_basis_points=2_000,
            product_ids=[shop.products["latte"]],
            valid_days=30,
        ),
    )
    member = await make_member(session, shop)
    [coupon] = await loyalty.issue_coupon(session, shop.cashier, definition.id, [member.id])
    assert coupon.product_ids == [shop.products["latte"]]
    bill = await close_bill(session, shop, member, 11_200)
    with pytest.raises(Conflict):  # no latte on the bill
        await loyalty.redeem_coupon(session, shop.cashier, coupon.id, bill.id, 11_200, 0)
    assert await loyalty.redeem_coupon(session, shop.cashier, coupon.id, bill.id, 11_200, 2_400) == 480


async def test_coupons_belong_to_their_member(session: AsyncSession, shop: LoyaltyShop) -> None:
    definition_id = await amount_coupon(session, shop)
    member = await make_member(session, shop)
    other = await make_member(session, shop)
    [coupon] = await loyalty.issue_coupon(session, shop.cashier, definition_id, [member.id])
    bill = await close_bill(session, shop, other, 5_000)
    with pytest.raises(Conflict):
        await loyalty.redeem_coupon(session, shop.cashier, coupon.id, bill.id, 5_000, 5_000)
    found = await loyalty.find_coupon(session, shop.cashier, coupon.code.lower())
    assert found.id == coupon.id
    with pytest.raises(NotFound):
        await loyalty.issue_coupon(session, shop.cashier, definition_id, [member.id, 10**9])


async def test_who_issues_what(session: AsyncSession, shop: LoyaltyShop) -> None:
    definition_id = await amount_coupon(session, shop)
    member = await make_member(session, shop)
    with pytest.raises(PermissionDenied):
        await loyalty.issue_coupon(session, shop.actors[Role.WAITER], definition_id, [member.id])
    with pytest.raises(PermissionDenied):  # campaigns are the owner's
        await loyalty.issue_coupon(
            session, shop.actors[Role.MANAGER], definition_id, [member.id], source=CouponSource.CAMPAIGN
        )
    issued = await loyalty.issue_coupon(
        session, shop.owner, definition_id, [member.id, member.id], source=CouponSource.CAMPAIGN
    )
    assert len(issued) == 1
    # an issue key gives a coupon once
    first = await loyalty.issue_coupon(session, shop.owner, definition_id, [member.id], issue_key="launch:1")
    assert len(first) == 1
    assert (
        await loyalty.issue_coupon(session, shop.owner, definition_id, [member.id], issue_key="launch:1")
        == []
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"discount_kind": DiscountKind.AMOUNT, "discount_amount": None}, "discount_amount"),
        ({"discount_kind": DiscountKind.PERCENT, "discount_basis_points": 10_001}, "discount_basis_points"),
        ({"valid_days": None}, "valid_days"),
        ({"valid_days": 3, "valid_from": utc_now().date()}, "valid_days"),
    ],
)
async def test_bad_coupon_definitions_are_refused(
    session: AsyncSession, shop: LoyaltyShop, changes: dict[str, object], field: str
) -> None:
    values: dict[str, object] = {
        "name": "X",
        "discount_kind": DiscountKind.AMOUNT,
        "discount_amount": 100,
        "valid_days": 3,
    }
    values.update(changes)
    with pytest.raises(ValidationFailed) as refused:
        await loyalty.create_coupon_definition(session, shop.owner, loyalty.CouponDefinitionInput(**values))  # type: ignore[arg-type]
    assert field in {problem.field for problem in refused.value.errors}
