"""Staff, PIN and password logins, and sessions."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import (
    Actor,
    Permission,
    Role,
    effective_permissions,
    hash_secret,
    new_token,
    parse_permissions,
    token_digest,
    verify_secret,
)
from kassa.core.database import utc_now
from kassa.core.errors import (
    KassaError,
    Locked,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    TooManyRequests,
    ValidationFailed,
)
from kassa.core.scope import load_scoped
from kassa.core.settings import get_settings
from kassa.staff import throttle
from kassa.staff.models import StaffMember, StaffSession
from kassa.staff.throttle import Lockout, ThrottleScope
from kassa.stores import devices
from kassa.stores.models import Register, Store
from kassa.stores.service import get_store

PIN_PATTERN = re.compile(r"\d{4,6}")
MIN_PASSWORD_LENGTH = 10
# Roles a manager may hire; owners may create any role.
MANAGER_ASSIGNABLE_ROLES = frozenset({Role.CASHIER, Role.WAITER})


def _check_pin(pin: str) -> None:
    if not PIN_PATTERN.fullmatch(pin):
        raise ValidationFailed("a PIN is 4 to 6 digits", field="pin")


def _staff_snapshot(staff: StaffMember) -> dict[str, object]:
    return {
        "display_name": staff.display_name,
        "role": staff.role,
        "store_id": staff.store_id,
        "email": staff.email,
        "is_active": staff.is_active,
    }


def staff_permissions(staff: StaffMember) -> frozenset[Permission]:
    """The staff member's role permissions with what a manager gave or withheld."""
    return effective_permissions(
        staff.role,
        parse_permissions(staff.granted_permissions),
        parse_permissions(staff.withheld_permissions),
    )


def _require_may_change(actor: Actor, staff: StaffMember) -> None:
    """Only an owner touches an owner (unlock, PIN, password, permissions): a manager holds
    fewer rights than the owner and must not be able to lock them out or take over."""
    actor.require(Permission.STAFF_MANAGE)
    if staff.role == Role.OWNER and actor.role != Role.OWNER and not actor.is_system:
        raise PermissionDenied("only an owner may change an owner", field="staff_id")
    if staff.store_id is not None:
        actor.require_store(staff.store_id)


async def create_staff(
    session: AsyncSession,
    actor: Actor,
    *,
    display_name: str,
    role: Role,
    pin: str,
    store_id: int | None,
    email: str | None = None,
    password: str | None = None,
    phone: str | None = None,
) -> StaffMember:
    """Add a staff member.

    Managers hire cashiers and waiters for their own store; only owners create managers and
    owners. Only owners and managers get a back-office password.
    """
    actor.require(Permission.STAFF_MANAGE)
    if actor.role != Role.OWNER and not actor.is_system and role not in MANAGER_ASSIGNABLE_ROLES:
        raise PermissionDenied(f"only an owner may create a {role.value}", field="role")
    if not display_name.strip():
        raise ValidationFailed("a name is needed", field="display_name")
    _check_pin(pin)
    if store_id is not None:
        await get_store(session, actor, store_id)
    elif role != Role.OWNER:
        raise ValidationFailed("staff other than owners belong to a store", field="store_id")
    if password is not None:
        if role not in (Role.OWNER, Role.MANAGER):
            raise ValidationFailed("only owners and managers use the back office", field="password")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValidationFailed(
                f"a password has at least {MIN_PASSWORD_LENGTH} characters", field="password"
            )
        if not email:
            raise ValidationFailed("a back-office login needs an e-mail address", field="email")
    normalized_email = email.strip().lower() if email else None
    if normalized_email:
        taken = await session.scalar(select(StaffMember.id).where(StaffMember.email == normalized_email))
        if taken is not None:
            raise ValidationFailed("this e-mail address is in use", field="email")
    staff = StaffMember(
        organization_id=actor.organization_id,
        store_id=store_id,
        display_name=display_name.strip(),
        role=role,
        pin_hash=hash_secret(pin),
        email=normalized_email,
        password_hash=hash_secret(password) if password else None,
        phone=phone,
    )
    session.add(staff)
    await session.flush()
    audit.record(
        session, actor, "staff.create", "staff", staff.id, store_id=store_id, after=_staff_snapshot(staff)
    )
    return staff


async def list_staff(
    session: AsyncSession, actor: Actor, store_id: int | None = None
) -> Sequence[StaffMember]:
    actor.require(Permission.STAFF_VIEW)
    query = select(StaffMember).where(StaffMember.organization_id == actor.organization_id)
    if store_id is not None:
        actor.require_store(store_id)
        query = query.where((StaffMember.store_id == store_id) | (StaffMember.store_id.is_(None)))
    elif actor.store_id is not None and actor.role != Role.OWNER:
        query = query.where(StaffMember.store_id == actor.store_id)
    elif actor.api_key_id is not None and actor.store_ids is not None:  # an API key: its stores' staff
        query = query.where(StaffMember.store_id.in_(sorted(actor.store_ids)))
    return (await session.scalars(query.order_by(StaffMember.role, StaffMember.display_name))).all()


async def get_staff(session: AsyncSession, actor: Actor, staff_id: int) -> StaffMember:
    """One staff member of the actor's organization (and store, for store staff)."""
    actor.require(Permission.STAFF_VIEW)
    staff = await load_scoped(session, actor, StaffMember, staff_id, field="staff_id", what="staff member")
    if staff.store_id is not None:
        actor.require_store(staff.store_id)
    return staff


async def register_staff_picker(
    session: AsyncSession,
    register_id: int,
    *,
    device_token: str | None = None,
    actor: Actor | None = None,
) -> Sequence[StaffMember]:
    """The name tiles of a register's PIN pad, for the device set up as that register
    (``device_token``) or a logged-in session of its organization and store (``actor``);
    anyone else is refused, so the internet cannot list a store's staff."""
    if actor is not None:
        register = await session.get(Register, register_id)
        store = await session.get(Store, register.store_id) if register is not None else None
        if store is None or store.organization_id != actor.organization_id:
            raise NotFound(f"no register {register_id}", field="register_id")
        actor.require_store(store.id)
    else:
        identity = await devices.authenticate_device_for(session, device_token, register_id)
        await devices.mark_seen(session, identity.device)
    return await list_staff_for_register(session, register_id)


async def list_staff_for_register(session: AsyncSession, register_id: int) -> Sequence[StaffMember]:
    """The name tiles on a register's PIN pad: active staff of its store and the owners.
    For screens that already know their register (its device or a session); requests from
    outside go through ``register_staff_picker``."""
    register = await session.get(Register, register_id)
    if register is None or not register.is_active:
        raise NotFound(f"no register {register_id}", field="register_id")
    store = await session.get(Store, register.store_id)
    assert store is not None
    query = (
        select(StaffMember)
        .where(
            StaffMember.organization_id == store.organization_id,
            StaffMember.is_active,
            (StaffMember.store_id == store.id) | (StaffMember.store_id.is_(None)),
        )
        .order_by(StaffMember.display_name)
    )
    return (await session.scalars(query)).all()


@dataclass(frozen=True)
class LoginResult:
    """A login outcome. A failure still changes state (attempt counter, lockout) that must
    be committed, so it is returned rather than raised; the caller commits, then raises."""

    token: str | None = None
    staff: StaffMember | None = None
    session: StaffSession | None = None
    error: KassaError | None = None


def _actor_for(
    staff: StaffMember,
    store_id: int | None,
    register_id: int | None,
    store_ids: frozenset[int] | None = None,
) -> Actor:
    has_overrides = bool(staff.granted_permissions or staff.withheld_permissions)
    return Actor(
        organization_id=staff.organization_id,
        staff_id=staff.id,
        role=staff.role,
        store_id=store_id,
        register_id=register_id,
        display_name=staff.display_name,
        store_ids=store_ids,
        # Resolved here, at every authentication, so a change applies to open sessions at once.
        granted_permissions=staff_permissions(staff) if has_overrides else None,
    )


async def organization_store_ids(session: AsyncSession, organization_id: int) -> frozenset[int]:
    return frozenset(
        (await session.scalars(select(Store.id).where(Store.organization_id == organization_id))).all()
    )


async def _open_session(
    session: AsyncSession, staff: StaffMember, store_id: int | None, register_id: int | None
) -> LoginResult:
    token = new_token()
    staff_session = StaffSession(
        token_digest=token_digest(token),
        staff_id=staff.id,
        store_id=store_id,
        register_id=register_id,
        expires_at=utc_now() + timedelta(hours=get_settings().session_hours),
    )
    session.add(staff_session)
    await session.flush()
    return LoginResult(token=token, staff=staff, session=staff_session)


async def end_sessions(session: AsyncSession, staff_id: int) -> int:
    """End every open session of a staff member (a lockout: someone may be guessing)."""
    result = await session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=utc_now())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _count_wrong_pin(
    session: AsyncSession, actor: Actor, staff: StaffMember
) -> tuple[datetime | None, int]:
    """Count a wrong PIN with an atomic UPDATE (two registers guessing at once both count);
    at ``pin_max_attempts`` the person is locked. Returns (locked until, tries left)."""
    settings = get_settings()
    attempts = await session.scalar(
        update(StaffMember)
        .where(StaffMember.id == staff.id)
        .values(failed_pin_attempts=StaffMember.failed_pin_attempts + 1)
        .returning(StaffMember.failed_pin_attempts)
    )
    assert attempts is not None
    if attempts >= settings.pin_max_attempts:
        locked_until = utc_now() + timedelta(minutes=settings.pin_lockout_minutes)
        await session.execute(
            update(StaffMember)
            .where(StaffMember.id == staff.id)
            .values(locked_until=locked_until, failed_pin_attempts=0)
        )
        ended = await end_sessions(session, staff.id)
        audit.record(
            session,
            actor,
            "staff.locked",
            "staff",
            staff.id,
            after={"locked_until": locked_until, "sessions_ended": ended},
        )
        return locked_until, 0
    audit.record(session, actor, "staff.pin_failed", "staff", staff.id, after={"failed_attempts": attempts})
    return None, settings.pin_max_attempts - attempts


def _lock_extra(locked_until: datetime, now: datetime) -> dict[str, object]:
    """What a lockout answer says: until when, and in how many seconds to try again."""
    seconds = max(1, math.ceil((locked_until - now).total_seconds()))
    return {"locked_until": locked_until.isoformat(), "retry_after": seconds}


async def login_with_pin(
    session: AsyncSession, register_id: int, staff_id: int, pin: str, device_token: str | None
) -> LoginResult:
    """PIN login on a register, from the device set up as that register (``device_token``):
    without it nobody can try PINs, or lock staff out with wrong ones.

    After ``pin_max_attempts`` wrong PINs in a row the staff member is locked for
    ``pin_lockout_minutes`` and their open sessions end; while locked even the right PIN is
    refused. The counter is raised with an atomic UPDATE so two registers guessing at once
    both count.
    """
    settings = get_settings()
    try:
        identity = await devices.authenticate_device_for(session, device_token, register_id)
    except KassaError as error:
        return LoginResult(error=error)
    await devices.mark_seen(session, identity.device)
    register = identity.register
    staff = await session.get(StaffMember, staff_id, with_for_update=True)
    store = await session.get(Store, register.store_id)
    assert store is not None
    if (
        staff is None
        or not staff.is_active
        or staff.organization_id != store.organization_id
        or (staff.store_id is not None and staff.store_id != store.id)
    ):
        return LoginResult(error=NotAuthenticated("unknown staff member for this register", field="staff_id"))
    now = utc_now()
    if staff.locked_until is not None and staff.locked_until > now:
        return LoginResult(
            error=Locked(
                "too many wrong PINs; try again later or ask a manager",
                field="pin",
                extra=_lock_extra(staff.locked_until, now),
            )
        )
    actor = _actor_for(staff, store.id, register.id)
    if not verify_secret(staff.pin_hash, pin):
        locked_until, remaining = await _count_wrong_pin(session, actor, staff)
        if locked_until is not None:
            return LoginResult(
                error=Locked(
                    f"{settings.pin_max_attempts} wrong PINs: "
                    f"locked for {settings.pin_lockout_minutes} minutes",
                    field="pin",
                    extra=_lock_extra(locked_until, now),
                )
            )
        return LoginResult(
            error=NotAuthenticated(
                f"wrong PIN ({remaining} tries left)", field="pin", extra={"remaining": remaining}
            )
        )
    if staff.failed_pin_attempts or staff.locked_until:
        staff.failed_pin_attempts = 0
        staff.locked_until = None
    result = await _open_session(session, staff, store.id, register.id)
    audit.record(session, actor, "staff.login", "staff", staff.id, after={"method": "pin"})
    return result


async def verify_approver_pin(session: AsyncSession, store_id: int, staff_id: int, pin: str) -> LoginResult:
    """A manager approves something on the spot by typing their PIN at someone else's
    register. Wrong PINs count towards the same lockout as logins; the result carries the
    approver as ``staff`` (no session is opened). Commit before raising ``error``."""
    staff = await session.get(StaffMember, staff_id, with_for_update=True)
    store = await session.get(Store, store_id)
    if (
        staff is None
        or store is None
        or not staff.is_active
        or staff.organization_id != store.organization_id
        or (staff.store_id is not None and staff.store_id != store.id)
    ):
        return LoginResult(
            error=NotAuthenticated("unknown approver for this store", field="approver_staff_id")
        )
    now = utc_now()
    if staff.locked_until is not None and staff.locked_until > now:
        return LoginResult(error=Locked("the approver is locked after wrong PINs", field="approver_pin"))
    actor = _actor_for(staff, store.id, None)
    if not verify_secret(staff.pin_hash, pin):
        await _count_wrong_pin(session, actor, staff)
        return LoginResult(error=NotAuthenticated("wrong approver PIN", field="approver_pin"))
    staff.failed_pin_attempts = 0
    return LoginResult(staff=staff)


def approver_actor(result: LoginResult, store_id: int) -> Actor:
    assert result.staff is not None
    return _actor_for(result.staff, store_id, None)


def _lockout_error(scope: ThrottleScope, lockout: Lockout, now: datetime) -> KassaError:
    extra = {
        "locked_until": lockout.locked_until.isoformat(),
        "retry_after": lockout.retry_after_seconds(now),
    }
    if scope == ThrottleScope.ACCOUNT:
        return Locked(
            "too many failed logins for this e-mail address; try again later", field="email", extra=extra
        )
    return TooManyRequests("too many failed logins from this address; try again later", extra=extra)


async def login_with_password(
    session: AsyncSession, email: str, password: str, client_address: str | None = None
) -> LoginResult:
    """Back-office login for owners and managers.

    Failures are counted per e-mail address and per client address (``throttle``): too many
    lock that address for a time that doubles with each lockout, answered 423 (the account)
    or 429 (the client address) with ``locked_until`` and ``retry_after``. While locked even
    the right password is refused; a staff member whose account gets locked is logged out
    everywhere.
    """
    now = utc_now()
    normalized_email = email.strip().lower()
    subjects = [(ThrottleScope.ACCOUNT, normalized_email)]
    if client_address:
        subjects.append((ThrottleScope.ADDRESS, client_address))
    for scope, subject in reversed(subjects):
        lockout = await throttle.current_lockout(session, scope, subject, now)
        if lockout is not None:
            return LoginResult(error=_lockout_error(scope, lockout, now))
    staff = await session.scalar(select(StaffMember).where(StaffMember.email == normalized_email))
    error: KassaError | None = None
    if staff is None or staff.password_hash is None or not staff.is_active:
        # Same work either way, so the answer time does not reveal which e-mails exist.
        verify_secret(hash_secret("timing-equaliser"), password)
        error = NotAuthenticated("wrong e-mail or password", field="email")
    elif not verify_secret(staff.password_hash, password):
        error = NotAuthenticated("wrong e-mail or password", field="password")
    if error is not None:
        # Both counters count every failure, whichever of them locks.
        lockouts: dict[ThrottleScope, Lockout] = {}
        for scope, subject in subjects:
            lockout = await throttle.record_failure(session, scope, subject, now)
            if lockout is not None:
                lockouts[scope] = lockout
        account_lockout = lockouts.get(ThrottleScope.ACCOUNT)
        if account_lockout is not None and account_lockout.is_new and staff is not None:
            ended = await end_sessions(session, staff.id)
            audit.record(
                session,
                _actor_for(staff, staff.store_id, None),
                "staff.password_locked",
                "staff",
                staff.id,
                store_id=staff.store_id,
                after={"locked_until": account_lockout.locked_until, "sessions_ended": ended},
            )
        for scope in (ThrottleScope.ACCOUNT, ThrottleScope.ADDRESS):
            if scope in lockouts:
                return LoginResult(error=_lockout_error(scope, lockouts[scope], now))
        return LoginResult(error=error)
    assert staff is not None
    if staff.role not in (Role.OWNER, Role.MANAGER):
        return LoginResult(
            error=PermissionDenied("the back office is for owners and managers", field="email")
        )
    await throttle.clear(session, ThrottleScope.ACCOUNT, normalized_email)
    result = await _open_session(session, staff, staff.store_id, None)
    audit.record(
        session,
        _actor_for(staff, staff.store_id, None),
        "staff.login",
        "staff",
        staff.id,
        after={"method": "password"},
    )
    return result


async def authenticate(session: AsyncSession, token: str) -> Actor:
    """The actor behind a session token; expired, revoked or unknown tokens are refused."""
    row = (
        await session.execute(
            select(StaffSession, StaffMember)
            .join(StaffMember, StaffMember.id == StaffSession.staff_id)
            .where(StaffSession.token_digest == token_digest(token))
        )
    ).one_or_none()
    if row is None:
        raise NotAuthenticated("unknown session; log in again")
    staff_session, staff = row
    if staff_session.revoked_at is not None or staff_session.expires_at <= utc_now() or not staff.is_active:
        raise NotAuthenticated("session ended; log in again")
    # An owner acts in every store of the organization; other staff only in their own.
    store_ids = (
        await organization_store_ids(session, staff.organization_id)
        if staff.role == Role.OWNER
        else frozenset({staff.store_id})
        if staff.store_id is not None
        else frozenset()
    )
    return _actor_for(staff, staff_session.store_id, staff_session.register_id, store_ids)


async def logout(session: AsyncSession, actor: Actor, token: str) -> None:
    if actor.api_key_id is not None:
        raise ValidationFailed("an API key is not logged out; revoke it instead", field="Authorization")
    await session.execute(
        update(StaffSession)
        .where(StaffSession.token_digest == token_digest(token), StaffSession.revoked_at.is_(None))
        .values(revoked_at=utc_now())
    )
    audit.record(session, actor, "staff.logout", "staff", actor.staff_id)


async def unlock_staff(session: AsyncSession, actor: Actor, staff_id: int) -> StaffMember:
    """A manager lifts a lockout (wrong PINs, and wrong back-office passwords) before it
    runs out. Only an owner unlocks an owner."""
    actor.require(Permission.STAFF_MANAGE)
    staff = await load_scoped(session, actor, StaffMember, staff_id, field="staff_id", what="staff member")
    _require_may_change(actor, staff)
    staff.locked_until = None
    staff.failed_pin_attempts = 0
    if staff.email:
        await throttle.clear(session, ThrottleScope.ACCOUNT, staff.email)
    audit.record(session, actor, "staff.unlock", "staff", staff.id, store_id=staff.store_id)
    return staff


async def count_staff(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count(StaffMember.id))) or 0)


async def set_staff_permissions(
    session: AsyncSession,
    actor: Actor,
    staff_id: int,
    *,
    granted: frozenset[Permission],
    withheld: frozenset[Permission],
) -> StaffMember:
    """Give (``granted``) or withhold (``withheld``) single permissions on top of a staff
    member's role; the lists replace the ones before.

    A manager changes only permissions they hold themselves (giving or taking away), never
    their own and never an owner's. Open sessions get the new set at their next request.
    """
    actor.require(Permission.STAFF_MANAGE)
    staff = await load_scoped(
        session, actor, StaffMember, staff_id, field="staff_id", what="staff member", for_update=True
    )
    _require_may_change(actor, staff)
    if granted & withheld:
        names = sorted(permission.value for permission in granted & withheld)
        raise ValidationFailed(f"given and withheld at once: {', '.join(names)}", field="withheld")
    if staff.id == actor.staff_id and actor.role != Role.OWNER:
        raise PermissionDenied("nobody changes their own permissions", field="staff_id")
    before = staff_permissions(staff)
    role_permissions = effective_permissions(staff.role)
    # Only what changes anything is kept: a grant the role has anyway, or a withhold of
    # what the role lacks, would only confuse the next reader.
    new_granted = granted - role_permissions
    new_withheld = withheld & role_permissions
    after = effective_permissions(staff.role, new_granted, new_withheld)
    changed = before ^ after
    if actor.role != Role.OWNER and not actor.is_system:
        foreign = changed - actor.permissions
        if foreign:
            names = sorted(permission.value for permission in foreign)
            raise PermissionDenied(
                f"you cannot give or take away what you do not hold: {', '.join(names)}",
                field="granted",
                extra={"permissions": names},
            )
    audit_before = {
        "granted": sorted(staff.granted_permissions or []),
        "withheld": sorted(staff.withheld_permissions or []),
    }
    staff.granted_permissions = sorted(permission.value for permission in new_granted)
    staff.withheld_permissions = sorted(permission.value for permission in new_withheld)
    audit.record(
        session,
        actor,
        "staff.permissions",
        "staff",
        staff.id,
        store_id=staff.store_id,
        before=audit_before,
        after={
            "granted": staff.granted_permissions,
            "withheld": staff.withheld_permissions,
            "added": sorted(permission.value for permission in after - before),
            "removed": sorted(permission.value for permission in before - after),
        },
    )
    return staff


async def reset_credentials(
    session: AsyncSession, actor: Actor, staff_id: int, *, pin: str | None = None, password: str | None = None
) -> StaffMember:
    """A manager sets a new PIN (or back-office password) for a staff member who forgot it;
    the staff member's sessions end. Only an owner does this for an owner."""
    actor.require(Permission.STAFF_MANAGE)
    staff = await load_scoped(
        session, actor, StaffMember, staff_id, field="staff_id", what="staff member", for_update=True
    )
    _require_may_change(actor, staff)
    if pin is None and password is None:
        raise ValidationFailed("give a new PIN or password", field="pin")
    if pin is not None:
        _check_pin(pin)
    if password is not None:
        if staff.role not in (Role.OWNER, Role.MANAGER):
            raise ValidationFailed("only owners and managers use the back office", field="password")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValidationFailed(
                f"a password has at least {MIN_PASSWORD_LENGTH} characters", field="password"
            )
        if not staff.email:
            raise ValidationFailed("a back-office login needs an e-mail address", field="password")
    if pin is not None:
        staff.pin_hash = hash_secret(pin)
    if password is not None:
        staff.password_hash = hash_secret(password)
    ended = await end_sessions(session, staff.id)
    audit.record(
        session,
        actor,
        "staff.credentials_reset",
        "staff",
        staff.id,
        store_id=staff.store_id,
        after={"pin": pin is not None, "password": password is not None, "sessions_ended": ended},
    )
    return staff
