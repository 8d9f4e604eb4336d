"""Top-up rules in the service: the maximum and the presets (owner settings or defaults), the
bonus rules the dialog shows, money taken only at a register, and a refusal changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Role
from kassa.core.errors import PermissionDenied, ValidationFailed
from kassa.loyalty import service as loyalty
from kassa.loyalty.rules import DEFAULT_MAXIMUM_TOP_UP_AMOUNT
from kassa.loyalty.top_ups import ShiftNotOpen
from kassa.shifts import service as shifts
from tests.fingerprint import unchanged
from tests.loyalty.conftest import LoyaltyShop, make_member, new_key


async def test_defaults_offer_presets_with_the_bonus_thresholds_and_a_maximum(
    session: AsyncSession, shop: LoyaltyShop
) -> None:
    options = await loyalty.top_up_options(session, shop.actors[Role.WAITER])
    assert (options.presets, options.maximum_amount, options.bonus_rules) == (
        (10_000, 20_000, 50_000, 100_000),
        DEFAULT_MAXIMUM_TOP_UP_AMOUNT,
        (),
    )
    await loyalty.update_loyalty_settings(
        session,
        shop.owner,
        loyalty.SettingsInput(top_up_bonus_rules=[loyalty.TopUpBonusRule(30_000, 3_000)]),
    )
    options = await loyalty.top_up_options(session, shop.cashier)
    assert options.presets == (10_000, 20_000, 30_000, 50_000, 100_000)
    assert options.bonus_for(30_000) == 3_000
    assert options.bonus_for(29_999) == 0


async def test_the_owner_sets_presets_and_the_maximum(session: AsyncSession, shop: LoyaltyShop) -> None:
    await loyalty.update_loyalty_settings(
        session, shop.owner, loyalty.SettingsInput(top_up_presets=[5_000, 1_000], maximum_top_up_amount=8_000)
    )
    options = await loyalty.top_up_options(session, shop.cashier)
    assert (options.presets, options.maximum_amount) == ((1_000, 5_000), 8_000)
    member = await make_member(session, shop)
    async with unchanged(session):
        with pytest.raises(ValidationFailed) as refused:
            await loyalty.top_up(
                session,
                shop.cashier,
                member.id,
                shop.money(8_001),
                tender="card",
                approval_code="1",
                idempotency_key=new_key(),
            )
    assert (refused.value.field, refused.value.extra["maximum_amount"]) == ("amount", 8_000)
    with pytest.raises(ValidationFailed):
        await loyalty.update_loyalty_settings(
            session, shop.owner, loyalty.SettingsInput(top_up_presets=[9_000], maximum_top_up_amount=8_000)
        )


async def test_money_is_taken_at_a_register_and_cash_needs_its_open_shift(
    session: AsyncSession, shop: LoyaltyShop
) -> None:
    member = await make_member(session, shop)
    async with unchanged(session):
        with pytest.raises(ValidationFailed) as nowhere:
            await loyalty.top_up(
                session,
                shop.owner,
                member.id,
                shop.money(1_000),
                tender="card",
                approval_code="1",
                idempotency_key=new_key(),
            )
        with pytest.raises(ShiftNotOpen):
            await loyalty.top_up(
                session, shop.cashier, member.id, shop.money(1_000), tender="cash", idempotency_key=new_key()
            )
        with pytest.raises(PermissionDenied):
            await loyalty.top_up(
                session,
                shop.actors[Role.WAITER],
                member.id,
                shop.money(1_000),
                tender="card",
                approval_code="1",
                idempotency_key=new_key(),
            )
    assert nowhere.value.field == "register_id"
    assert shop.cashier.register_id is not None
    await shifts.open_shift(session, shop.cashier, shop.cashier.register_id, amount=0)
    done = await loyalty.top_up(
        session, shop.cashier, member.id, shop.money(1_000), tender=" cash ", idempotency_key=new_key()
    )
    assert (done.is_credited, done.principal, done.payment.shift_id is not None) == (
        True,
        shop.money(1_000),
        True,
    )
