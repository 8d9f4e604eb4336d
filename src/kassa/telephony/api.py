"""The phone assistant through the API: the phone's side (pair, report a call: device token,
no staff login) and the staff's side (pairing codes, call log, actions, paired phones)."""

from __future__ import annotations

import time
from collections import deque
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status

from kassa.core import idempotency
from kassa.core.errors import KassaError, TooManyRequests, ValidationFailed
from kassa.core.schemas import Id
from kassa.members import service as members
from kassa.telephony import actions, service
from kassa.telephony.models import PhoneAssistant
from kassa.telephony.schemas import (
    AssistantOut,
    CallAction,
    CallActionIn,
    CallActionOut,
    CallDetailOut,
    CallerOut,
    CallIn,
    CallNotifiedOut,
    CallOut,
    OrderItemOut,
    PairIn,
    PairingCodeOut,
    PairOut,
    PastOrderOut,
    SkippedLineOut,
    UsualItemOut,
)
from kassa.web.dependencies import CurrentActor, Session, Token

router = APIRouter(tags=["phone assistant"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER, max_length=100, description="The same key from the same phone is one call"
    ),
]


class GuessThrottle:
    """Wrong pairing codes per client address in a sliding window: a 6-digit code that
    lives 10 minutes must not be found by trying them all."""

    def __init__(self, limit: int = 10, window_seconds: float = 60.0) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.failures: dict[str, deque[float]] = {}

    def _recent(self, client: str) -> deque[float]:
        failures = self.failures.setdefault(client, deque())
        cutoff = time.monotonic() - self.window_seconds
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures

    def check(self, client: str) -> None:
        if len(self._recent(client)) >= self.limit:
            raise TooManyRequests("too many wrong pairing codes; wait a minute", field="code")

    def failed(self, client: str) -> None:
        self._recent(client).append(time.monotonic())

    def clear(self) -> None:
        self.failures.clear()


pairing_throttle = GuessThrottle()


async def current_assistant(session: Session, token: Token) -> PhoneAssistant:
    return await service.authenticate_assistant(session, token)


CurrentAssistant = Annotated[PhoneAssistant, Depends(current_assistant)]


def _call_out(row: service.CallRow) -> CallOut:
    call = row.call
    return CallOut(
        id=call.id,
        store_id=call.store_id,
        register_id=call.register_id,
        register_name=row.register_name,
        assistant_id=call.assistant_id,
        assistant_name=row.assistant_name,
        received_at=call.received_at,
        number=call.number,
        phone_e164=call.phone_e164,
        member_id=call.member_id,
        member_name=row.member_name,
        outcome=call.outcome,
        handled_at=call.handled_at,
        handled_by_staff_id=call.handled_by_staff_id,
        bill_id=call.bill_id,
        parked_bill_id=call.parked_bill_id,
        details=dict(call.details or {}),
        is_ringing=row.is_ringing,
        is_missed=row.is_missed,
    )


# --- the phone's side ---------------------------------------------------------------------


@router.post(
    "/telephony/pair",
    response_model=PairOut,
    status_code=status.HTTP_201_CREATED,
    summary="Pair a phone with a register (no login: the register's pairing code)",
)
async def pair(body: PairIn, session: Session, request: Request) -> PairOut:
    """Trade the 6-digit code a register shows for the phone's token. A wrong, used or
    expired code is refused naming `code`; too many wrong codes from one address in a
    minute answer 429."""
    client = request.client.host if request.client else "unknown"
    pairing_throttle.check(client)
    try:
        pairing = await service.pair_assistant(session, body.code, body.device_name)
    except KassaError:
        pairing_throttle.failed(client)
        raise
    return PairOut(
        token=pairing.token,
        assistant_id=pairing.assistant.id,
        store_id=pairing.store.id,
        store_name=pairing.store.name,
        register_id=pairing.register.id,
        register_name=pairing.register.name,
    )


@router.post(
    "/telephony/calls",
    response_model=CallNotifiedOut,
    status_code=status.HTTP_201_CREATED,
    summary="An incoming call (the phone's token): it pops up on its register",
    responses={200: {"description": "A repeated notification: the first call"}},
)
async def incoming_call(
    body: CallIn,
    assistant: CurrentAssistant,
    session: Session,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CallNotifiedOut:
    """Log the call, find the member by the number (any format), and show the call on the
    register the phone is paired with, and only there."""
    received = await service.receive_call(
        session, assistant, body.number, idempotency_key=idempotency_key or body.external_call_id
    )
    if received.is_repeat:
        response.status_code = status.HTTP_200_OK
    member = received.member
    return CallNotifiedOut(
        call_id=received.call.id,
        is_repeat=received.is_repeat,
        register_id=received.register.id,
        register_name=received.register.name,
        number=received.call.number,
        phone_e164=received.call.phone_e164,
        member=CallerOut(id=member.id, name=member.name, card_number=member.card_number) if member else None,
    )


# --- the staff's side ---------------------------------------------------------------------


@router.post(
    "/registers/{register_id}/phone-pairing-codes",
    response_model=PairingCodeOut,
    status_code=status.HTTP_201_CREATED,
    summary="A pairing code for a phone (managers, owners)",
)
async def create_pairing_code(register_id: Id, actor: CurrentActor, session: Session) -> PairingCodeOut:
    issued = await service.create_pairing_code(session, actor, register_id)
    return PairingCodeOut(code=issued.code, register_id=issued.register_id, expires_at=issued.expires_at)


@router.get("/stores/{store_id}/phone-assistants", response_model=list[AssistantOut], summary="Paired phones")
async def list_assistants(
    store_id: Id, actor: CurrentActor, session: Session, include_revoked: bool = False
) -> list[AssistantOut]:
    rows = await service.list_assistants(session, actor, store_id, include_revoked=include_revoked)
    return [_assistant_out(row.assistant, row.register_name) for row in rows]


def _assistant_out(assistant: PhoneAssistant, register_name: str) -> AssistantOut:
    return AssistantOut(
        id=assistant.id,
        name=assistant.name,
        store_id=assistant.store_id,
        register_id=assistant.register_id,
        register_name=register_name,
        paired_at=assistant.created_at,
        paired_by_staff_id=assistant.paired_by_staff_id,
        last_call_at=assistant.last_call_at,
        revoked_at=assistant.revoked_at,
    )


@router.post(
    "/telephony/assistants/{assistant_id}/revoke",
    response_model=AssistantOut,
    summary="Unpair a phone: its token is refused from now on",
)
async def revoke_assistant(assistant_id: Id, actor: CurrentActor, session: Session) -> AssistantOut:
    row = await service.revoke_assistant(session, actor, assistant_id)
    return _assistant_out(row.assistant, row.register_name)


@router.get("/stores/{store_id}/calls", response_model=list[CallOut], summary="The call log")
async def list_calls(
    store_id: Id,
    actor: CurrentActor,
    session: Session,
    missed: Annotated[bool, Query(description="Only missed calls, to call back")] = False,
    register_id: Id | None = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_CALL_LIST_LIMIT)] = service.CALL_LIST_LIMIT,
) -> list[CallOut]:
    rows = await service.list_calls(
        session, actor, store_id, missed_only=missed, register_id=register_id, limit=limit
    )
    return [_call_out(row) for row in rows]


@router.get("/telephony/calls/{call_id}", response_model=CallDetailOut, summary="A call and its caller")
async def get_call(call_id: Id, actor: CurrentActor, session: Session) -> CallDetailOut:
    """The call with the caller's member account, last orders and usual items."""
    summary = await service.caller_summary(session, actor, call_id)
    row = await service.call_row(session, summary.call)
    member = summary.member
    return CallDetailOut(
        **_call_out(row).model_dump(),
        member=CallerOut(id=member.id, name=member.name, card_number=member.card_number) if member else None,
        last_orders=[
            PastOrderOut(
                bill_id=order.bill_id,
                store_id=order.store_id,
                number=order.number,
                order_type=order.order_type,
                status=order.status,
                opened_at=order.opened_at,
                amount=order.amount,
                currency=order.currency,
                items=[OrderItemOut(name=item.name, quantity=item.quantity) for item in order.items],
            )
            for order in summary.last_orders
        ],
        usual_items=[
            UsualItemOut(
                product_id=item.product_id,
                name=item.name,
                bill_count=item.bill_count,
                usual_quantity=item.usual_quantity,
            )
            for item in summary.usual_items
        ],
        can_repeat=summary.can_repeat,
    )


@router.post(
    "/telephony/calls/{call_id}/actions",
    response_model=CallActionOut,
    summary="Act on a call (recorded as its outcome; a call is handled once)",
)
async def act_on_call(
    call_id: Id, body: CallActionIn, actor: CurrentActor, session: Session
) -> CallActionOut:
    """`select_customer`: onto the open bill (`bill_id`, `version`), or a new takeaway bill;
    `new_order`: park the open bill, a new bill for the caller; `add_customer`: sign the
    caller up (`customer`), then as `select_customer` (or `new_order: true`);
    `repeat_last_order`: a new bill with their last paid order's lines (`skipped`: what is
    not for sale now); `reservation_made` (`reservation_id`); `ignore`; `called_back`.
    A second action on a handled call answers 409 `call_handled`."""
    match body.action:
        case CallAction.IGNORE:
            handled = await actions.ignore(session, actor, call_id)
        case CallAction.CALLED_BACK:
            handled = await actions.mark_called_back(session, actor, call_id)
        case CallAction.SELECT_CUSTOMER:
            handled = await actions.select_caller(
                session, actor, call_id, bill_id=body.bill_id, version=body.version
            )
        case CallAction.NEW_ORDER:
            handled = await actions.new_order_for_caller(
                session, actor, call_id, bill_id=body.bill_id, version=body.version
            )
        case CallAction.REPEAT_LAST_ORDER:
            handled = await actions.repeat_last_order(session, actor, call_id)
        case CallAction.RESERVATION_MADE:
            if body.reservation_id is None:
                raise ValidationFailed("name the reservation made", field="reservation_id")
            handled = await actions.record_reservation(session, actor, call_id, body.reservation_id)
        case CallAction.ADD_CUSTOMER:
            if body.customer is None:
                raise ValidationFailed("who signs up: phone, name and consents", field="customer")
            customer = body.customer
            handled = await actions.add_caller(
                session,
                actor,
                call_id,
                members.MemberInput(phone=customer.phone, name=customer.name),
                members.RegistrationConsents(
                    privacy_policy_accepted=customer.privacy_policy_accepted,
                    privacy_policy_version=customer.privacy_policy_version,
                    marketing_sms=customer.marketing_sms,
                ),
                bill_id=body.bill_id,
                version=body.version,
                new_order=body.new_order,
            )
    row = await service.call_row(session, handled.call)
    return CallActionOut(
        call=_call_out(row),
        bill_id=handled.bill.id if handled.bill else None,
        bill_version=handled.bill.version if handled.bill else None,
        parked_bill_id=handled.parked_bill.id if handled.parked_bill else None,
        member_id=handled.member.id if handled.member else handled.call.member_id,
        skipped=[
            SkippedLineOut(
                product_id=item.product_id, name=item.name, quantity=item.quantity, reason=item.reason
            )
            for item in handled.skipped
        ],
    )
