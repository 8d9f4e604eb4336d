"""Stores and registers."""

from __future__ import annotations

from fastapi import APIRouter, status

from kassa.stores import service
from kassa.stores.models import Store
from kassa.stores.schemas import (
    RegisterCreate,
    RegisterOut,
    RegisterPrinterIn,
    RegisterPrinterOut,
    StoreCreate,
    StoreDetail,
    StoreOut,
    StoreSettingsIn,
    StoreSettingsOut,
    StoreUpdate,
    VatRateOut,
)
from kassa.web.dependencies import CurrentActor, Session

router = APIRouter(tags=["stores"])


@router.get("/stores", response_model=list[StoreOut])
async def list_stores(actor: CurrentActor, session: Session) -> list[StoreOut]:
    return [StoreOut.model_validate(store) for store in await service.list_stores(session, actor)]


@router.post("/stores", response_model=StoreDetail, status_code=status.HTTP_201_CREATED)
async def create_store(body: StoreCreate, actor: CurrentActor, session: Session) -> StoreDetail:
    store = await service.create_store(
        session,
        actor,
        name=body.name,
        address=body.address,
        phone=body.phone,
        currency=body.currency,
        timezone=body.timezone,
        phone_region=body.phone_region,
        locale=body.locale,
        vat_rates=[service.VatRateInput(**rate.model_dump()) for rate in body.vat_rates],
    )
    # This request's actor was resolved before the store existed: answer with the new row.
    return await _store_detail(session, store)


async def _store_detail(session: Session, store: Store) -> StoreDetail:
    rates = await service.list_vat_rates(session, store.id)
    return StoreDetail(
        **StoreOut.model_validate(store).model_dump(),
        vat_rates=[VatRateOut.model_validate(rate) for rate in rates],
    )


@router.get("/stores/{store_id}", response_model=StoreDetail)
async def get_store(store_id: int, actor: CurrentActor, session: Session) -> StoreDetail:
    return await _store_detail(session, await service.get_store(session, actor, store_id))


@router.post("/stores/{store_id}/registers", response_model=RegisterOut, status_code=status.HTTP_201_CREATED)
async def add_register(
    store_id: int, body: RegisterCreate, actor: CurrentActor, session: Session
) -> RegisterOut:
    return RegisterOut.model_validate(await service.add_register(session, actor, store_id, body.name))


@router.patch("/stores/{store_id}", response_model=StoreDetail)
async def update_store(
    store_id: int, body: StoreUpdate, actor: CurrentActor, session: Session
) -> StoreDetail:
    await service.update_store(session, actor, store_id, **body.model_dump(exclude_unset=True))
    return await get_store(store_id, actor, session)


@router.patch("/stores/{store_id}/settings", response_model=StoreSettingsOut)
async def update_store_settings(
    store_id: int, body: StoreSettingsIn, actor: CurrentActor, session: Session
) -> StoreSettingsOut:
    store = await service.update_store_settings(
        session, actor, store_id, service.StoreSettings(**body.model_dump(exclude_unset=True))
    )
    return StoreSettingsOut.model_validate(store)


@router.put("/registers/{register_id}/printer", response_model=RegisterPrinterOut)
async def set_receipt_printer(
    register_id: int, body: RegisterPrinterIn, actor: CurrentActor, session: Session
) -> RegisterPrinterOut:
    return RegisterPrinterOut.model_validate(
        await service.set_receipt_printer(session, actor, register_id, body.receipt_printer)
    )
