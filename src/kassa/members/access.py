"""What staff may see and change of a member, beyond ``member.view`` and ``member.manage``.

- **Contact details** (phone number, e-mail, birthday, address, notes) are read only with
  ``member.contacts_view`` (cashiers and up by default). Without it a member is their name,
  card, tier and points: the API and the screens get a :class:`MemberView` with the phone
  masked to its last four digits (what customers say at the counter) and the other contact
  fields left out. Services hand out member data to the API and the pages through
  ``member_view`` (and the ``*_view`` functions below), so the rule lives here, once.
- **The phone number is the member's portal login**, so changing it takes
  ``member.phone_change`` (managers and up by default), or a code sent by SMS to the
  member's current number that the cashier types in: the member proves they hold the old
  number. The code goes through the notifications outbox as a one-time code, so the
  message log shows it masked and only a keyed hash is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.database import utc_now
from kassa.core.errors import Conflict, KassaError, NotAuthenticated, PermissionDenied, ValidationFailed
from kassa.core.phones import display_phone, last4, normalize_phone
from kassa.members.models import Gender, Member, RegistrationSource
from kassa.members.service import _member_id_by_phone, _phone_taken, get_member, phone_region
from kassa.notifications import service as notifications
from kassa.notifications.models import Message
from kassa.stores.models import Store

MASK = "•••• "


def can_see_contacts(actor: Actor) -> bool:
    return actor.can(Permission.MEMBER_CONTACTS_VIEW)


def masked_phone(phone_e164: str) -> str:
    """What a member's number looks like to staff who may not read it: its last four digits."""
    return f"{MASK}{last4(phone_e164)}"


def shown_phone(actor: Actor, phone_e164: str, region: str) -> str:
    """The member's number as a screen shows it to this actor (masked without the permission)."""
    return display_phone(phone_e164, region) if can_see_contacts(actor) else masked_phone(phone_e164)


@dataclass(frozen=True)
class MemberView:
    """A member as the actor may see them (attributes named as on :class:`Member`)."""

    id: int
    phone_e164: str
    phone_last4: str
    card_number: str
    name: str
    email: str | None
    birthday: date | None
    gender: Gender
    address: str | None
    notes: str
    tags: list[str]
    marketing_sms_opt_in: bool
    registered_at_store_id: int
    registered_by_staff_id: int | None
    registration_source: RegistrationSource
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None
    contacts_visible: bool


def member_view(actor: Actor, member: Member) -> MemberView:
    """The member with their contact details masked or left out unless the actor may read them."""
    visible = can_see_contacts(actor)
    return MemberView(
        id=member.id,
        phone_e164=member.phone_e164 if visible else masked_phone(member.phone_e164),
        phone_last4=member.phone_last4,
        card_number=member.card_number,
        name=member.name,
        email=member.email if visible else None,
        birthday=member.birthday if visible else None,
        gender=member.gender if visible else Gender.UNSPECIFIED,
        address=member.address if visible else None,
        notes=member.notes if visible else "",
        tags=list(member.tags or []),
        marketing_sms_opt_in=member.marketing_sms_opt_in,
        registered_at_store_id=member.registered_at_store_id,
        registered_by_staff_id=member.registered_by_staff_id,
        registration_source=member.registration_source,
        created_at=member.created_at,
        updated_at=member.updated_at,
        erased_at=member.erased_at,
        contacts_visible=visible,
    )


async def get_member_view(session: AsyncSession, actor: Actor, member_id: int) -> MemberView:
    return member_view(actor, await get_member(session, actor, member_id))


def require_contacts(actor: Actor) -> None:
    """For what is all contact details (an export of the member list)."""
    actor.require(Permission.MEMBER_CONTACTS_VIEW)


# --- changing the phone number ------------------------------------------------------------


def phone_change_purpose(member_id: int, new_phone: str) -> str:
    return f"member_phone:{member_id}:{new_phone}"


async def _checked_new_phone(session: AsyncSession, actor: Actor, member: Member, phone: str) -> str:
    if member.erased_at is not None:
        raise Conflict("this member's data was erased", field="member_id")
    new_phone = normalize_phone(phone, await phone_region(session, actor))
    if new_phone == member.phone_e164:
        raise ValidationFailed("that is the member's number already", field="phone")
    taken = await _member_id_by_phone(session, actor.organization_id, new_phone)
    if taken is not None:
        raise _phone_taken(taken)
    return new_phone


@dataclass(frozen=True)
class PhoneCodeSent:
    message: Message
    sent_to: str  # the old number, masked


async def send_phone_change_code(
    session: AsyncSession, actor: Actor, member_id: int, phone: str
) -> PhoneCodeSent:
    """Text a one-time code to the member's current number, for changing it to ``phone``
    without a manager: the member reads it out to the cashier. The message log shows the
    code masked."""
    actor.require(Permission.MEMBER_MANAGE)
    member = await get_member(session, actor, member_id)
    new_phone = await _checked_new_phone(session, actor, member, phone)
    store_id = actor.store_id if actor.store_id is not None else member.registered_at_store_id
    store = await session.get(Store, store_id)
    assert store is not None
    otp = await notifications.issue_otp(
        session,
        store=store,
        phone=member.phone_e164,
        purpose=phone_change_purpose(member.id, new_phone),
        cause=notifications.Cause.of(actor, "member.phone_change_code"),
    )
    audit.record(
        session,
        actor,
        "member.phone_change_code",
        "member",
        member.id,
        after={"otp_id": otp.id, "new_phone_last4": last4(new_phone)},
    )
    message = await session.get(Message, otp.message_id)
    assert message is not None
    return PhoneCodeSent(message, masked_phone(member.phone_e164))


@dataclass(frozen=True)
class PhoneChange:
    """The changed member, or why not. A wrong code is returned in ``error`` rather than
    raised: the caller commits the wrong try (it counts), then refuses."""

    member: Member | None = None
    error: KassaError | None = None


async def change_phone(
    session: AsyncSession, actor: Actor, member_id: int, phone: str, *, code: str | None = None
) -> PhoneChange:
    """Change the member's phone number (their portal login): with ``member.phone_change``,
    or with the code texted to their current number (``send_phone_change_code``)."""
    actor.require(Permission.MEMBER_MANAGE)
    member = await get_member(session, actor, member_id)
    new_phone = await _checked_new_phone(session, actor, member, phone)
    method = "permission"
    if not actor.can(Permission.MEMBER_PHONE_CHANGE):
        if not (code or "").strip():
            raise PermissionDenied(
                "a phone number change needs a manager, or the code sent to the member's current number",
                field="code",
                extra={"permission": Permission.MEMBER_PHONE_CHANGE.value},
            )
        check = await notifications.check_otp(
            session,
            phone=member.phone_e164,
            purpose=phone_change_purpose(member.id, new_phone),
            code=code or "",
        )
        if not check.ok:
            return PhoneChange(error=NotAuthenticated(check.problem or "wrong code", field="code"))
        method = "sms_code"
    old_last4 = member.phone_last4
    try:
        async with session.begin_nested():
            member.phone_e164 = new_phone
            member.phone_last4 = last4(new_phone)
            member.updated_at = utc_now()
    except IntegrityError:
        taken = await _member_id_by_phone(session, actor.organization_id, new_phone)
        if taken is None:
            raise
        raise _phone_taken(taken) from None
    audit.record(
        session,
        actor,
        "member.phone_change",
        "member",
        member.id,
        before={"phone_last4": old_last4},
        after={"phone_last4": member.phone_last4, "method": method},
    )
    return PhoneChange(member)
