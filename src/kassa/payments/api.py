"""Payments through the API. Every payment needs an ``Idempotency-Key`` header."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status
from pydantic import SecretStr

from kassa.core import idempotency
from kassa.core.database import commit
from kassa.core.errors import ValidationFailed
from kassa.core.idempotency import HEADER
from kassa.core.schemas import Id
from kassa.orders import service as orders
from kassa.orders.api import bill_out
from kassa.orders.schemas import BillOut, PaymentOut
from kassa.payments import provider_settings, service
from kassa.payments.models import ProviderKind, Tender
from kassa.payments.schemas import (
    PaymentIn,
    PaymentProviderOut,
    PaymentProviderSettingsIn,
    PaymentVoid,
    SaleIn,
)
from kassa.web.dependencies import CurrentActor, Session, database_of

router = APIRouter(tags=["payments"])

RequiredKey = Annotated[
    str, Header(alias=HEADER, min_length=8, max_length=100, description="Repeat-safe retries")
]


@router.post("/bills/{bill_id}/payments", response_model=BillOut, status_code=status.HTTP_201_CREATED)
async def take_payment(
    bill_id: Id,
    body: PaymentIn,
    idempotency_key: RequiredKey,
    actor: CurrentActor,
    session: Session,
    request: Request,
) -> BillOut:
    """Cash (``tendered_amount``), card (``approval_code``), WeChat Pay or Alipay (the
    customer's ``payment_code``, or none for a QR code to show), the member's stored value
    or points (the member must be on the bill). Repeating the same key
    returns the bill with the first payment; nothing is charged twice."""
    if body.tender == Tender.CASH:
        if body.tendered_amount is None:
            raise ValidationFailed("how much cash did the customer hand over?", field="tendered_amount")
        await service.take_cash(
            session,
            actor,
            bill_id,
            body.version,
            tendered=body.tendered_amount,
            idempotency_key=idempotency_key,
            amount=body.amount,
            split_share_index=body.split_share_index,
            close_when_paid=body.close_when_paid,
        )
    elif body.tender == Tender.CARD:
        if not body.approval_code:
            raise ValidationFailed("type the approval code the terminal printed", field="approval_code")
        await service.take_card(
            session,
            actor,
            bill_id,
            body.version,
            approval_code=body.approval_code,
            idempotency_key=idempotency_key,
            amount=body.amount,
            split_share_index=body.split_share_index,
            close_when_paid=body.close_when_paid,
        )
    elif body.tender in service.WALLET_TENDERS:
        _payment, charge = await service.start_wallet_payment(
            session,
            actor,
            bill_id,
            body.version,
            tender=body.tender,
            idempotency_key=idempotency_key,
            payment_code=body.payment_code,
            amount=body.amount,
            split_share_index=body.split_share_index,
        )
        if charge is not None:
            # The pending payment is stored before the provider is asked (see service docstring).
            await commit(session)
            await service.charge_wallet(
                database_of(request), actor, charge, close_when_paid=body.close_when_paid
            )
            # The outcome was stored by another unit of work: read it afresh.
            session.expire_all()
    else:
        await service.take_member_tender(
            session,
            actor,
            bill_id,
            body.version,
            tender=body.tender,
            idempotency_key=idempotency_key,
            amount=body.amount,
            split_share_index=body.split_share_index,
            close_when_paid=body.close_when_paid,
        )
    return await bill_out(session, await orders.get_bill(session, actor, bill_id), request)


@router.post("/payments/{payment_id}/refresh", response_model=PaymentOut, summary="Ask the provider again")
async def refresh(payment_id: Id, actor: CurrentActor, request: Request) -> PaymentOut:
    return PaymentOut.model_validate(await service.refresh_payment(database_of(request), actor, payment_id))


@router.post("/bills/{bill_id}/payments/{payment_id}/void", response_model=BillOut)
async def void(
    bill_id: Id, payment_id: Id, body: PaymentVoid, actor: CurrentActor, session: Session, request: Request
) -> BillOut:
    await service.void_payment(session, actor, bill_id, body.version, payment_id, body.reason)
    return await bill_out(session, await orders.get_bill(session, actor, bill_id), request)


@router.post(
    "/payments/notifications/{tender}/{store_id}",
    status_code=status.HTTP_200_OK,
    summary="Provider payment notifications",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}, "application/json": {}}}},
)
async def notification(tender: Tender, store_id: Id, request: Request) -> Response:
    """WeChat Pay and Alipay call this (the address shown in the store's provider settings)
    when a payment settles. The store's provider verifies the signature first; a forged
    notification or one that names no payment of this store for its amount is answered 400
    and changes nothing. Handled ones are answered as the provider expects (Alipay: the
    plain text ``success``)."""
    if tender not in service.WALLET_TENDERS:
        raise ValidationFailed("notifications come from WeChat Pay or Alipay", field="tender")
    _payment, provider = await service.handle_notification(
        database_of(request), tender, store_id, dict(request.headers), await request.body()
    )
    media_type, body = provider.acknowledgement()
    return Response(content=body, media_type=media_type)


def _provider_out(view: provider_settings.ProviderSettingsView) -> PaymentProviderOut:
    return PaymentProviderOut(
        tender=view.tender,
        provider=view.provider,
        is_set_up=view.is_set_up,
        settings=view.settings,
        secrets_set=view.secrets_set,
        notification_url=view.notification_url,
        updated_at=view.updated_at,
    )


@router.get(
    "/stores/{store_id}/payment-providers",
    response_model=list[PaymentProviderOut],
    summary="Who takes WeChat Pay and Alipay in a store (owner)",
)
async def payment_providers(store_id: Id, actor: CurrentActor, session: Session) -> list[PaymentProviderOut]:
    views = await provider_settings.provider_settings_of(session, actor, store_id)
    return [_provider_out(view) for view in views]


@router.put(
    "/stores/{store_id}/payment-providers/{tender}",
    response_model=PaymentProviderOut,
    summary="Choose the simulator or the real provider for a wallet tender (owner)",
)
async def set_payment_provider(
    store_id: Id, tender: Tender, body: PaymentProviderSettingsIn, actor: CurrentActor, session: Session
) -> PaymentProviderOut:
    """Secrets (private keys, the APIv3 key) are write-only: leave one out to keep the stored
    one. The settings are checked by building the provider before they are saved."""
    fields = body.model_dump(exclude={"provider"})
    kind = ProviderKind(body.provider)
    secret_names = provider_settings.SECRET_FIELDS[kind]
    change = provider_settings.ProviderSettingsChange(
        provider=kind,
        settings={name: value for name, value in fields.items() if name not in secret_names},
        secrets={
            name: value.get_secret_value() if isinstance(value, SecretStr) else value
            for name, value in fields.items()
            if name in secret_names
        },
    )
    view = await provider_settings.update_provider_settings(session, actor, store_id, tender, change)
    return _provider_out(view)


@router.delete(
    "/stores/{store_id}/payment-providers/{tender}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop taking a wallet tender in a store (owner)",
)
async def remove_payment_provider(
    store_id: Id, tender: Tender, actor: CurrentActor, session: Session
) -> None:
    await provider_settings.remove_provider_settings(session, actor, store_id, tender)


@router.post(
    "/sales", response_model=BillOut, status_code=status.HTTP_201_CREATED, summary="A whole sale in one step"
)
async def record_sale(
    body: SaleIn, idempotency_key: RequiredKey, actor: CurrentActor, session: Session, request: Request
) -> BillOut:
    """Open, add lines, pay (cash and card) and close in one request and one transaction.
    Paid in full or nothing is stored; the same ``Idempotency-Key`` returns the first sale."""
    scope = f"sale:{actor.register_id}"
    stored = await idempotency.replay_or_reserve(
        session, scope, idempotency_key, body.model_dump(mode="json")
    )
    if stored is not None:
        return await bill_out(session, await orders.get_bill(session, actor, int(stored["bill_id"])), request)
    bill = await service.record_sale(
        session,
        actor,
        order_type=body.order_type,
        lines=[
            service.SaleLine(line.product_id, line.quantity, tuple(line.modifier_option_ids), line.note)
            for line in body.lines
        ],
        tenders=[
            service.SaleTender(tender.tender, tender.amount, tender.tendered_amount, tender.approval_code)
            for tender in body.tenders
        ],
        idempotency_key=idempotency_key,
    )
    await idempotency.remember(session, scope, idempotency_key, {"bill_id": bill.id})
    return await bill_out(session, bill, request)
