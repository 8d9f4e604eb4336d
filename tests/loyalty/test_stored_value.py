"""Stored value: top-ups with the best bonus rule, principal and bonus kept apart, charges spend
principal first and bonus last, refunds put the parts back in reverse, idempotent keys."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from kassa.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kassa.core.money import Money
from kassa.loyalty import service as loyalty
from kassa.loyalty.accounts import InsufficientBalance
from kassa.loyalty.models import StoredValueEntryKind
from kassa.members.models import Member
from tests.loyalty.conftest import LoyaltyShop, make_member, new_key

RULES = [loyalty.TopUpBonusRule(50_000, 5_000), loyalty.TopUpBonusRule(100_000, 15_000)]


async def _with_bonus_rules(session: AsyncSession, shop: LoyaltyShop) -> None:
    await loyalty.update_loyalty_settings(
        session, shop.owner, loyalty.SettingsInput(top_up_bonus_rules=RULES)
    )


async def _card(session: AsyncSession, shop: LoyaltyShop, member: Member) -> tuple[int, int]:
    statement = await loyalty.stored_value_statement(session, shop.cashier, member.id)
    return statement.principal.amount, statement.bonus.amount


async def test_a_top_up_gets_the_best_bonus_rule_it_reaches_kept_apart(
    session: AsyncSession, shop: LoyaltyShop
) -> None:
    await _with_bonus_rules(session, shop)
    member = await make_member(session, shop)
    small = await loyalty.top_up(
        session,
        shop.cashier,
        member.id,
        shop.money(30_000),
        tender="card",
        approval_code="123456",
        idempotency_key=new_key(),
    )
    assert small.bonus is None
    big = await loyalty.top_up(
        session,
        shop.cashier,
        member.id,
        shop.money(120_000),
        tender="card",
        approval_code="123456",
        idempotency_key=new_key(),
    )
    assert (big.top_up.kind, big.top_up.principal_amount, big.top_up.bonus_amount, big.top_up.tender) == (
        StoredValueEntryKind.TOP_UP,
        120_000,
        0,
        "card",
    )
    assert big.bonus is not None
    assert (big.bonus.kind, big.bonus.principal_amount, big.bonus.bonus_amount) == (
        StoredValueEntryKind.BONUS,
        0,
        15_000,
    )
    assert (big.bonus.principal_after, big.bonus.bonus_after) == (150_000, 15_000)
    assert await _card(session, shop, member) == (150_000, 15_000)


async def test_the_same_top_up_key_tops_up_once(session: AsyncSession, shop: LoyaltyShop) -> None:
    await _with_bonus_rules(session, shop)
    member = await make_member(session, shop)
    other = await make_member(session, shop)
    key = new_key()
    first = await loyalty.top_up(
        session,
        shop.cashier,
        member.id,
        shop.money(50_000),
        tender="card",
        approval_code="123456",
        idempotency_key=key,
    )
    again = await loyalty.top_up(
        session,
        shop.cashier,
        member.id,
        shop.money(50_000),
        tender="card",
        approval_code="123456",
        idempotency_key=key,
    )
    assert (again.top_up.id, again.bonus and again.bonus.id) == (
        first.top_up.id,
        first.bonus and first.bonus.id,
    )
    assert await _card(session, shop, member) == (50_000, 5_000)
    for member_id, amount in ((member.id, 60_000), (other.id, 50_000)):
        with pytest.raises(ValidationFailed):
            await loyalty.top_up(
                session,
                shop.cashier,
                member_id,
                shop.money(amount),
                tender="card",
                approval_code="123456",
                idempotency_key=key,
            )


async def test_charges_spend_principal_first_and_bonus_last(session: AsyncSession, shop: LoyaltyShop) -> None:
    await _with_bonus_rules(session, shop)
    member = await make_member(session, shop)
    await loyalty.top_up(
        session,
        shop.cashier,
        member.id,
        shop.money(50_000),
        tender="card",
        approval_code="123456",
        idempotency_key=new_key(),
    )
    first = await loyalty.charge_stored_value(
        session, shop.cashier, member.id, shop.money(30_000), "bill:1:sv"
    )
    assert (first.principal, first.bonus) == (shop.money(30_000), shop.money(0))
    second = await loyalty.charge_stored_value(
        session, shop.cashier, member.id, shop.money(22_000), "bill:2:sv"
    )
    assert (second.principal, second.bonus, second.total) == (
        shop.money(20_000),
        shop.money(2_000),
        shop.money(22_000),
    )
    assert await _card(session, shop, member) == (0, 3_000)
    # the same reference again is the same charge; another amount under it is refused
    assert (
        await loyalty.charge_stored_value(session, shop.cashier, member.id, shop.money(22_000), "bill:2:sv")
        == second
    )
    with pytest.raises(Conflict):
        await loyalty.charge_stored_value(session, shop.cashier, member.id, shop.money(1_000), "bill:2:sv")
    with pytest.raises(InsufficientBalance) as short:
        await loyalty.charge_stored_value(session, shop.cashier, member.id, shop.money(3_001), "bill:3:sv")
    assert (short.value.status, short.value.code) == (409, "insufficient_balance")
    with pytest.raises(ValidationFailed):
        await loyalty.charge_stored_value(session, shop.cashier, member.id, Money(100, "USD"), "bill:4:sv")
    with pytest.raises(ValidationFailed):
        await loyalty.charge_stored_value(session, shop.cashier, member.id, shop.money(0), "bill:4:sv")


async def test_refunds_put_the_bonus_back_first_then_principal_never_more_than_charged(
    session: AsyncSession, shop: LoyaltyShop
) -> None:
    await _with_bonus_rules(session, shop)
    member = await make_member(session, shop)
    await loyalty.top_up(
        session,
        shop.cashier,
        member.id,
        shop.money(50_000),
        tender="card",
        approval_code="123456",
        idempotency_key=new_key(),
    )
    await loyalty.charge_stored_value(
        session, shop.cashier, member.id, shop.money(52_000), "bill:5:sv"
    )  # 50,000 + 2,000
    assert await _card(session, shop, member) == (0, 3_000)
    part = await loyalty.refund_stored_value(
        session, shop.cashier, member.id, "bill:5:sv", shop.money(1_500), idempotency_key="return-1"
    )
    assert (part.kind, part.principal_amount, part.bonus_amount) == (StoredValueEntryKind.REFUND, 0, 1_500)
    retried = await loyalty.refund_stored_value(
        session, shop.cashier, member.id, "bill:5:sv", shop.money(1_500), idempotency_key="return-1"
    )
    assert retried.id == part.id
    more = await loyalty.refund_stored_value(
        session, shop.cashier, member.id, "bill:5:sv", shop.money(10_000)
    )
    assert (more.principal_amount, more.bonus_amount) == (9_500, 500)
    with pytest.raises(Conflict) as too_much:
        await loyalty.refund_stored_value(session, shop.cashier, member.id, "bill:5:sv", shop.money(40_501))
    assert too_much.value.extra == {"left": 40_500}
    await loyalty.refund_stored_value(session, shop.cashier, member.id, "bill:5:sv", shop.money(40_500))
    # everything the charge took is back where it came from
    assert await _card(session, shop, member) == (50_000, 5_000)
    with pytest.raises(NotFound):
        await loyalty.refund_stored_value(session, shop.cashier, member.id, "bill:404:sv", shop.money(1))


async def test_statement_and_permissions(session: AsyncSession, shop: LoyaltyShop) -> None:
    member = await make_member(session, shop)
    await loyalty.top_up(
        session,
        shop.cashier,
        member.id,
        shop.money(10_000),
        tender="card",
        approval_code="123456",
        idempotency_key=new_key(),
    )
    await loyalty.charge_stored_value(session, shop.cashier, member.id, shop.money(2_500), "bill:6:sv")
    statement = await loyalty.stored_value_statement(session, shop.actors[Role.WAITER], member.id)
    assert [(entry.kind, entry.principal_amount, entry.principal_after) for entry in statement.entries] == [
        (StoredValueEntryKind.CHARGE, -2_500, 7_500),
        (StoredValueEntryKind.TOP_UP, 10_000, 10_000),
    ]
    assert statement.total == shop.money(7_500)
    with pytest.raises(PermissionDenied):
        await loyalty.top_up(
            session,
            shop.actors[Role.WAITER],
            member.id,
            shop.money(100),
            tender="card",
            approval_code="123456",
            idempotency_key=new_key(),
        )
    with pytest.raises(PermissionDenied):
        await loyalty.adjust_stored_value(
            session,
            shop.actors[Role.MANAGER],
            member.id,
            shop.money(1),
            shop.money(0),
            reason="x",
            idempotency_key="a",
        )
    adjusted = await loyalty.adjust_stored_value(
        session,
        shop.owner,
        member.id,
        shop.money(-500),
        shop.money(300),
        reason="till error",
        idempotency_key="a",
    )
    assert (adjusted.principal_after, adjusted.bonus_after) == (7_000, 300)
