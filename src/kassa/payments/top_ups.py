"""Money taken at a register for a member's stored-value card (储值充值), not for a bill.

A top-up is real money like a bill payment, and is taken the same ways: cash into the
drawer of the register's open shift, a card on the store's card terminal (its approval
code), WeChat Pay or Alipay through the store's provider. Nothing else is money.

The card is credited by loyalty, above payments: it plugs in its ``credit`` function with
``set_top_up_confirmed_hook`` (see ``kassa.wiring``). Cash and card are confirmed at once,
in the request that takes them; a wallet top-up is stored pending, the provider is called
after the commit (as for bill payments), and the card is credited in the unit of work that
stores the provider's confirmation: the answer to the charge, a poll
(``refresh_top_up``) or the provider's signed notification (``settle_by_notification``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.database import Database, utc_now
from kassa.core.errors import NotFound, PermissionDenied, ValidationFailed
from kassa.core.money import Money
from kassa.core.scope import load_scoped
from kassa.payments.models import PaymentStatus, Tender, TopUpPayment
from kassa.payments.provider_settings import notification_url, provider_for
from kassa.payments.providers import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    MalformedNotification,
    PaymentNotification,
    PaymentProvider,
    ProviderError,
)
from kassa.payments.providers.card_terminal import APPROVAL_CODE_MAX_LENGTH, CardCharge
from kassa.payments.service import WALLET_TENDERS, WalletCharge, card_terminal_for, new_out_trade_no

logger = logging.getLogger(__name__)

TOP_UP_TENDERS = (Tender.CASH, Tender.CARD, Tender.WECHAT_PAY, Tender.ALIPAY)

ConfirmedHook = Callable[[AsyncSession, TopUpPayment], Awaitable[object]]
_confirmed_hook: ConfirmedHook | None = None


def set_top_up_confirmed_hook(hook: ConfirmedHook | None) -> None:
    """Loyalty's credit of a confirmed top-up (idempotent: a top-up is credited once)."""
    global _confirmed_hook
    _confirmed_hook = hook


def top_up_tender(value: str) -> Tender:
    """The tender of a top-up: cash, card, WeChat Pay or Alipay; anything else is refused."""
    try:
        tender = Tender(value.strip())
    except ValueError:
        tender = None
    if tender not in TOP_UP_TENDERS:
        raise ValidationFailed(
            "a top-up is paid in cash, by card, WeChat Pay or Alipay",
            field="tender",
            extra={"tenders": [item.value for item in TOP_UP_TENDERS]},
        )
    assert tender is not None
    return tender


@dataclass(frozen=True)
class NewTopUp:
    organization_id: int
    member_id: int
    amount: Money
    tender: Tender
    idempotency_key: str
    shift_id: int | None = None
    approval_code: str | None = None
    payment_code: str | None = None


async def check_top_up_request(
    session: AsyncSession, store_id: int, tender: Tender, approval_code: str | None, payment_code: str | None
) -> None:
    """Refuse, before anything is written, what cannot be money: a card without the
    terminal's approval code, a payment code that is not one, a wallet the store has not set up."""
    if tender == Tender.CARD:
        terminal = await card_terminal_for(session, store_id)
        code = (approval_code or "").strip()
        if terminal.needs_approval_code and not 0 < len(code) <= APPROVAL_CODE_MAX_LENGTH:
            raise ValidationFailed("type the approval code the terminal printed", field="approval_code")
    elif tender in WALLET_TENDERS:
        if payment_code is not None and not (payment_code.isdigit() and 10 <= len(payment_code) <= 32):
            raise ValidationFailed(
                "a payment code is the 10 to 32 digits under the barcode", field="payment_code"
            )
        await provider_for(session, store_id, tender)


async def top_up_by_key(session: AsyncSession, store_id: int, idempotency_key: str) -> TopUpPayment | None:
    return await session.scalar(
        select(TopUpPayment).where(
            TopUpPayment.store_id == store_id, TopUpPayment.idempotency_key == idempotency_key
        )
    )


def _record(session: AsyncSession, actor: Actor, payment: TopUpPayment, action: str) -> None:
    audit.record(
        session,
        actor,
        action,
        "top_up_payment",
        payment.id,
        store_id=payment.store_id,
        after={
            "member_id": payment.member_id,
            "tender": payment.tender,
            "status": payment.status,
            "amount": payment.amount,
            "shift_id": payment.shift_id,
            "approval_code": payment.approval_code,
            "out_trade_no": payment.out_trade_no,
        },
    )


async def take_top_up_payment(
    session: AsyncSession, actor: Actor, new: NewTopUp
) -> tuple[TopUpPayment, WalletCharge | None]:
    """Record the money taken for a top-up at the actor's register. Cash needs the open
    shift's id (the caller checked it); a card needs the terminal's approval; a wallet is
    stored pending with a new ``out_trade_no`` and the charge to make after the commit."""
    actor.require(Permission.STORED_VALUE_TOP_UP)
    if actor.register_id is None or actor.staff_id is None or actor.store_id is None:
        raise PermissionDenied(
            "top-ups are taken on a register; log in there with your PIN", field="register_id"
        )
    if new.tender not in TOP_UP_TENDERS:
        raise ValidationFailed("a top-up is paid in cash, by card, WeChat Pay or Alipay", field="tender")
    payment = TopUpPayment(
        organization_id=new.organization_id,
        store_id=actor.store_id,
        register_id=actor.register_id,
        shift_id=new.shift_id,
        member_id=new.member_id,
        tender=new.tender,
        status=PaymentStatus.PENDING,
        amount=new.amount.amount,
        currency=new.amount.currency,
        idempotency_key=new.idempotency_key,
        created_by_staff_id=actor.staff_id,
        created_at=utc_now(),
    )
    charge: WalletCharge | None = None
    provider: PaymentProvider | None = None
    if new.tender == Tender.CASH:
        if new.shift_id is None:
            raise ValidationFailed("cash goes into the drawer of an open shift", field="shift_id")
        payment.status = PaymentStatus.SUCCEEDED
        payment.completed_at = utc_now()
    elif new.tender == Tender.CARD:
        terminal = await card_terminal_for(session, actor.store_id)
        approval = await terminal.charge(
            CardCharge(f"top-up:{actor.store_id}:{new.idempotency_key}", new.amount, new.approval_code)
        )
        payment.provider = terminal.name
        payment.approval_code = approval.approval_code
        payment.status = PaymentStatus.SUCCEEDED
        payment.completed_at = utc_now()
    else:
        code = new.payment_code
        if code is not None and not (code.isdigit() and 10 <= len(code) <= 32):
            raise ValidationFailed(
                "a payment code is the 10 to 32 digits under the barcode", field="payment_code"
            )
        provider = await provider_for(session, actor.store_id, new.tender)
        payment.provider = provider.name
        payment.out_trade_no = new_out_trade_no()
    session.add(payment)
    await session.flush()
    if provider is not None:
        assert payment.out_trade_no is not None
        charge = WalletCharge(
            payment.id,
            payment.out_trade_no,
            new.tender,
            new.amount,
            new.payment_code,
            "Stored value top-up",
            provider=provider,
            notify_url=notification_url(actor.store_id, new.tender),
        )
    _record(session, actor, payment, "top_up_payment.start" if charge else "top_up_payment.take")
    return payment, charge


async def _confirmed(session: AsyncSession, payment: TopUpPayment) -> None:
    if _confirmed_hook is None:
        logger.error("top-up payment %s confirmed but no loyalty is installed to credit it", payment.id)
        return
    await _confirmed_hook(session, payment)


async def apply_top_up_result(
    session: AsyncSession, actor: Actor, top_up_id: int, result: ChargeResult
) -> TopUpPayment:
    """Store what the provider said about a pending top-up and, when it succeeded for the
    amount asked, credit the card (idempotent: a settled top-up stays as it is)."""
    payment = await session.get(TopUpPayment, top_up_id, with_for_update=True, populate_existing=True)
    if payment is None:
        raise NotFound(f"no top-up {top_up_id}", field="top_up_id")
    if payment.status != PaymentStatus.PENDING:
        return payment
    payment.provider_reference = result.provider_reference or payment.provider_reference
    payment.qr_code = result.qr_code or payment.qr_code
    payment.provider_response = dict(result.raw) if result.raw else payment.provider_response
    if result.status == ChargeStatus.SUCCEEDED:
        if result.amount is not None and result.amount.amount != payment.amount:
            payment.status = PaymentStatus.FAILED
            payment.failure_reason = f"provider charged {result.amount.amount}, expected {payment.amount}"
        else:
            payment.status = PaymentStatus.SUCCEEDED
            payment.completed_at = utc_now()
    elif result.status in (ChargeStatus.FAILED, ChargeStatus.CLOSED):
        payment.status = PaymentStatus.FAILED
        payment.failure_reason = result.failure_reason or result.status.value
    else:
        payment.failure_reason = result.failure_reason
        return payment
    await session.flush()
    _record(session, actor, payment, "top_up_payment.settle")
    if payment.status == PaymentStatus.SUCCEEDED:
        await _confirmed(session, payment)
    return payment


async def charge_top_up(database: Database, actor: Actor, charge: WalletCharge) -> TopUpPayment:
    """Ask the provider to charge the payment code (or for a QR code) of a pending top-up,
    outside any transaction, then store the outcome (crediting the card if it succeeded)."""
    request = ChargeRequest(
        charge.out_trade_no,
        charge.amount,
        charge.description,
        payment_code=charge.payment_code,
        notify_url=charge.notify_url,
    )
    try:
        if charge.payment_code is not None:
            result = await charge.provider.charge_with_payment_code(request)
        else:
            result = await charge.provider.create_qr_charge(request)
    except ProviderError as error:
        logger.warning("provider call failed for top-up %s: %s", charge.out_trade_no, error)
        result = ChargeResult(ChargeStatus.PENDING, charge.out_trade_no, failure_reason=str(error))
    async with database.unit_of_work() as session:
        return await apply_top_up_result(session, actor, charge.payment_id, result)


async def get_top_up_payment(session: AsyncSession, actor: Actor, top_up_id: int) -> TopUpPayment:
    actor.require(Permission.STORED_VALUE_TOP_UP)
    return await load_scoped(session, actor, TopUpPayment, top_up_id, field="top_up_id", what="top-up")


async def refresh_top_up(database: Database, actor: Actor, top_up_id: int) -> TopUpPayment:
    """Ask the provider about a pending wallet top-up (the customer is still paying), as the
    register polls; a confirmed one is credited."""
    async with database.read_only() as session:
        payment = await get_top_up_payment(session, actor, top_up_id)
        if payment.status != PaymentStatus.PENDING or payment.out_trade_no is None:
            return payment
        provider = await provider_for(session, payment.store_id, payment.tender)
    try:
        result = await provider.query(payment.out_trade_no, payment.currency)
    except ProviderError as error:
        result = ChargeResult(ChargeStatus.PENDING, payment.out_trade_no, failure_reason=str(error))
    async with database.unit_of_work() as session:
        return await apply_top_up_result(session, actor, payment.id, result)


async def settle_by_notification(
    session: AsyncSession,
    provider: PaymentProvider,
    store_id: int,
    tender: Tender,
    notification: PaymentNotification,
) -> TopUpPayment:
    """A verified notification that names no bill payment: it must name a top-up of this
    store and tender, for its amount, or it is malformed (400, nothing changes)."""
    payment = await session.scalar(
        select(TopUpPayment).where(
            TopUpPayment.out_trade_no == notification.out_trade_no,
            TopUpPayment.store_id == store_id,
            TopUpPayment.tender == tender,
        )
    )
    if payment is None or tender not in WALLET_TENDERS:
        raise MalformedNotification(provider.name, "no payment of this store has that out_trade_no")
    if notification.amount != Money(payment.amount, payment.currency):
        raise MalformedNotification(
            provider.name,
            f"the notification is for {notification.amount}, the top-up for "
            f"{Money(payment.amount, payment.currency)}",
        )
    actor = Actor.system(payment.organization_id, store_id=store_id, name=tender.value)
    result = ChargeResult(
        notification.status,
        notification.out_trade_no,
        provider_reference=notification.provider_reference,
        amount=notification.amount,
        raw=dict(notification.raw),
    )
    return await apply_top_up_result(session, actor, payment.id, result)
