"""Dish returns (退菜): request → approval → slip → refund → customer SMS → reply.

1. ``request_return``: staff pick lines of an open or paid bill, how many, and why. The bill
   row is held while the request is written, so two requests can never together return
   more than was sold.
2. ``approve`` / ``reject`` by a cashier or manager; above the store's threshold a manager
   (their role, their PIN on the spot, or a one-time SMS code). The decision is one
   conditional UPDATE (``WHERE status = 'pending'``), so two people approving at the same
   moment make one approval and one refund; the other gets a conflict.
3. On approval: an open bill loses the lines; a paid bill is refunded to its tenders
   (``payments.refunds``), the stock is given back unless the dish was made (then waste),
   a return slip is printed, and the customer gets an SMS with a short reply code.
4. The customer answers: confirming releases a refund the store held for the
   confirmation; disputing puts the return back in the manager's queue. No answer in time:
   confirmed or escalated, per store setting (a delayed outbox message, so it survives
   restarts).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog import service as catalog
from kassa.core import audit, outbox
from kassa.core.auth import Actor, Permission
from kassa.core.database import get_database, utc_now
from kassa.core.errors import (
    Conflict,
    KassaError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from kassa.core.events import Event, publish_after_commit
from kassa.core.i18n import normalize_locale
from kassa.core.money import Money
from kassa.core.outbox import ClaimedMessage, Handler, PermanentFailure
from kassa.core.phones import normalize_phone
from kassa.core.scope import load_scoped
from kassa.members.models import Member
from kassa.notifications import service as notifications
from kassa.notifications.models import InboundMessage, Message
from kassa.orders import service as orders
from kassa.orders.models import Bill, BillLine, BillStatus
from kassa.orders.totals import totals_of
from kassa.payments import refunds as payment_refunds
from kassa.payments.models import Refund, RefundStatus
from kassa.printing import documents
from kassa.printing.layout import PaperWidth
from kassa.printing.service import enqueue_print
from kassa.returns.amounts import line_shares, refund_for
from kassa.returns.models import (
    Confirmation,
    ConfirmationMode,
    RefundState,
    ReturnLine,
    ReturnRequest,
    ReturnSettings,
    ReturnStatus,
    TimeoutAction,
)
from kassa.returns.settings import arrival_text, default_settings, reason_name, words
from kassa.staff import service as staff_service
from kassa.staff.models import StaffMember
from kassa.stores import service as stores
from kassa.stores.models import Register, Store
from kassa.stores.service import store_topic

SUBJECT = "return"
# Told when a return of a paid bill is approved (loyalty takes back the points it earned):
# (session, the bill, the return's id, what the returned dishes were worth).
ReturnApprovedHook = Callable[[AsyncSession, Bill, int, int], Awaitable[None]]
RETURN_APPROVED_HOOKS: list[ReturnApprovedHook] = []
TIMEOUT_KIND = "returns.confirmation_timeout"
QUEUE_EVENT = "return.queue_changed"
MAX_RETURN_QUANTITY = 999


# --- settings -----------------------------------------------------------------------------


async def settings_of(session: AsyncSession, store_id: int) -> ReturnSettings:
    row = await session.get(ReturnSettings, store_id)
    return row if row is not None else default_settings(store_id)


@dataclass(frozen=True)
class SettingsChange:
    reasons: list[dict[str, Any]] | None = None
    manager_threshold_amount: int | None = None
    confirmation_mode: ConfirmationMode | None = None
    confirmation_timeout_minutes: int | None = None
    timeout_action: TimeoutAction | None = None
    confirm_words: dict[str, list[str]] | None = None
    dispute_words: dict[str, list[str]] | None = None
    arrival_times: dict[str, dict[str, str]] | None = None


async def update_settings(
    session: AsyncSession, actor: Actor, store_id: int, change: SettingsChange
) -> ReturnSettings:
    actor.require(Permission.SETTINGS_MANAGE)
    await stores.get_store(session, actor, store_id)
    row = await session.get(ReturnSettings, store_id)
    if row is None:
        row = default_settings(store_id)
        session.add(row)
    if change.reasons is not None:
        codes = [str(reason.get("code") or "").strip() for reason in change.reasons]
        if not codes or any(not code for code in codes) or len(set(codes)) != len(codes):
            raise ValidationFailed("every reason needs its own code", field="reasons")
        row.reasons = [dict(reason) for reason in change.reasons]
    if change.manager_threshold_amount is not None:
        if change.manager_threshold_amount < 0:
            raise ValidationFailed("the threshold cannot be negative", field="manager_threshold_amount")
        row.manager_threshold_amount = change.manager_threshold_amount
    if change.confirmation_mode is not None:
        row.confirmation_mode = change.confirmation_mode
    if change.confirmation_timeout_minutes is not None:
        if not 1 <= change.confirmation_timeout_minutes <= 7 * 24 * 60:
            raise ValidationFailed("1 minute to 7 days", field="confirmation_timeout_minutes")
        row.confirmation_timeout_minutes = change.confirmation_timeout_minutes
    if change.timeout_action is not None:
        row.timeout_action = change.timeout_action
    for name in ("confirm_words", "dispute_words"):
        value = getattr(change, name)
        if value is not None:
            if not any(value.values()):
                raise ValidationFailed("give at least one word", field=name)
            setattr(row, name, {key: [str(word) for word in list_] for key, list_ in value.items()})
    if words(row.confirm_words) & words(row.dispute_words):
        raise ValidationFailed("a word cannot both confirm and dispute", field="dispute_words")
    if change.arrival_times is not None:
        row.arrival_times = dict(change.arrival_times)
    await session.flush()
    audit.record(
        session,
        actor,
        "return_settings.update",
        "store",
        store_id,
        store_id=store_id,
        after={"threshold": row.manager_threshold_amount, "mode": row.confirmation_mode.value},
    )
    return row


# --- request ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineToReturn:
    line_id: int
    quantity: int
    # None: made if the kitchen had it.
    was_prepared: bool | None = None


async def _claimed_quantities(session: AsyncSession, bill: Bill) -> dict[int, int]:
    """Units of each line already asked back: pending requests always count; approved ones
    count on a paid bill (on an open bill they already left the line's quantity)."""
    statuses = [ReturnStatus.PENDING, ReturnStatus.APPROVED]
    rows = await session.execute(
        select(
            ReturnLine.bill_line_id, ReturnRequest.status, ReturnRequest.bill_was_paid, ReturnLine.quantity
        )
        .join(ReturnRequest, ReturnRequest.id == ReturnLine.return_id)
        .where(ReturnRequest.bill_id == bill.id, ReturnRequest.status.in_(statuses))
    )
    claimed: dict[int, int] = {}
    for line_id, status, was_paid, quantity in rows:
        if status == ReturnStatus.PENDING or was_paid:
            claimed[line_id] = claimed.get(line_id, 0) + quantity
    return claimed


async def _returned_on_paid_bill(session: AsyncSession, bill_id: int) -> dict[int, int]:
    rows = await session.execute(
        select(ReturnLine.bill_line_id, func.sum(ReturnLine.quantity))
        .join(ReturnRequest, ReturnRequest.id == ReturnLine.return_id)
        .where(ReturnRequest.bill_id == bill_id, ReturnRequest.status == ReturnStatus.APPROVED)
        .group_by(ReturnLine.bill_line_id)
    )
    return {line_id: int(quantity) for line_id, quantity in rows}


async def returnable_quantities(session: AsyncSession, actor: Actor, bill_id: int) -> dict[int, int]:
    """How many of each line of a bill can still be asked back (what the return dialog
    offers): sold, less what pending requests and approved returns of a paid bill hold."""
    bill = await orders.get_bill(session, actor, bill_id)
    claimed = await _claimed_quantities(session, bill)
    return {
        line.id: max(line.quantity - claimed.get(line.id, 0), 0)
        for line in await orders.bill_lines(session, bill.id, include_voided=False)
    }


async def _line_values(session: AsyncSession, bill: Bill, wanted: Sequence[LineToReturn]) -> dict[int, int]:
    """What returning each wanted line is worth: for a paid bill its share of what was paid
    (bill discount and cash rounding included), for an open bill its share of the total."""
    lines = list(await orders.bill_lines(session, bill.id, include_voided=False))
    totals = totals_of(bill, lines)
    shares = line_shares(
        [line.total_amount - share for line, share in zip(lines, totals.discount_shares, strict=True)],
        bill.total_amount + (bill.rounding_amount if bill.status == BillStatus.CLOSED else 0),
    )
    by_id = {line.id: (line, share) for line, share in zip(lines, shares, strict=True)}
    already = await _returned_on_paid_bill(session, bill.id) if bill.status == BillStatus.CLOSED else {}
    values: dict[int, int] = {}
    for item in wanted:
        line, share = by_id[item.line_id]
        values[item.line_id] = refund_for(share, line.quantity, already.get(line.id, 0), item.quantity)
    return values


async def request_return(
    session: AsyncSession,
    actor: Actor,
    bill_id: int,
    lines: Sequence[LineToReturn],
    *,
    reason_code: str,
    reason_text: str = "",
    customer_phone: str | None = None,
) -> ReturnRequest:
    """Ask for dishes of a bill to be returned; they wait in the approval queue."""
    actor.require(Permission.RETURN_REQUEST)
    if not lines:
        raise ValidationFailed("pick at least one line to return", field="lines")
    if len({item.line_id for item in lines}) != len(lines):
        raise ValidationFailed("each line once, with its quantity", field="lines")
    bill = await orders.lock_for_return(session, actor, bill_id)
    if bill.status not in (BillStatus.OPEN, BillStatus.CLOSED):
        raise Conflict(f"bill {bill.number} is {bill.status.value}: nothing to return", field="bill_id")
    store = await session.get(Store, bill.store_id)
    assert store is not None
    rules = await settings_of(session, bill.store_id)
    if reason_code not in {str(reason.get("code")) for reason in rules.reasons}:
        raise ValidationFailed(f"no return reason {reason_code!r} in this store", field="reason_code")
    bill_lines = {line.id: line for line in await orders.bill_lines(session, bill.id, include_voided=False)}
    claimed = await _claimed_quantities(session, bill)
    for index, item in enumerate(lines):
        line = bill_lines.get(item.line_id)
        if line is None:
            raise NotFound(f"no line {item.line_id} on bill {bill.number}", field=f"lines.{index}.line_id")
        if not 1 <= item.quantity <= MAX_RETURN_QUANTITY:
            raise ValidationFailed("return at least one", field=f"lines.{index}.quantity")
        left = line.quantity - claimed.get(line.id, 0)
        if item.quantity > left:
            raise Conflict(
                f"only {max(left, 0)} of {line.name} can still be returned",
                field=f"lines.{index}.quantity",
                extra={"line_id": line.id, "returnable": max(left, 0)},
            )
    phone = None
    if customer_phone and customer_phone.strip():
        phone = normalize_phone(customer_phone, store.phone_region, field="customer_phone")
    elif bill.member_id is not None:
        member = await session.get(Member, bill.member_id)
        phone = member.phone_e164 if member is not None and member.erased_at is None else None
    elif bill.delivery_phone:
        try:
            phone = normalize_phone(bill.delivery_phone, store.phone_region)
        except ValidationFailed:
            phone = None
    values = await _line_values(session, bill, lines)
    request = ReturnRequest(
        store_id=bill.store_id,
        bill_id=bill.id,
        status=ReturnStatus.PENDING,
        reason_code=reason_code,
        reason_text=reason_text.strip()[:500],
        bill_was_paid=bill.status == BillStatus.CLOSED,
        amount=sum(values.values()),
        currency=bill.currency,
        customer_phone=phone,
        requested_by_staff_id=actor.staff_id,
        confirmation=Confirmation.NOT_ASKED,
        refund_state=RefundState.NONE,
    )
    session.add(request)
    await session.flush()
    for item in lines:
        line = bill_lines[item.line_id]
        session.add(
            ReturnLine(
                return_id=request.id,
                bill_line_id=line.id,
                product_id=line.product_id,
                name=line.name,
                quantity=item.quantity,
                amount=values[line.id],
                was_prepared=(
                    item.was_prepared
                    if item.was_prepared is not None
                    else line.sent_to_kitchen_at is not None
                ),
            )
        )
    await session.flush()
    audit.record(
        session,
        actor,
        "return.request",
        "return",
        request.id,
        store_id=bill.store_id,
        after={
            "bill_id": bill.id,
            "lines": [{"line_id": item.line_id, "quantity": item.quantity} for item in lines],
            "reason": reason_code,
            "amount": request.amount,
        },
    )
    _announce(session, request, "return.requested")
    return request


def _announce(session: AsyncSession, request: ReturnRequest, name: str = QUEUE_EVENT) -> None:
    publish_after_commit(
        session,
        Event(
            store_topic(request.store_id),
            name,
            {
                "return_id": request.id,
                "status": request.status.value,
                "confirmation": request.confirmation.value,
            },
        ),
    )


# --- approval -----------------------------------------------------------------------------


async def _locked_request(session: AsyncSession, actor: Actor, return_id: int) -> ReturnRequest:
    return await get_return(session, actor, return_id, for_update=True)


async def _decide(
    session: AsyncSession, return_id: int, status: ReturnStatus, actor: Actor, comment: str
) -> None:
    """Take the decision: one conditional UPDATE, so of two people deciding at once one wins."""
    decided = await session.scalar(
        update(ReturnRequest)
        .where(ReturnRequest.id == return_id, ReturnRequest.status == ReturnStatus.PENDING)
        .values(
            status=status,
            reviewed_by_staff_id=actor.staff_id,
            reviewed_at=utc_now(),
            review_comment=comment.strip()[:500] or None,
        )
        .returning(ReturnRequest.id)
        .execution_options(synchronize_session="fetch")
    )
    if decided is None:
        raise Conflict("this return was decided already", field="return_id")


def manager_actor(staff: StaffMember, store_id: int) -> Actor:
    return Actor(
        organization_id=staff.organization_id,
        staff_id=staff.id,
        role=staff.role,
        store_id=store_id,
        display_name=staff.display_name,
    )


def manager_code_purpose(return_id: int) -> str:
    return f"return-approval:{return_id}"


async def send_manager_code(
    session: AsyncSession, actor: Actor, return_id: int, manager_staff_id: int
) -> Message:
    """Text a one-time code to a manager's phone, for approving a large return remotely."""
    actor.require(Permission.RETURN_APPROVE)
    request = await _locked_request(session, actor, return_id)
    if request.status != ReturnStatus.PENDING:
        raise Conflict("this return was decided already", field="return_id")
    manager = await session.get(StaffMember, manager_staff_id)
    store = await session.get(Store, request.store_id)
    assert store is not None
    if (
        manager is None
        or not manager.is_active
        or manager.organization_id != store.organization_id
        or not manager_actor(manager, store.id).can(Permission.RETURN_APPROVE_ABOVE_LIMIT)
    ):
        raise ValidationFailed("choose a manager of this store", field="manager_staff_id")
    if not manager.phone:
        raise ValidationFailed(
            f"{manager.display_name} has no phone number on file", field="manager_staff_id"
        )
    phone = normalize_phone(manager.phone, store.phone_region, field="manager_staff_id")
    otp = await notifications.issue_otp(
        session,
        store=store,
        phone=phone,
        purpose=manager_code_purpose(return_id),
        cause=notifications.Cause.of(actor, "return.manager_code"),
    )
    audit.record(
        session,
        actor,
        "return.manager_code",
        "return",
        request.id,
        store_id=request.store_id,
        after={"manager_staff_id": manager.id},
    )
    message = await session.get(Message, otp.message_id)
    assert message is not None
    return message


@dataclass(frozen=True)
class ManagerCheck:
    """A manager's on-the-spot authorisation of a large return: who and how, or why not."""

    manager: Actor | None = None
    method: str | None = None
    error: KassaError | None = None


async def authorize_manager(
    session: AsyncSession,
    actor: Actor,
    return_id: int,
    manager_staff_id: int,
    *,
    pin: str | None = None,
    sms_code: str | None = None,
) -> ManagerCheck:
    """Check the manager who authorises a large return on the spot, by their PIN or the SMS
    code texted to them. A wrong PIN or code counts against them, so it is returned in
    ``error`` rather than raised: the caller commits the count, then refuses."""
    request = await get_return(session, actor, return_id)
    if pin:
        result = await staff_service.verify_approver_pin(session, request.store_id, manager_staff_id, pin)
        if result.error is not None:
            error = result.error
            return ManagerCheck(error=type(error)(error.detail, field="manager.pin", extra=error.extra))
        return ManagerCheck(staff_service.approver_actor(result, request.store_id), "manager_pin")
    if sms_code:
        manager = await session.get(StaffMember, manager_staff_id)
        store = await session.get(Store, request.store_id)
        assert store is not None
        if manager is None or manager.organization_id != store.organization_id or not manager.phone:
            raise ValidationFailed("choose a manager of this store", field="manager.manager_staff_id")
        phone = normalize_phone(manager.phone, store.phone_region, field="manager.manager_staff_id")
        check = await notifications.check_otp(
            session, phone=phone, purpose=manager_code_purpose(return_id), code=sms_code
        )
        if not check.ok:
            problem = check.problem or "wrong code"
            return ManagerCheck(error=NotAuthenticated(problem, field="manager.sms_code"))
        return ManagerCheck(manager_actor(manager, store.id), "manager_sms_code")
    raise ValidationFailed("give the manager's PIN or the SMS code", field="manager.pin")


async def approve(
    session: AsyncSession,
    actor: Actor,
    return_id: int,
    *,
    comment: str = "",
    manager: Actor | None = None,
    approval_method: str | None = None,
    refund_to: payment_refunds.RefundDirection | None = None,
) -> ReturnRequest:
    """Approve a pending return. ``manager`` is a manager who authorised it on the spot
    (PIN or SMS code, checked by the caller) when the return is above the threshold.

    The refund goes back to the bill's tenders in proportion; ``refund_to`` sends it to one
    chosen tender instead (``refund.direct``: the approver's, or the manager's who
    authorised on the spot), with a reason."""
    actor.require(Permission.RETURN_APPROVE)
    request = await _locked_request(session, actor, return_id)
    rules = await settings_of(session, request.store_id)
    method = "role"
    if request.amount > rules.manager_threshold_amount and not actor.can(
        Permission.RETURN_APPROVE_ABOVE_LIMIT
    ):
        if manager is None or not manager.can(Permission.RETURN_APPROVE_ABOVE_LIMIT):
            raise PermissionDenied(
                "a return above the store's limit needs a manager: their PIN or an SMS code",
                field="manager",
                extra={"threshold": rules.manager_threshold_amount, "amount": request.amount},
            )
        method = approval_method or "manager_pin"
    await _decide(session, return_id, ReturnStatus.APPROVED, actor, comment)
    request.approval_method = method
    if method != "role" and manager is not None:
        request.manager_staff_id = manager.staff_id
    bill = await orders.lock_for_return(session, actor, request.bill_id)
    store = await session.get(Store, request.store_id)
    assert store is not None
    lines = (await session.scalars(select(ReturnLine).where(ReturnLine.return_id == request.id))).all()
    reason = reason_name(rules, request.reason_code, "en")
    if bill.status == BillStatus.OPEN:
        for line in lines:
            await orders.take_back(
                session,
                actor,
                bill,
                line.bill_line_id,
                line.quantity,
                reason=f"return {request.id}: {reason}",
                restock=not line.was_prepared,
            )
        if refund_to is not None:
            raise ValidationFailed("an open bill refunds nothing: its lines come off", field="refund_to")
        request.bill_was_paid = False
        request.refund_state = RefundState.NONE
    elif bill.status == BillStatus.CLOSED:
        await _restock(session, actor, store, bill, lines)
        direction_actor = (
            manager if manager is not None and not actor.can(Permission.REFUND_DIRECT) else actor
        )
        await _start_refund(session, actor, request, bill, store, rules, refund_to, direction_actor)
        for hook in RETURN_APPROVED_HOOKS:
            await hook(session, bill, request.id, request.amount)
    else:
        raise Conflict(f"bill {bill.number} is {bill.status.value} now", field="return_id")
    for line in lines:
        if line.was_prepared:
            audit.record(
                session,
                actor,
                "stock.waste",
                "product",
                line.product_id,
                store_id=request.store_id,
                after={"quantity": line.quantity, "return_id": request.id},
            )
    await _print_slip(session, actor, request, bill, store, rules, lines, manager or actor)
    audit.record(
        session,
        actor,
        "return.approve",
        "return",
        request.id,
        store_id=request.store_id,
        after={
            "amount": request.amount,
            "method": method,
            "manager_staff_id": manager.staff_id if manager else None,
        },
    )
    _announce(session, request)
    return request


async def _restock(
    session: AsyncSession, actor: Actor, store: Store, bill: Bill, lines: Sequence[ReturnLine]
) -> None:
    for line in lines:
        if line.was_prepared:
            continue
        bill_line = await session.get(BillLine, line.bill_line_id)
        assert bill_line is not None
        for product_id in bill_line.stock_product_ids:
            await catalog.change_stock(
                session,
                actor,
                store.id,
                product_id,
                line.quantity,
                reason=f"returned from bill {bill.number}",
            )


async def _start_refund(
    session: AsyncSession,
    actor: Actor,
    request: ReturnRequest,
    bill: Bill,
    store: Store,
    rules: ReturnSettings,
    refund_to: payment_refunds.RefundDirection | None = None,
    direction_actor: Actor | None = None,
) -> None:
    """Refund a paid bill's returned dishes to its tenders (or the chosen one) and tell
    the customer."""
    ask = request.customer_phone is not None and request.amount > 0
    hold = ask and rules.confirmation_mode == ConfirmationMode.BEFORE_REFUND
    refunds = await payment_refunds.refund_to_tenders(
        session,
        actor,
        bill,
        request.amount,
        reason=f"return {request.id}",
        source=(SUBJECT, request.id),
        hold=hold,
        direction=refund_to,
        direction_actor=direction_actor,
    )
    request.refund_state = RefundState.HELD if hold else RefundState.IN_PROGRESS
    await _refresh_refund_state(session, request)
    if not ask:
        return
    assert request.customer_phone is not None
    request.reply_code = notifications.new_reply_code()
    request.confirmation = Confirmation.AWAITING
    request.confirmation_due_at = utc_now() + timedelta(minutes=rules.confirmation_timeout_minutes)
    locale = normalize_locale(store.locale)
    lines = (await session.scalars(select(ReturnLine).where(ReturnLine.return_id == request.id))).all()
    tenders = list(dict.fromkeys(refund.tender.value for refund in refunds))
    await notifications.queue_message(
        session,
        store=store,
        to=request.customer_phone,
        event="return_notice",
        variables={
            "items": "、".join(f"{line.name} x{line.quantity}" for line in lines)
            if locale == "zh_CN"
            else ", ".join(f"{line.name} x{line.quantity}" for line in lines),
            "reason": reason_name(rules, request.reason_code, locale),
            "refund_amount": Money(request.amount, request.currency).format(locale),
            "arrival": "；".join(arrival_text(rules, tender, locale) for tender in tenders),
            "code": request.reply_code,
            "confirm_word": _first_word(rules.confirm_words, locale),
            "dispute_word": _first_word(rules.dispute_words, locale),
        },
        cause=notifications.Cause.of(actor, "return.approved"),
        subject=(SUBJECT, request.id),
        reply_code=request.reply_code,
        dedupe_key=f"return-notice:{request.id}",
    )
    await outbox.enqueue(
        session,
        TIMEOUT_KIND,
        {"return_id": request.id},
        store_id=request.store_id,
        dedupe_key=f"return-timeout:{request.id}",
        not_before=request.confirmation_due_at,
    )


def _first_word(mapping: dict[str, Any], locale: str) -> str:
    values = mapping.get(locale) or next(iter(mapping.values()), ["1"])
    return str(values[0])


async def reject(session: AsyncSession, actor: Actor, return_id: int, comment: str) -> ReturnRequest:
    actor.require(Permission.RETURN_APPROVE)
    if not comment.strip():
        raise ValidationFailed("say why the return is rejected", field="comment")
    request = await _locked_request(session, actor, return_id)
    await _decide(session, return_id, ReturnStatus.REJECTED, actor, comment)
    await session.refresh(request)
    audit.record(
        session,
        actor,
        "return.reject",
        "return",
        request.id,
        store_id=request.store_id,
        after={"comment": comment},
    )
    _announce(session, request)
    return request


# --- the slip -----------------------------------------------------------------------------


async def slip_document(
    session: AsyncSession, request: ReturnRequest, *, is_copy: bool = False
) -> documents.ReturnSlip:
    store = await session.get(Store, request.store_id)
    bill = await session.get(Bill, request.bill_id)
    assert store is not None
    assert bill is not None
    rules = await settings_of(session, store.id)
    locale = normalize_locale(store.locale)
    lines = (await session.scalars(select(ReturnLine).where(ReturnLine.return_id == request.id))).all()
    requested_by = await session.get(StaffMember, request.requested_by_staff_id)
    # A manager who authorised it on the spot is who approved it; the cashier only pressed the button.
    approver_id = request.manager_staff_id or request.reviewed_by_staff_id
    approved_by = await session.get(StaffMember, approver_id) if approver_id else None
    total = Money(request.amount, request.currency)
    return documents.ReturnSlip(
        store=documents.StoreHeader(name=store.name, address=store.address, phone=store.phone),
        return_number=f"R{request.id}",
        bill_number=f"{bill.business_date:%Y%m%d}-{bill.number:04d}",
        reason=reason_name(rules, request.reason_code, locale),
        note=request.reason_text or None,
        requested_by=requested_by.display_name if requested_by else "?",
        requested_at=request.requested_at,
        approved_by=approved_by.display_name if approved_by else "?",
        approved_at=request.reviewed_at or request.requested_at,
        timezone=store.timezone,
        lines=tuple(
            documents.ReturnSlipLine(
                name=line.name,
                quantity=line.quantity,
                amount=Money(line.amount, request.currency),
                was_prepared=line.was_prepared,
            )
            for line in lines
        ),
        total=total,
        refund=total if request.bill_was_paid else Money.zero(request.currency),
        locale=locale,
        is_copy=is_copy,
    )


async def _print_slip(
    session: AsyncSession,
    actor: Actor,
    request: ReturnRequest,
    bill: Bill,
    store: Store,
    rules: ReturnSettings,
    lines: Sequence[ReturnLine],
    approver: Actor,
) -> None:
    await session.flush()
    await session.refresh(request)
    destination = await _slip_printer(session, actor, bill)
    if destination is None:
        return
    await enqueue_print(
        session,
        store_id=store.id,
        destination=destination,
        document=await slip_document(session, request),
        width=PaperWidth.WIDTH_80_MM,
        dedupe_key=f"return-slip:{request.id}",
    )
    request.slip_printed_at = utc_now()


async def _slip_printer(session: AsyncSession, actor: Actor, bill: Bill) -> str | None:
    for register_id in (actor.register_id, bill.register_id):
        if register_id is None:
            continue
        register = await session.get(Register, register_id)
        if register is not None and register.receipt_printer:
            return register.receipt_printer
    return None


async def reprint_slip(session: AsyncSession, actor: Actor, return_id: int) -> None:
    actor.require(Permission.RETURN_REQUEST)
    request = await get_return(session, actor, return_id)
    if request.status != ReturnStatus.APPROVED:
        raise Conflict("only an approved return has a slip", field="return_id")
    bill = await session.get(Bill, request.bill_id)
    assert bill is not None
    destination = await _slip_printer(session, actor, bill)
    if destination is None:
        raise ValidationFailed("this register has no receipt printer", field="register_id")
    await enqueue_print(
        session,
        store_id=request.store_id,
        destination=destination,
        document=await slip_document(session, request, is_copy=True),
        width=PaperWidth.WIDTH_80_MM,
        dedupe_key=None,
    )


# --- refunds settling, replies, time-outs -------------------------------------------------


async def _refresh_refund_state(session: AsyncSession, request: ReturnRequest) -> None:
    refunds = await payment_refunds.refunds_of(session, SUBJECT, request.id)
    request.refunded_amount = sum(r.amount for r in refunds if r.status == RefundStatus.SUCCEEDED)
    statuses = {refund.status for refund in refunds}
    if not refunds:
        request.refund_state = RefundState.DONE if request.bill_was_paid else RefundState.NONE
    elif RefundStatus.FAILED in statuses:
        request.refund_state = RefundState.FAILED
    elif statuses == {RefundStatus.CANCELLED}:
        request.refund_state = RefundState.CANCELLED
    elif statuses <= {RefundStatus.SUCCEEDED, RefundStatus.CANCELLED}:
        request.refund_state = RefundState.DONE
    elif any(refund.is_held for refund in refunds if refund.status == RefundStatus.PENDING):
        request.refund_state = RefundState.HELD
    else:
        request.refund_state = RefundState.IN_PROGRESS


async def _on_refund_settled(session: AsyncSession, refund: Refund) -> None:
    request = await session.get(ReturnRequest, refund.source_id)
    if request is not None:
        await _refresh_refund_state(session, request)
        _announce(session, request)


async def _release_held(session: AsyncSession, actor: Actor, request: ReturnRequest) -> None:
    for refund in await payment_refunds.refunds_of(session, SUBJECT, request.id):
        if refund.status == RefundStatus.PENDING and refund.is_held:
            await payment_refunds.release(session, actor, refund)
    await _refresh_refund_state(session, request)


async def _system_actor(session: AsyncSession, request: ReturnRequest, name: str) -> Actor:
    store = await session.get(Store, request.store_id)
    assert store is not None
    return Actor.system(store.organization_id, store.id, name=name)


async def handle_reply(session: AsyncSession, inbound: InboundMessage, message: Message) -> str:
    """A customer's answer to a return SMS: confirm, dispute, or something else (recorded)."""
    assert message.subject_id is not None
    request = await session.get(
        ReturnRequest, message.subject_id, with_for_update=True, populate_existing=True
    )
    if request is None:
        return "return gone"
    rules = await settings_of(session, request.store_id)
    tokens = {token.upper() for token in inbound.body.replace(",", " ").split()}
    tokens.discard(request.reply_code or "")
    text = inbound.body.strip().upper()
    is_confirm = bool(tokens & words(rules.confirm_words)) or text in words(rules.confirm_words)
    is_dispute = bool(tokens & words(rules.dispute_words)) or text in words(rules.dispute_words)
    if is_confirm == is_dispute:
        return "reply not understood"
    if request.confirmation not in (
        Confirmation.AWAITING,
        Confirmation.ESCALATED,
        Confirmation.AUTO_CONFIRMED,
    ):
        return f"reply after the return was {request.confirmation.value}"
    system = await _system_actor(session, request, "customer reply")
    if is_confirm:
        request.confirmation = Confirmation.CONFIRMED
        request.confirmed_at = utc_now()
        await _release_held(session, system, request)
        outcome = "return confirmed"
    else:
        request.confirmation = Confirmation.DISPUTED
        outcome = "return disputed"
    audit.record(
        session,
        system,
        "return.reply",
        "return",
        request.id,
        store_id=request.store_id,
        after={"confirmation": request.confirmation.value, "inbound_id": inbound.id},
    )
    _announce(session, request)
    return outcome


async def confirmation_timeout(claimed: ClaimedMessage) -> None:
    """The outbox handler for a return whose customer did not answer in time."""
    try:
        return_id = int(claimed.payload["return_id"])
    except (KeyError, TypeError, ValueError) as error:
        raise PermanentFailure(f"outbox message {claimed.id} names no return") from error
    async with get_database().unit_of_work() as session:
        request = await session.get(ReturnRequest, return_id, with_for_update=True)
        if request is None or request.confirmation != Confirmation.AWAITING:
            return
        rules = await settings_of(session, request.store_id)
        system = await _system_actor(session, request, "return time-out")
        if rules.timeout_action == TimeoutAction.AUTO_CONFIRM:
            request.confirmation = Confirmation.AUTO_CONFIRMED
            request.confirmed_at = utc_now()
            await _release_held(session, system, request)
        else:
            request.confirmation = Confirmation.ESCALATED
        audit.record(
            session,
            system,
            "return.timeout",
            "return",
            request.id,
            store_id=request.store_id,
            after={"confirmation": request.confirmation.value},
        )
        _announce(session, request)


async def resolve(
    session: AsyncSession, actor: Actor, return_id: int, *, refund: bool, comment: str
) -> ReturnRequest:
    """A manager settles a disputed or escalated return: refund after all, or not (only a
    refund not yet paid out can still be stopped)."""
    actor.require(Permission.RETURN_APPROVE_ABOVE_LIMIT)
    if not comment.strip():
        raise ValidationFailed("say how the return was settled", field="comment")
    request = await _locked_request(session, actor, return_id)
    if request.confirmation not in (Confirmation.DISPUTED, Confirmation.ESCALATED):
        raise Conflict("only a disputed or escalated return is settled by a manager", field="return_id")
    if refund:
        await _release_held(session, actor, request)
    else:
        for item in await payment_refunds.refunds_of(session, SUBJECT, request.id):
            if item.status == RefundStatus.PENDING:
                await payment_refunds.cancel(session, actor, item, f"return {request.id} settled: {comment}")
        await _refresh_refund_state(session, request)
    request.confirmation = Confirmation.RESOLVED
    request.resolved_by_staff_id = actor.staff_id
    request.resolution_comment = comment.strip()[:500]
    audit.record(
        session,
        actor,
        "return.resolve",
        "return",
        request.id,
        store_id=request.store_id,
        after={"refund": refund, "comment": comment},
    )
    _announce(session, request)
    return request


def register_return_handlers(handlers: dict[str, Handler]) -> None:
    handlers[TIMEOUT_KIND] = confirmation_timeout


def install_hooks() -> None:
    """Wire returns into the refunds and replies of the capabilities below it."""
    payment_refunds.on_refund_settled(SUBJECT, _on_refund_settled)
    notifications.register_reply_handler(SUBJECT, handle_reply)


# --- reading: queue, archive --------------------------------------------------------------


async def get_return(
    session: AsyncSession, actor: Actor, return_id: int, *, for_update: bool = False
) -> ReturnRequest:
    """The return with this id if it is of a store the actor acts in, else not found."""
    return await load_scoped(
        session,
        actor,
        ReturnRequest,
        return_id,
        field="return_id",
        what="return",
        for_update=for_update,
        populate_existing=for_update,
    )


async def return_lines(session: AsyncSession, return_id: int) -> Sequence[ReturnLine]:
    return (
        await session.scalars(
            select(ReturnLine).where(ReturnLine.return_id == return_id).order_by(ReturnLine.id)
        )
    ).all()


NEEDS_MANAGER = (Confirmation.DISPUTED, Confirmation.ESCALATED)


async def approval_queue(session: AsyncSession, actor: Actor, store_id: int) -> Sequence[ReturnRequest]:
    """What waits for a decision: pending requests, and disputed or escalated returns (and
    failed refunds) for managers."""
    actor.require(Permission.RETURN_APPROVE)
    actor.require_store(store_id)
    conditions = [ReturnRequest.status == ReturnStatus.PENDING]
    if actor.can(Permission.RETURN_APPROVE_ABOVE_LIMIT):
        conditions.append(ReturnRequest.confirmation.in_(NEEDS_MANAGER))
        conditions.append(ReturnRequest.refund_state == RefundState.FAILED)
    return (
        await session.scalars(
            select(ReturnRequest)
            .where(ReturnRequest.store_id == store_id, or_(*conditions))
            .order_by(ReturnRequest.requested_at)
        )
    ).all()


@dataclass(frozen=True)
class ArchiveFilter:
    date_from: datetime | None = None
    date_to: datetime | None = None
    staff_id: int | None = None
    reason_code: str | None = None
    dish: str | None = None
    status: ReturnStatus | None = None
    limit: int = 200
    offset: int = 0


async def search_returns(
    session: AsyncSession, actor: Actor, store_id: int, where: ArchiveFilter
) -> Sequence[ReturnRequest]:
    """The returns archive, newest first."""
    actor.require(Permission.RETURN_APPROVE)
    actor.require_store(store_id)
    query = select(ReturnRequest).where(ReturnRequest.store_id == store_id)
    if where.date_from is not None:
        query = query.where(ReturnRequest.requested_at >= where.date_from)
    if where.date_to is not None:
        query = query.where(ReturnRequest.requested_at < where.date_to)
    if where.staff_id is not None:
        query = query.where(
            or_(
                ReturnRequest.requested_by_staff_id == where.staff_id,
                ReturnRequest.reviewed_by_staff_id == where.staff_id,
            )
        )
    if where.reason_code:
        query = query.where(ReturnRequest.reason_code == where.reason_code)
    if where.status is not None:
        query = query.where(ReturnRequest.status == where.status)
    if where.dish and where.dish.strip():
        query = query.where(
            ReturnRequest.id.in_(
                select(ReturnLine.return_id).where(
                    func.lower(ReturnLine.name).contains(where.dish.strip().lower())
                )
            )
        )
    query = (
        query.order_by(ReturnRequest.requested_at.desc(), ReturnRequest.id.desc())
        .limit(min(where.limit, 1000))
        .offset(where.offset)
    )
    return (await session.scalars(query)).all()


async def export_csv(session: AsyncSession, actor: Actor, store_id: int, where: ArchiveFilter) -> str:
    requests = await search_returns(
        session, actor, store_id, ArchiveFilter(**{**where.__dict__, "limit": 1000})
    )
    staff = {
        member.id: member.display_name
        for member in (
            await session.scalars(
                select(StaffMember).where(StaffMember.organization_id == actor.organization_id)
            )
        ).all()
    }
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(
        [
            "return",
            "bill_id",
            "requested_at",
            "requested_by",
            "reviewed_by",
            "status",
            "reason",
            "note",
            "dishes",
            "amount",
            "refunded",
            "currency",
            "confirmation",
            "refund_state",
        ]
    )
    for request in requests:
        lines = await return_lines(session, request.id)
        writer.writerow(
            [
                f"R{request.id}",
                request.bill_id,
                request.requested_at.isoformat(),
                staff.get(request.requested_by_staff_id, ""),
                staff.get(request.reviewed_by_staff_id or 0, ""),
                request.status.value,
                request.reason_code,
                request.reason_text,
                "; ".join(f"{line.name} x{line.quantity}" for line in lines),
                Money(request.amount, request.currency).to_decimal(),
                Money(request.refunded_amount, request.currency).to_decimal(),
                request.currency,
                request.confirmation.value,
                request.refund_state.value,
            ]
        )
    return output.getvalue()
