"""Refunds to the original tenders.

A refund of an amount on a bill is spread over the bill's succeeded payments in proportion
to what each can still give back (largest remainder), so every tender gets back its share
and none ever gives back more than it took: each share is reserved on its payment with one
conditional UPDATE (``refunded_amount + share <= amount``), which also makes two refunds
racing for the same money fail the second instead of over-refunding.

How each tender pays out:

* cash: from the drawer of the register where a cashier hands it over (that shift counts
  it); done at once when the refund is made at a register, else it waits for a cashier;
* card: on the external terminal; waits until a cashier records the terminal's approval code;
* WeChat Pay / Alipay: the provider's refund API, called by the outbox worker with our
  ``out_refund_no`` as the idempotency key (a retry never refunds twice);
* stored value and points: back to the member (members issue).

A refund may be *held* (the store waits for the customer's confirmation first); it is
reserved but not paid out until released.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit, outbox
from kassa.core.auth import Actor, Permission
from kassa.core.database import get_database, utc_now
from kassa.core.errors import Conflict, ValidationFailed
from kassa.core.events import Event, publish_after_commit
from kassa.core.money import Money, allocate
from kassa.core.outbox import ClaimedMessage, Handler, PermanentFailure, RetryLater
from kassa.core.scope import load_scoped
from kassa.orders.models import Bill
from kassa.payments.member_tenders import MEMBER_TENDERS, member_wallet
from kassa.payments.models import Payment, PaymentStatus, Refund, RefundStatus, Tender
from kassa.payments.provider_settings import PaymentProviderNotConfigured, provider_for
from kassa.payments.providers import PaymentProvider, ProviderError, RefundRequest, RefundResult
from kassa.payments.providers import RefundStatus as ProviderRefundStatus
from kassa.payments.providers.card_terminal import CardRefund
from kassa.shifts.guard import require_open_shift_for_cash
from kassa.stores.service import store_topic

REFUND_KIND = "payment.refund"
WALLET_TENDERS = frozenset({Tender.WECHAT_PAY, Tender.ALIPAY})
# Paid out by a person at a register rather than by a provider.
MANUAL_TENDERS = frozenset({Tender.CASH, Tender.CARD})

# Told when a refund succeeds, fails or is cancelled, by the capability that asked for it
# (its ``source_type``), in the same transaction.
RefundSettledHook = Callable[[AsyncSession, Refund], Awaitable[None]]
_settled_hooks: dict[str, RefundSettledHook] = {}


def on_refund_settled(source_type: str, hook: RefundSettledHook) -> None:
    _settled_hooks[source_type] = hook


@dataclass(frozen=True)
class RefundShare:
    payment_id: int
    tender: Tender
    amount: int


async def refundable_payments(session: AsyncSession, bill_id: int) -> Sequence[Payment]:
    return (
        await session.scalars(
            select(Payment)
            .where(Payment.bill_id == bill_id, Payment.status == PaymentStatus.SUCCEEDED)
            .order_by(Payment.id)
        )
    ).all()


def plan_shares(payments: Sequence[Payment], amount: int) -> list[RefundShare]:
    """``amount`` over the payments in proportion to what each can still give back."""
    left = [payment.amount - payment.refunded_amount for payment in payments]
    if amount < 0:
        raise ValidationFailed("a refund cannot be negative", field="amount")
    if amount > sum(left):
        raise Conflict(
            f"only {sum(left)} is left to refund on this bill, not {amount}",
            field="amount",
            extra={"refundable": sum(left)},
        )
    if amount == 0:
        return []
    parts = allocate(amount, left)
    return [
        RefundShare(payment.id, payment.tender, part)
        for payment, part in zip(payments, parts, strict=True)
        if part > 0
    ]


@dataclass(frozen=True)
class RefundDirection:
    """A manager sends a refund to one tender instead of the original ones (all in cash
    while the card terminal is down), saying why."""

    tender: Tender
    reason: str


# Tenders a refund may be directed to: paid out by a person at the register.
DIRECTABLE_TENDERS = MANUAL_TENDERS


def check_direction(actor: Actor, direction: RefundDirection, payments: Sequence[Payment]) -> None:
    """Who may direct a refund (``refund.direct``) and where to: cash, or a card when the
    bill was paid (partly) by card; a reason is required."""
    actor.require(Permission.REFUND_DIRECT)
    if not direction.reason.strip():
        raise ValidationFailed("say why the refund goes to another tender", field="refund_to.reason")
    paid_with = {payment.tender for payment in payments}
    if direction.tender != Tender.CASH and (
        direction.tender not in DIRECTABLE_TENDERS or direction.tender not in paid_with
    ):
        raise ValidationFailed(
            "a refund goes to cash, or to a card the bill was paid with",
            field="refund_to.tender",
            extra={
                "tenders": sorted(
                    {Tender.CASH.value} | {tender.value for tender in paid_with & DIRECTABLE_TENDERS}
                )
            },
        )


async def refund_to_tenders(
    session: AsyncSession,
    actor: Actor,
    bill: Bill,
    amount: int,
    *,
    reason: str,
    source: tuple[str, int],
    hold: bool = False,
    direction: RefundDirection | None = None,
    direction_actor: Actor | None = None,
) -> list[Refund]:
    """Refund ``amount`` of ``bill`` to its tenders (reserved now, paid out unless ``hold``).

    By default each tender gets back its share, in proportion. With a ``direction`` (a
    manager's call, ``refund.direct``: checked on ``direction_actor``, default the actor)
    the shares are still reserved on the payments they came from, so no payment gives back
    more than it took, but they are paid out in the chosen tender; shares of stored value
    and points always go back to the member."""
    payments = await refundable_payments(session, bill.id)
    if direction is not None:
        check_direction(direction_actor or actor, direction, payments)
    shares = plan_shares(payments, amount)
    refunds: list[Refund] = []
    for share in shares:
        reserved = await session.scalar(
            update(Payment)
            .where(
                Payment.id == share.payment_id,
                Payment.status == PaymentStatus.SUCCEEDED,
                Payment.refunded_amount + share.amount <= Payment.amount,
            )
            .values(refunded_amount=Payment.refunded_amount + share.amount)
            .returning(Payment.id)
            .execution_options(synchronize_session="fetch")
        )
        if reserved is None:
            raise Conflict("the payment was refunded meanwhile; try again", field="amount")
        is_directed = (
            direction is not None and direction.tender != share.tender and share.tender not in MEMBER_TENDERS
        )
        refund = Refund(
            payment_id=share.payment_id,
            bill_id=bill.id,
            store_id=bill.store_id,
            tender=direction.tender if is_directed and direction is not None else share.tender,
            directed_from_tender=share.tender if is_directed else None,
            direction_reason=direction.reason.strip()[:300]
            if is_directed and direction is not None
            else None,
            amount=share.amount,
            currency=bill.currency,
            status=RefundStatus.PENDING,
            reason=reason[:300],
            source_type=source[0],
            source_id=source[1],
            is_held=True,
            created_by_staff_id=actor.staff_id,
        )
        session.add(refund)
        refunds.append(refund)
    await session.flush()
    for refund in refunds:
        audit.record(
            session,
            actor,
            "refund.create",
            "refund",
            refund.id,
            store_id=bill.store_id,
            after={
                "bill_id": bill.id,
                "payment_id": refund.payment_id,
                "tender": refund.tender.value,
                "amount": refund.amount,
                "held": hold,
                "directed_from_tender": refund.directed_from_tender.value
                if refund.directed_from_tender
                else None,
                "direction_reason": refund.direction_reason,
                "directed_by_staff_id": (direction_actor or actor).staff_id
                if refund.directed_from_tender
                else None,
            },
        )
        if not hold:
            await release(session, actor, refund)
    return refunds


async def release(session: AsyncSession, actor: Actor, refund: Refund) -> None:
    """Start paying a refund out (it was held, or has just been made)."""
    if refund.status != RefundStatus.PENDING:
        return
    refund.is_held = False
    if refund.tender in WALLET_TENDERS:
        refund.out_refund_no = f"kassa-rf-{refund.id}"
        await outbox.enqueue(
            session,
            REFUND_KIND,
            {"refund_id": refund.id},
            store_id=refund.store_id,
            dedupe_key=f"refund:{refund.id}",
        )
    elif refund.tender == Tender.CASH and actor.register_id is not None and actor.can(Permission.CASH_DRAWER):
        # Handed over from this register's drawer at once, so it needs a shift to count it.
        await require_open_shift_for_cash(session, refund.store_id, actor.register_id)
        await _succeed(session, actor, refund, register_id=actor.register_id)
        return
    elif refund.tender in MEMBER_TENDERS:
        await _refund_to_member(session, actor, refund)
        return
    _announce(session, refund)


async def _refund_to_member(session: AsyncSession, actor: Actor, refund: Refund) -> None:
    """Stored value and points go back onto the member's account at once."""
    payment = await session.get(Payment, refund.payment_id)
    bill = await session.get(Bill, refund.bill_id)
    assert payment is not None
    assert bill is not None
    if bill.member_id is None:
        raise Conflict("the bill has no member to give the refund back to", field="refund_id")
    result = await member_wallet().refund(
        session,
        actor,
        bill.member_id,
        refund.tender,
        Money(refund.amount, refund.currency),
        f"payment:{payment.id}",
    )
    refund.provider_response = dict(result)
    await _succeed(session, actor, refund)


async def _succeed(
    session: AsyncSession,
    actor: Actor,
    refund: Refund,
    *,
    register_id: int | None = None,
    approval_code: str | None = None,
    provider_reference: str | None = None,
) -> None:
    refund.status = RefundStatus.SUCCEEDED
    refund.completed_at = utc_now()
    refund.completed_by_staff_id = actor.staff_id
    refund.register_id = register_id
    refund.approval_code = approval_code
    refund.provider_reference = provider_reference
    audit.record(
        session,
        actor,
        "refund.succeed",
        "refund",
        refund.id,
        store_id=refund.store_id,
        after={"tender": refund.tender.value, "amount": refund.amount, "register_id": register_id},
    )
    await _settled(session, refund)


async def _give_back_reservation(session: AsyncSession, refund: Refund) -> None:
    await session.execute(
        update(Payment)
        .where(Payment.id == refund.payment_id)
        .values(refunded_amount=Payment.refunded_amount - refund.amount)
        .execution_options(synchronize_session="fetch")
    )


async def _settled(session: AsyncSession, refund: Refund) -> None:
    await session.flush()
    hook = _settled_hooks.get(refund.source_type)
    if hook is not None:
        await hook(session, refund)
    _announce(session, refund)


def _announce(session: AsyncSession, refund: Refund) -> None:
    publish_after_commit(
        session,
        Event(
            store_topic(refund.store_id),
            "refund.changed",
            {"refund_id": refund.id, "status": refund.status.value, "tender": refund.tender.value},
        ),
    )


async def _pending_refund(session: AsyncSession, actor: Actor, refund_id: int) -> Refund:
    refund = await load_scoped(
        session, actor, Refund, refund_id, field="refund_id", what="refund", for_update=True
    )
    if refund.status != RefundStatus.PENDING:
        raise Conflict(f"the refund is {refund.status.value} already", field="refund_id")
    if refund.is_held:
        raise Conflict("the refund waits for the customer's confirmation", field="refund_id")
    return refund


async def pay_out(
    session: AsyncSession, actor: Actor, refund_id: int, *, approval_code: str | None = None
) -> Refund:
    """A cashier hands back cash from this register's drawer, or records the card terminal's
    approval code of a card refund."""
    refund = await _pending_refund(session, actor, refund_id)
    if refund.tender == Tender.CASH:
        actor.require(Permission.CASH_DRAWER)
        if actor.register_id is None:
            raise ValidationFailed("cash is paid out at a register; log in on one", field="register_id")
        await require_open_shift_for_cash(session, refund.store_id, actor.register_id)
        await _succeed(session, actor, refund, register_id=actor.register_id)
    elif refund.tender == Tender.CARD:
        from kassa.payments.service import card_terminal_for

        actor.require(Permission.PAYMENT_VOID)
        terminal = await card_terminal_for(session, refund.store_id)
        approval = await terminal.refund(
            CardRefund(f"refund:{refund.id}", Money(refund.amount, refund.currency), approval_code)
        )
        await _succeed(
            session, actor, refund, register_id=actor.register_id, approval_code=approval.approval_code
        )
    else:
        raise Conflict(f"a {refund.tender.value} refund is paid out by its provider", field="refund_id")
    return refund


async def cancel(session: AsyncSession, actor: Actor, refund: Refund, reason: str) -> None:
    """Never pay a refund out (it must still be pending); its reservation is given back."""
    if refund.status != RefundStatus.PENDING:
        raise Conflict(f"the refund is {refund.status.value} already", field="refund_id")
    refund.status = RefundStatus.CANCELLED
    refund.failure_reason = reason[:300]
    refund.completed_at = utc_now()
    await _give_back_reservation(session, refund)
    audit.record(
        session,
        actor,
        "refund.cancel",
        "refund",
        refund.id,
        store_id=refund.store_id,
        after={"reason": reason},
    )
    await _settled(session, refund)


async def pending_payouts(session: AsyncSession, actor: Actor, store_id: int) -> Sequence[Refund]:
    """Cash and card refunds a cashier must still pay out in this store."""
    actor.require_store(store_id)
    return (
        await session.scalars(
            select(Refund)
            .where(
                Refund.store_id == store_id,
                Refund.status == RefundStatus.PENDING,
                Refund.is_held.is_(False),
                Refund.tender.in_(MANUAL_TENDERS),
            )
            .order_by(Refund.created_at)
        )
    ).all()


async def refunds_of(session: AsyncSession, source_type: str, source_id: int) -> Sequence[Refund]:
    return (
        await session.scalars(
            select(Refund)
            .where(Refund.source_type == source_type, Refund.source_id == source_id)
            .order_by(Refund.id)
        )
    ).all()


# --- the worker: wallet refunds ---------------------------------------------------------------


async def deliver_refund(claimed: ClaimedMessage) -> None:
    """Ask the store's wallet provider to refund; it de-duplicates on ``out_refund_no``.
    A payment taken through another provider than the store's current one is not sent to
    the new one (which never saw it), nor is one of a store that stopped taking the tender:
    that refund fails (its money is free again) for a manager to give back another way."""
    try:
        refund_id = int(claimed.payload["refund_id"])
    except (KeyError, TypeError, ValueError) as error:
        raise PermanentFailure(f"outbox message {claimed.id} names no refund") from error
    database = get_database()
    async with database.read_only() as session:
        refund = await session.get(Refund, refund_id)
        if refund is None:
            raise PermanentFailure(f"refund {refund_id} is gone")
        if refund.status != RefundStatus.PENDING:
            return
        payment = await session.get(Payment, refund.payment_id)
        assert payment is not None
        if not payment.out_trade_no or not refund.out_refund_no:
            raise PermanentFailure(f"refund {refund_id} has no provider charge to refund")
        request = RefundRequest(
            out_trade_no=payment.out_trade_no,
            out_refund_no=refund.out_refund_no,
            refund_amount=Money(refund.amount, refund.currency),
            total_amount=Money(payment.amount, payment.currency),
            reason=refund.reason,
        )
        provider: PaymentProvider | None = None
        refusal: str | None = None
        try:
            provider = await provider_for(session, refund.store_id, refund.tender)
        except PaymentProviderNotConfigured as error:
            refusal = error.detail
        if provider is not None and payment.provider is not None and payment.provider != provider.name:
            refusal = (
                f"the payment was taken through {payment.provider}, the store now uses "
                f"{provider.name}: give it back another way"
            )
    if provider is None or refusal is not None:
        result = RefundResult(ProviderRefundStatus.FAILED, request.out_refund_no, failure_reason=refusal)
    else:
        try:
            result = await provider.refund(request)
        except ProviderError as error:
            raise RetryLater(error.detail or str(error)) from error
    if result.status == ProviderRefundStatus.PENDING:
        raise RetryLater("the provider is still processing the refund")
    async with database.unit_of_work() as session:
        refund = await session.get(Refund, refund_id, with_for_update=True)
        if refund is None or refund.status != RefundStatus.PENDING:
            return
        organization_id = await _organization_of(session, refund.store_id)
        system = Actor.system(organization_id, refund.store_id, name="payment refunds")
        refund.provider_response = dict(result.raw)
        if result.status == ProviderRefundStatus.SUCCEEDED:
            await _succeed(session, system, refund, provider_reference=result.provider_reference)
        else:
            refund.status = RefundStatus.FAILED
            refund.failure_reason = (result.failure_reason or "refused by the provider")[:300]
            refund.completed_at = utc_now()
            await _give_back_reservation(session, refund)
            audit.record(
                session,
                system,
                "refund.fail",
                "refund",
                refund.id,
                store_id=refund.store_id,
                after={"reason": refund.failure_reason},
            )
            await _settled(session, refund)


async def _organization_of(session: AsyncSession, store_id: int) -> int:
    from kassa.stores.models import Store

    store = await session.get(Store, store_id)
    assert store is not None
    return store.organization_id


def register_refund_handlers(handlers: dict[str, Handler]) -> None:
    handlers[REFUND_KIND] = deliver_refund
