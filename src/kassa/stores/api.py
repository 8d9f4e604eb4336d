"""Stores and registers."""

from __future__ import annotations

from fastapi import APIRouter, status

from kassa.core.schemas import Id
from kassa.stores import devices, service
from kassa.stores.models import RegisterDevice, Store
from kassa.stores.schemas import (
    DeviceCreate,
    DeviceCreated,
    DeviceOut,
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
async def get_store(store_id: Id, actor: CurrentActor, session: Session) -> StoreDetail:
    return await _store_detail(session, await service.get_store(session, actor, store_id))


@router.post("/stores/{store_id}/registers", response_model=RegisterOut, status_code=status.HTTP_201_CREATED)
async def add_register(
    store_id: Id, body: RegisterCreate, actor: CurrentActor, session: Session
) -> RegisterOut:
    return RegisterOut.model_validate(await service.add_register(session, actor, store_id, body.name))


@router.patch("/stores/{store_id}", response_model=StoreDetail)
async def update_store(store_id: Id, body: StoreUpdate, actor: CurrentActor, session: Session) -> StoreDetail:
    await service.update_store(session, actor, store_id, **body.model_dump(exclude_unset=True))
    return await get_store(store_id, actor, session)


@router.get("/stores/{store_id}/settings", response_model=StoreSettingsOut)
async def store_settings(store_id: Id, actor: CurrentActor, session: Session) -> StoreSettingsOut:
    return StoreSettingsOut.model_validate(await service.store_settings(session, actor, store_id))


@router.patch("/stores/{store_id}/settings", response_model=StoreSettingsOut)
async def update_store_settings(
    store_id: Id, body: StoreSettingsIn, actor: CurrentActor, session: Session
) -> StoreSettingsOut:
    store = await service.update_store_settings(
        session, actor, store_id, service.StoreSettings(**body.model_dump(exclude_unset=True))
    )
    return StoreSettingsOut.model_validate(store)


@router.put("/registers/{register_id}/printer", response_model=RegisterPrinterOut)
async def set_receipt_printer(
    register_id: Id, body: RegisterPrinterIn, actor: CurrentActor, session: Session
) -> RegisterPrinterOut:
    return RegisterPrinterOut.model_validate(
        await service.set_receipt_printer(
            session, actor, register_id, body.receipt_printer, auto_print_receipt=body.auto_print_receipt
        )
    )


def _device_out(device: RegisterDevice, register_name: str, store_name: str) -> DeviceOut:
    return DeviceOut(
        id=device.id,
        name=device.name,
        store_id=device.store_id,
        store_name=store_name,
        register_id=device.register_id,
        register_name=register_name,
        created_at=device.created_at,
        created_by_staff_id=device.created_by_staff_id,
        last_seen_at=device.last_seen_at,
        revoked_at=device.revoked_at,
    )


@router.post(
    "/registers/{register_id}/devices",
    response_model=DeviceCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Set a device up as this register (owners, managers); its token is shown once",
)
async def set_up_device(
    register_id: Id, body: DeviceCreate, actor: CurrentActor, session: Session
) -> DeviceCreated:
    """The device sends the token as `X-Kassa-Device` to list the register's staff
    (`GET /registers/{id}/staff`) and to log staff in by PIN (`POST /auth/pin`)."""
    issued = await devices.set_up_device(session, actor, register_id, body.name)
    out = _device_out(issued.device, issued.register.name, issued.store.name)
    return DeviceCreated(**out.model_dump(), token=issued.token)


@router.get("/register-devices", response_model=list[DeviceOut], summary="Devices set up as registers")
async def list_devices(
    actor: CurrentActor, session: Session, include_revoked: bool = False
) -> list[DeviceOut]:
    rows = await devices.list_devices(session, actor, include_revoked=include_revoked)
    return [_device_out(row.device, row.register_name, row.store_name) for row in rows]


@router.post(
    "/register-devices/{device_id}/revoke",
    response_model=DeviceOut,
    summary="Revoke a register device: its token is refused from now on",
)
async def revoke_device(device_id: Id, actor: CurrentActor, session: Session) -> DeviceOut:
    row = await devices.revoke_device(session, actor, device_id)
    return _device_out(row.device, row.register_name, row.store_name)
