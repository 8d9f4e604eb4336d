"""Logins, sessions and staff management."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from kassa.core.database import commit
from kassa.core.schemas import Id
from kassa.staff import service
from kassa.staff.models import StaffMember
from kassa.staff.schemas import (
    CredentialsReset,
    Me,
    PasswordLogin,
    PinLogin,
    SessionOut,
    StaffCreate,
    StaffOut,
    StaffPermissionsIn,
    StaffPermissionsOut,
    StaffTile,
)
from kassa.web.dependencies import (
    CurrentActor,
    DeviceToken,
    OptionalActor,
    Session,
    Token,
    client_address,
)

router = APIRouter(tags=["staff"])


async def _session_out(session: Session, result: service.LoginResult) -> SessionOut:
    # A failed login changed the attempt counter: commit that, then report the failure.
    await commit(session)
    if result.error is not None:
        raise result.error
    assert result.token is not None
    assert result.staff is not None
    assert result.session is not None
    return SessionOut(
        token=result.token,
        staff_id=result.staff.id,
        display_name=result.staff.display_name,
        role=result.staff.role,
        store_id=result.session.store_id,
        register_id=result.session.register_id,
        expires_at=result.session.expires_at,
    )


@router.post(
    "/auth/pin",
    response_model=SessionOut,
    summary="Log in on a register with a PIN (from the device set up as that register)",
)
async def login_with_pin(body: PinLogin, session: Session, device_token: DeviceToken = None) -> SessionOut:
    """Needs the register's device token in `X-Kassa-Device` (401 without it, 403 for
    another register's device). Wrong PINs answer 401 with `remaining`; the last one locks
    the staff member (423 with `locked_until`) and ends their sessions."""
    result = await service.login_with_pin(session, body.register_id, body.staff_id, body.pin, device_token)
    return await _session_out(session, result)


@router.post("/auth/password", response_model=SessionOut, summary="Back-office login (owners, managers)")
async def login_with_password(body: PasswordLogin, session: Session, request: Request) -> SessionOut:
    """Failed logins are limited per e-mail address (423 `locked`) and per client address
    (429 `too_many_requests`), each with `locked_until`, `retry_after` and a `Retry-After`
    header; each lockout lasts twice as long as the one before. The client address is the
    connection's peer: behind a reverse proxy start uvicorn with `--proxy-headers
    --forwarded-allow-ips=<proxy>` so it is the browser's address, not the proxy's."""
    result = await service.login_with_password(session, body.email, body.password, client_address(request))
    return await _session_out(session, result)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(actor: CurrentActor, token: Token, session: Session) -> None:
    await service.logout(session, actor, token)


@router.get("/auth/me", response_model=Me)
async def me(actor: CurrentActor) -> Me:
    return Me(
        staff_id=actor.staff_id,
        display_name=actor.display_name,
        role=actor.role,
        organization_id=actor.organization_id,
        store_id=actor.store_id,
        register_id=actor.register_id,
        permissions=sorted(permission.value for permission in actor.permissions),
    )


@router.get("/registers/{register_id}/staff", response_model=list[StaffTile], summary="PIN pad name tiles")
async def register_staff(
    register_id: Id, session: Session, actor: OptionalActor, device_token: DeviceToken = None
) -> list[StaffTile]:
    """For the device set up as this register (`X-Kassa-Device`) or a logged-in session of
    its store (`Authorization`); anyone else gets 401."""
    staff = await service.register_staff_picker(session, register_id, device_token=device_token, actor=actor)
    return [StaffTile.model_validate(item) for item in staff]


@router.get("/staff", response_model=list[StaffOut])
async def list_staff(actor: CurrentActor, session: Session, store_id: Id | None = None) -> list[StaffOut]:
    return [StaffOut.model_validate(item) for item in await service.list_staff(session, actor, store_id)]


@router.post("/staff", response_model=StaffOut, status_code=status.HTTP_201_CREATED)
async def create_staff(body: StaffCreate, actor: CurrentActor, session: Session) -> StaffOut:
    staff = await service.create_staff(
        session,
        actor,
        display_name=body.display_name,
        role=body.role,
        pin=body.pin,
        store_id=body.store_id,
        email=body.email,
        password=body.password,
        phone=body.phone,
    )
    return StaffOut.model_validate(staff)


@router.post("/staff/{staff_id}/unlock", response_model=StaffOut)
async def unlock_staff(staff_id: Id, actor: CurrentActor, session: Session) -> StaffOut:
    return StaffOut.model_validate(await service.unlock_staff(session, actor, staff_id))


@router.get("/staff/{staff_id}/permissions", response_model=StaffPermissionsOut)
async def staff_permissions(staff_id: Id, actor: CurrentActor, session: Session) -> StaffPermissionsOut:
    staff = await service.get_staff(session, actor, staff_id)
    return _permissions_out(staff)


@router.put(
    "/staff/{staff_id}/permissions",
    response_model=StaffPermissionsOut,
    summary="Give or withhold single permissions on top of the role",
)
async def set_staff_permissions(
    staff_id: Id, body: StaffPermissionsIn, actor: CurrentActor, session: Session
) -> StaffPermissionsOut:
    """A manager changes only permissions they hold (403 naming them otherwise), never their
    own and never an owner's. Takes effect at the staff member's next request."""
    staff = await service.set_staff_permissions(
        session, actor, staff_id, granted=frozenset(body.granted), withheld=frozenset(body.withheld)
    )
    return _permissions_out(staff)


@router.post("/staff/{staff_id}/credentials", response_model=StaffOut, summary="Set a new PIN or password")
async def reset_credentials(
    staff_id: Id, body: CredentialsReset, actor: CurrentActor, session: Session
) -> StaffOut:
    """Ends the staff member's sessions. Only an owner resets an owner's."""
    staff = await service.reset_credentials(session, actor, staff_id, pin=body.pin, password=body.password)
    return StaffOut.model_validate(staff)


def _permissions_out(staff: StaffMember) -> StaffPermissionsOut:
    return StaffPermissionsOut.model_validate(
        {
            **StaffOut.model_validate(staff).model_dump(),
            "permissions": sorted(permission.value for permission in service.staff_permissions(staff)),
        }
    )
