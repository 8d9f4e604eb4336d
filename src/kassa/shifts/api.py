"""Shifts and reports through the API: open a register's shift, cash in and out, the X
report, close with the count; the Z report of a store's day as JSON, text and PDF."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from starlette.concurrency import run_in_threadpool

from kassa.core import idempotency
from kassa.core.schemas import Day, Id, Line
from kassa.shifts import render, reports, service
from kassa.shifts.schemas import (
    CashMovementIn,
    CashMovementOut,
    ShiftClose,
    ShiftOpen,
    ShiftOut,
    ShiftReport,
    ZReport,
)
from kassa.web.dependencies import CurrentActor, Session

router = APIRouter(tags=["shifts"])

IdempotencyKey = Annotated[
    str | None, Header(alias=idempotency.HEADER, max_length=100, description="Repeat-safe retries")
]
Locale = Annotated[Line | None, Query(max_length=16, description="Labels and names; default: the store's")]
BusinessDate = Annotated[
    Day | None, Query(description="The store's business day, YYYY-MM-DD; default: the current one")
]

TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"
PDF_MEDIA_TYPE = "application/pdf"


@router.post("/registers/{register_id}/shifts", response_model=ShiftOut, status_code=status.HTTP_201_CREATED)
async def open_shift(
    register_id: Id,
    body: ShiftOpen,
    actor: CurrentActor,
    session: Session,
    idempotency_key: IdempotencyKey = None,
) -> ShiftOut:
    """Open a shift with the opening float counted (by denomination or as an amount)."""
    scope = f"shift.open:{register_id}"
    if idempotency_key:
        stored = await idempotency.replay_or_reserve(session, scope, idempotency_key, body.model_dump())
        if stored is not None:
            return ShiftOut.model_validate(await service.get_shift(session, actor, int(stored["shift_id"])))
    shift = await service.open_shift(
        session, actor, register_id, denominations=body.as_mapping(), amount=body.amount, note=body.note
    )
    if idempotency_key:
        await idempotency.remember(session, scope, idempotency_key, {"shift_id": shift.id})
    return ShiftOut.model_validate(shift)


@router.get("/registers/{register_id}/shifts/current", response_model=ShiftOut, summary="The open shift")
async def current_shift(register_id: Id, actor: CurrentActor, session: Session) -> ShiftOut:
    return ShiftOut.model_validate(await service.current_shift(session, actor, register_id))


@router.get("/shifts/{shift_id}", response_model=ShiftOut)
async def get_shift(shift_id: Id, actor: CurrentActor, session: Session) -> ShiftOut:
    service.require_report_rights(actor)
    return ShiftOut.model_validate(await service.get_shift(session, actor, shift_id))


@router.post(
    "/shifts/{shift_id}/cash-movements", response_model=CashMovementOut, status_code=status.HTTP_201_CREATED
)
async def record_cash_movement(
    shift_id: Id,
    body: CashMovementIn,
    actor: CurrentActor,
    session: Session,
    idempotency_key: IdempotencyKey = None,
) -> CashMovementOut:
    """Cash in (change from the bank) or out (a paid-out to a supplier), with the reason.
    With an ``Idempotency-Key`` a repeated request records the movement once."""
    scope = f"shift.cash:{shift_id}"
    if idempotency_key:
        stored = await idempotency.replay_or_reserve(session, scope, idempotency_key, body.model_dump())
        if stored is not None:
            return CashMovementOut.model_validate(stored)
    movement = await service.record_cash_movement(
        session, actor, shift_id, kind=body.kind, amount=body.amount, reason=body.reason
    )
    answer = CashMovementOut.model_validate(movement)
    if idempotency_key:
        await idempotency.remember(session, scope, idempotency_key, answer.model_dump(mode="json"))
    return answer


@router.get("/shifts/{shift_id}/x-report", response_model=ShiftReport)
async def x_report(shift_id: Id, actor: CurrentActor, session: Session, locale: Locale = None) -> ShiftReport:
    """The shift so far (an open shift stays open); a closed shift gives its closing report."""
    return await service.shift_report(session, actor, shift_id, locale=locale)


@router.get(
    "/shifts/{shift_id}/x-report.txt",
    response_class=Response,
    responses={200: {"content": {TEXT_MEDIA_TYPE: {}}}},
)
async def x_report_text(
    shift_id: Id, actor: CurrentActor, session: Session, locale: Locale = None
) -> Response:
    report = await service.shift_report(session, actor, shift_id, locale=locale)
    return Response(render.shift_report_text(report), media_type=TEXT_MEDIA_TYPE)


@router.get(
    "/shifts/{shift_id}/x-report.pdf",
    response_class=Response,
    responses={200: {"content": {PDF_MEDIA_TYPE: {}}}},
)
async def x_report_pdf(
    shift_id: Id, actor: CurrentActor, session: Session, locale: Locale = None
) -> Response:
    report = await service.shift_report(session, actor, shift_id, locale=locale)
    return Response(
        await run_in_threadpool(render.shift_report_pdf, report),
        media_type=PDF_MEDIA_TYPE,
        headers={"Content-Disposition": f'inline; filename="shift-{shift_id}.pdf"'},
    )


@router.post("/shifts/{shift_id}/close", response_model=ShiftReport)
async def close_shift(shift_id: Id, body: ShiftClose, actor: CurrentActor, session: Session) -> ShiftReport:
    """Close with the cash counted by denomination; answers the closing report with the
    difference (counted - expected: positive over, negative short)."""
    await service.close_shift(session, actor, shift_id, denominations=body.as_mapping(), amount=body.amount)
    return await service.shift_report(session, actor, shift_id)


@router.get("/stores/{store_id}/z-report", response_model=ZReport)
async def z_report(
    store_id: Id,
    actor: CurrentActor,
    session: Session,
    business_date: BusinessDate = None,
    locale: Locale = None,
) -> ZReport:
    return await reports.z_report(session, actor, store_id, business_date, locale=locale)


@router.get(
    "/stores/{store_id}/z-report.txt",
    response_class=Response,
    responses={200: {"content": {TEXT_MEDIA_TYPE: {}}}},
)
async def z_report_text(
    store_id: Id,
    actor: CurrentActor,
    session: Session,
    business_date: BusinessDate = None,
    locale: Locale = None,
) -> Response:
    """The Z report for the 80 mm receipt printer: 48 columns (CJK characters count two)."""
    report = await reports.z_report(session, actor, store_id, business_date, locale=locale)
    return Response(render.z_report_text(report), media_type=TEXT_MEDIA_TYPE)


@router.get(
    "/stores/{store_id}/z-report.pdf",
    response_class=Response,
    responses={200: {"content": {PDF_MEDIA_TYPE: {}}}},
)
async def z_report_pdf(
    store_id: Id,
    actor: CurrentActor,
    session: Session,
    business_date: BusinessDate = None,
    locale: Locale = None,
) -> Response:
    report = await reports.z_report(session, actor, store_id, business_date, locale=locale)
    return Response(
        await run_in_threadpool(render.z_report_pdf, report),
        media_type=PDF_MEDIA_TYPE,
        headers={"Content-Disposition": f'inline; filename="z-report-{store_id}-{report.business_date}.pdf"'},
    )
