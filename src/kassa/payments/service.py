"""Taking payments on bills: cash (change, cash rounding), card on an external terminal,
WeChat Pay and Alipay (the customer's payment code scanned, or a QR code shown), and voids.

Every payment carries an idempotency key: the same key returns the first payment and never
charges twice. Wallet charges talk to the provider outside any database transaction: the
payment is first stored as pending (with our ``out_trade_no``, which the provider also
de-duplicates on), then the provider is called, then the outcome is stored.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.database import Database, utc_now
from kassa.core.errors import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from kassa.core.money import Money
from kassa.core.scope import load_scoped
from kassa.orders import service as orders
from kassa.orders.models import Bill, BillStatus, OrderType
from kassa.orders.totals import cash_rounding_for
from kassa.payments.member_tenders import MEMBER_TENDERS, member_wallet
from kassa.payments.models import Payment, PaymentStatus, Tender, TopUpPayment
from kassa.payments.provider_settings import (
    PaymentProviderNotConfigured as PaymentProviderNotConfigured,  # re-exported for callers
)
from kassa.payments.provider_settings import (
    check_not_changed_since,
    notification_url,
    provider_for,
)
from kassa.payments.providers import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    MalformedNotification,
    PaymentProvider,
    ProviderError,
)
from kassa.payments.providers.card_terminal import CardCharge, CardTerminal, ManualApprovalTerminal
from kassa.shifts.guard import require_open_shift_for_cash

logger = logging.getLogger(__name__)

WALLET_TENDERS = frozenset({Tender.WECHAT_PAY, Tender.ALIPAY})

_manual_terminal = ManualApprovalTerminal()


async def card_terminal_for(session: AsyncSession, store_id: int) -> CardTerminal:
    """The card terminal of a store: today every store types the approval code of a
    stand-alone terminal. An integrated terminal is chosen here (per store settings) and
    nothing else changes."""
    return _manual_terminal


def new_out_trade_no() -> str:
    """Our trade number for a wallet charge: random, so nobody can guess one (WeChat takes
    up to 32 characters of letters and digits)."""
    return "K" + secrets.token_hex(15).upper()


async def _by_key(session: AsyncSession, store_id: int, idempotency_key: str) -> Payment | None:
    return await session.scalar(
        select(Payment).where(Payment.store_id == store_id, Payment.idempotency_key == idempotency_key)
    )


def _check_key(idempotency_key: str) -> None:
    if not 8 <= len(idempotency_key) <= 100:
        raise ValidationFailed("an idempotency key is 8 to 100 characters", field="Idempotency-Key")


async def _bill_store_id(session: AsyncSession, actor: Actor, bill_id: int) -> int:
    # A register's staff work in its store; their keys are looked up there (a bill of
    # another store is refused when it is locked).
    if actor.store_id is not None and actor.register_id is not None:
        return actor.store_id
    bill = await orders.get_bill(session, actor, bill_id)
    return bill.store_id


async def _lock_for_payment(
    session: AsyncSession, actor: Actor, bill_id: int, version: int, idempotency_key: str
) -> tuple[Bill | None, Payment | None]:
    """The locked bill, or the payment this key made already (a repeated request)."""
    _check_key(idempotency_key)
    store_id = await _bill_store_id(session, actor, bill_id)
    existing = await _by_key(session, store_id, idempotency_key)
    if existing is not None:
        return None, _same_request(existing, bill_id)
    try:
        bill = await orders.lock_bill(session, actor, bill_id, version)
    except (StaleVersion, orders.BillClosed):
        # The first of two identical requests may have just committed (on PostgreSQL this
        # one waited for its row lock and now finds the bill changed, or closed by that
        # very payment): answer with its payment, which this statement can now see.
        existing = await _by_key(session, store_id, idempotency_key)
        if existing is not None:
            return None, _same_request(existing, bill_id)
        raise
    await orders.recalculate(session, bill)
    return bill, None


def _same_request(payment: Payment, bill_id: int) -> Payment:
    if payment.bill_id != bill_id:
        raise ValidationFailed("this idempotency key was used for another bill", field="Idempotency-Key")
    return payment


def _target_amount(bill: Bill, amount: int | None, split_share_index: int | None) -> int:
    due = orders.amount_due(bill)
    if due <= 0:
        raise Conflict("nothing is due on this bill", field="amount")
    if split_share_index is not None:
        if not bill.split_shares or not 0 <= split_share_index < len(bill.split_shares):
            raise ValidationFailed("no such share of this bill", field="split_share_index")
        share = bill.split_shares[split_share_index]
        target = amount if amount is not None else share
    else:
        target = amount if amount is not None else due
    if target <= 0:
        raise ValidationFailed("a payment is more than zero", field="amount")
    if target > due:
        raise ValidationFailed(f"only {due} is due", field="amount", extra={"amount_due": due})
    return target


def _new_payment(
    bill: Bill,
    actor: Actor,
    tender: Tender,
    status: PaymentStatus,
    amount: int,
    idempotency_key: str,
    share: int | None,
) -> Payment:
    if actor.register_id is None or actor.staff_id is None:
        raise PermissionDenied(
            "payments are taken on a register; log in there with your PIN", field="register_id"
        )
    return Payment(
        bill_id=bill.id,
        store_id=bill.store_id,
        register_id=actor.register_id,
        tender=tender,
        status=status,
        amount=amount,
        currency=bill.currency,
        idempotency_key=idempotency_key,
        split_share_index=share,
        created_by_staff_id=actor.staff_id,
        completed_at=utc_now() if status == PaymentStatus.SUCCEEDED else None,
    )


async def _after_success(session: AsyncSession, actor: Actor, bill: Bill, *, close_when_paid: bool) -> None:
    await orders.recalculate(session, bill)
    if close_when_paid and orders.amount_due(bill) == 0:
        await orders.close_locked(session, actor, bill)


def _record(session: AsyncSession, actor: Actor, payment: Payment, action: str = "payment.take") -> None:
    audit.record(
        session,
        actor,
        action,
        "payment",
        payment.id,
        store_id=payment.store_id,
        after={
            "bill_id": payment.bill_id,
            "tender": payment.tender,
            "status": payment.status,
            "amount": payment.amount,
            "tendered": payment.tendered_amount,
            "change": payment.change_amount,
            "approval_code": payment.approval_code,
        },
    )


async def take_cash(
    session: AsyncSession,
    actor: Actor,
    bill_id: int,
    version: int,
    *,
    tendered: int,
    idempotency_key: str,
    amount: int | None = None,
    split_share_index: int | None = None,
    close_when_paid: bool = True,
) -> Payment:
    """Cash: the customer hands over ``tendered``; the payment is ``amount`` (default: all
    that is due, or the share). When cash settles the bill, what is due is rounded to coins
    that exist (CNY: down to the jiao, 抹零); the difference is the bill's rounding. With
    no open shift on the register, cash is refused when the store asks for one."""
    actor.require(Permission.PAYMENT_TAKE)
    bill, existing = await _lock_for_payment(session, actor, bill_id, version, idempotency_key)
    if existing is not None:
        return existing
    assert bill is not None
    await require_open_shift_for_cash(session, bill.store_id, actor.register_id)
    target = _target_amount(bill, amount, split_share_index)
    due = orders.amount_due(bill)
    rounding = 0
    if target == due:
        rounding = cash_rounding_for(bill.currency).apply(due) - due
    payable = target + rounding
    if tendered < payable:
        raise ValidationFailed(
            f"{Money(payable, bill.currency)} is due in cash; {Money(tendered, bill.currency)} is not enough",
            field="tendered",
            extra={"payable": payable},
        )
    payment = _new_payment(
        bill, actor, Tender.CASH, PaymentStatus.SUCCEEDED, payable, idempotency_key, split_share_index
    )
    payment.tendered_amount = tendered
    payment.change_amount = tendered - payable
    session.add(payment)
    bill.rounding_amount += rounding
    await session.flush()
    _record(session, actor, payment)
    await _after_success(session, actor, bill, close_when_paid=close_when_paid)
    return payment


async def take_card(
    session: AsyncSession,
    actor: Actor,
    bill_id: int,
    version: int,
    *,
    approval_code: str,
    idempotency_key: str,
    amount: int | None = None,
    split_share_index: int | None = None,
    close_when_paid: bool = True,
) -> Payment:
    """A card paid on the store's card terminal (today: a stand-alone one whose approval code
    the cashier types)."""
    actor.require(Permission.PAYMENT_TAKE)
    bill, existing = await _lock_for_payment(session, actor, bill_id, version, idempotency_key)
    if existing is not None:
        return existing
    assert bill is not None
    target = _target_amount(bill, amount, split_share_index)
    terminal = await card_terminal_for(session, bill.store_id)
    approval = await terminal.charge(
        CardCharge(f"{bill.store_id}:{idempotency_key}", Money(target, bill.currency), approval_code)
    )
    payment = _new_payment(
        bill, actor, Tender.CARD, PaymentStatus.SUCCEEDED, target, idempotency_key, split_share_index
    )
    payment.provider = terminal.name
    payment.approval_code = approval.approval_code
    session.add(payment)
    await session.flush()
    _record(session, actor, payment)
    await _after_success(session, actor, bill, close_when_paid=close_when_paid)
    return payment


async def take_member_tender(
    session: AsyncSession,
    actor: Actor,
    bill_id: int,
    version: int,
    *,
    tender: Tender,
    idempotency_key: str,
    amount: int | None = None,
    split_share_index: int | None = None,
    close_when_paid: bool = True,
) -> Payment:
    """Pay (part of) a bill from the member's stored value or points; the member must be on
    the bill."""
    actor.require(Permission.PAYMENT_TAKE)
    if tender not in MEMBER_TENDERS:
        raise ValidationFailed("only stored value and points are member tenders", field="tender")
    bill, existing = await _lock_for_payment(session, actor, bill_id, version, idempotency_key)
    if existing is not None:
        return existing
    assert bill is not None
    if bill.member_id is None:
        raise Conflict("attach the member to the bill first", field="member_id")
    target = _target_amount(bill, amount, split_share_index)
    payment = _new_payment(
        bill, actor, tender, PaymentStatus.SUCCEEDED, target, idempotency_key, split_share_index
    )
    session.add(payment)
    await session.flush()
    taken = await member_wallet().charge(
        session, actor, bill.member_id, tender, Money(target, bill.currency), f"payment:{payment.id}"
    )
    payment.provider = "member"
    payment.provider_response = dict(taken)
    _record(session, actor, payment)
    await _after_success(session, actor, bill, close_when_paid=close_when_paid)
    return payment


@dataclass(frozen=True)
class WalletCharge:
    payment_id: int
    out_trade_no: str
    tender: Tender
    amount: Money
    payment_code: str | None
    description: str
    # The store's provider, resolved when the payment was stored.
    provider: PaymentProvider = field(compare=False, repr=False)
    notify_url: str | None = None


async def start_wallet_payment(
    session: AsyncSession,
    actor: Actor,
    bill_id: int,
    version: int,
    *,
    tender: Tender,
    idempotency_key: str,
    payment_code: str | None = None,
    amount: int | None = None,
    split_share_index: int | None = None,
) -> tuple[Payment, WalletCharge | None]:
    """Store a pending WeChat Pay / Alipay payment; the caller commits, then calls
    ``charge_wallet`` outside the transaction. A repeated key returns the stored payment.
    A tender the store has not set up is refused (:class:`PaymentProviderNotConfigured`)."""
    actor.require(Permission.PAYMENT_TAKE)
    if tender not in WALLET_TENDERS:
        raise ValidationFailed("choose WeChat Pay or Alipay", field="tender")
    if payment_code is not None and not (payment_code.isdigit() and 10 <= len(payment_code) <= 32):
        raise ValidationFailed(
            "a payment code is the 10 to 32 digits under the barcode", field="payment_code"
        )
    bill, existing = await _lock_for_payment(session, actor, bill_id, version, idempotency_key)
    if existing is not None:
        return existing, None
    assert bill is not None
    target = _target_amount(bill, amount, split_share_index)
    provider = await provider_for(session, bill.store_id, tender)
    payment = _new_payment(
        bill, actor, tender, PaymentStatus.PENDING, target, idempotency_key, split_share_index
    )
    payment.provider = provider.name
    payment.out_trade_no = new_out_trade_no()
    session.add(payment)
    await session.flush()
    _record(session, actor, payment, "payment.start")
    charge = WalletCharge(
        payment.id,
        payment.out_trade_no,
        tender,
        Money(target, bill.currency),
        payment_code,
        f"Bill {bill.number}",
        provider=provider,
        notify_url=notification_url(bill.store_id, tender),
    )
    return payment, charge


async def charge_wallet(
    database: Database, actor: Actor, charge: WalletCharge, *, close_when_paid: bool = True
) -> Payment:
    """Ask the provider to charge (payment code) or for a QR code, then store the outcome.

    Runs outside the request's transaction: a slow provider holds no lock, and a failure
    leaves a pending payment that ``refresh_payment`` (or the provider's notification)
    settles later.
    """
    provider = charge.provider
    request = ChargeRequest(
        charge.out_trade_no,
        charge.amount,
        charge.description,
        payment_code=charge.payment_code,
        notify_url=charge.notify_url,
    )
    try:
        if charge.payment_code is not None:
            result = await provider.charge_with_payment_code(request)
        else:
            result = await provider.create_qr_charge(request)
    except ProviderError as error:
        logger.warning("provider call failed for %s: %s", charge.out_trade_no, error)
        result = ChargeResult(ChargeStatus.PENDING, charge.out_trade_no, failure_reason=str(error))
    async with database.unit_of_work() as session:
        return await apply_charge_result(
            session, actor, charge.payment_id, result, close_when_paid=close_when_paid
        )


async def apply_charge_result(
    session: AsyncSession,
    actor: Actor,
    payment_id: int,
    result: ChargeResult,
    *,
    close_when_paid: bool = True,
) -> Payment:
    """Store what the provider said about a pending payment (idempotent: a settled payment
    stays as it is)."""
    payment = await session.get(Payment, payment_id, with_for_update=True)
    if payment is None:
        raise NotFound(f"no payment {payment_id}", field="payment_id")
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
    # The bill changes too: bump its version so open screens reload it.
    bill = await session.get(Bill, payment.bill_id)
    assert bill is not None
    bill.version += 1
    _record(session, actor, payment, "payment.settle")
    if payment.status == PaymentStatus.SUCCEEDED:
        await _after_success(session, actor, bill, close_when_paid=close_when_paid)
    orders.announce(session, bill)
    return payment


async def refresh_payment(database: Database, actor: Actor, payment_id: int) -> Payment:
    """Ask the provider about a pending wallet payment (the customer is still paying)."""
    async with database.read_only() as session:
        payment = await load_scoped(session, actor, Payment, payment_id, field="payment_id", what="payment")
        if payment.status != PaymentStatus.PENDING or payment.out_trade_no is None:
            return payment
        provider = await provider_for(session, payment.store_id, payment.tender)
    try:
        result = await provider.query(payment.out_trade_no, payment.currency)
    except ProviderError as error:
        result = ChargeResult(ChargeStatus.PENDING, payment.out_trade_no, failure_reason=str(error))
    async with database.unit_of_work() as session:
        return await apply_charge_result(session, actor, payment.id, result)


async def handle_notification(
    database: Database, tender: Tender, store_id: int, headers: Mapping[str, str], body: bytes
) -> tuple[Payment | TopUpPayment, PaymentProvider]:
    """The provider's asynchronous notice that a payment of this store settled.

    The notification address names the store, so the signature is checked with that
    store's provider before anything in the body is read (a WeChat notification's content
    is even encrypted with the store's own APIv3 key). Then it must name a payment of this
    store and tender, for the payment's amount; anything else is answered 400
    (:class:`MalformedNotification`) and changes nothing. A notification that names no bill
    payment may settle a pending stored-value top-up instead (``top_ups``). Returns the payment and the
    provider (whose ``acknowledgement`` is the answer the provider expects).
    """
    async with database.read_only() as session:
        provider = await provider_for(session, store_id, tender)
    notification = provider.parse_notification(headers, body)
    async with database.unit_of_work() as session:
        payment = await session.scalar(
            select(Payment).where(
                Payment.out_trade_no == notification.out_trade_no,
                Payment.store_id == store_id,
                Payment.tender == tender,
            )
        )
        if payment is None:
            # Not a bill's: a stored-value top-up of this store, tender and amount, or malformed.
            from kassa.payments.top_ups import settle_by_notification  # it builds on this module

            return await settle_by_notification(session, provider, store_id, tender, notification), provider
        if notification.amount != Money(payment.amount, payment.currency):
            raise MalformedNotification(
                provider.name,
                f"the notification is for {notification.amount}, the payment for "
                f"{Money(payment.amount, payment.currency)}",
            )
        bill = await session.get(Bill, payment.bill_id)
        assert bill is not None
        actor = Actor.system(await _organization_of(session, bill), store_id=bill.store_id, name=tender.value)
        result = ChargeResult(
            notification.status,
            notification.out_trade_no,
            provider_reference=notification.provider_reference,
            amount=notification.amount,
            raw=dict(notification.raw),
        )
        return await apply_charge_result(session, actor, payment.id, result), provider


async def _organization_of(session: AsyncSession, bill: Bill) -> int:
    from kassa.stores.models import Store

    store = await session.get(Store, bill.store_id)
    assert store is not None
    return store.organization_id


async def void_payment(
    session: AsyncSession, actor: Actor, bill_id: int, version: int, payment_id: int, reason: str
) -> Payment:
    """Cancel a payment before the bill closes: cash goes back from the drawer (of an open
    shift, when the store asks for one), a card is voided on the terminal, a wallet charge
    is cancelled (and refunded) at the provider."""
    actor.require(Permission.PAYMENT_VOID)
    if not reason.strip():
        raise ValidationFailed("say why the payment is voided", field="reason")
    bill = await orders.lock_bill(session, actor, bill_id, version)
    payment = await session.get(Payment, payment_id)
    if payment is None or payment.bill_id != bill.id:
        raise NotFound(f"no payment {payment_id} on this bill", field="payment_id")
    if payment.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.PENDING):
        raise Conflict(f"the payment is {payment.status.value}", field="payment_id")
    if payment.tender == Tender.CASH and payment.status == PaymentStatus.SUCCEEDED:
        # The cash goes back out of the drawer it went into: that shift must still be open.
        await require_open_shift_for_cash(
            session,
            payment.store_id,
            payment.register_id,
            taken_at=payment.completed_at or payment.created_at,
        )
    if payment.tender in WALLET_TENDERS and payment.out_trade_no:
        provider = await provider_for(session, payment.store_id, payment.tender)
        check_not_changed_since(payment.provider, provider, "the payment")
        await provider.cancel(payment.out_trade_no)
    payment.status = PaymentStatus.VOIDED
    payment.voided_at = utc_now()
    payment.voided_by_staff_id = actor.staff_id
    payment.failure_reason = reason.strip()
    bill.rounding_amount = 0
    await orders.recalculate(session, bill)
    _record(session, actor, payment, "payment.void")
    orders.announce(session, bill)
    return payment


@dataclass(frozen=True)
class SaleLine:
    product_id: int
    quantity: int = 1
    modifier_option_ids: tuple[int, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class SaleTender:
    tender: Tender
    amount: int | None = None  # default: what is still due
    tendered_amount: int | None = None  # cash handed over
    approval_code: str | None = None  # card terminal


async def record_sale(
    session: AsyncSession,
    actor: Actor,
    *,
    order_type: OrderType,
    lines: Sequence[SaleLine],
    tenders: Sequence[SaleTender],
    idempotency_key: str,
) -> Bill:
    """A whole counter sale in one unit of work: open a bill, add the lines, take the
    tenders (cash and card; wallets need the provider's round trip) and close it.

    The same rules as step by step (prices from the catalog, stock, rounding, audit); the
    sale must be paid in full, or nothing is stored. Kiosks, integrations and quick
    counter service use it; the idempotency key makes a retried sale count once.
    """
    if not lines:
        raise ValidationFailed("a sale has at least one line", field="lines")
    if not tenders:
        raise ValidationFailed("a sale is paid", field="tenders")
    if order_type == OrderType.DINE_IN:
        raise ValidationFailed("dine-in bills are opened at a table and paid later", field="order_type")
    bill = await orders.open_bill(session, actor, order_type=order_type)
    new_lines = [
        orders.NewLine(line.product_id, line.quantity, line.modifier_option_ids, note=line.note)
        for line in lines
    ]
    await orders.add_lines(session, actor, bill.id, bill.version, new_lines)
    for index, tender in enumerate(tenders):
        key = f"{idempotency_key}:{index}"
        is_last = index == len(tenders) - 1
        if tender.tender == Tender.CASH:
            if tender.tendered_amount is None:
                raise ValidationFailed(
                    "how much cash was handed over?", field=f"tenders.{index}.tendered_amount"
                )
            await take_cash(
                session,
                actor,
                bill.id,
                bill.version,
                tendered=tender.tendered_amount,
                idempotency_key=key,
                amount=tender.amount,
                close_when_paid=is_last,
            )
        elif tender.tender == Tender.CARD:
            await take_card(
                session,
                actor,
                bill.id,
                bill.version,
                approval_code=tender.approval_code or "",
                idempotency_key=key,
                amount=tender.amount,
                close_when_paid=is_last,
            )
        else:
            raise ValidationFailed("a one-step sale takes cash and card", field=f"tenders.{index}.tender")
    if bill.status != BillStatus.CLOSED:
        raise Conflict(
            f"the tenders do not pay the sale: {orders.amount_due(bill)} still due",
            field="tenders",
            extra={"amount_due": orders.amount_due(bill)},
        )
    return bill
