"""What every part of loyalty shares: the organization's settings, the member and their
account row, and the error for a balance that does not cover a debit.

Every change of a member's balances first locks their account row (``lock_account``), then
moves the balance with a conditional UPDATE that can never take it below zero. The lock
serialises one member's operations (two registers paying from one card queue; the later one
sees what the first left), and the condition keeps the balance honest whatever happens.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Permission
from kassa.core.database import utc_now
from kassa.core.errors import Conflict
from kassa.core.scope import load_scoped
from kassa.loyalty.models import LoyaltyAccount, LoyaltySettings, TierBasis
from kassa.members.models import Member
from kassa.stores.models import Store

DEFAULT_CURRENCY = "CNY"
DEFAULT_TIMEZONE = "UTC"


class InsufficientBalance(Conflict):
    """The points or stored value left do not cover the debit (also when a concurrent
    payment from the same account took them first)."""

    code = "insufficient_balance"
    title = "Not enough balance"


async def _first_store(session: AsyncSession, organization_id: int) -> Store | None:
    return await session.scalar(
        select(Store).where(Store.organization_id == organization_id).order_by(Store.id).limit(1)
    )


async def organization_timezone(session: AsyncSession, organization_id: int) -> str:
    """The zone the organization's loyalty days run in: its first store's."""
    store = await _first_store(session, organization_id)
    return store.timezone if store is not None else DEFAULT_TIMEZONE


def local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


async def organization_today(session: AsyncSession, organization_id: int, at: datetime | None = None) -> date:
    return local_date(at or utc_now(), await organization_timezone(session, organization_id))


async def loyalty_settings(session: AsyncSession, organization_id: int) -> LoyaltySettings:
    """The organization's settings; the defaults (not stored) when it never saved any."""
    settings = await session.get(LoyaltySettings, organization_id)
    if settings is not None:
        return settings
    store = await _first_store(session, organization_id)
    return LoyaltySettings(
        organization_id=organization_id,
        currency=store.currency if store is not None else DEFAULT_CURRENCY,
        tier_basis=TierBasis.SPEND,
        points_per_currency_unit=1,
        excluded_category_ids=[],
        bonus_products=[],
        redeem_points=100,
        redeem_value_amount=100,
        points_expiry_months=None,
        top_up_bonus_rules=[],
        top_up_presets=None,
        maximum_top_up_amount=None,
        birthday_coupon_definition_id=None,
        birthday_days_before=7,
        updated_at=utc_now(),
    )


async def settings_for_update(session: AsyncSession, organization_id: int) -> LoyaltySettings:
    """The settings row, made from the defaults when missing, locked for the change."""
    existing = await session.get(
        LoyaltySettings, organization_id, with_for_update=True, populate_existing=True
    )
    if existing is not None:
        return existing
    settings = await loyalty_settings(session, organization_id)
    try:
        async with session.begin_nested():  # two first saves at once: the second reads the first's
            session.add(settings)
    except IntegrityError:
        existing = await session.get(
            LoyaltySettings, organization_id, with_for_update=True, populate_existing=True
        )
        assert existing is not None
        return existing
    return settings


async def member_for(
    session: AsyncSession, actor: Actor, member_id: int, permission: Permission, *, adds_value: bool = False
) -> Member:
    """The organization's member, after checking ``permission``. Nothing is added to the
    account of a member whose data was erased (taking back and giving back still work)."""
    actor.require(permission)
    member = await load_scoped(session, actor, Member, member_id, field="member_id", what="member")
    if adds_value and member.erased_at is not None:
        raise Conflict("this member's data was erased", field="member_id")
    return member


def _insert_account_if_missing(session: AsyncSession, values: dict[str, Any]) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return (
            postgresql.insert(LoyaltyAccount)
            .values(values)
            .on_conflict_do_nothing(index_elements=[LoyaltyAccount.member_id])
        )
    if dialect == "sqlite":
        return (
            sqlite.insert(LoyaltyAccount)
            .values(values)
            .on_conflict_do_nothing(index_elements=[LoyaltyAccount.member_id])
        )
    return insert(LoyaltyAccount).values(values)


async def account_of(session: AsyncSession, member: Member) -> LoyaltyAccount | None:
    return await session.scalar(select(LoyaltyAccount).where(LoyaltyAccount.member_id == member.id))


async def lock_account(session: AsyncSession, member: Member) -> LoyaltyAccount:
    """The member's account row, made on first use (two registers making it at once get
    one), locked until the commit and read fresh."""
    account = await session.scalar(
        select(LoyaltyAccount)
        .where(LoyaltyAccount.member_id == member.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if account is not None:
        return account
    settings = await loyalty_settings(session, member.organization_id)
    now = utc_now()
    await session.execute(
        _insert_account_if_missing(
            session,
            {
                "organization_id": member.organization_id,
                "member_id": member.id,
                "currency": settings.currency,
                "points_balance": 0,
                "principal_amount": 0,
                "bonus_amount": 0,
                "created_at": now,
                "updated_at": now,
            },
        )
    )
    account = await session.scalar(
        select(LoyaltyAccount)
        .where(LoyaltyAccount.member_id == member.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert account is not None
    return account
