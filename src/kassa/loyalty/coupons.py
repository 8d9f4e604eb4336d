"""Coupons: issued to members from the organization's definitions (by staff, a campaign or the
birthday run), redeemed once on a bill, expired by the daily run.

Redeeming is one conditional UPDATE (``status = 'issued'`` → ``'redeemed'``), so of two
registers redeeming one coupon at once, one gets the discount and the other a 409.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.database import utc_now
from kassa.core.errors import Conflict, NotFound, ValidationFailed
from kassa.core.scope import load_scoped
from kassa.loyalty.accounts import local_date, member_for, organization_today
from kassa.loyalty.models import Coupon, CouponDefinition, CouponSource, CouponStatus
from kassa.loyalty.rules import coupon_discount
from kassa.members.models import Member
from kassa.orders.models import Bill
from kassa.stores.models import Store

# No 0/O, 1/I/L: a code read out over the counter is typed right.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
CODE_ATTEMPTS = 5
MAX_MEMBERS_PER_ISSUE = 1000

__all__ = [
    "coupon_discount",
    "expire_coupons",
    "find_coupon",
    "issue_coupon",
    "member_coupons",
    "redeem_coupon",
    "unredeem_coupon",
    "void_coupon",
]


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def validity(definition: CouponDefinition, issued_on: date) -> tuple[date, date]:
    """(first, last day) a coupon issued on ``issued_on`` may be used: ``valid_days`` days
    counting the day of issue, or the definition's fixed dates."""
    if definition.valid_days:
        return issued_on, issued_on + timedelta(days=definition.valid_days - 1)
    assert definition.valid_from is not None
    assert definition.valid_until is not None
    return definition.valid_from, definition.valid_until


async def definition_of(session: AsyncSession, actor: Actor, definition_id: int) -> CouponDefinition:
    definition = await load_scoped(
        session, actor, CouponDefinition, definition_id, field="definition_id", what="coupon definition"
    )
    return definition


def _required_permission(source: CouponSource) -> Permission:
    # Staff give a coupon at the counter; campaigns (and the birthday run) are the owner's.
    return Permission.MEMBER_COUPON_ISSUE if source == CouponSource.STAFF else Permission.SETTINGS_MANAGE


async def issue_coupon(
    session: AsyncSession,
    actor: Actor,
    definition_id: int,
    member_ids: Sequence[int],
    *,
    source: CouponSource = CouponSource.STAFF,
    issue_key: str | None = None,
    issued_on: date | None = None,
) -> list[Coupon]:
    """Give each member a coupon of the definition, its terms copied and its validity counted
    from today (the organization's local date). An ``issue_key`` (one member only) makes the
    issue happen once: asked again, nothing new is issued and the list is empty."""
    actor.require(_required_permission(source))
    definition = await definition_of(session, actor, definition_id)
    if not definition.is_active:
        raise Conflict("this coupon definition is switched off", field="definition_id")
    unique_ids = list(dict.fromkeys(member_ids))
    if not unique_ids:
        raise ValidationFailed("name at least one member", field="member_ids")
    if len(unique_ids) > MAX_MEMBERS_PER_ISSUE:
        raise ValidationFailed(f"at most {MAX_MEMBERS_PER_ISSUE} members at once", field="member_ids")
    if issue_key is not None and len(unique_ids) != 1:
        raise ValidationFailed("an issue key names one member's coupon", field="member_ids")
    members = (
        await session.scalars(
            select(Member).where(
                Member.id.in_(unique_ids),
                Member.organization_id == actor.organization_id,
                Member.erased_at.is_(None),
            )
        )
    ).all()
    missing = sorted(set(unique_ids) - {member.id for member in members})
    if missing:
        raise NotFound(f"no member {missing[0]}", field="member_ids", extra={"member_ids": missing})
    today = issued_on or await organization_today(session, actor.organization_id)
    first_day, last_day = validity(definition, today)
    if last_day < today:
        raise Conflict("this coupon's validity has ended", field="definition_id")
    issued: list[Coupon] = []
    for member_id in unique_ids:
        coupon = await issue_one_coupon(
            session, actor, definition, member_id, source, issue_key, max(first_day, today), last_day
        )
        if coupon is not None:
            issued.append(coupon)
    return issued


async def issue_one_coupon(
    session: AsyncSession,
    actor: Actor,
    definition: CouponDefinition,
    member_id: int,
    source: CouponSource,
    issue_key: str | None,
    first_day: date,
    last_day: date,
) -> Coupon | None:
    if issue_key is not None:
        existing = await session.scalar(select(Coupon.id).where(Coupon.issue_key == issue_key))
        if existing is not None:
            return None
    for _attempt in range(CODE_ATTEMPTS):
        coupon = Coupon(
            organization_id=definition.organization_id,
            definition_id=definition.id,
            member_id=member_id,
            code=new_code(),
            status=CouponStatus.ISSUED,
            source=source,
            issue_key=issue_key,
            name=definition.name,
            name_translations=dict(definition.name_translations),
            currency=definition.currency,
            discount_kind=definition.discount_kind,
            discount_amount=definition.discount_amount,
            discount_basis_points=definition.discount_basis_points,
            minimum_spend_amount=definition.minimum_spend_amount,
            product_ids=list(definition.product_ids),
            valid_from=first_day,
            valid_until=last_day,
            issued_at=utc_now(),
            issued_by_staff_id=actor.staff_id,
            # Set, not left out: the conditional UPDATEs below refresh only loaded attributes.
            redeemed_at=None,
            redeemed_bill_id=None,
            redeemed_discount_amount=None,
            redeemed_by_staff_id=None,
        )
        try:
            # A savepoint: a repeated code (or a concurrent issue of the same key) leaves the
            # unit of work usable.
            async with session.begin_nested():
                session.add(coupon)
        except IntegrityError:
            if issue_key is not None:
                taken = await session.scalar(select(Coupon.id).where(Coupon.issue_key == issue_key))
                if taken is not None:
                    return None
            continue
        break
    else:
        raise Conflict("no free coupon code found; try again", field="code")
    audit.record(
        session,
        actor,
        "loyalty.coupon.issue",
        "coupon",
        coupon.id,
        after={
            "member_id": member_id,
            "definition_id": definition.id,
            "source": source,
            "valid_from": first_day,
            "valid_until": last_day,
        },
    )
    return coupon


async def member_coupons(
    session: AsyncSession, actor: Actor, member_id: int, *, usable_on: date | None = None
) -> list[Coupon]:
    """The member's coupons, newest first; with ``usable_on`` only those that may be used on
    that day (issued, within their validity), soonest to expire first."""
    member = await member_for(session, actor, member_id, Permission.MEMBER_VIEW)
    query = select(Coupon).where(Coupon.member_id == member.id)
    if usable_on is None:
        query = query.order_by(Coupon.issued_at.desc(), Coupon.id.desc())
    else:
        query = query.where(
            Coupon.status == CouponStatus.ISSUED,
            Coupon.valid_from <= usable_on,
            Coupon.valid_until >= usable_on,
        ).order_by(Coupon.valid_until, Coupon.id)
    return list((await session.scalars(query)).all())


async def coupon_of(session: AsyncSession, actor: Actor, coupon_id: int) -> Coupon:
    coupon = await load_scoped(session, actor, Coupon, coupon_id, field="coupon_id", what="coupon")
    return coupon


async def find_coupon(session: AsyncSession, actor: Actor, code: str) -> Coupon:
    """A coupon by the code the customer shows (case and spaces do not matter)."""
    actor.require(Permission.MEMBER_VIEW)
    cleaned = "".join(code.split()).upper()
    coupon = await session.scalar(
        select(Coupon).where(Coupon.code == cleaned, Coupon.organization_id == actor.organization_id)
    )
    if coupon is None:
        raise NotFound(f"no coupon {cleaned}", field="code")
    return coupon


async def redeem_coupon(
    session: AsyncSession,
    actor: Actor,
    coupon_id: int,
    bill_id: int,
    subtotal: int,
    eligible_subtotal: int,
    *,
    at: datetime | None = None,
) -> int:
    """Use the coupon on the member's bill: returns the discount (``coupon_discount``). Once
    only: the same bill asking again gets the same discount; another bill gets 409. Refused
    outside its validity (the store's local date), below its minimum spend, or on a bill of
    someone else."""
    actor.require(Permission.MEMBER_MANAGE)
    coupon = await coupon_of(session, actor, coupon_id)
    bill = await session.get(Bill, bill_id)
    store = await session.get(Store, bill.store_id) if bill is not None else None
    if bill is None or store is None or store.organization_id != actor.organization_id:
        raise NotFound(f"no bill {bill_id}", field="bill_id")
    if coupon.status == CouponStatus.REDEEMED and coupon.redeemed_bill_id == bill.id:
        return coupon.redeemed_discount_amount or 0
    if coupon.status != CouponStatus.ISSUED:
        raise Conflict(f"this coupon is {coupon.status.value}", field="coupon_id")
    if bill.member_id != coupon.member_id:
        raise Conflict("this coupon belongs to another member than the bill's", field="coupon_id")
    if coupon.currency != bill.currency:
        raise ValidationFailed(f"this coupon is in {coupon.currency}", field="coupon_id")
    today = local_date(at or utc_now(), store.timezone)
    if not coupon.valid_from <= today <= coupon.valid_until:
        raise Conflict(
            f"this coupon is valid from {coupon.valid_from} to {coupon.valid_until}", field="coupon_id"
        )
    if subtotal < coupon.minimum_spend_amount:
        raise Conflict(
            f"this coupon needs a spend of at least {coupon.minimum_spend_amount}",
            field="subtotal",
            extra={"minimum_spend_amount": coupon.minimum_spend_amount},
        )
    discount = coupon_discount(coupon, subtotal, eligible_subtotal)
    if discount <= 0:
        raise Conflict("nothing on this bill is eligible for this coupon", field="eligible_subtotal")
    redeemed = await session.scalar(
        update(Coupon)
        .where(Coupon.id == coupon.id, Coupon.status == CouponStatus.ISSUED)
        .values(
            status=CouponStatus.REDEEMED,
            redeemed_at=utc_now(),
            redeemed_bill_id=bill.id,
            redeemed_discount_amount=discount,
            redeemed_by_staff_id=actor.staff_id,
        )
        .returning(Coupon.id)
        .execution_options(synchronize_session="fetch")
    )
    if redeemed is None:
        raise Conflict("this coupon was used meanwhile", field="coupon_id")
    await session.refresh(coupon)
    audit.record(
        session,
        actor,
        "loyalty.coupon.redeem",
        "coupon",
        coupon.id,
        store_id=bill.store_id,
        after={"bill_id": bill.id, "discount": discount},
    )
    return discount


async def unredeem_coupon(session: AsyncSession, actor: Actor, coupon_id: int, bill_id: int) -> Coupon:
    """Give the coupon back (its bill was voided or fully returned): usable again within its
    validity; one that has run out meanwhile is marked expired by the next daily run."""
    actor.require(Permission.MEMBER_MANAGE)
    coupon = await coupon_of(session, actor, coupon_id)
    restored = await session.scalar(
        update(Coupon)
        .where(
            Coupon.id == coupon.id,
            Coupon.status == CouponStatus.REDEEMED,
            Coupon.redeemed_bill_id == bill_id,
        )
        .values(
            status=CouponStatus.ISSUED,
            redeemed_at=None,
            redeemed_bill_id=None,
            redeemed_discount_amount=None,
            redeemed_by_staff_id=None,
        )
        .returning(Coupon.id)
        .execution_options(synchronize_session="fetch")
    )
    if restored is None:
        raise Conflict("this coupon is not redeemed on that bill", field="coupon_id")
    await session.refresh(coupon)
    audit.record(session, actor, "loyalty.coupon.unredeem", "coupon", coupon.id, after={"bill_id": bill_id})
    return coupon


async def void_coupon(session: AsyncSession, actor: Actor, coupon_id: int, reason: str) -> Coupon:
    """Take an unused coupon away (given by mistake)."""
    actor.require(Permission.MEMBER_MANAGE)
    coupon = await coupon_of(session, actor, coupon_id)
    voided = await session.scalar(
        update(Coupon)
        .where(Coupon.id == coupon.id, Coupon.status == CouponStatus.ISSUED)
        .values(status=CouponStatus.VOID)
        .returning(Coupon.id)
        .execution_options(synchronize_session="fetch")
    )
    if voided is None:
        raise Conflict(f"this coupon is {coupon.status.value}", field="coupon_id")
    await session.refresh(coupon)
    audit.record(session, actor, "loyalty.coupon.void", "coupon", coupon.id, after={"reason": reason[:200]})
    return coupon


async def expire_coupons(session: AsyncSession, organization_id: int, on: date) -> int:
    """Mark the organization's unused coupons whose last day was before ``on`` expired."""
    expired = (
        await session.scalars(
            update(Coupon)
            .where(
                Coupon.organization_id == organization_id,
                Coupon.status == CouponStatus.ISSUED,
                Coupon.valid_until < on,
            )
            .values(status=CouponStatus.EXPIRED)
            .returning(Coupon.id)
            .execution_options(synchronize_session="fetch")
        )
    ).all()
    if expired:
        audit.record(
            session,
            Actor.system(organization_id, name="loyalty coupon expiry"),
            "loyalty.coupon.expire",
            "organization",
            organization_id,
            after={"count": len(expired), "on": on},
        )
    return len(expired)
