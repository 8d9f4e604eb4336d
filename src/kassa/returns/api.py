"""Returns through the API: request, approve (with a manager's PIN or SMS code), reject,
settle disputes, the slip, the archive (CSV), the store's settings, and refund pay-outs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import PlainTextResponse, Response

from kassa.core import idempotency
from kassa.core.auth import Actor
from kassa.core.database import commit
from kassa.core.schemas import MAX_ID, Id, Line, Moment
from kassa.payments import refunds as payment_refunds
from kassa.printing.escpos_render import render_text
from kassa.printing.layout import PaperWidth
from kassa.returns import service
from kassa.returns.models import ReturnRequest, ReturnStatus
from kassa.returns.schemas import (
    ApproveIn,
    ManagerCodeIn,
    PayOutIn,
    RefundOut,
    RejectIn,
    ResolveIn,
    ReturnLineOut,
    ReturnOut,
    ReturnRequestIn,
    ReturnSettingsIn,
    ReturnSettingsOut,
)
from kassa.web.dependencies import CurrentActor, Session

router = APIRouter(tags=["returns"])

IdempotencyKey = Annotated[
    str | None, Header(alias=idempotency.HEADER, max_length=100, description="Repeat-safe retries")
]


async def return_out(session: Session, request: ReturnRequest) -> ReturnOut:
    lines = await service.return_lines(session, request.id)
    refunds = await payment_refunds.refunds_of(session, service.SUBJECT, request.id)
    return ReturnOut.model_validate(
        {
            **{
                column: getattr(request, column)
                for column in ReturnOut.model_fields
                if hasattr(request, column)
            },
            "number": f"R{request.id}",
            "lines": [ReturnLineOut.model_validate(line) for line in lines],
            "refunds": [RefundOut.model_validate(refund) for refund in refunds],
        }
    )


@router.post(
    "/bills/{bill_id}/returns", response_model=ReturnOut, status_code=201, summary="Ask for a return"
)
async def request_return(
    bill_id: Id,
    body: ReturnRequestIn,
    actor: CurrentActor,
    session: Session,
    idempotency_key: IdempotencyKey = None,
) -> ReturnOut:
    scope = f"return.request:{bill_id}"
    if idempotency_key:
        stored = await idempotency.replay_or_reserve(session, scope, idempotency_key, body.model_dump())
        if stored is not None:
            return await return_out(
                session, await service.get_return(session, actor, int(stored["return_id"]))
            )
    request = await service.request_return(
        session,
        actor,
        bill_id,
        [service.LineToReturn(line.line_id, line.quantity, line.was_prepared) for line in body.lines],
        reason_code=body.reason_code,
        reason_text=body.reason_text,
        customer_phone=body.customer_phone,
    )
    if idempotency_key:
        await idempotency.remember(session, scope, idempotency_key, {"return_id": request.id})
    return await return_out(session, request)


@router.get("/returns/{return_id}", response_model=ReturnOut)
async def get_return(return_id: Id, actor: CurrentActor, session: Session) -> ReturnOut:
    return await return_out(session, await service.get_return(session, actor, return_id))


async def _manager(
    session: Session, actor: Actor, return_id: Id, body: ApproveIn
) -> tuple[Actor | None, str | None]:
    """The manager who authorised a large return on the spot, checked by PIN or SMS code.
    A wrong PIN or code still counts against them, so that is committed before refusing."""
    if body.manager is None:
        return None, None
    approval = body.manager
    check = await service.authorize_manager(
        session, actor, return_id, approval.manager_staff_id, pin=approval.pin, sms_code=approval.sms_code
    )
    if check.error is not None:
        await commit(session)
        raise check.error
    return check.manager, check.method


@router.post("/returns/{return_id}/approve", response_model=ReturnOut)
async def approve(return_id: Id, body: ApproveIn, actor: CurrentActor, session: Session) -> ReturnOut:
    manager, method = await _manager(session, actor, return_id, body)
    refund_to = (
        payment_refunds.RefundDirection(body.refund_to.tender, body.refund_to.reason)
        if body.refund_to is not None
        else None
    )
    request = await service.approve(
        session,
        actor,
        return_id,
        comment=body.comment,
        manager=manager,
        approval_method=method,
        refund_to=refund_to,
    )
    return await return_out(session, request)


@router.post("/returns/{return_id}/reject", response_model=ReturnOut)
async def reject(return_id: Id, body: RejectIn, actor: CurrentActor, session: Session) -> ReturnOut:
    return await return_out(session, await service.reject(session, actor, return_id, body.comment))


@router.post(
    "/returns/{return_id}/manager-code", status_code=202, summary="Text a one-time approval code to a manager"
)
async def send_manager_code(
    return_id: Id, body: ManagerCodeIn, actor: CurrentActor, session: Session
) -> dict[str, int]:
    message = await service.send_manager_code(session, actor, return_id, body.manager_staff_id)
    return {"message_id": message.id}


@router.post("/returns/{return_id}/resolve", response_model=ReturnOut, summary="Settle a disputed return")
async def resolve(return_id: Id, body: ResolveIn, actor: CurrentActor, session: Session) -> ReturnOut:
    request = await service.resolve(session, actor, return_id, refund=body.refund, comment=body.comment)
    return await return_out(session, request)


@router.get("/returns/{return_id}/slip", response_class=PlainTextResponse, summary="The return slip as text")
async def slip(return_id: Id, actor: CurrentActor, session: Session) -> str:
    request = await service.get_return(session, actor, return_id)
    return render_text(await service.slip_document(session, request), PaperWidth.WIDTH_80_MM)


@router.post("/returns/{return_id}/slip/print", status_code=202, summary="Print the slip again (COPY)")
async def reprint_slip(return_id: Id, actor: CurrentActor, session: Session) -> dict[str, str]:
    await service.reprint_slip(session, actor, return_id)
    return {"status": "queued"}


@router.get("/stores/{store_id}/returns/queue", response_model=list[ReturnOut], summary="The approval queue")
async def approval_queue(store_id: Id, actor: CurrentActor, session: Session) -> list[ReturnOut]:
    return [
        await return_out(session, request)
        for request in await service.approval_queue(session, actor, store_id)
    ]


def _filter(
    date_from: datetime | None,
    date_to: datetime | None,
    staff_id: int | None,
    reason_code: str | None,
    dish: str | None,
    status: ReturnStatus | None,
    limit: int,
    offset: int,
) -> service.ArchiveFilter:
    return service.ArchiveFilter(date_from, date_to, staff_id, reason_code, dish, status, limit, offset)


@router.get("/stores/{store_id}/returns", response_model=list[ReturnOut], summary="The returns archive")
async def archive(
    store_id: Id,
    actor: CurrentActor,
    session: Session,
    date_from: Moment | None = None,
    date_to: Moment | None = None,
    staff_id: Id | None = None,
    reason_code: Annotated[Line | None, Query(max_length=40)] = None,
    dish: Annotated[Line | None, Query(max_length=100)] = None,
    status: ReturnStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[ReturnOut]:
    where = _filter(date_from, date_to, staff_id, reason_code, dish, status, limit, offset)
    return [
        await return_out(session, request)
        for request in await service.search_returns(session, actor, store_id, where)
    ]


@router.get(
    "/stores/{store_id}/returns.csv",
    summary="The returns archive as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def archive_csv(
    store_id: Id,
    actor: CurrentActor,
    session: Session,
    date_from: Moment | None = None,
    date_to: Moment | None = None,
    staff_id: Id | None = None,
    reason_code: Annotated[Line | None, Query(max_length=40)] = None,
    dish: Annotated[Line | None, Query(max_length=100)] = None,
    status: ReturnStatus | None = None,
) -> Response:
    where = _filter(date_from, date_to, staff_id, reason_code, dish, status, 1000, 0)
    text = await service.export_csv(session, actor, store_id, where)
    return Response(
        content=text.encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="returns-store-{store_id}.csv"'},
    )


@router.get("/stores/{store_id}/return-settings", response_model=ReturnSettingsOut)
async def get_settings(store_id: Id, actor: CurrentActor, session: Session) -> ReturnSettingsOut:
    actor.require_store(store_id)
    return ReturnSettingsOut.model_validate(await service.settings_of(session, store_id))


@router.patch("/stores/{store_id}/return-settings", response_model=ReturnSettingsOut)
async def update_settings(
    store_id: Id, body: ReturnSettingsIn, actor: CurrentActor, session: Session
) -> ReturnSettingsOut:
    change = service.SettingsChange(**body.model_dump(exclude_unset=True))
    return ReturnSettingsOut.model_validate(await service.update_settings(session, actor, store_id, change))


@router.get(
    "/stores/{store_id}/refunds/to-pay-out",
    response_model=list[RefundOut],
    summary="Cash and card refunds to hand over",
)
async def refunds_to_pay_out(store_id: Id, actor: CurrentActor, session: Session) -> list[RefundOut]:
    return [
        RefundOut.model_validate(refund)
        for refund in await payment_refunds.pending_payouts(session, actor, store_id)
    ]


@router.post(
    "/refunds/{refund_id}/pay-out",
    response_model=RefundOut,
    summary="Cash handed back, or the card terminal's refund done",
)
async def pay_out(refund_id: Id, body: PayOutIn, actor: CurrentActor, session: Session) -> RefundOut:
    return RefundOut.model_validate(
        await payment_refunds.pay_out(session, actor, refund_id, approval_code=body.approval_code)
    )
