"""The member portal's way in: logging in by SMS code or password, signing up, portal
sessions and passwords (``account.py`` holds what a logged-in member does).

The portal has no staff: its changes to members go through ``members.service`` with a
system actor named "member portal" of the store whose portal it is, so audit rows say
where a change came from without holding personal data.

Failed logins change state (the code's attempt counter, the password lockout) that must
be committed even though the login is refused: those functions return a ``PortalLogin``
with ``error`` set instead of raising; the caller commits, then raises or shows it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import Actor, hash_secret, new_token, token_digest, verify_secret
from kassa.core.database import utc_now
from kassa.core.errors import KassaError, Locked, NotAuthenticated, NotFound, ValidationFailed
from kassa.core.phones import normalize_phone
from kassa.core.settings import get_settings
from kassa.members import service as members
from kassa.members.models import Member, RegistrationSource
from kassa.notifications import service as notifications
from kassa.notifications.models import OtpCode
from kassa.portal.models import MemberCredential, PortalSession
from kassa.stores.models import Store

LOGIN_PURPOSE = "portal-login"


def _login_purpose(organization_id: int) -> str:
    # Per organization: a code sent for one owner's portal does not open another's.
    return f"{LOGIN_PURPOSE}:{organization_id}"


PORTAL_ACTOR_NAME = "member portal"
SESSION_LIFETIME = timedelta(days=30)
# How long a verified phone number may be used to finish signing up.
REGISTRATION_TICKET_LIFETIME = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128


# --- the store a portal belongs to --------------------------------------------------------


async def portal_store(session: AsyncSession, store_id: int) -> Store:
    """The store whose portal this is (its organization's members log in there)."""
    store = await session.get(Store, store_id)
    if store is None or not store.is_active:
        raise NotFound(f"no store {store_id}", field="store_id")
    return store


def portal_actor(organization_id: int, store_id: int) -> Actor:
    return Actor.system(organization_id, store_id=store_id, name=PORTAL_ACTOR_NAME)


@dataclass(frozen=True)
class PortalIdentity:
    """The member behind a portal session."""

    member_id: int
    organization_id: int
    store_id: int
    session_id: int

    @property
    def actor(self) -> Actor:
        return portal_actor(self.organization_id, self.store_id)


@dataclass(frozen=True)
class PortalLogin:
    """A login's outcome: a session (``token``), or a verified phone number with no member
    yet (``registration_ticket``: sign up with it), or ``error`` (commit, then raise)."""

    token: str | None = None
    portal_session: PortalSession | None = None
    member: Member | None = None
    phone: str | None = None
    registration_ticket: str | None = None
    error: KassaError | None = None


async def _open_session(session: AsyncSession, store: Store, member: Member, method: str) -> PortalLogin:
    token = new_token()
    portal_session = PortalSession(
        token_digest=token_digest(token),
        member_id=member.id,
        organization_id=store.organization_id,
        store_id=store.id,
        method=method,
        expires_at=utc_now() + SESSION_LIFETIME,
    )
    session.add(portal_session)
    await session.flush()
    audit.record(
        session,
        portal_actor(store.organization_id, store.id),
        "member.portal_login",
        "member",
        member.id,
        after={"method": method},
    )
    return PortalLogin(token=token, portal_session=portal_session, member=member, phone=member.phone_e164)


async def _member_by_phone(session: AsyncSession, organization_id: int, phone_e164: str) -> Member | None:
    return await session.scalar(
        select(Member).where(
            Member.organization_id == organization_id,
            Member.phone_e164 == phone_e164,
            Member.erased_at.is_(None),
        )
    )


# --- SMS code login and sign-up -----------------------------------------------------------


async def request_login_code(session: AsyncSession, store_id: int, phone: str) -> OtpCode:
    """Text a 6-digit login code to ``phone`` (any format, read in the store's region).
    Members and newcomers alike get one, so the answer does not tell who is a member; the
    number of codes a phone gets per hour is limited by the notifications capability."""
    store = await portal_store(session, store_id)
    phone_e164 = normalize_phone(phone, store.phone_region)
    return await notifications.issue_otp(
        session,
        store=store,
        phone=phone_e164,
        purpose=_login_purpose(store.organization_id),
        cause=notifications.Cause("member portal login"),
    )


async def verify_login_code(session: AsyncSession, store_id: int, phone: str, code: str) -> PortalLogin:
    """Check the code texted to ``phone``. A member gets a session; a number with no member
    gets a registration ticket (the number is proven theirs) to sign up with. A wrong code
    counts against the code's attempts: commit before reporting the error."""
    store = await portal_store(session, store_id)
    phone_e164 = normalize_phone(phone, store.phone_region)
    cleaned = code.strip()
    if not (cleaned.isdigit() and len(cleaned) == notifications.OTP_DIGITS):
        raise ValidationFailed(f"the code has {notifications.OTP_DIGITS} digits", field="code")
    check = await notifications.check_otp(
        session, phone=phone_e164, purpose=_login_purpose(store.organization_id), code=cleaned
    )
    if not check.ok:
        return PortalLogin(
            error=NotAuthenticated(
                check.problem or "wrong code",
                field="code",
                extra={"remaining_attempts": check.remaining_attempts},
            )
        )
    member = await _member_by_phone(session, store.organization_id, phone_e164)
    if member is None:
        return PortalLogin(
            phone=phone_e164, registration_ticket=registration_ticket(store.organization_id, phone_e164)
        )
    return await _open_session(session, store, member, "sms_code")


def _ticket_signature(organization_id: int, phone_e164: str, expires: int) -> str:
    key = get_settings().resolved_secret_key().encode()
    message = f"portal-registration|{organization_id}|{phone_e164}|{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def registration_ticket(organization_id: int, phone_e164: str, *, now: datetime | None = None) -> str:
    """A signed note that ``phone_e164`` was proven by an SMS code, valid for
    ``REGISTRATION_TICKET_LIFETIME``: signing up needs no second code."""
    expires = int(((now or utc_now()) + REGISTRATION_TICKET_LIFETIME).timestamp())
    return (
        f"{organization_id}.{phone_e164}.{expires}.{_ticket_signature(organization_id, phone_e164, expires)}"
    )


def read_registration_ticket(ticket: str, organization_id: int) -> str:
    """The phone number a ticket proves, for this organization; else 401 naming the ticket."""
    refused = NotAuthenticated(
        "the phone check ran out or is not valid; ask for a new code", field="registration_ticket"
    )
    parts = ticket.strip().split(".")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[2].isdigit():
        raise refused
    ticket_organization, phone_e164, expires_text, signature = parts
    expires = int(expires_text)
    expected = _ticket_signature(int(ticket_organization), phone_e164, expires)
    if (
        not hmac.compare_digest(signature, expected)
        or int(ticket_organization) != organization_id
        or expires < utc_now().timestamp()
    ):
        raise refused
    return phone_e164


@dataclass(frozen=True)
class Registration:
    """What a newcomer types to sign up in the portal."""

    name: str
    privacy_policy_accepted: bool
    privacy_policy_version: str
    marketing_sms: bool = False
    email: str | None = None
    birthday: date | None = None


async def register(session: AsyncSession, store_id: int, ticket: str, details: Registration) -> PortalLogin:
    """Sign up with a verified phone number: the member accepts the current privacy policy
    (the version they were shown, which must still be the current one) and chooses about
    marketing SMS; they are logged in at once."""
    store = await portal_store(session, store_id)
    phone_e164 = read_registration_ticket(ticket, store.organization_id)
    if details.privacy_policy_accepted and (
        details.privacy_policy_version.strip() != members.CURRENT_PRIVACY_POLICY_VERSION
    ):
        raise ValidationFailed(
            f"the current privacy policy is version {members.CURRENT_PRIVACY_POLICY_VERSION}; "
            "read it and accept that one",
            field="privacy_policy_version",
        )
    member = await members.register_member(
        session,
        portal_actor(store.organization_id, store.id),
        store.id,
        members.MemberInput(
            phone=phone_e164, name=details.name, email=details.email, birthday=details.birthday
        ),
        members.RegistrationConsents(
            privacy_policy_accepted=details.privacy_policy_accepted,
            privacy_policy_version=details.privacy_policy_version,
            marketing_sms=details.marketing_sms,
        ),
        source=RegistrationSource.PORTAL,
    )
    return await _open_session(session, store, member, "registration")


# --- password login -----------------------------------------------------------------------


@lru_cache
def _equaliser_hash() -> str:
    return hash_secret("timing-equaliser")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"a password has at least {MIN_PASSWORD_LENGTH} characters", field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(f"a password has at most {MAX_PASSWORD_LENGTH} characters", field="password")


async def login_with_password(session: AsyncSession, store_id: int, phone: str, password: str) -> PortalLogin:
    """Log in with the phone number and the password the member set in the portal.

    Wrong passwords are counted with an atomic UPDATE; after the staff PIN limit
    (``pin_max_attempts``) the password is locked for ``pin_lockout_minutes``, and while
    locked even the right one is refused (the SMS code still works). An unknown number and
    a wrong password get the same answer, so the login does not tell who is a member.
    """
    settings = get_settings()
    store = await portal_store(session, store_id)
    phone_e164 = normalize_phone(phone, store.phone_region)
    wrong = NotAuthenticated("wrong phone number or password", field="password")
    member = await _member_by_phone(session, store.organization_id, phone_e164)
    credential = (
        await session.get(MemberCredential, member.id, with_for_update=True, populate_existing=True)
        if member is not None
        else None
    )
    if member is None or credential is None:
        verify_secret(_equaliser_hash(), password)  # the same work either way
        return PortalLogin(error=wrong)
    now = utc_now()
    if credential.locked_until is not None and credential.locked_until > now:
        return PortalLogin(
            error=Locked(
                "too many wrong passwords; log in with an SMS code or try again later",
                field="password",
                extra={"locked_until": credential.locked_until.isoformat()},
            )
        )
    actor = portal_actor(store.organization_id, store.id)
    if not verify_secret(credential.password_hash, password):
        attempts = await session.scalar(
            update(MemberCredential)
            .where(MemberCredential.member_id == member.id)
            .values(failed_attempts=MemberCredential.failed_attempts + 1)
            .returning(MemberCredential.failed_attempts)
        )
        assert attempts is not None
        if attempts >= settings.pin_max_attempts:
            locked_until = now + timedelta(minutes=settings.pin_lockout_minutes)
            await session.execute(
                update(MemberCredential)
                .where(MemberCredential.member_id == member.id)
                .values(locked_until=locked_until, failed_attempts=0)
            )
            audit.record(
                session,
                actor,
                "member.password_locked",
                "member",
                member.id,
                after={"locked_until": locked_until},
            )
            return PortalLogin(
                error=Locked(
                    f"{settings.pin_max_attempts} wrong passwords: locked for "
                    f"{settings.pin_lockout_minutes} minutes (the SMS code still works)",
                    field="password",
                    extra={"locked_until": locked_until.isoformat()},
                )
            )
        remaining = settings.pin_max_attempts - attempts
        return PortalLogin(
            error=NotAuthenticated(
                f"wrong phone number or password ({remaining} tries left)",
                field="password",
                extra={"remaining_attempts": remaining},
            )
        )
    if credential.failed_attempts or credential.locked_until:
        credential.failed_attempts = 0
        credential.locked_until = None
    return await _open_session(session, store, member, "password")


async def set_password(session: AsyncSession, identity: PortalIdentity, password: str) -> None:
    """Set (or replace) the member's portal password; the logged-in session is proof enough,
    so a member who forgot it logs in by SMS code and sets a new one. A lockout ends."""
    _check_password(password)
    # The member's row lock makes two first passwords at once one insert and one update.
    await session.get(Member, identity.member_id, with_for_update=True)
    credential = await session.get(MemberCredential, identity.member_id, populate_existing=True)
    if credential is None:
        credential = MemberCredential(member_id=identity.member_id, password_hash="")
        session.add(credential)
    credential.password_hash = hash_secret(password)
    credential.failed_attempts = 0
    credential.locked_until = None
    credential.updated_at = utc_now()
    await session.flush()
    audit.record(session, identity.actor, "member.password_set", "member", identity.member_id)


async def has_password(session: AsyncSession, identity: PortalIdentity) -> bool:
    return await session.get(MemberCredential, identity.member_id) is not None


# --- sessions ---------------------------------------------------------------------------


async def authenticate(session: AsyncSession, token: str) -> PortalIdentity:
    """The member behind a portal token; unknown, expired, revoked or erased: 401."""
    row = (
        await session.execute(
            select(PortalSession, Member)
            .join(Member, Member.id == PortalSession.member_id)
            .where(PortalSession.token_digest == token_digest(token))
        )
    ).one_or_none()
    if row is None:
        raise NotAuthenticated("unknown portal session; log in again", field="Authorization")
    portal_session, member = row
    if portal_session.revoked_at is not None or portal_session.expires_at <= utc_now() or member.erased_at:
        raise NotAuthenticated("portal session ended; log in again", field="Authorization")
    return PortalIdentity(
        member_id=member.id,
        organization_id=portal_session.organization_id,
        store_id=portal_session.store_id,
        session_id=portal_session.id,
    )


async def logout(session: AsyncSession, identity: PortalIdentity) -> None:
    await session.execute(
        update(PortalSession)
        .where(PortalSession.id == identity.session_id, PortalSession.revoked_at.is_(None))
        .values(revoked_at=utc_now())
    )
    audit.record(session, identity.actor, "member.portal_logout", "member", identity.member_id)
