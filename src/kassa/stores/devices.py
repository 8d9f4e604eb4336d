"""Register devices: a tablet or PC set up as one register by an owner or manager.

Setting a device up issues a random **device token** (shown to the device once; only its
SHA-256 is kept). The register's PIN pad answers only to it: the staff picker
(``GET /registers/{id}/staff``) and PIN logins (``POST /auth/pin``) need the token of that
register (header ``X-Kassa-Device``), so nobody on the internet can list a store's staff or
lock them out with wrong PINs. Devices are listed with their last-seen time and revoked in
the back office.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import Actor, Permission, new_token, token_digest
from kassa.core.database import utc_now
from kassa.core.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from kassa.stores.models import Register, RegisterDevice, Store

# The HTTP header a register device sends its token in.
DEVICE_HEADER = "X-Kassa-Device"
# ``last_seen_at`` is written at most this often per device: a busy register does not
# turn every PIN login into an extra row update.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
MAX_DEVICE_NAME = 80


@dataclass(frozen=True)
class IssuedDevice:
    """A device just set up: its token is shown this once and never stored."""

    token: str
    device: RegisterDevice
    register: Register
    store: Store


@dataclass(frozen=True)
class DeviceIdentity:
    """The register a device token stands for."""

    device: RegisterDevice
    register: Register
    store: Store


async def _register_for(session: AsyncSession, actor: Actor, register_id: int) -> tuple[Register, Store]:
    """The register, if it is in the actor's organization and one of the actor's stores."""
    register = await session.get(Register, register_id)
    store = await session.get(Store, register.store_id) if register is not None else None
    if (
        register is None
        or store is None
        or store.organization_id != actor.organization_id
        or not register.is_active
        or not store.is_active
    ):
        raise NotFound(f"no register {register_id}", field="register_id")
    actor.require_store(store.id)
    return register, store


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValidationFailed("name the device (e.g. 'Counter tablet')", field="name")
    if len(cleaned) > MAX_DEVICE_NAME:
        raise ValidationFailed(f"a device name has at most {MAX_DEVICE_NAME} characters", field="name")
    return cleaned


async def set_up_device(session: AsyncSession, actor: Actor, register_id: int, name: str) -> IssuedDevice:
    """Set a device up as ``register_id``: owners and managers (``device.manage``) of the
    register's store. The token comes back once; a register may have several devices."""
    actor.require(Permission.DEVICE_MANAGE)
    register, store = await _register_for(session, actor, register_id)
    token = new_token()
    device = RegisterDevice(
        organization_id=store.organization_id,
        store_id=store.id,
        register_id=register.id,
        name=_clean_name(name),
        token_digest=token_digest(token),
        created_by_staff_id=actor.staff_id,
    )
    session.add(device)
    await session.flush()
    audit.record(
        session,
        actor,
        "register_device.create",
        "register_device",
        device.id,
        store_id=store.id,
        after={"register_id": register.id, "name": device.name},
    )
    return IssuedDevice(token=token, device=device, register=register, store=store)


async def authenticate_device(session: AsyncSession, token: str | None) -> DeviceIdentity:
    """The register behind a device token; a missing, unknown or revoked token, or one of a
    register that was closed, is refused (401)."""
    if not token:
        raise NotAuthenticated(
            f"this device is not set up as a register: send its token in {DEVICE_HEADER}",
            field=DEVICE_HEADER,
        )
    row = (
        await session.execute(
            select(RegisterDevice, Register, Store)
            .join(Register, Register.id == RegisterDevice.register_id)
            .join(Store, Store.id == RegisterDevice.store_id)
            .where(RegisterDevice.token_digest == token_digest(token))
        )
    ).one_or_none()
    if row is None:
        raise NotAuthenticated("unknown device token; set this device up again", field=DEVICE_HEADER)
    device, register, store = row
    if device.revoked_at is not None or not register.is_active or not store.is_active:
        raise NotAuthenticated("this device is no longer set up as a register", field=DEVICE_HEADER)
    return DeviceIdentity(device=device, register=register, store=store)


async def authenticate_device_for(
    session: AsyncSession, token: str | None, register_id: int
) -> DeviceIdentity:
    """``authenticate_device``, and the device must be set up as ``register_id`` (403)."""
    identity = await authenticate_device(session, token)
    if identity.register.id != register_id:
        raise PermissionDenied(
            f"this device is set up as register {identity.register.id}, not {register_id}",
            field="register_id",
        )
    return identity


async def mark_seen(session: AsyncSession, device: RegisterDevice) -> None:
    """Record that the device was used, at most once per ``LAST_SEEN_RESOLUTION`` (one
    conditional UPDATE, nothing when it was seen a moment ago)."""
    now = utc_now()
    await session.execute(
        update(RegisterDevice)
        .where(
            RegisterDevice.id == device.id,
            or_(
                RegisterDevice.last_seen_at.is_(None),
                RegisterDevice.last_seen_at < now - LAST_SEEN_RESOLUTION,
            ),
        )
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )


async def registers_to_set_up(session: AsyncSession, actor: Actor) -> Sequence[tuple[Register, Store]]:
    """The registers an owner or manager may set a device up as: every open register of
    the stores they act in."""
    actor.require(Permission.DEVICE_MANAGE)
    query = (
        select(Register, Store)
        .join(Store, Store.id == Register.store_id)
        .where(Store.organization_id == actor.organization_id, Register.is_active, Store.is_active)
        .order_by(Store.id, Register.id)
    )
    rows = [(register, store) for register, store in (await session.execute(query)).all()]
    allowed = []
    for register, store in rows:
        try:
            actor.require_store(store.id)
        except PermissionDenied:
            continue
        allowed.append((register, store))
    return allowed


@dataclass(frozen=True)
class DeviceRow:
    device: RegisterDevice
    register_name: str
    store_name: str


async def list_devices(
    session: AsyncSession, actor: Actor, *, include_revoked: bool = False
) -> Sequence[DeviceRow]:
    """The devices set up as registers of the actor's stores, newest first."""
    actor.require(Permission.DEVICE_MANAGE)
    query = (
        select(RegisterDevice, Register.name, Store.name)
        .join(Register, Register.id == RegisterDevice.register_id)
        .join(Store, Store.id == RegisterDevice.store_id)
        .where(RegisterDevice.organization_id == actor.organization_id)
        .order_by(RegisterDevice.id.desc())
    )
    if not include_revoked:
        query = query.where(RegisterDevice.revoked_at.is_(None))
    rows = []
    for device, register_name, store_name in (await session.execute(query)).all():
        try:
            actor.require_store(device.store_id)
        except PermissionDenied:
            continue
        rows.append(DeviceRow(device=device, register_name=register_name, store_name=store_name))
    return rows


async def revoke_device(session: AsyncSession, actor: Actor, device_id: int) -> DeviceRow:
    """Revoke a device: its token is refused from now on (revoking twice changes nothing)."""
    actor.require(Permission.DEVICE_MANAGE)
    row = (
        await session.execute(
            select(RegisterDevice, Register.name, Store.name)
            .join(Register, Register.id == RegisterDevice.register_id)
            .join(Store, Store.id == RegisterDevice.store_id)
            .where(RegisterDevice.id == device_id, RegisterDevice.organization_id == actor.organization_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"no device {device_id}", field="device_id")
    device, register_name, store_name = row
    actor.require_store(device.store_id)
    if device.revoked_at is None:
        device.revoked_at = utc_now()
        device.revoked_by_staff_id = actor.staff_id
        audit.record(
            session,
            actor,
            "register_device.revoke",
            "register_device",
            device.id,
            store_id=device.store_id,
            before={"register_id": device.register_id, "name": device.name},
        )
    return DeviceRow(device=device, register_name=register_name, store_name=store_name)
