"""For random sequences of loyalty operations (top-ups, charges, refunds, earning, returns,
redemptions, give-backs, adjustments, expiry), against the real database:

- the points ledger sums to the account's balance, and each entry's balance-after is the
  running sum;
- the stored-value ledger's principal and bonus parts sum to the account's principal and bonus;
- no balance is ever negative;
- charges spend principal first and bonus last, refunds put back bonus first up to what the
  charge took from it: the card always equals a plain model of those rules;
- an operation the balance cannot cover is refused with 409 and changes nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.database import utc_now
from kassa.core.errors import Conflict, KassaError
from kassa.loyalty import rules
from kassa.loyalty import service as loyalty
from kassa.loyalty.models import LoyaltyAccount, PointsEntry, StoredValueEntry
from kassa.loyalty.points import expire_member_points
from kassa.members.models import Member
from tests.loyalty.conftest import LoyaltyShop, close_bill, make_member

_references = itertools.count(1)
BONUS_RULES = [loyalty.TopUpBonusRule(10_000, 1_000), loyalty.TopUpBonusRule(30_000, 5_000)]

stored_value_operations = st.lists(
    st.one_of(
        st.tuples(st.just("top_up"), st.integers(1, 40_000)),
        # amounts as a share of what is there (up to 120 %: some are refused), so charges
        # often reach into the bonus and refunds often give some of it back
        st.tuples(st.just("charge"), st.integers(1, 120)),
        st.tuples(st.just("refund"), st.integers(0, 10), st.integers(1, 120)),
    ),
    min_size=1,
    max_size=12,
)
points_operations = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(0, 30_000)),
        st.tuples(st.just("reverse"), st.integers(0, 10), st.integers(0, 30_000)),
        st.tuples(st.just("redeem"), st.integers(1, 400)),
        st.tuples(st.just("give_back"), st.integers(0, 10), st.integers(1, 300)),
        st.tuples(st.just("adjust"), st.integers(-300, 300).filter(bool)),
        st.tuples(st.just("expire"), st.integers(0, 800)),
    ),
    min_size=1,
    max_size=12,
)


class CardModel:
    """The stored-value rules, written plainly."""

    def __init__(self) -> None:
        self.principal = 0
        self.bonus = 0
        self.charges: dict[
            str, list[int]
        ] = {}  # reference -> [principal, bonus, refunded principal, refunded bonus]

    def top_up(self, amount: int) -> None:
        self.principal += amount
        self.bonus += rules.top_up_bonus(
            amount,
            [
                {"minimum_amount": rule.minimum_amount, "bonus_amount": rule.bonus_amount}
                for rule in BONUS_RULES
            ],
        )

    def can_charge(self, amount: int) -> bool:
        return amount <= self.principal + self.bonus

    def charge(self, reference: str, amount: int) -> None:
        from_principal = min(amount, self.principal)
        self.principal -= from_principal
        self.bonus -= amount - from_principal
        self.charges[reference] = [from_principal, amount - from_principal, 0, 0]

    def refundable(self, reference: str) -> int:
        principal, bonus, back_principal, back_bonus = self.charges[reference]
        return principal + bonus - back_principal - back_bonus

    def refund(self, reference: str, amount: int) -> None:
        charge = self.charges[reference]
        to_bonus = min(amount, charge[1] - charge[3])
        charge[3] += to_bonus
        charge[2] += amount - to_bonus
        self.bonus += to_bonus
        self.principal += amount - to_bonus


async def _check_ledgers(session: AsyncSession, member_id: int, card: CardModel) -> None:
    account = await session.scalar(
        select(LoyaltyAccount)
        .where(LoyaltyAccount.member_id == member_id)
        .execution_options(populate_existing=True)
    )
    if account is None:
        assert (card.principal, card.bonus) == (0, 0)
        return
    points = (
        await session.scalars(
            select(PointsEntry).where(PointsEntry.member_id == member_id).order_by(PointsEntry.id)
        )
    ).all()
    running = 0
    for entry in points:
        running += entry.points
        assert entry.balance_after == running
        assert running >= 0
    assert running == account.points_balance >= 0
    stored = (
        await session.scalars(
            select(StoredValueEntry)
            .where(StoredValueEntry.member_id == member_id)
            .order_by(StoredValueEntry.id)
        )
    ).all()
    principal = bonus = 0
    for value_entry in stored:
        principal += value_entry.principal_amount
        bonus += value_entry.bonus_amount
        assert (value_entry.principal_after, value_entry.bonus_after) == (principal, bonus)
        assert principal >= 0
        assert bonus >= 0
    assert (principal, bonus) == (account.principal_amount, account.bonus_amount)
    assert (account.principal_amount, account.bonus_amount) == (card.principal, card.bonus)


async def _apply(
    session: AsyncSession,
    shop: LoyaltyShop,
    member_id: int,
    operation: tuple[Any, ...],
    card: CardModel,
    history: dict[str, list[Any]],
) -> None:
    kind = operation[0]
    cashier = shop.cashier
    reference = f"ref-{next(_references)}"
    if kind == "top_up":
        await loyalty.top_up(
            session,
            cashier,
            member_id,
            shop.money(operation[1]),
            tender="card",
            approval_code="123456",
            idempotency_key=reference,
        )
        card.top_up(operation[1])
    elif kind == "charge":
        amount = max(1, (card.principal + card.bonus) * operation[1] // 100)
        refused = await _refused(
            loyalty.charge_stored_value(session, cashier, member_id, shop.money(amount), reference)
        )
        assert refused == (not card.can_charge(amount))
        if not refused:
            card.charge(reference, amount)
            history["charges"].append(reference)
    elif kind == "refund" and history["charges"]:
        charge = history["charges"][operation[1] % len(history["charges"])]
        amount = max(1, card.refundable(charge) * operation[2] // 100)
        refused = await _refused(
            loyalty.refund_stored_value(session, cashier, member_id, charge, shop.money(amount))
        )
        assert refused == (amount > card.refundable(charge))
        if not refused:
            card.refund(charge, amount)
    elif kind == "earn":
        bill = await close_bill(session, shop, await _member(session, member_id), operation[1])
        await loyalty.earn_for_bill(
            session,
            cashier,
            member_id,
            bill.id,
            [loyalty.EarnLine(shop.products["latte"], shop.categories["coffee"], operation[1])],
        )
        history["bills"].append(bill.id)
    elif kind == "reverse" and history["bills"]:
        bill_id = history["bills"][operation[1] % len(history["bills"])]
        await loyalty.reverse_for_return(
            session, cashier, member_id, bill_id, next(_references), operation[2]
        )
    elif kind == "redeem":
        balance = await _points(session, member_id)
        refused = await _refused(loyalty.redeem_points(session, cashier, member_id, operation[1], reference))
        assert refused == (operation[1] > balance)
        if not refused:
            history["redemptions"].append(reference)
    elif kind == "give_back" and history["redemptions"]:
        redemption = history["redemptions"][operation[1] % len(history["redemptions"])]
        await _refused(loyalty.give_back_points(session, cashier, member_id, operation[2], redemption))
    elif kind == "adjust":
        balance = await _points(session, member_id)
        refused = await _refused(
            loyalty.adjust_points(
                session, shop.owner, member_id, operation[1], reason="test", idempotency_key=reference
            )
        )
        assert refused == (balance + operation[1] < 0)
    elif kind == "expire":
        on = utc_now().date() + timedelta(days=operation[1])
        await expire_member_points(session, shop.system, await _member(session, member_id), on)


async def _refused(work: Awaitable[Any]) -> bool:
    """Whether the operation was refused with 409 (and so changed nothing)."""
    try:
        await work
    except Conflict:
        return True
    return False


async def _points(session: AsyncSession, member_id: int) -> int:
    balance = await session.scalar(
        select(LoyaltyAccount.points_balance).where(LoyaltyAccount.member_id == member_id)
    )
    return int(balance or 0)


async def _member(session: AsyncSession, member_id: int) -> Member:
    member = await session.get(Member, member_id)
    assert member is not None
    return member


async def _run(session: AsyncSession, shop: LoyaltyShop, steps: list[tuple[Any, ...]]) -> None:
    # each example in its own savepoint, so the examples do not pile up
    savepoint = await session.begin_nested()
    try:
        await loyalty.update_loyalty_settings(
            session,
            shop.owner,
            loyalty.SettingsInput(
                points_per_currency_unit=2, top_up_bonus_rules=BONUS_RULES, points_expiry_months=12
            ),
        )
        member = await make_member(session, shop)
        card = CardModel()
        history: dict[str, list[Any]] = {"charges": [], "bills": [], "redemptions": []}
        for step in steps:
            # each operation as its own unit of work would be: a refusal changes nothing
            async with session.begin_nested():
                try:
                    await _apply(session, shop, member.id, step, card, history)
                except KassaError as error:
                    raise AssertionError(f"{step} failed unexpectedly: {error}") from error
            await _check_ledgers(session, member.id, card)
    finally:
        await savepoint.rollback()
        session.info.clear()
        session.expunge_all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=stored_value_operations)
async def test_for_random_card_operations_the_parts_follow_the_rules_and_sum_up(
    session: AsyncSession, shop: LoyaltyShop, steps: list[tuple[Any, ...]]
) -> None:
    await _run(session, shop, steps)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=points_operations)
async def test_for_random_points_operations_the_ledger_sums_to_the_balance(
    session: AsyncSession, shop: LoyaltyShop, steps: list[tuple[Any, ...]]
) -> None:
    await _run(session, shop, steps)
