"""Loyalty at the counter: what orders, payments and returns call through their hooks
(installed in ``kassa.wiring``), so none of them imports loyalty.

- the member's tier discount when a member is attached to a bill;
- stored value and points as tenders (``MemberWallet``), and their refunds;
- points earned when a bill closes (on what was paid in money, not in points), and taken
  back when a return is approved;
- the facts the register shows under the member's name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Permission
from kassa.core.errors import Conflict, ValidationFailed
from kassa.core.i18n import format_money, translator
from kassa.core.money import Money, allocate
from kassa.loyalty import service as loyalty
from kassa.loyalty.accounts import account_of, loyalty_settings, organization_today
from kassa.loyalty.models import Coupon, CouponStatus
from kassa.members.models import Member
from kassa.members.profile import usual_order
from kassa.orders import service as orders
from kassa.orders.models import Bill, BillLine, BillStatus, LineStatus
from kassa.orders.totals import totals_of
from kassa.payments.models import Payment, PaymentStatus, Refund, RefundStatus, Tender
from kassa.stores.models import Store


def _system(bill_or_store_organization: int, store_id: int | None, name: str) -> Actor:
    # Loyalty bookkeeping follows from the sale itself, whoever rang it up.
    return Actor.system(bill_or_store_organization, store_id, name=name)


async def tier_discount(
    session: AsyncSession, organization_id: int, member_id: int
) -> tuple[str, int] | None:
    """(tier name, discount basis points) for a member attached to a bill."""
    tier = await loyalty.member_tier(session, organization_id, member_id)
    if tier is None or tier.discount_basis_points <= 0:
        return None
    return tier.name, tier.discount_basis_points


class LoyaltyWallet:
    """Stored value and points behind the payments capability's ``MemberWallet``."""

    async def charge(
        self,
        session: AsyncSession,
        actor: Actor,
        member_id: int,
        tender: Tender,
        amount: Money,
        reference: str,
    ) -> dict[str, Any]:
        member = await session.get(Member, member_id)
        assert member is not None
        system = _system(member.organization_id, actor.store_id, "member tender")
        if tender == Tender.STORED_VALUE:
            charge = await loyalty.charge_stored_value(session, system, member_id, amount, reference)
            return {"principal": charge.principal.amount, "bonus": charge.bonus.amount}
        points = await _points_for(session, member.organization_id, amount)
        value = await loyalty.redeem_points(session, system, member_id, points, reference)
        return {"points": points, "value": value.amount}

    async def refund(
        self,
        session: AsyncSession,
        actor: Actor,
        member_id: int,
        tender: Tender,
        amount: Money,
        reference: str,
    ) -> dict[str, Any]:
        member = await session.get(Member, member_id)
        assert member is not None
        system = _system(member.organization_id, actor.store_id, "member refund")
        if tender == Tender.STORED_VALUE:
            await loyalty.refund_stored_value(session, system, member_id, reference, amount)
            return {"stored_value": amount.amount}
        points = await _points_for(session, member.organization_id, amount)
        await loyalty.give_back_points(session, system, member_id, points, reference)
        return {"points": points}


async def _points_for(session: AsyncSession, organization_id: int, amount: Money) -> int:
    """How many points pay ``amount`` at the organization's rate (exactly, or refused)."""
    settings = await loyalty_settings(session, organization_id)
    points, remainder = divmod(amount.amount * settings.redeem_points, settings.redeem_value_amount)
    if remainder:
        raise ValidationFailed(
            f"{amount} is not a whole number of points ({settings.redeem_points} points = "
            f"{Money(settings.redeem_value_amount, amount.currency)})",
            field="amount",
        )
    return points


async def earn_on_close(session: AsyncSession, actor: Actor, bill: Bill) -> None:
    """Credit the points a closed bill earns its member: each line's share of what was paid
    in money (points paid nothing new, so they earn nothing)."""
    if bill.member_id is None or bill.status != BillStatus.CLOSED:
        return
    member = await session.get(Member, bill.member_id)
    if member is None or member.erased_at is not None:
        return
    lines = list(
        (
            await session.scalars(
                select(BillLine)
                .where(BillLine.bill_id == bill.id, BillLine.status == LineStatus.ACTIVE)
                .order_by(BillLine.id)
            )
        ).all()
    )
    if not lines:
        return
    points_paid = sum(
        (
            await session.scalars(
                select(Payment.amount).where(
                    Payment.bill_id == bill.id,
                    Payment.status == PaymentStatus.SUCCEEDED,
                    Payment.tender == Tender.POINTS,
                )
            )
        ).all()
    )
    totals = totals_of(bill, lines)
    nets = [line.total_amount - share for line, share in zip(lines, totals.discount_shares, strict=True)]
    earning = max(bill.total_amount + bill.rounding_amount - points_paid, 0)
    shares = allocate(earning, nets) if sum(nets) > 0 else [0] * len(nets)
    earn_lines = [
        loyalty.EarnLine(
            product_id=line.product_id, category_id=line.category_id, net_amount=share, quantity=line.quantity
        )
        for line, share in zip(lines, shares, strict=True)
    ]
    system = _system(member.organization_id, bill.store_id, "points for a sale")
    await loyalty.earn_for_bill(session, system, member.id, bill.id, earn_lines)


async def reverse_on_return(session: AsyncSession, bill: Bill, return_id: int, returned_amount: int) -> None:
    """A return takes back the points its dishes earned."""
    if bill.member_id is None or returned_amount <= 0:
        return
    member = await session.get(Member, bill.member_id)
    if member is None:
        return
    # Points earn only on money: what goes back in points took back no earned points.
    back_in_points = sum(
        (
            await session.scalars(
                select(Refund.amount).where(
                    Refund.source_type == "return",
                    Refund.source_id == return_id,
                    Refund.tender == Tender.POINTS,
                    Refund.status != RefundStatus.CANCELLED,
                )
            )
        ).all()
    )
    system = _system(member.organization_id, bill.store_id, "points of a return")
    await loyalty.reverse_for_return(
        session, system, member.id, bill.id, return_id, max(returned_amount - back_in_points, 0)
    )


async def member_facts(session: AsyncSession, organization_id: int, member_id: int) -> list[str]:
    """Tier, points, stored value and usable coupons, for the register's member strip."""
    member = await session.get(Member, member_id)
    if member is None:
        return []
    account = await account_of(session, member)
    facts: list[str] = []
    store = await session.scalar(select(Store).where(Store.organization_id == organization_id).limit(1))
    locale = store.locale if store is not None else "zh_CN"
    tier = await loyalty.member_tier(session, organization_id, member_id)
    if tier is not None:
        facts.append(tier.display_name(locale))
    if account is not None:
        facts.append(translator(locale)("{points} points").format(points=account.points_balance))
        balance = account.principal_amount + account.bonus_amount
        if balance:
            facts.append(format_money(Money(balance, account.currency), locale))
    coupons = await loyalty.member_coupons(
        session,
        Actor.system(organization_id),
        member_id,
        usable_on=await organization_today(session, organization_id),
    )
    if coupons:
        facts.append(f"{len(coupons)} 🎟")
    usual = await usual_order(session, member_id, limit=3)
    if usual:
        facts.append("♥ " + ", ".join(item.name for item in usual))
    return facts


# --- coupons on a bill (top-ups: ``loyalty.top_ups``) ---------------------------------------


COUPON_REASON_PREFIX = "coupon "


async def apply_coupon(session: AsyncSession, actor: Actor, bill_id: int, version: int, code: str) -> Bill:
    """Use a member's coupon on their bill: it becomes the bill discount (a fixed amount, the
    coupon named as the reason), so receipts, VAT, the Z report and return refunds treat it
    like any bill discount. Taking the discount off gives the coupon back."""
    actor.require(Permission.BILL_EDIT)
    bill = await orders.lock_bill(session, actor, bill_id, version)
    coupon = await loyalty.find_coupon(session, actor, code)
    if bill.member_id is None:
        raise Conflict("attach the coupon's member to the bill first", field="code")
    if bill.discount_reason is not None or bill.discount_basis_points or bill.discount_fixed_amount:
        raise Conflict("the bill has a discount already; take it off first", field="code")
    lines = await orders.bill_lines(session, bill.id, include_voided=False)
    eligible = sum(
        line.total_amount for line in lines if not coupon.product_ids or line.product_id in coupon.product_ids
    )
    discount = await loyalty.redeem_coupon(
        session, actor, coupon.id, bill.id, bill.subtotal_amount, min(eligible, bill.subtotal_amount)
    )
    bill.discount_fixed_amount = discount
    bill.discount_basis_points = None
    bill.discount_reason = f"{COUPON_REASON_PREFIX}{coupon.code} {coupon.name}"[:200]
    bill.discount_by_staff_id = actor.staff_id
    bill.rounding_amount = 0
    await orders.recalculate(session, bill)
    orders.announce(session, bill)
    return bill


async def give_coupon_back(session: AsyncSession, actor: Actor, bill: Bill) -> None:
    """The bill discount came off: a coupon redeemed on this bill is usable again."""
    coupon = await session.scalar(
        select(Coupon).where(Coupon.redeemed_bill_id == bill.id, Coupon.status == CouponStatus.REDEEMED)
    )
    if coupon is not None:
        system = _system(coupon.organization_id, bill.store_id, "coupon given back")
        await loyalty.unredeem_coupon(session, system, coupon.id, bill.id)
