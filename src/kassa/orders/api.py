"""Bills through the API: everything the register screen does."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from kassa.core import idempotency
from kassa.core.auth import Actor
from kassa.core.database import commit, utc_now
from kassa.core.money import Money
from kassa.core.schemas import Id
from kassa.orders import receipts, service
from kassa.orders.models import Bill
from kassa.orders.schemas import (
    Approval,
    BillOpen,
    BillOut,
    BillSummary,
    DiscountIn,
    KitchenTicketOut,
    LineAdd,
    LineNote,
    LineOut,
    LineQuantity,
    LineVoid,
    MemberAttach,
    MergeIn,
    OrderQueueOut,
    PaymentOut,
    SplitByLines,
    SplitEvenly,
    TableMove,
    UrgentIn,
    VatRowOut,
    Versioned,
)
from kassa.orders.totals import totals_of
from kassa.printing.escpos_render import render_text
from kassa.printing.layout import PaperWidth
from kassa.staff import service as staff_service
from kassa.web.dependencies import CurrentActor, Session

router = APIRouter(tags=["bills"])

IdempotencyKey = Annotated[
    str | None, Header(alias=idempotency.HEADER, max_length=100, description="Repeat-safe retries")
]


async def bill_out(session: Session, bill: Bill, request: Request | None = None) -> BillOut:
    lines = await service.bill_lines(session, bill.id)
    payments = await service.bill_payments(session, bill.id)
    active = [line for line in lines if line.status == "active"]
    totals = totals_of(bill, active)
    base = str(request.base_url).rstrip("/") if request else ""
    return BillOut.model_validate(
        {
            **{column: getattr(bill, column) for column in BillOut.model_fields if hasattr(bill, column)},
            "amount_due": service.amount_due(bill),
            "receipt_url": f"{base}/r/{bill.receipt_token}",
            "lines": [LineOut.model_validate(line) for line in lines],
            "payments": [PaymentOut.model_validate(payment) for payment in payments],
            "vat": [
                VatRowOut(
                    code=row.code,
                    rate_basis_points=row.rate_basis_points,
                    gross_amount=row.gross,
                    vat_amount=row.vat,
                    net_amount=row.net,
                )
                for row in totals.vat
            ],
        }
    )


def _summary(bill: Bill) -> BillSummary:
    return BillSummary(
        id=bill.id,
        number=bill.number,
        order_type=bill.order_type,
        version=bill.version,
        table_id=bill.table_id,
        pickup_code=bill.pickup_code,
        is_urgent=bill.is_urgent,
        is_parked=bill.is_parked,
        opened_by_staff_id=bill.opened_by_staff_id,
        opened_at=bill.opened_at,
        age_minutes=int((utc_now() - bill.opened_at).total_seconds() // 60),
        total_amount=bill.total_amount,
        amount_due=service.amount_due(bill),
    )


@router.post("/bills", response_model=BillOut, status_code=status.HTTP_201_CREATED)
async def open_bill(
    body: BillOpen,
    actor: CurrentActor,
    session: Session,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> BillOut:
    scope = f"bill.open:{actor.register_id}"
    if idempotency_key:
        stored = await idempotency.replay_or_reserve(session, scope, idempotency_key, body.model_dump())
        if stored is not None:
            bill = await service.get_bill(session, actor, int(stored["bill_id"]))
            return await bill_out(session, bill, request)
    bill = await service.open_bill(session, actor, **body.model_dump())
    if idempotency_key:
        await idempotency.remember(session, scope, idempotency_key, {"bill_id": bill.id})
    return await bill_out(session, bill, request)


@router.get("/bills/{bill_id}", response_model=BillOut)
async def get_bill(bill_id: Id, actor: CurrentActor, session: Session, request: Request) -> BillOut:
    return await bill_out(session, await service.get_bill(session, actor, bill_id), request)


@router.get("/stores/{store_id}/bills/open", response_model=list[BillSummary], summary="The open-bills list")
async def open_bills(store_id: Id, actor: CurrentActor, session: Session) -> list[BillSummary]:
    return [_summary(bill) for bill in await service.open_bills(session, actor, store_id)]


@router.get("/stores/{store_id}/order-queue", response_model=OrderQueueOut)
async def order_queue(store_id: Id, actor: CurrentActor, session: Session) -> OrderQueueOut:
    queue = await service.order_queue(session, actor, store_id)
    return OrderQueueOut(
        **{order_type.value: [_summary(bill) for bill in bills] for order_type, bills in queue.items()}
    )


@router.post("/bills/{bill_id}/lines", response_model=BillOut, status_code=status.HTTP_201_CREATED)
async def add_line(
    bill_id: Id, body: LineAdd, actor: CurrentActor, session: Session, request: Request
) -> BillOut:
    open_price = None
    if body.open_price_amount is not None:
        bill = await service.get_bill(session, actor, bill_id)
        open_price = Money(body.open_price_amount, bill.currency)
    await service.add_line(
        session,
        actor,
        bill_id,
        body.version,
        product_id=body.product_id,
        quantity=body.quantity,
        modifier_option_ids=body.modifier_option_ids,
        open_price=open_price,
        note=body.note,
    )
    return await bill_out(session, await service.get_bill(session, actor, bill_id), request)


@router.patch("/bills/{bill_id}/lines/{line_id}", response_model=BillOut)
async def change_quantity(
    bill_id: Id, line_id: Id, body: LineQuantity, actor: CurrentActor, session: Session, request: Request
) -> BillOut:
    await service.change_line_quantity(session, actor, bill_id, body.version, line_id, body.quantity)
    return await bill_out(session, await service.get_bill(session, actor, bill_id), request)


@router.post(
    "/bills/{bill_id}/lines/{line_id}/void",
    response_model=BillOut,
    summary="Void a line, or part of its quantity (a reason once the kitchen has it)",
)
async def void_line(
    bill_id: Id, line_id: Id, body: LineVoid, actor: CurrentActor, session: Session, request: Request
) -> BillOut:
    await service.void_line(session, actor, bill_id, body.version, line_id, body.reason, body.quantity)
    return await bill_out(session, await service.get_bill(session, actor, bill_id), request)


async def _approver(session: Session, bill_id: Id, actor: Actor, approval: Approval | None) -> Actor | None:
    if approval is None:
        return None
    bill = await service.get_bill(session, actor, bill_id)
    result = await staff_service.verify_approver_pin(
        session, bill.store_id, approval.approver_staff_id, approval.approver_pin
    )
    if result.error is not None:
        # The wrong-PIN count must stick even though this request fails.
        await commit(session)
        raise result.error
    return staff_service.approver_actor(result, bill.store_id)


@router.post("/bills/{bill_id}/lines/{line_id}/discount", response_model=BillOut)
async def discount_line(
    bill_id: Id, line_id: Id, body: DiscountIn, actor: CurrentActor, session: Session, request: Request
) -> BillOut:
    approver = await _approver(session, bill_id, actor, body.approval)
    discount = service.DiscountRequest(body.basis_points, body.fixed_amount, body.reason)
    await service.discount_line(session, actor, bill_id, body.version, line_id, discount, approver)
    return await bill_out(session, await service.get_bill(session, actor, bill_id), request)


@router.post("/bills/{bill_id}/member", response_model=BillOut, summary="Attach a member (or null to detach)")
async def attach_member(
    bill_id: Id, body: MemberAttach, actor: CurrentActor, session: Session, request: Request
) -> BillOut:
    return await bill_out(
        session, await service.attach_member(session, actor, bill_id, body.version, body.member_id), request
    )


@router.post("/bills/{bill_id}/discount", response_model=BillOut)
async def discount_bill(
    bill_id: Id, body: DiscountIn, actor: CurrentActor, session: Session, request: Request
) -> BillOut:
    approver = await _approver(session, bill_id, actor, body.approval)
    discount = service.DiscountRequest(body.basis_points, body.fixed_amount, body.reason)
    return await bill_out(
        session,
        await service.discount_bill(session, actor, bill_id, body.version, discount, approver),
        request,
    )


@router.post("/bills/{bill_id}/discount/remove", response_model=BillOut)
async def remove_bill_discount(
    bill_id: Id, body: Versioned, actor: CurrentActor, session: Session, request: Request
) -> BillOut:
    return await bill_out(
        session, await service.remove_bill_discount(session, actor, bill_id, body.version), request
    )


@router.post("/bills/{bill_id}/lines/{line_id}/note", response_model=BillOut)
async def change_line_note(
    bill_id: Id, line_id: Id, body: LineNote, actor: CurrentActor, session: Session, request: Request
) -> BillOut:
    await service.change_line_note(session, actor, bill_id, body.version, line_id, body.note)
    return await bill_out(session, await service.get_bill(session, actor, bill_id), request)


@router.post(
    "/bills/{bill_id}/kitchen", response_model=list[KitchenTicketOut], summary="Send new lines to the kitchen"
)
async def send_to_kitchen(
    bill_id: Id, body: Versioned, actor: CurrentActor, session: Session
) -> list[KitchenTicketOut]:
    tickets = await service.send_to_kitchen(session, actor, bill_id, body.version)
    return [KitchenTicketOut.model_validate(ticket) for ticket in tickets]


@router.post("/bills/{bill_id}/urgent", response_model=BillOut)
async def set_urgent(
    bill_id: Id, body: UrgentIn, actor: CurrentActor, session: Session, request: Request
) -> BillOut:
    return await bill_out(
        session, await service.set_urgent(session, actor, bill_id, body.version, body.is_urgent), request
    )


@router.post("/bills/{bill_id}/park", response_model=BillOut)
async def park(
    bill_id: Id, body: Versioned, actor: CurrentActor, session: Session, request: Request
) -> BillOut:
    return await bill_out(session, await service.park(session, actor, bill_id, body.version), request)


@router.post("/bills/{bill_id}/resume", response_model=BillOut)
async def resume(
    bill_id: Id, body: Versioned, actor: CurrentActor, session: Session, request: Request
) -> BillOut:
    return await bill_out(session, await service.resume(session, actor, bill_id, body.version), request)


@router.post("/bills/{bill_id}/move", response_model=BillOut)
async def move(
    bill_id: Id, body: TableMove, actor: CurrentActor, session: Session, request: Request
) -> BillOut:
    return await bill_out(
        session, await service.move_to_table(session, actor, bill_id, body.version, body.table_id), request
    )


@router.post("/bills/{bill_id}/merge", response_model=BillOut, summary="Merge another bill into this one")
async def merge(
    bill_id: Id, body: MergeIn, actor: CurrentActor, session: Session, request: Request
) -> BillOut:
    target = await service.merge(
        session, actor, bill_id, body.version, body.source_bill_id, body.source_version
    )
    return await bill_out(session, target, request)


@router.post("/bills/{bill_id}/split", response_model=BillOut, status_code=status.HTTP_201_CREATED)
async def split_by_lines(
    bill_id: Id, body: SplitByLines, actor: CurrentActor, session: Session, request: Request
) -> BillOut:
    parts = [service.SplitPart(part.line_id, part.quantity) for part in body.lines]
    return await bill_out(
        session, await service.split_by_lines(session, actor, bill_id, body.version, parts), request
    )


@router.post("/bills/{bill_id}/split-evenly", response_model=BillOut)
async def split_evenly(
    bill_id: Id, body: SplitEvenly, actor: CurrentActor, session: Session, request: Request
) -> BillOut:
    return await bill_out(
        session, await service.split_evenly(session, actor, bill_id, body.version, body.parts), request
    )


@router.post("/bills/{bill_id}/close", response_model=BillOut)
async def close(
    bill_id: Id, body: Versioned, actor: CurrentActor, session: Session, request: Request
) -> BillOut:
    return await bill_out(session, await service.close(session, actor, bill_id, body.version), request)


__all__ = ["PaymentOut", "bill_out", "router"]


class PrintOut(BaseModel):
    outbox_id: int
    status: str


@router.post("/bills/{bill_id}/receipt", response_model=PrintOut, summary="Print (or reprint) the receipt")
async def print_receipt(bill_id: Id, actor: CurrentActor, session: Session, copy: bool = False) -> PrintOut:
    """The first print of a paid bill happens once however often it is asked for;
    ``copy=true`` prints a reprint marked COPY."""
    message = await receipts.print_receipt(session, actor, bill_id, is_copy=copy)
    return PrintOut(outbox_id=message.id, status=message.status.value)


@router.get("/bills/{bill_id}/receipt.txt", response_class=PlainTextResponse, summary="The receipt as text")
async def receipt_text(bill_id: Id, actor: CurrentActor, session: Session) -> str:
    bill = await service.get_bill(session, actor, bill_id)
    return render_text(await receipts.build_receipt(session, bill), PaperWidth.WIDTH_80_MM)
