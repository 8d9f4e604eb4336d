"""Stored value (储值卡): money a member pays in at a register (principal, see ``top_ups``) plus what the
organization gives on top (bonus), spent on bills principal first and bonus last; the bonus
is never paid out as cash.

Principal and bonus are kept apart on the account and in the append-only ledger
(``StoredValueEntry``). A charge locks the member's account, splits the amount and takes it
with a conditional UPDATE that refuses to let either part below zero, so two registers
paying from one card at once can never spend more than is on it: the later one gets 409.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.database import utc_now
from kassa.core.errors import Conflict, NotFound, ValidationFailed
from kassa.core.money import Money
from kassa.loyalty import rules
from kassa.loyalty.accounts import InsufficientBalance, account_of, lock_account, loyalty_settings, member_for
from kassa.loyalty.models import LoyaltyAccount, StoredValueEntry, StoredValueEntryKind
from kassa.loyalty.points import check_reference


@dataclass(frozen=True)
class StoredValueCharge:
    """What a payment took from the card: ``principal`` first, then ``bonus``."""

    principal: Money
    bonus: Money
    entry_id: int
    reference: str

    @property
    def total(self) -> Money:
        return self.principal + self.bonus


@dataclass(frozen=True)
class StoredValueStatement:
    member_id: int
    principal: Money
    bonus: Money
    entries: list[StoredValueEntry]  # newest first

    @property
    def total(self) -> Money:
        return self.principal + self.bonus


async def entry_by_key(session: AsyncSession, key: str) -> StoredValueEntry | None:
    return await session.scalar(select(StoredValueEntry).where(StoredValueEntry.idempotency_key == key))


def _check_amount(amount: Money, account: LoyaltyAccount, *, allow_zero: bool = False) -> int:
    if amount.currency != account.currency:
        raise ValidationFailed(f"the card holds {account.currency}, not {amount.currency}", field="amount")
    if amount.amount < 0 or (amount.amount == 0 and not allow_zero):
        raise ValidationFailed("the amount must be more than zero", field="amount")
    return amount.amount


async def append_entry(
    session: AsyncSession,
    actor: Actor,
    account: LoyaltyAccount,
    kind: StoredValueEntryKind,
    principal: int,
    bonus: int,
    *,
    reference: str,
    key: str,
    tender: str | None = None,
    charge_entry_id: int | None = None,
    note: str = "",
) -> StoredValueEntry:
    """Move principal and bonus by the signed parts (refused below zero) and write the entry."""
    row = (
        await session.execute(
            update(LoyaltyAccount)
            .where(
                LoyaltyAccount.id == account.id,
                LoyaltyAccount.principal_amount + principal >= 0,
                LoyaltyAccount.bonus_amount + bonus >= 0,
            )
            .values(
                principal_amount=LoyaltyAccount.principal_amount + principal,
                bonus_amount=LoyaltyAccount.bonus_amount + bonus,
                updated_at=utc_now(),
            )
            .returning(LoyaltyAccount.principal_amount, LoyaltyAccount.bonus_amount)
            .execution_options(synchronize_session="fetch")
        )
    ).one_or_none()
    if row is None:
        raise InsufficientBalance(
            f"the card holds {account.principal_amount + account.bonus_amount}, not {-(principal + bonus)}",
            field="amount",
            extra={"principal": account.principal_amount, "bonus": account.bonus_amount},
        )
    entry = StoredValueEntry(
        organization_id=account.organization_id,
        member_id=account.member_id,
        kind=kind,
        principal_amount=principal,
        bonus_amount=bonus,
        principal_after=row[0],
        bonus_after=row[1],
        currency=account.currency,
        reference=reference,
        idempotency_key=key,
        tender=tender,
        charge_entry_id=charge_entry_id,
        note=note[:200],
        store_id=actor.store_id,
        staff_id=actor.staff_id,
        created_at=utc_now(),
    )
    session.add(entry)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("this operation was recorded meanwhile; try again", field="reference") from None
    audit.record(
        session,
        actor,
        f"loyalty.stored_value.{kind.value}",
        "member",
        account.member_id,
        after={
            "principal": principal,
            "bonus": bonus,
            "principal_after": row[0],
            "bonus_after": row[1],
            "reference": reference,
            "tender": tender,
            "entry_id": entry.id,
        },
    )
    return entry


def _charge_of(entry: StoredValueEntry) -> StoredValueCharge:
    return StoredValueCharge(
        principal=Money(-entry.principal_amount, entry.currency),
        bonus=Money(-entry.bonus_amount, entry.currency),
        entry_id=entry.id,
        reference=entry.reference,
    )


async def charge_stored_value(
    session: AsyncSession, actor: Actor, member_id: int, amount: Money, reference: str
) -> StoredValueCharge:
    """Pay ``amount`` from the member's card: principal first, bonus last. Refused with 409
    ``insufficient_balance`` when the card does not cover it (also when another register
    took the money first). The same reference again returns the first charge."""
    member = await member_for(session, actor, member_id, Permission.MEMBER_MANAGE)
    reference = check_reference(reference)
    account = await lock_account(session, member)
    value = _check_amount(amount, account)
    key = f"charge:{member.id}:{reference}"
    existing = await entry_by_key(session, key)
    if existing is not None:
        if -(existing.principal_amount + existing.bonus_amount) != value:
            raise Conflict("this reference charged another amount", field="reference")
        return _charge_of(existing)
    if account.principal_amount + account.bonus_amount < value:
        raise InsufficientBalance(
            f"the card holds {account.principal_amount + account.bonus_amount}, not {value}",
            field="amount",
            extra={"principal": account.principal_amount, "bonus": account.bonus_amount},
        )
    from_principal, from_bonus = rules.split_charge(value, account.principal_amount, account.bonus_amount)
    entry = await append_entry(
        session,
        actor,
        account,
        StoredValueEntryKind.CHARGE,
        -from_principal,
        -from_bonus,
        reference=reference,
        key=key,
    )
    return _charge_of(entry)


async def refund_stored_value(
    session: AsyncSession,
    actor: Actor,
    member_id: int,
    charge_reference: str,
    amount: Money,
    *,
    idempotency_key: str | None = None,
) -> StoredValueEntry:
    """Put (part of) a charge back on the card, in reverse: to bonus first, up to what the
    charge took from bonus and is not back yet, the rest to principal. Never more in total
    than the charge took. With an ``idempotency_key`` a repeated call returns the first entry."""
    member = await member_for(session, actor, member_id, Permission.MEMBER_MANAGE)
    charge_reference = check_reference(charge_reference, "charge_reference")
    account = await lock_account(session, member)
    value = _check_amount(amount, account)
    if idempotency_key is not None:
        key = f"refund:{member.id}:{check_reference(idempotency_key, 'idempotency_key')}"
        existing = await entry_by_key(session, key)
        if existing is not None:
            if existing.principal_amount + existing.bonus_amount != value:
                raise Conflict("this idempotency key refunded another amount", field="idempotency_key")
            return existing
    charge = await entry_by_key(session, f"charge:{member.id}:{charge_reference}")
    if charge is None:
        raise NotFound(f"no charge {charge_reference!r} on this member's card", field="charge_reference")
    refunded_principal, refunded_bonus, count = (
        await session.execute(
            select(
                func.coalesce(func.sum(StoredValueEntry.principal_amount), 0),
                func.coalesce(func.sum(StoredValueEntry.bonus_amount), 0),
                func.count(StoredValueEntry.id),
            ).where(StoredValueEntry.charge_entry_id == charge.id)
        )
    ).one()
    left = -(charge.principal_amount + charge.bonus_amount) - int(refunded_principal) - int(refunded_bonus)
    if value > left:
        raise Conflict(f"only {left} of this charge is left to refund", field="amount", extra={"left": left})
    to_principal, to_bonus = rules.split_refund(value, -charge.bonus_amount, int(refunded_bonus))
    if idempotency_key is None:
        key = f"refund:{member.id}:{charge_reference}:{int(count) + 1}"
    return await append_entry(
        session,
        actor,
        account,
        StoredValueEntryKind.REFUND,
        to_principal,
        to_bonus,
        reference=charge_reference,
        key=key,
        charge_entry_id=charge.id,
    )


async def adjust_stored_value(
    session: AsyncSession,
    actor: Actor,
    member_id: int,
    principal: Money,
    bonus: Money,
    *,
    reason: str,
    idempotency_key: str,
) -> StoredValueEntry:
    """An owner's correction of principal and/or bonus (signed), never below zero."""
    member = await member_for(session, actor, member_id, Permission.SETTINGS_MANAGE)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("say why the stored value changes", field="reason")
    account = await lock_account(session, member)
    for part, field in ((principal, "principal"), (bonus, "bonus")):
        if part.currency != account.currency:
            raise ValidationFailed(f"the card holds {account.currency}", field=field)
    if principal.amount == 0 and bonus.amount == 0:
        raise ValidationFailed("an adjustment changes the balance", field="principal")
    key = f"adjust:{member.id}:{check_reference(idempotency_key, 'idempotency_key')}"
    existing = await entry_by_key(session, key)
    if existing is not None:
        return existing
    return await append_entry(
        session,
        actor,
        account,
        StoredValueEntryKind.ADJUST,
        principal.amount,
        bonus.amount,
        reference=f"adjust:{idempotency_key}",
        key=key,
        note=reason,
    )


async def stored_value_statement(
    session: AsyncSession, actor: Actor, member_id: int, *, limit: int = 50, before_id: int | None = None
) -> StoredValueStatement:
    """The card's principal and bonus and its entries, newest first (``before_id`` pages back)."""
    member = await member_for(session, actor, member_id, Permission.MEMBER_VIEW)
    query = select(StoredValueEntry).where(StoredValueEntry.member_id == member.id)
    if before_id is not None:
        query = query.where(StoredValueEntry.id < before_id)
    entries = await session.scalars(query.order_by(StoredValueEntry.id.desc()).limit(max(1, min(limit, 200))))
    account = await account_of(session, member)
    currency = (
        account.currency if account else (await loyalty_settings(session, member.organization_id)).currency
    )
    return StoredValueStatement(
        member.id,
        Money(account.principal_amount if account else 0, currency),
        Money(account.bonus_amount if account else 0, currency),
        list(entries.all()),
    )
