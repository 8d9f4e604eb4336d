"""Points: earned on bills, taken back by returns, redeemed as money, given back, expired.

The ledger (``PointsEntry``) is append-only; the member's balance on their account moves in
the same transaction by a conditional UPDATE that never lets it below zero. Every entry has
an idempotency key naming its business event, so a bill earns once however often checkout
asks, and a return takes back once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.database import utc_now
from kassa.core.errors import Conflict, NotFound, ValidationFailed
from kassa.core.money import Money, minor_unit_exponent
from kassa.loyalty import rules
from kassa.loyalty.accounts import (
    InsufficientBalance,
    account_of,
    local_date,
    lock_account,
    loyalty_settings,
    member_for,
    organization_timezone,
)
from kassa.loyalty.models import LoyaltyAccount, PointsEntry, PointsEntryKind, Tier
from kassa.loyalty.rules import EarnLine
from kassa.loyalty.tiers import reevaluate
from kassa.members.models import Member
from kassa.orders.models import Bill
from kassa.stores.models import Store

MAX_REFERENCE_LENGTH = 100
MAX_NOTE_LENGTH = 200
# The daily expiry also looks back this far, in case a day's run came late.
EXPIRY_LOOKBACK = timedelta(days=7)
DEBIT_KINDS = (PointsEntryKind.REDEEM, PointsEntryKind.REFUND, PointsEntryKind.EXPIRE)

__all__ = [
    "EarnLine",
    "PointsStatement",
    "adjust_points",
    "earn_for_bill",
    "expire_points",
    "give_back_points",
    "points_statement",
    "redeem_points",
    "reverse_for_return",
]


@dataclass(frozen=True)
class PointsStatement:
    member_id: int
    balance: int
    entries: list[PointsEntry]  # newest first


def check_reference(reference: str, field: str = "reference") -> str:
    cleaned = reference.strip()
    if not cleaned or len(cleaned) > MAX_REFERENCE_LENGTH:
        raise ValidationFailed(f"a reference has 1 to {MAX_REFERENCE_LENGTH} characters", field=field)
    return cleaned


async def _entry(session: AsyncSession, key: str) -> PointsEntry | None:
    return await session.scalar(select(PointsEntry).where(PointsEntry.idempotency_key == key))


async def _append(
    session: AsyncSession,
    actor: Actor,
    account: LoyaltyAccount,
    kind: PointsEntryKind,
    points: int,
    *,
    reference: str,
    key: str,
    bill_id: int | None = None,
    basis_amount: int | None = None,
    expires_on: date | None = None,
    note: str = "",
) -> PointsEntry:
    """Move the balance by ``points`` (refused below zero) and write the entry saying so."""
    balance = await session.scalar(
        update(LoyaltyAccount)
        .where(LoyaltyAccount.id == account.id, LoyaltyAccount.points_balance + points >= 0)
        .values(points_balance=LoyaltyAccount.points_balance + points, updated_at=utc_now())
        .returning(LoyaltyAccount.points_balance)
        .execution_options(synchronize_session="fetch")
    )
    if balance is None:
        raise InsufficientBalance(
            f"only {account.points_balance} points are left, not {-points}",
            field="points",
            extra={"points_balance": account.points_balance},
        )
    entry = PointsEntry(
        organization_id=account.organization_id,
        member_id=account.member_id,
        kind=kind,
        points=points,
        balance_after=balance,
        reference=reference,
        idempotency_key=key,
        bill_id=bill_id,
        basis_amount=basis_amount,
        expires_on=expires_on,
        note=note[:MAX_NOTE_LENGTH],
        store_id=actor.store_id,
        staff_id=actor.staff_id,
        created_at=utc_now(),
    )
    session.add(entry)
    try:
        await session.flush()
    except IntegrityError:
        # Only a second writer of the same key gets here (the account lock makes it rare).
        raise Conflict("this operation was recorded meanwhile; try again", field="reference") from None
    audit.record(
        session,
        actor,
        f"loyalty.points.{kind.value}",
        "member",
        account.member_id,
        after={"points": points, "balance": balance, "reference": reference, "entry_id": entry.id},
    )
    return entry


async def _bill_of(session: AsyncSession, actor: Actor, bill_id: int) -> Bill:
    bill = await session.get(Bill, bill_id)
    if bill is not None:
        store = await session.get(Store, bill.store_id)
        if store is not None and store.organization_id == actor.organization_id:
            return bill
    raise NotFound(f"no bill {bill_id}", field="bill_id")


async def earn_for_bill(
    session: AsyncSession,
    actor: Actor,
    member_id: int,
    bill_id: int,
    lines: Sequence[EarnLine],
    *,
    at: datetime | None = None,
) -> PointsEntry:
    """Credit the points a bill earns (see ``rules.earn_points``: the organization's rate,
    excluded categories and bonus products, times the member's tier multiplier), once per
    bill: asked again, it returns the first entry. The points expire after the organization's
    expiry months. Then the member's tier is evaluated, so call it once the bill is closed."""
    member = await member_for(session, actor, member_id, Permission.MEMBER_MANAGE, adds_value=True)
    bill = await _bill_of(session, actor, bill_id)
    if bill.member_id != member.id:
        raise Conflict("this bill is not the member's: attach the member first", field="bill_id")
    account = await lock_account(session, member)
    key = f"earn:bill:{bill.id}"
    existing = await _entry(session, key)
    if existing is not None:
        return existing
    moment = at or utc_now()
    settings = await loyalty_settings(session, member.organization_id)
    tier = await session.get(Tier, account.tier_id) if account.tier_id is not None else None
    multiplier = tier.points_multiplier_basis_points if tier is not None and tier.is_active else 10_000
    breakdown = rules.earn_points(
        lines,
        points_per_currency_unit=settings.points_per_currency_unit,
        currency_exponent=minor_unit_exponent(account.currency),
        multiplier_basis_points=multiplier,
        excluded_category_ids=set(settings.excluded_category_ids),
        bonus_points_by_product={
            int(item["product_id"]): int(item["extra_points"]) for item in settings.bonus_products
        },
    )
    expires_on = None
    if settings.points_expiry_months:
        today = local_date(moment, await organization_timezone(session, member.organization_id))
        expires_on = rules.add_months(today, settings.points_expiry_months)
    entry = await _append(
        session,
        actor,
        account,
        PointsEntryKind.EARN,
        breakdown.points,
        reference=f"bill:{bill.id}",
        key=key,
        bill_id=bill.id,
        basis_amount=breakdown.basis_amount,
        expires_on=expires_on,
        note=f"base {breakdown.base_points} (x{multiplier / 10_000:g}), bonus {breakdown.bonus_points}",
    )
    # The clock is read after the entry is written, so the 12 months judged include it.
    await reevaluate(session, actor, member, at=at or utc_now(), cause="bill")
    return entry


async def reverse_for_return(
    session: AsyncSession,
    actor: Actor,
    member_id: int,
    bill_id: int,
    return_id: int,
    returned_net_amount: int,
    *,
    at: datetime | None = None,
) -> PointsEntry | None:
    """Take back the points a bill earned, in proportion to the net amount returned (over
    all its returns, see ``rules.reversal_points``), once per return. Points the member has
    spent meanwhile are not taken twice: the balance goes to zero at most. None when the bill
    earned nothing for this member."""
    member = await member_for(session, actor, member_id, Permission.MEMBER_MANAGE)
    if returned_net_amount < 0:
        raise ValidationFailed("a returned amount cannot be negative", field="returned_net_amount")
    account = await lock_account(session, member)
    key = f"reverse:return:{return_id}"
    existing = await _entry(session, key)
    if existing is not None:
        return existing
    earned = await _entry(session, f"earn:bill:{bill_id}")
    if earned is None or earned.member_id != member.id:
        return None
    returned_before = await session.scalar(
        select(func.coalesce(func.sum(PointsEntry.basis_amount), 0)).where(
            PointsEntry.member_id == member.id,
            PointsEntry.bill_id == bill_id,
            PointsEntry.kind == PointsEntryKind.REVERSE,
        )
    )
    wanted = rules.reversal_points(
        earned.points, earned.basis_amount or 0, int(returned_before or 0), returned_net_amount
    )
    taken = min(wanted, account.points_balance)
    entry = await _append(
        session,
        actor,
        account,
        PointsEntryKind.REVERSE,
        -taken,
        reference=f"return:{return_id}",
        key=key,
        bill_id=bill_id,
        basis_amount=returned_net_amount,
        note=f"{wanted - taken} of {wanted} points were spent already" if taken < wanted else "",
    )
    await reevaluate(session, actor, member, at=at or utc_now(), cause="return")
    return entry


async def redeem_points(
    session: AsyncSession, actor: Actor, member_id: int, points: int, reference: str
) -> Money:
    """Spend points as money (the organization's rate, e.g. 100 points = ¥1, exactly: points
    worth a fraction of a fen are refused). Refused with 409 ``insufficient_balance`` when the
    balance does not cover them, also when two registers redeem at once. The same reference
    again returns the first redemption's value."""
    member = await member_for(session, actor, member_id, Permission.MEMBER_MANAGE)
    reference = check_reference(reference)
    settings = await loyalty_settings(session, member.organization_id)
    value = rules.points_value(points, settings.redeem_points, settings.redeem_value_amount)
    account = await lock_account(session, member)
    key = f"redeem:{member.id}:{reference}"
    existing = await _entry(session, key)
    if existing is not None:
        if existing.points != -points:
            raise Conflict("this reference redeemed another number of points", field="reference")
        return Money(existing.basis_amount or 0, account.currency)
    await _append(
        session,
        actor,
        account,
        PointsEntryKind.REDEEM,
        -points,
        reference=reference,
        key=key,
        basis_amount=value,
    )
    return Money(value, account.currency)


async def give_back_points(
    session: AsyncSession,
    actor: Actor,
    member_id: int,
    points: int,
    reference: str,
    *,
    idempotency_key: str | None = None,
) -> PointsEntry:
    """Give back points of the redemption made with ``reference`` (its payment was voided or
    refunded), never more in total than it took. With an ``idempotency_key`` a repeated call
    returns the first entry."""
    member = await member_for(session, actor, member_id, Permission.MEMBER_MANAGE)
    reference = check_reference(reference)
    if points <= 0:
        raise ValidationFailed("give back at least one point", field="points")
    account = await lock_account(session, member)
    if idempotency_key is not None:
        key = f"refund:{member.id}:{check_reference(idempotency_key, 'idempotency_key')}"
        existing = await _entry(session, key)
        if existing is not None:
            if existing.points != points or existing.reference != reference:
                raise Conflict("this idempotency key gave back something else", field="idempotency_key")
            return existing
    redemption = await _entry(session, f"redeem:{member.id}:{reference}")
    if redemption is None:
        raise NotFound(f"no redemption {reference!r} of this member", field="reference")
    given_back, count = (
        await session.execute(
            select(func.coalesce(func.sum(PointsEntry.points), 0), func.count(PointsEntry.id)).where(
                PointsEntry.member_id == member.id,
                PointsEntry.kind == PointsEntryKind.REFUND,
                PointsEntry.reference == reference,
            )
        )
    ).one()
    left = -redemption.points - int(given_back)
    if points > left:
        raise Conflict(
            f"only {left} of the redeemed points are left to give back", field="points", extra={"left": left}
        )
    if idempotency_key is None:
        key = f"refund:{member.id}:{reference}:{int(count) + 1}"
    return await _append(
        session, actor, account, PointsEntryKind.REFUND, points, reference=reference, key=key
    )


async def adjust_points(
    session: AsyncSession, actor: Actor, member_id: int, points: int, *, reason: str, idempotency_key: str
) -> PointsEntry:
    """An owner's correction, up or down (never below zero), with the reason."""
    member = await member_for(session, actor, member_id, Permission.SETTINGS_MANAGE)
    if points == 0:
        raise ValidationFailed("an adjustment changes the balance", field="points")
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("say why the points change", field="reason")
    account = await lock_account(session, member)
    key = f"adjust:{member.id}:{check_reference(idempotency_key, 'idempotency_key')}"
    existing = await _entry(session, key)
    if existing is not None:
        return existing
    return await _append(
        session,
        actor,
        account,
        PointsEntryKind.ADJUST,
        points,
        reference=f"adjust:{idempotency_key}",
        key=key,
        note=reason,
    )


# --- expiry -------------------------------------------------------------------------------


async def points_due_to_expire(session: AsyncSession, member_id: int, on: date) -> int:
    """Points whose time is up on ``on``, first in first out: what the member earned with an
    expiry date up to ``on`` (less what returns took back from those bills) and has not
    spent, given back as worthless or seen expire already. Redemptions use the oldest points
    first; points given back return to where they came from."""
    expiring_bills = select(PointsEntry.bill_id).where(
        PointsEntry.member_id == member_id,
        PointsEntry.kind == PointsEntryKind.EARN,
        PointsEntry.expires_on <= on,
    )
    kind = PointsEntry.kind
    row = (
        await session.execute(
            select(
                func.coalesce(
                    func.sum(
                        case(
                            (
                                and_(kind == PointsEntryKind.EARN, PointsEntry.expires_on <= on),
                                PointsEntry.points,
                            ),
                            (
                                and_(
                                    kind == PointsEntryKind.REVERSE, PointsEntry.bill_id.in_(expiring_bills)
                                ),
                                PointsEntry.points,
                            ),
                            else_=0,
                        )
                    ),
                    0,
                ),
                func.coalesce(
                    func.sum(
                        case(
                            (kind.in_(DEBIT_KINDS), -PointsEntry.points),
                            (
                                and_(kind == PointsEntryKind.ADJUST, PointsEntry.points < 0),
                                -PointsEntry.points,
                            ),
                            else_=0,
                        )
                    ),
                    0,
                ),
            ).where(PointsEntry.member_id == member_id)
        )
    ).one()
    expiring, spent = int(row[0]), int(row[1])
    return max(0, expiring - spent)


async def expire_member_points(
    session: AsyncSession, actor: Actor, member: Member, on: date
) -> PointsEntry | None:
    account = await lock_account(session, member)
    key = f"expire:{member.id}:{on.isoformat()}"
    if await _entry(session, key) is not None:
        return None
    due = min(await points_due_to_expire(session, member.id, on), account.points_balance)
    if due <= 0:
        return None
    return await _append(
        session, actor, account, PointsEntryKind.EXPIRE, -due, reference=f"expiry:{on.isoformat()}", key=key
    )


async def expire_points(
    session: AsyncSession, organization_id: int, on: date, *, after_member_id: int = 0, limit: int = 500
) -> tuple[int, int | None]:
    """Expire the points of an organization's members that fall due on ``on`` (or in the few
    days before, should a run have come late). Works through ``limit`` members after
    ``after_member_id``; returns (members whose points expired, the last member looked at,
    or None when done)."""
    actor = Actor.system(organization_id, name="loyalty points expiry")
    member_ids = (
        await session.scalars(
            select(PointsEntry.member_id)
            .where(
                PointsEntry.organization_id == organization_id,
                PointsEntry.kind == PointsEntryKind.EARN,
                PointsEntry.expires_on <= on,
                PointsEntry.expires_on > on - EXPIRY_LOOKBACK,
                PointsEntry.member_id > after_member_id,
            )
            .distinct()
            .order_by(PointsEntry.member_id)
            .limit(limit)
        )
    ).all()
    expired = 0
    for member_id in member_ids:
        member = await session.get(Member, member_id)
        if member is not None and await expire_member_points(session, actor, member, on) is not None:
            expired += 1
    return expired, (member_ids[-1] if len(member_ids) == limit else None)


# --- reading ------------------------------------------------------------------------------


async def points_statement(
    session: AsyncSession, actor: Actor, member_id: int, *, limit: int = 50, before_id: int | None = None
) -> PointsStatement:
    """The member's balance and entries, newest first (``before_id`` pages back)."""
    member = await member_for(session, actor, member_id, Permission.MEMBER_VIEW)
    query = select(PointsEntry).where(PointsEntry.member_id == member.id)
    if before_id is not None:
        query = query.where(PointsEntry.id < before_id)
    entries = await session.scalars(query.order_by(PointsEntry.id.desc()).limit(max(1, min(limit, 200))))
    account = await account_of(session, member)
    return PointsStatement(member.id, account.points_balance if account else 0, list(entries.all()))
