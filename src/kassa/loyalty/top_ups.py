"""Topping up a member's stored-value card: real money first, then the balance.

A top-up is money the customer pays at a register (``kassa.payments.top_ups`` records it):
cash into the drawer of the register's open shift (refused with 409 ``shift_not_open``
without one), a card with the terminal's approval code, WeChat Pay or Alipay through the
store's provider. Any other "tender" is refused. The card is credited only once the money
is confirmed, exactly once per top-up, with the bonus of the best top-up rule it reaches
(kept apart from the principal). A top-up is bounded by the organization's maximum, and
needs the ``stored_value.top_up`` permission.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Permission
from kassa.core.database import utc_now
from kassa.core.errors import Conflict, ValidationFailed
from kassa.core.money import Money
from kassa.loyalty import rules
from kassa.loyalty.accounts import lock_account, loyalty_settings, member_for
from kassa.loyalty.models import LoyaltyAccount, LoyaltySettings, StoredValueEntry, StoredValueEntryKind
from kassa.loyalty.points import check_reference
from kassa.loyalty.rules import DEFAULT_MAXIMUM_TOP_UP_AMOUNT, DEFAULT_TOP_UP_PRESETS, MAX_PRESETS
from kassa.loyalty.stored_value import append_entry, entry_by_key
from kassa.members.models import Member
from kassa.payments import top_ups as payments
from kassa.payments.models import PaymentStatus, Tender, TopUpPayment
from kassa.payments.service import WalletCharge
from kassa.shifts import service as shifts


class ShiftNotOpen(Conflict):
    """Cash goes into a drawer, and a drawer is counted only on an open shift."""

    code = "shift_not_open"
    title = "No shift is open on this register"


@dataclass(frozen=True)
class TopUpOptions:
    """What the top-up dialog offers: preset amounts, the maximum, the bonus rules."""

    currency: str
    presets: tuple[int, ...]
    maximum_amount: int
    bonus_rules: tuple[Mapping[str, int], ...]

    def bonus_for(self, amount: int) -> int:
        return rules.top_up_bonus(amount, self.bonus_rules)


def top_up_options_of(settings: LoyaltySettings) -> TopUpOptions:
    maximum = settings.maximum_top_up_amount or DEFAULT_MAXIMUM_TOP_UP_AMOUNT
    bonus_rules = tuple(
        {"minimum_amount": int(rule["minimum_amount"]), "bonus_amount": int(rule["bonus_amount"])}
        for rule in sorted(settings.top_up_bonus_rules or (), key=lambda rule: int(rule["minimum_amount"]))
    )
    presets: Sequence[int] = settings.top_up_presets or sorted(
        {*DEFAULT_TOP_UP_PRESETS, *(rule["minimum_amount"] for rule in bonus_rules)}
    )
    return TopUpOptions(
        settings.currency,
        tuple(amount for amount in presets if 0 < amount <= maximum)[:MAX_PRESETS],
        maximum,
        bonus_rules,
    )


async def top_up_options(session: AsyncSession, actor: Actor) -> TopUpOptions:
    """The organization's top-up presets, maximum and bonus rules (for the dialog)."""
    actor.require(Permission.MEMBER_VIEW)
    return top_up_options_of(await loyalty_settings(session, actor.organization_id))


@dataclass(frozen=True)
class TopUp:
    """A top-up: the money (``payment``) and, once it is confirmed, what the card got
    (``top_up`` the principal, ``bonus`` the bonus). ``charge`` is the provider call a
    wallet top-up still needs (made after the commit, see ``payments.top_ups``)."""

    payment: TopUpPayment
    top_up: StoredValueEntry | None
    bonus: StoredValueEntry | None
    charge: WalletCharge | None = None

    @property
    def is_credited(self) -> bool:
        return self.top_up is not None

    @property
    def principal(self) -> Money:
        return Money(self.top_up.principal_amount if self.top_up else 0, self.payment.currency)

    @property
    def bonus_value(self) -> Money:
        return Money(self.bonus.bonus_amount if self.bonus else 0, self.payment.currency)


def _entry_keys(payment: TopUpPayment) -> tuple[str, str]:
    return f"top_up:payment:{payment.id}", f"bonus:top_up_payment:{payment.id}"


async def _as_top_up(session: AsyncSession, payment: TopUpPayment) -> TopUp:
    principal_key, bonus_key = _entry_keys(payment)
    return TopUp(payment, await entry_by_key(session, principal_key), await entry_by_key(session, bonus_key))


async def credit_top_up(
    session: AsyncSession,
    payment: TopUpPayment,
    actor: Actor | None = None,
    account: LoyaltyAccount | None = None,
) -> TopUp:
    """Put a confirmed top-up on the member's card: the principal, and the bonus of the best
    rule it reaches. Once per top-up, whoever asks (the request, a poll, a notification).
    ``account``: the member's account, when the caller holds its lock already."""
    if payment.status != PaymentStatus.SUCCEEDED:
        raise Conflict(f"the top-up is {payment.status.value}, not paid", field="top_up_id")
    member = await session.get(Member, payment.member_id)
    assert member is not None
    if account is None:
        account = await lock_account(session, member)  # serialises two confirmations of one top-up
    principal_key, bonus_key = _entry_keys(payment)
    if await entry_by_key(session, principal_key) is not None:
        return await _as_top_up(session, payment)
    if account.currency != payment.currency:
        raise Conflict(f"the card holds {account.currency}, not {payment.currency}", field="amount")
    if actor is None:
        # Confirmed by the provider: booked for the staff member who took it, at its store.
        actor = Actor(
            organization_id=payment.organization_id,
            staff_id=payment.created_by_staff_id,
            store_id=payment.store_id,
            register_id=payment.register_id,
            display_name=f"{payment.tender.value} confirmation",
            is_system=True,
        )
    settings = await loyalty_settings(session, member.organization_id)
    bonus_value = rules.top_up_bonus(payment.amount, settings.top_up_bonus_rules)
    reference = f"top_up:{payment.id}"
    paid_in = await append_entry(
        session,
        actor,
        account,
        StoredValueEntryKind.TOP_UP,
        payment.amount,
        0,
        reference=reference,
        key=principal_key,
        tender=payment.tender.value,
    )
    bonus = None
    if bonus_value > 0:
        bonus = await append_entry(
            session,
            actor,
            account,
            StoredValueEntryKind.BONUS,
            0,
            bonus_value,
            reference=reference,
            key=bonus_key,
        )
    payment.credited_at = utc_now()
    await session.flush()
    return TopUp(payment, paid_in, bonus)


async def credit_confirmed_top_up(session: AsyncSession, payment: TopUpPayment) -> TopUp:
    """The hook payments calls when the provider confirms a wallet top-up."""
    return await credit_top_up(session, payment)


def _same_request(existing: TopUpPayment, member_id: int, amount: int, tender: Tender) -> None:
    if (existing.member_id, existing.amount, existing.tender) != (member_id, amount, tender):
        raise ValidationFailed(
            "this idempotency key was used for a different top-up", field="idempotency_key"
        )


async def top_up(
    session: AsyncSession,
    actor: Actor,
    member_id: int,
    amount: Money,
    *,
    tender: str,
    idempotency_key: str,
    approval_code: str | None = None,
    payment_code: str | None = None,
) -> TopUp:
    """Take ``amount`` at the actor's register for the member's card and credit it once the
    money is confirmed: cash (into the open shift's drawer) and card (with the terminal's
    approval code) at once, WeChat Pay / Alipay when the provider confirms (the returned
    ``charge`` is made after the commit). The same idempotency key returns the first
    top-up; used for another member, amount or tender it is refused."""
    member = await member_for(session, actor, member_id, Permission.STORED_VALUE_TOP_UP, adds_value=True)
    chosen = payments.top_up_tender(tender)
    idempotency_key = check_reference(idempotency_key, "idempotency_key")
    if actor.register_id is None or actor.store_id is None:
        raise ValidationFailed(
            "a top-up is money taken at a register; log in at one with your PIN", field="register_id"
        )
    earlier = await payments.top_up_by_key(session, actor.store_id, idempotency_key)
    if earlier is not None:  # a retry answers the first top-up, even once the shift closed
        _same_request(earlier, member.id, amount.amount, chosen)
        return await _as_top_up(session, earlier)
    # Everything that can refuse is checked before the account row is made or locked.
    options = top_up_options_of(await loyalty_settings(session, member.organization_id))
    if amount.currency != options.currency:
        raise ValidationFailed(f"the card holds {options.currency}, not {amount.currency}", field="amount")
    if not 0 < amount.amount <= options.maximum_amount:
        raise ValidationFailed(
            f"a top-up is more than zero and at most {Money(options.maximum_amount, options.currency)}",
            field="amount",
            extra={"maximum_amount": options.maximum_amount},
        )
    if chosen == Tender.CASH and await shifts.current_shift_id(session, actor.register_id) is None:
        raise ShiftNotOpen("open a shift on this register first: cash goes into its drawer", field="tender")
    await payments.check_top_up_request(session, actor.store_id, chosen, approval_code, payment_code)
    account = await lock_account(session, member)  # one member's top-ups queue here
    existing = await payments.top_up_by_key(session, actor.store_id, idempotency_key)
    if existing is not None:
        _same_request(existing, member.id, amount.amount, chosen)
        return await _as_top_up(session, existing)
    shift_id = await shifts.current_shift_id(session, actor.register_id)
    if chosen == Tender.CASH and shift_id is None:  # closed meanwhile
        raise ShiftNotOpen("open a shift on this register first: cash goes into its drawer", field="tender")
    payment, charge = await payments.take_top_up_payment(
        session,
        actor,
        payments.NewTopUp(
            organization_id=member.organization_id,
            member_id=member.id,
            amount=amount,
            tender=chosen,
            idempotency_key=idempotency_key,
            shift_id=shift_id,
            approval_code=approval_code,
            payment_code=payment_code,
        ),
    )
    if payment.status == PaymentStatus.SUCCEEDED:
        return await credit_top_up(session, payment, actor, account)
    return TopUp(payment, None, None, charge)


async def get_top_up(session: AsyncSession, actor: Actor, top_up_id: int) -> TopUp:
    """A top-up of the actor's stores, with what the card got (if it was credited yet)."""
    return await _as_top_up(session, await payments.get_top_up_payment(session, actor, top_up_id))
