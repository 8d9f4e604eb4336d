"""Members: registration, lookup at the counter, profile changes and consents.

Audit records say who changed which member and which fields, but never hold the personal
data itself: audit rows are hash-chained and can never be erased, a member's data must be.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.database import utc_now
from kassa.core.erasure import ErasedMember, erased_phone
from kassa.core.errors import Conflict, PermissionDenied, ValidationFailed
from kassa.core.phones import is_last4, last4, looks_like_phone, normalize_phone, try_normalize_phone
from kassa.core.scope import load_scoped
from kassa.members.cards import is_card_number, new_card_number
from kassa.members.models import (
    ConsentKind,
    ConsentSource,
    Gender,
    Member,
    MemberConsent,
    RegistrationSource,
)
from kassa.notifications.models import InboundMessage
from kassa.stores.models import Store
from kassa.stores.service import get_store

# The privacy policy staff show at sign-up until stores can publish their own text; a
# changed policy gets a new version, and members accept it again.
CURRENT_PRIVACY_POLICY_VERSION = "2026-11"
# Used when the organization has no store yet to take a region from.
DEFAULT_PHONE_REGION = "CN"
SEARCH_LIMIT = 20
MAX_SEARCH_LIMIT = 100
MAX_TAGS = 20
MAX_TAG_LENGTH = 30
MAX_NAME_LENGTH = 100
MAX_POLICY_VERSION_LENGTH = 40
# A random card number repeats about once in 10^8 draws per member; a few tries are plenty.
CARD_NUMBER_ATTEMPTS = 5
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
EARLIEST_BIRTHDAY = date(1900, 1, 1)


class _Unset(Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET


@dataclass(frozen=True)
class MemberInput:
    """A new member's details as typed; the phone in any format of the store's region."""

    phone: str
    name: str
    email: str | None = None
    birthday: date | None = None
    gender: Gender = Gender.UNSPECIFIED
    address: str | None = None
    notes: str = ""
    tags: Sequence[str] = ()


@dataclass(frozen=True)
class RegistrationConsents:
    """What the customer agreed to when signing up. The privacy policy is required;
    marketing SMS is their free choice and recorded either way."""

    privacy_policy_accepted: bool
    privacy_policy_version: str
    marketing_sms: bool = False


@dataclass(frozen=True)
class MemberChanges:
    """A partial update: fields left ``UNSET`` stay as they are; ``None`` clears an optional
    field."""

    phone: str | _Unset = UNSET
    name: str | _Unset = UNSET
    email: str | _Unset | None = UNSET
    birthday: date | _Unset | None = UNSET
    gender: Gender | _Unset = UNSET
    address: str | _Unset | None = UNSET
    notes: str | _Unset = UNSET
    tags: Sequence[str] | _Unset = UNSET


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValidationFailed("a member needs a name", field="name")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise ValidationFailed(f"a name has at most {MAX_NAME_LENGTH} characters", field="name")
    return cleaned


def _clean_email(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    cleaned = email.strip().lower()
    if len(cleaned) > 254 or not EMAIL_PATTERN.fullmatch(cleaned):
        raise ValidationFailed(f"{email!r} is not an e-mail address", field="email")
    return cleaned


def _check_birthday(birthday: date | None) -> date | None:
    if birthday is not None and not EARLIEST_BIRTHDAY <= birthday <= utc_now().date():
        raise ValidationFailed("a birthday lies between 1900 and today", field="birthday")
    return birthday


def _clean_optional_text(text: str | None, field: str, max_length: int) -> str | None:
    if text is None or not text.strip():
        return None
    if len(text.strip()) > max_length:
        raise ValidationFailed(f"at most {max_length} characters", field=field)
    return text.strip()


def _clean_notes(notes: str) -> str:
    if len(notes.strip()) > 1000:
        raise ValidationFailed("notes have at most 1000 characters", field="notes")
    return notes.strip()


def _clean_tags(tags: Sequence[str]) -> list[str]:
    """Trimmed, without blanks or repeats, in the order given."""
    cleaned: list[str] = []
    for tag in tags:
        text = " ".join(tag.split())
        if len(text) > MAX_TAG_LENGTH:
            raise ValidationFailed(f"a tag has at most {MAX_TAG_LENGTH} characters", field="tags")
        if text and text not in cleaned:
            cleaned.append(text)
    if len(cleaned) > MAX_TAGS:
        raise ValidationFailed(f"a member has at most {MAX_TAGS} tags", field="tags")
    return cleaned


def _phone_taken(member_id: int) -> Conflict:
    return Conflict(
        "a member with this phone number exists already", field="phone", extra={"member_id": member_id}
    )


def _card_number_taken() -> Conflict:
    return Conflict("another member has this card number", field="card_number")


async def _card_taken(session: AsyncSession, organization_id: int, card_number: str) -> bool:
    found = await session.scalar(
        select(Member.id).where(Member.organization_id == organization_id, Member.card_number == card_number)
    )
    return found is not None


async def _member_id_by_phone(session: AsyncSession, organization_id: int, phone_e164: str) -> int | None:
    return await session.scalar(
        select(Member.id).where(Member.organization_id == organization_id, Member.phone_e164 == phone_e164)
    )


async def phone_region(session: AsyncSession, actor: Actor) -> str:
    """The region a number without a country code is read in: the actor's store's, or for
    someone working across stores (an owner), the organization's first store's."""
    query = select(Store.phone_region).where(Store.organization_id == actor.organization_id)
    if actor.store_id is not None:
        query = query.where(Store.id == actor.store_id)
    region = await session.scalar(query.order_by(Store.id).limit(1))
    return region or DEFAULT_PHONE_REGION


async def register_member(
    session: AsyncSession,
    actor: Actor,
    store_id: int,
    data: MemberInput,
    consents: RegistrationConsents,
    *,
    source: RegistrationSource = RegistrationSource.REGISTER,
    card_number: str | None = None,
    registered_at: datetime | None = None,
) -> Member:
    """Sign a customer up in a store: one member per phone number in the organization,
    whatever format the number was typed in. Accepting the privacy policy (its version is
    recorded) is a condition; marketing SMS consent is recorded either way.

    Two registrations of one number at once give one member: the unique index decides and
    the loser gets the same 409 as a later duplicate.

    An import keeps the member's card (``card_number``, free in the organization) and the
    date they signed up elsewhere (``registered_at``, not in the future); otherwise a new
    card is drawn and the member is registered now.
    """
    actor.require(Permission.MEMBER_MANAGE)
    store = await get_store(session, actor, store_id)
    if not consents.privacy_policy_accepted:
        raise ValidationFailed(
            "the customer must accept the privacy policy to become a member", field="privacy_policy_accepted"
        )
    policy_version = consents.privacy_policy_version.strip()
    if not policy_version or len(policy_version) > MAX_POLICY_VERSION_LENGTH:
        raise ValidationFailed(
            f"name the privacy policy version accepted (1 to {MAX_POLICY_VERSION_LENGTH} characters)",
            field="privacy_policy_version",
        )
    phone = normalize_phone(data.phone, store.phone_region)
    details: dict[str, Any] = {
        "name": _clean_name(data.name),
        "email": _clean_email(data.email),
        "birthday": _check_birthday(data.birthday),
        "gender": data.gender,
        "address": _clean_optional_text(data.address, "address", 300),
        "notes": _clean_notes(data.notes),
        "tags": _clean_tags(data.tags),
    }
    now = utc_now()
    if card_number is not None and not is_card_number(card_number):
        raise ValidationFailed(
            f"{card_number!r} is not a card number (10 digits, the last a check digit)", field="card_number"
        )
    if registered_at is not None and registered_at > now:
        raise ValidationFailed("a member cannot have signed up in the future", field="registered_at")
    taken = await _member_id_by_phone(session, actor.organization_id, phone)
    if taken is not None:
        raise _phone_taken(taken)
    if card_number is not None and await _card_taken(session, actor.organization_id, card_number):
        raise _card_number_taken()
    for _attempt in range(CARD_NUMBER_ATTEMPTS):
        member = Member(
            organization_id=actor.organization_id,
            phone_e164=phone,
            phone_last4=last4(phone),
            card_number=card_number or new_card_number(),
            marketing_sms_opt_in=False,
            registered_at_store_id=store_id,
            registered_by_staff_id=actor.staff_id,
            registration_source=source,
            created_at=registered_at or now,
            updated_at=now,
            **details,
        )
        try:
            # A savepoint, so a lost race leaves the unit of work usable for the answer.
            async with session.begin_nested():
                session.add(member)
        except IntegrityError:
            taken = await _member_id_by_phone(session, actor.organization_id, phone)
            if taken is not None:
                raise _phone_taken(taken) from None
            if card_number is not None:
                raise _card_number_taken() from None
            continue  # the card number was taken: draw another
        break
    else:
        raise Conflict("no free card number found; try again", field="card_number")
    audit.record(
        session,
        actor,
        "member.register",
        "member",
        member.id,
        store_id=store_id,
        after={"card_number": member.card_number, "source": source},
    )
    consent_source = ConsentSource(source.value)
    await _append_consent(
        session, actor, member, ConsentKind.PRIVACY_POLICY, True, policy_version, consent_source, store_id
    )
    await _append_consent(
        session,
        actor,
        member,
        ConsentKind.MARKETING_SMS,
        consents.marketing_sms,
        None,
        consent_source,
        store_id,
    )
    return member


async def get_member(session: AsyncSession, actor: Actor, member_id: int) -> Member:
    actor.require(Permission.MEMBER_VIEW)
    member = await load_scoped(session, actor, Member, member_id, field="member_id", what="member")
    return member


async def update_member(
    session: AsyncSession, actor: Actor, member_id: int, changes: MemberChanges
) -> Member:
    """Change a member's details. A new phone number must be valid and not another
    member's, and needs ``member.phone_change`` (else: ``access.change_phone`` with the code
    sent to the old number); the card number, registration and consents never change here."""
    actor.require(Permission.MEMBER_MANAGE)
    member = await get_member(session, actor, member_id)
    if member.erased_at is not None:
        raise Conflict("this member's data was erased", field="member_id")
    values: dict[str, Any] = {}
    if changes.name is not UNSET:
        values["name"] = _clean_name(changes.name)
    if changes.email is not UNSET:
        values["email"] = _clean_email(changes.email)
    if changes.birthday is not UNSET:
        values["birthday"] = _check_birthday(changes.birthday)
    if changes.gender is not UNSET:
        values["gender"] = changes.gender
    if changes.address is not UNSET:
        values["address"] = _clean_optional_text(changes.address, "address", 300)
    if changes.notes is not UNSET:
        values["notes"] = _clean_notes(changes.notes)
    if changes.tags is not UNSET:
        values["tags"] = _clean_tags(changes.tags)
    new_phone: str | None = None
    if changes.phone is not UNSET:
        new_phone = normalize_phone(changes.phone, await phone_region(session, actor))
        if new_phone == member.phone_e164:
            new_phone = None
        else:
            taken = await _member_id_by_phone(session, actor.organization_id, new_phone)
            if taken is not None:
                raise _phone_taken(taken)
            if not actor.can(Permission.MEMBER_PHONE_CHANGE):
                # The number is the member's portal login: a manager changes it, or the
                # cashier with the code texted to the old number (``access.change_phone``).
                raise PermissionDenied(
                    "a phone number change needs a manager, or the code sent to the member's current number",
                    field="phone",
                    extra={"permission": Permission.MEMBER_PHONE_CHANGE.value},
                )
    changed = sorted(name for name, value in values.items() if getattr(member, name) != value)
    for name in changed:
        setattr(member, name, values[name])
    if new_phone is not None:
        changed = sorted([*changed, "phone"])
        try:
            async with session.begin_nested():
                member.phone_e164 = new_phone
                member.phone_last4 = last4(new_phone)
        except IntegrityError:
            taken = await _member_id_by_phone(session, actor.organization_id, new_phone)
            if taken is None:
                raise
            raise _phone_taken(taken) from None
    if changed:
        member.updated_at = utc_now()
        audit.record(session, actor, "member.update", "member", member.id, after={"changed": changed})
    return member


async def find_members(
    session: AsyncSession, actor: Actor, query: str, *, limit: int = SEARCH_LIMIT
) -> list[Member]:
    """The members a counter search means, newest first:

    - a whole phone number in any format (read in the store's region): that member;
    - four digits: the members whose number ends in them (a pick list);
    - a card number: that member;
    - anything else: names containing the text (ignoring case), those starting with it first;
    - nothing: the latest registrations.
    """
    actor.require(Permission.MEMBER_VIEW)
    limit = max(1, min(limit, MAX_SEARCH_LIMIT))
    text = query.strip()
    base = select(Member).where(Member.organization_id == actor.organization_id, Member.erased_at.is_(None))
    newest_first = (Member.created_at.desc(), Member.id.desc())
    if not text:
        return await _rows(session, base.order_by(*newest_first).limit(limit))
    if looks_like_phone(text):
        if is_last4(text):
            return await _rows(
                session, base.where(Member.phone_last4 == text).order_by(*newest_first).limit(limit)
            )
        found: list[Member] = []
        phone = try_normalize_phone(text, await phone_region(session, actor))
        if phone is not None:
            found += await _rows(session, base.where(Member.phone_e164 == phone))
        digits = re.sub(r"\D", "", text)
        if is_card_number(digits):
            found += [
                member
                for member in await _rows(session, base.where(Member.card_number == digits))
                if member not in found
            ]
        return found[:limit]
    folded = text.lower()
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    name = func.lower(Member.name)
    return await _rows(
        session,
        base.where(name.like(f"%{escaped}%", escape="\\"))
        .order_by(case((name.like(f"{escaped}%", escape="\\"), 0), else_=1), *newest_first)
        .limit(limit),
    )


async def _rows(session: AsyncSession, query: Select[Member]) -> list[Member]:
    return list((await session.scalars(query)).all())


async def _append_consent(
    session: AsyncSession,
    actor: Actor,
    member: Member,
    kind: ConsentKind,
    is_granted: bool,
    policy_version: str | None,
    source: ConsentSource,
    store_id: int | None = None,
) -> MemberConsent:
    consent = MemberConsent(
        member_id=member.id,
        kind=kind,
        is_granted=is_granted,
        policy_version=policy_version,
        source=source,
        recorded_at=utc_now(),
        recorded_by_staff_id=actor.staff_id,
    )
    session.add(consent)
    if kind == ConsentKind.MARKETING_SMS:
        member.marketing_sms_opt_in = is_granted
    await session.flush()
    audit.record(
        session,
        actor,
        "member.consent",
        "member",
        member.id,
        store_id=store_id,
        after={"kind": kind, "is_granted": is_granted, "policy_version": policy_version, "source": source},
    )
    return consent


async def _locked_member(session: AsyncSession, member_id: int) -> Member | None:
    # The row lock makes the newest consent record and the member's opt-in flag agree even
    # when two consents for one member are recorded at once (SQLite's write lock does the same).
    return await session.get(Member, member_id, with_for_update=True, populate_existing=True)


async def record_consent(
    session: AsyncSession,
    actor: Actor,
    member_id: int,
    kind: ConsentKind,
    is_granted: bool,
    *,
    policy_version: str | None = None,
    source: ConsentSource = ConsentSource.REGISTER,
) -> MemberConsent:
    """Add a consent given or withdrawn (records are never changed). Accepting the privacy
    policy names its version. The latest marketing SMS record decides the opt-in."""
    actor.require(Permission.MEMBER_MANAGE)
    await get_member(session, actor, member_id)
    member = await _locked_member(session, member_id)
    assert member is not None
    if member.erased_at is not None:
        raise Conflict("this member's data was erased", field="member_id")
    version = policy_version.strip() if policy_version else None
    if kind == ConsentKind.PRIVACY_POLICY and is_granted and not version:
        raise ValidationFailed("name the privacy policy version accepted", field="policy_version")
    if kind == ConsentKind.MARKETING_SMS and version:
        raise ValidationFailed("a policy version belongs to privacy policy consents", field="policy_version")
    if version and len(version) > MAX_POLICY_VERSION_LENGTH:
        raise ValidationFailed(
            f"a policy version has at most {MAX_POLICY_VERSION_LENGTH} characters", field="policy_version"
        )
    return await _append_consent(session, actor, member, kind, is_granted, version, source)


async def list_consents(session: AsyncSession, actor: Actor, member_id: int) -> list[MemberConsent]:
    """A member's consent history, newest first."""
    member = await get_member(session, actor, member_id)
    rows = await session.scalars(
        select(MemberConsent)
        .where(MemberConsent.member_id == member.id)
        .order_by(MemberConsent.recorded_at.desc(), MemberConsent.id.desc())
    )
    return list(rows.all())


async def opt_out_marketing_by_phone(
    session: AsyncSession,
    organization_id: int,
    phone_e164: str,
    source: ConsentSource = ConsentSource.SMS_REPLY,
) -> Member | None:
    """A customer answered STOP (or similar) from ``phone_e164``: record that they want no
    more marketing SMS. Returns the member, or None when no member has that number (then
    nothing is recorded). Repeated replies are each recorded, as the customer sent them."""
    member_id = await _member_id_by_phone(session, organization_id, phone_e164)
    if member_id is None:
        return None
    member = await _locked_member(session, member_id)
    assert member is not None
    actor = Actor.system(organization_id, name=f"member consent ({source.value})")
    await _append_consent(session, actor, member, ConsentKind.MARKETING_SMS, False, None, source)
    return member


# Replies that mean "no more marketing messages", in the languages Kassa speaks.
STOP_WORDS = frozenset({"STOP", "UNSUBSCRIBE", "TD", "T", "退订", "退订短信"})


async def handle_stop_reply(session: AsyncSession, inbound: InboundMessage) -> str | None:
    """An SMS reply answering no message in particular: STOP (or 退订, TD) opts the sender's
    number out of marketing SMS in the organization whose webhook received it (only there:
    a webhook speaks for one organization)."""
    if inbound.body.strip().upper() not in STOP_WORDS or inbound.organization_id is None:
        return None
    member = await opt_out_marketing_by_phone(session, inbound.organization_id, inbound.from_address)
    return f"marketing opt-out ({1 if member is not None else 0} member{'' if member is not None else 's'})"


# --- erasure and export (the member portal's "delete my account" and "export my data") ---

ERASED_MEMBER_NAME = "已注销 Erased member"


# Each capability that keeps the person's number or name elsewhere (the message log, the
# call log, returns, reservations, delivery bills) scrubs its own tables here, in the
# erasure's transaction; filled in by ``kassa.wiring.install_hooks``.
MemberErasedHook = Callable[[AsyncSession, ErasedMember], Awaitable[None]]
MEMBER_ERASED_HOOKS: list[MemberErasedHook] = []


async def erase_member(
    session: AsyncSession, actor: Actor, member_id: int, *, source: ConsentSource = ConsentSource.REGISTER
) -> Member:
    """Erase a member's personal data on their request: the row stays (bills, returns and
    consent records keep pointing at it, so the books still add up) but it no longer says
    who the person was. Name, phone, e-mail, birthday, address, notes and tags go; both
    consents are recorded as withdrawn; the phone number is free for a new sign-up. Every
    ``MEMBER_ERASED_HOOKS`` hook then scrubs the number and name from its capability's
    tables (messages, codes, calls, returns, reservations, delivery bills) in the same
    transaction: an erasure is all or nothing.

    Staff need the back office as well as member management: an erasure cannot be undone.
    The audit record names the member id and the source only.
    """
    actor.require(Permission.MEMBER_MANAGE)
    actor.require(Permission.BACK_OFFICE)
    await get_member(session, actor, member_id)
    member = await _locked_member(session, member_id)
    assert member is not None
    if member.erased_at is not None:
        raise Conflict("this member's data was erased already", field="member_id")
    for kind in (ConsentKind.MARKETING_SMS, ConsentKind.PRIVACY_POLICY):
        await _append_consent(session, actor, member, kind, False, None, source)
    now = utc_now()
    erased = ErasedMember(member.organization_id, member.id, member.phone_e164)
    member.name = ERASED_MEMBER_NAME
    member.phone_e164 = erased_phone(member.id)
    member.phone_last4 = ""
    member.email = None
    member.birthday = None
    member.gender = Gender.UNSPECIFIED
    member.address = None
    member.notes = ""
    member.tags = []
    member.marketing_sms_opt_in = False
    member.erased_at = now
    member.updated_at = now
    await session.flush()
    for hook in MEMBER_ERASED_HOOKS:
        await hook(session, erased)
    audit.record(session, actor, "member.erase", "member", member.id, after={"source": source})
    return member


async def export_member_data(session: AsyncSession, actor: Actor, member_id: int) -> dict[str, Any]:
    """What the members capability holds about a member, as JSON-ready data: the profile and
    the whole consent history (capabilities above add their own parts)."""
    member = await get_member(session, actor, member_id)
    consents = await list_consents(session, actor, member_id)
    return {
        "profile": {
            "id": member.id,
            "card_number": member.card_number,
            "name": member.name,
            "phone": member.phone_e164,
            "email": member.email,
            "birthday": member.birthday.isoformat() if member.birthday else None,
            "gender": member.gender.value,
            "address": member.address,
            "notes": member.notes,
            "tags": list(member.tags),
            "marketing_sms_opt_in": member.marketing_sms_opt_in,
            "registration_source": member.registration_source.value,
            "registered_at_store_id": member.registered_at_store_id,
            "created_at": member.created_at.isoformat(),
            "updated_at": member.updated_at.isoformat(),
            "erased_at": member.erased_at.isoformat() if member.erased_at else None,
        },
        "consents": [
            {
                "kind": consent.kind.value,
                "is_granted": consent.is_granted,
                "policy_version": consent.policy_version,
                "source": consent.source.value,
                "recorded_at": consent.recorded_at.isoformat(),
            }
            for consent in consents
        ],
    }
