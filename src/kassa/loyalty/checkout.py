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

from kassa.core.auth import Actor
from kassa.core.i18n import format_money, translator
from kassa.core.money import Money, allocate
from kassa.loyalty import service as loyalty
from kassa.loyalty.accounts import account_of, loyalty_settings, organization_today
from kassa.members.models import Member
from kassa.members.profile import usual_order
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
        from kassa.core.errors import ValidationFailed

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
