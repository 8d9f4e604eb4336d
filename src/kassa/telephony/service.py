"""The phone assistant's rules: pairing a phone with a register, the calls it reports, and
the call log. What staff do about a call (select the caller, a new order, ...) is in
``telephony.actions``.

- A register shows a 6-digit **pairing code** (good for 10 minutes, once); a phone trades
  it for a random **device token**, of which only the SHA-256 is kept. One phone is paired
  with exactly one register; a store may pair any number. Unpairing revokes the token.
- An **incoming call** is normalised like members' phones (the store's region), matched to
  a member of the store's organization, logged (even when the number is no valid number),
  and pushed, after commit, on the paired register's own topic only (``register:{id}``).
  The same idempotency key from the same phone is the same call.
- A call without an outcome is **ringing** for ``MISSED_AFTER``, then **missed** (worked
  out when read).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from kassa.catalog.models import Product
from kassa.catalog.products import localized_name
from kassa.core import audit
from kassa.core.auth import Actor, Permission, new_token, token_digest
from kassa.core.database import utc_now
from kassa.core.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from kassa.core.events import Event, publish_after_commit
from kassa.core.phones import try_normalize_phone
from kassa.core.scope import load_scoped
from kassa.members.models import Member
from kassa.members.profile import UsualItem, usual_order
from kassa.orders.models import Bill, BillLine, BillStatus, LineStatus, OrderType
from kassa.stores.models import Register, Store
from kassa.stores.service import get_store
from kassa.telephony.models import PhoneAssistant, PhoneCall, PhonePairingCode

PAIRING_CODE_LIFETIME = timedelta(minutes=10)
# Used and expired codes are kept a day, so a late try hears why it failed; then forgotten.
PAIRING_CODE_RETENTION = timedelta(days=1)
PAIRING_CODE_ATTEMPTS = 10
PAIRING_CODE = re.compile(r"\d{6}")
MAX_DEVICE_NAME_LENGTH = 80
MAX_NUMBER_LENGTH = 60
MAX_IDEMPOTENCY_KEY_LENGTH = 100
# A call nobody acted on within this time is missed, and listed for a call-back.
MISSED_AFTER = timedelta(minutes=2)
LAST_ORDERS = 3
CALL_LIST_LIMIT = 100
MAX_CALL_LIST_LIMIT = 500

CALL_EVENT = "phone.call"
CALL_HANDLED_EVENT = "phone.call_handled"
PAIRED_EVENT = "phone.paired"


def register_topic(register_id: int) -> str:
    """The event topic of one register's screens (a call pops up there and nowhere else)."""
    return f"register:{register_id}"


def _device_actor(assistant: PhoneAssistant, name: str) -> Actor:
    """Who a phone's own changes are recorded as: no staff, no permissions."""
    return Actor(
        organization_id=assistant.organization_id,
        store_id=assistant.store_id,
        register_id=assistant.register_id,
        display_name=f"phone: {name}"[:120],
    )


async def _store_register(session: AsyncSession, actor: Actor, register_id: int) -> tuple[Register, Store]:
    register = await load_scoped(session, actor, Register, register_id, field="register_id")
    store = await session.get(Store, register.store_id)
    assert store is not None
    if not register.is_active:
        raise NotFound(f"register {register.name} is closed", field="register_id")
    return register, store


async def _store_of(session: AsyncSession, actor: Actor, store_id: int) -> Store:
    return await get_store(session, actor, store_id)


# --- pairing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedPairingCode:
    code: str
    register_id: int
    expires_at: datetime


async def create_pairing_code(session: AsyncSession, actor: Actor, register_id: int) -> IssuedPairingCode:
    """A code the register shows so a phone can pair with it: 6 digits, good once, for
    ``PAIRING_CODE_LIFETIME``. A register shows one code at a time (a new one replaces the
    one not used yet). Pairing a phone is for managers and owners."""
    actor.require(Permission.BACK_OFFICE)
    register, store = await _store_register(session, actor, register_id)
    now = utc_now()
    await session.execute(
        delete(PhonePairingCode).where(PhonePairingCode.expires_at < now - PAIRING_CODE_RETENTION)
    )
    await session.execute(
        delete(PhonePairingCode).where(
            PhonePairingCode.register_id == register.id, PhonePairingCode.used_at.is_(None)
        )
    )
    for _attempt in range(PAIRING_CODE_ATTEMPTS):
        code = f"{secrets.randbelow(1_000_000):06d}"
        row = PhonePairingCode(
            register_id=register.id,
            code_digest=token_digest(code),
            created_by_staff_id=actor.staff_id,
            created_at=now,
            expires_at=now + PAIRING_CODE_LIFETIME,
        )
        try:
            # A savepoint: a code another register shows right now is drawn again.
            async with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue
        break
    else:
        raise Conflict("no free pairing code found; try again", field="code")
    audit.record(
        session,
        actor,
        "phone.pairing_code",
        "register",
        register.id,
        store_id=store.id,
        after={"expires_at": row.expires_at},
    )
    return IssuedPairingCode(code=code, register_id=register.id, expires_at=row.expires_at)


@dataclass(frozen=True)
class Pairing:
    """A phone just paired: its token is shown this once and never stored."""

    token: str
    assistant: PhoneAssistant
    register: Register
    store: Store


def clean_device_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_DEVICE_NAME_LENGTH:
        raise ValidationFailed(
            f"name the phone (1 to {MAX_DEVICE_NAME_LENGTH} characters)", field="device_name"
        )
    return cleaned


async def pair_assistant(session: AsyncSession, code: str, device_name: str) -> Pairing:
    """Trade a register's pairing code for a device token (no staff login: the code is the
    proof). The code is taken with one conditional UPDATE, so of two phones typing it at
    once one pairs; a used, expired or unknown code is refused naming ``code``."""
    text = re.sub(r"[\s-]", "", code)
    if not PAIRING_CODE.fullmatch(text):
        raise ValidationFailed("a pairing code is the 6 digits the register shows", field="code")
    name = clean_device_name(device_name)
    now = utc_now()
    digest = token_digest(text)
    claimed = (
        await session.execute(
            update(PhonePairingCode)
            .where(
                PhonePairingCode.code_digest == digest,
                PhonePairingCode.used_at.is_(None),
                PhonePairingCode.expires_at > now,
            )
            .values(used_at=now)
            .returning(
                PhonePairingCode.id, PhonePairingCode.register_id, PhonePairingCode.created_by_staff_id
            )
        )
    ).one_or_none()
    if claimed is None:
        known = await session.scalar(select(PhonePairingCode).where(PhonePairingCode.code_digest == digest))
        if known is None:
            raise ValidationFailed("no register shows this pairing code; check the digits", field="code")
        if known.used_at is not None:
            raise Conflict("this pairing code was used already; show a new one on the register", field="code")
        raise ValidationFailed("this pairing code has expired; show a new one on the register", field="code")
    register = await session.get(Register, claimed.register_id)
    store = await session.get(Store, register.store_id) if register is not None else None
    if register is None or store is None or not register.is_active:
        raise ValidationFailed("the register of this pairing code is closed", field="code")
    token = new_token()
    assistant = PhoneAssistant(
        organization_id=store.organization_id,
        store_id=store.id,
        register_id=register.id,
        name=name,
        token_digest=token_digest(token),
        paired_by_staff_id=claimed.created_by_staff_id,
        created_at=now,
    )
    session.add(assistant)
    await session.flush()
    await session.execute(
        update(PhonePairingCode).where(PhonePairingCode.id == claimed.id).values(assistant_id=assistant.id)
    )
    audit.record(
        session,
        _device_actor(assistant, name),
        "phone.pair",
        "phone_assistant",
        assistant.id,
        store_id=store.id,
        after={"register_id": register.id, "name": name, "code_by_staff_id": claimed.created_by_staff_id},
    )
    # The register that shows the code hears that it worked.
    publish_after_commit(
        session,
        Event(register_topic(register.id), PAIRED_EVENT, {"assistant_id": assistant.id, "name": name}),
    )
    return Pairing(token=token, assistant=assistant, register=register, store=store)


async def authenticate_assistant(session: AsyncSession, token: str) -> PhoneAssistant:
    """The paired phone behind a device token; unknown and revoked tokens are refused (401)."""
    assistant = await session.scalar(
        select(PhoneAssistant).where(PhoneAssistant.token_digest == token_digest(token))
    )
    if assistant is None:
        raise NotAuthenticated("unknown phone token; pair the phone with a register", field="Authorization")
    if assistant.revoked_at is not None:
        raise NotAuthenticated("this phone was unpaired; pair it again", field="Authorization")
    register = await session.get(Register, assistant.register_id)
    if register is None or not register.is_active:
        raise NotAuthenticated("the register of this phone is closed; pair it again", field="Authorization")
    return assistant


async def store_registers(session: AsyncSession, actor: Actor, store_id: int) -> Sequence[Register]:
    """The store's open registers, by name: where phones can be paired."""
    await _store_of(session, actor, store_id)
    return (
        await session.scalars(
            select(Register).where(Register.store_id == store_id, Register.is_active).order_by(Register.name)
        )
    ).all()


@dataclass(frozen=True)
class AssistantRow:
    assistant: PhoneAssistant
    register_name: str


async def list_assistants(
    session: AsyncSession, actor: Actor, store_id: int, *, include_revoked: bool = False
) -> list[AssistantRow]:
    """The store's paired phones by register, the most recently paired first."""
    actor.require(Permission.BACK_OFFICE)
    await _store_of(session, actor, store_id)
    query = (
        select(PhoneAssistant, Register.name)
        .join(Register, Register.id == PhoneAssistant.register_id)
        .where(PhoneAssistant.store_id == store_id)
        .order_by(Register.name, PhoneAssistant.created_at.desc(), PhoneAssistant.id.desc())
    )
    if not include_revoked:
        query = query.where(PhoneAssistant.revoked_at.is_(None))
    return [AssistantRow(assistant, name) for assistant, name in (await session.execute(query)).all()]


async def revoke_assistant(session: AsyncSession, actor: Actor, assistant_id: int) -> AssistantRow:
    """Unpair a phone: its token is refused from now on (a phone unpaired already stays so)."""
    actor.require(Permission.BACK_OFFICE)
    assistant = await load_scoped(
        session, actor, PhoneAssistant, assistant_id, field="assistant_id", what="paired phone"
    )
    actor.require_store(assistant.store_id)
    if assistant.revoked_at is None:
        assistant.revoked_at = utc_now()
        assistant.revoked_by_staff_id = actor.staff_id
        audit.record(
            session,
            actor,
            "phone.unpair",
            "phone_assistant",
            assistant.id,
            store_id=assistant.store_id,
            after={"register_id": assistant.register_id},
        )
    register = await session.get(Register, assistant.register_id)
    assert register is not None
    return AssistantRow(assistant, register.name)


# --- incoming calls -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedCall:
    call: PhoneCall
    member: Member | None
    register: Register
    is_repeat: bool  # the same notification again: the first call, nothing new


def _clean_number(number: str) -> str:
    text = " ".join(number.split())
    if len(text) > MAX_NUMBER_LENGTH:
        raise ValidationFailed(f"a phone number has at most {MAX_NUMBER_LENGTH} characters", field="number")
    return text


async def _call_by_key(session: AsyncSession, assistant_id: int, key: str) -> PhoneCall | None:
    return await session.scalar(
        select(PhoneCall).where(PhoneCall.assistant_id == assistant_id, PhoneCall.idempotency_key == key)
    )


async def _member_of_call(session: AsyncSession, call: PhoneCall) -> Member | None:
    if call.member_id is None:
        return None
    member = await session.get(Member, call.member_id)
    return member if member is not None and member.erased_at is None else None


async def receive_call(
    session: AsyncSession, assistant: PhoneAssistant, number: str, *, idempotency_key: str | None = None
) -> ReceivedCall:
    """Log an incoming call and show it on the phone's register.

    The number may come in any format ("+86 138 0013 8000", "138-0013-8000", "0086 ...");
    it is read in the store's region and matched to a member of the organization. A number
    that is no valid number (withheld, garbled) is logged all the same, as unknown.
    ``idempotency_key`` (the PBX's call id, or the request's Idempotency-Key): the same key
    from the same phone answers with the first call, and nothing pops up again.
    """
    raw = _clean_number(number)
    key = idempotency_key.strip() if idempotency_key is not None else None
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValidationFailed(
            f"an idempotency key is 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters", field="Idempotency-Key"
        )
    register = await session.get(Register, assistant.register_id)
    store = await session.get(Store, assistant.store_id)
    assert register is not None
    assert store is not None
    if key:
        existing = await _call_by_key(session, assistant.id, key)
        if existing is not None:
            return await _repeated(session, existing, raw, register)
    phone = try_normalize_phone(raw, store.phone_region) if raw else None
    member = None
    if phone is not None:
        member = await session.scalar(
            select(Member).where(
                Member.organization_id == store.organization_id,
                Member.phone_e164 == phone,
                Member.erased_at.is_(None),
            )
        )
    now = utc_now()
    call = PhoneCall(
        store_id=store.id,
        register_id=register.id,
        assistant_id=assistant.id,
        received_at=now,
        number=raw,
        phone_e164=phone,
        member_id=member.id if member is not None else None,
        idempotency_key=key or None,
        details={},
    )
    try:
        # A savepoint: the same notification sent twice at once makes one call.
        async with session.begin_nested():
            session.add(call)
    except IntegrityError:
        existing = await _call_by_key(session, assistant.id, key) if key else None
        if existing is None:
            raise
        return await _repeated(session, existing, raw, register)
    assistant.last_call_at = now
    # No phone number in the audit trail: it can never be erased from there.
    audit.record(
        session,
        _device_actor(assistant, assistant.name),
        "phone.call",
        "phone_call",
        call.id,
        store_id=store.id,
        after={"register_id": register.id, "member_id": call.member_id, "is_valid_number": phone is not None},
    )
    publish_after_commit(
        session,
        Event(
            register_topic(register.id),
            CALL_EVENT,
            {"call_id": call.id, "member_id": call.member_id, "register_id": register.id},
        ),
    )
    return ReceivedCall(call=call, member=member, register=register, is_repeat=False)


async def _repeated(session: AsyncSession, call: PhoneCall, raw: str, register: Register) -> ReceivedCall:
    if call.number != raw:
        raise ValidationFailed(
            "this idempotency key was used for a call from another number", field="Idempotency-Key"
        )
    return ReceivedCall(
        call=call, member=await _member_of_call(session, call), register=register, is_repeat=True
    )


# --- reading calls ------------------------------------------------------------------------


def is_missed(call: PhoneCall, now: datetime) -> bool:
    return call.outcome is None and call.received_at <= now - MISSED_AFTER


def is_ringing(call: PhoneCall, now: datetime) -> bool:
    return call.outcome is None and call.received_at > now - MISSED_AFTER


async def get_call(session: AsyncSession, actor: Actor, call_id: int) -> PhoneCall:
    """A call of the actor's store (calls show who rang: staff who may see members)."""
    actor.require(Permission.MEMBER_VIEW)
    return await load_scoped(session, actor, PhoneCall, call_id, field="call_id", what="call")


@dataclass(frozen=True)
class OrderItem:
    name: str  # with the chosen options, e.g. "Latte (Large)"
    quantity: int


@dataclass(frozen=True)
class PastOrder:
    """One of the caller's last bills. ``amount`` is what they paid (total plus cash
    rounding) on a closed bill, the total so far on an open one."""

    bill_id: int
    store_id: int
    number: int
    order_type: OrderType
    status: BillStatus
    opened_at: datetime
    amount: int
    currency: str
    items: tuple[OrderItem, ...]


@dataclass(frozen=True)
class CallerSummary:
    """What the register's popup shows about a call."""

    call: PhoneCall
    member: Member | None
    register_name: str
    assistant_name: str
    last_orders: tuple[PastOrder, ...]
    usual_items: tuple[UsualItem, ...]

    @property
    def can_repeat(self) -> bool:
        return any(order.status == BillStatus.CLOSED for order in self.last_orders)


def _item_name(line: BillLine, locale: str | None) -> str:
    name = localized_name(line.name, dict(line.name_translations), locale) if locale else line.name
    options = [str(modifier.get("name", "")) for modifier in line.modifiers if modifier.get("name")]
    return f"{name} ({', '.join(options)})" if options else name


async def last_orders(
    session: AsyncSession, member_id: int, *, limit: int = LAST_ORDERS, locale: str | None = None
) -> list[PastOrder]:
    """The member's newest open or paid bills, newest first, with what was on them."""
    bills = (
        await session.scalars(
            select(Bill)
            .where(Bill.member_id == member_id, Bill.status.in_((BillStatus.OPEN, BillStatus.CLOSED)))
            .order_by(Bill.opened_at.desc(), Bill.id.desc())
            .limit(limit)
        )
    ).all()
    items: dict[int, dict[str, int]] = {bill.id: {} for bill in bills}
    if bills:
        lines = await session.scalars(
            select(BillLine)
            .where(BillLine.bill_id.in_(list(items)), BillLine.status == LineStatus.ACTIVE)
            .order_by(BillLine.id)
        )
        for line in lines:
            name = _item_name(line, locale)
            items[line.bill_id][name] = items[line.bill_id].get(name, 0) + line.quantity
    return [
        PastOrder(
            bill_id=bill.id,
            store_id=bill.store_id,
            number=bill.number,
            order_type=bill.order_type,
            status=bill.status,
            opened_at=bill.opened_at,
            amount=bill.total_amount + (bill.rounding_amount if bill.status == BillStatus.CLOSED else 0),
            currency=bill.currency,
            items=tuple(OrderItem(name, quantity) for name, quantity in items[bill.id].items()),
        )
        for bill in bills
    ]


async def caller_summary(
    session: AsyncSession, actor: Actor, call_id: int, *, locale: str | None = None
) -> CallerSummary:
    """The call with the caller's member account, last orders and usual items."""
    call = await get_call(session, actor, call_id)
    member = await _member_of_call(session, call)
    register = await session.get(Register, call.register_id)
    assistant = await session.get(PhoneAssistant, call.assistant_id)
    assert register is not None
    assert assistant is not None
    orders: list[PastOrder] = []
    usual: list[UsualItem] = []
    if member is not None:
        orders = await last_orders(session, member.id, locale=locale)
        usual = await usual_order(session, member.id)
        if locale and usual:
            translations = {
                product_id: dict(names or {})
                for product_id, names in (
                    await session.execute(
                        select(Product.id, Product.name_translations).where(
                            Product.id.in_([item.product_id for item in usual])
                        )
                    )
                ).all()
            }
            usual = [
                replace(item, name=localized_name(item.name, translations.get(item.product_id, {}), locale))
                for item in usual
            ]
    return CallerSummary(
        call=call,
        member=member,
        register_name=register.name,
        assistant_name=assistant.name,
        last_orders=tuple(orders),
        usual_items=tuple(usual),
    )


@dataclass(frozen=True)
class CallRow:
    """A line of the call log."""

    call: PhoneCall
    member_name: str | None
    register_name: str
    assistant_name: str
    is_missed: bool
    is_ringing: bool


async def list_calls(
    session: AsyncSession,
    actor: Actor,
    store_id: int,
    *,
    missed_only: bool = False,
    register_id: int | None = None,
    since: datetime | None = None,
    limit: int = CALL_LIST_LIMIT,
) -> list[CallRow]:
    """The store's calls, newest first. ``missed_only``: calls nobody acted on within
    ``MISSED_AFTER`` (to call back); ``register_id``: one register's; ``since``: from then."""
    actor.require(Permission.MEMBER_VIEW)
    await _store_of(session, actor, store_id)
    if not 1 <= limit <= MAX_CALL_LIST_LIMIT:
        raise ValidationFailed(f"from 1 to {MAX_CALL_LIST_LIMIT} calls", field="limit")
    now = utc_now()
    caller = aliased(Member)
    query = (
        select(PhoneCall, caller.name, caller.erased_at, Register.name, PhoneAssistant.name)
        .join(Register, Register.id == PhoneCall.register_id)
        .join(PhoneAssistant, PhoneAssistant.id == PhoneCall.assistant_id)
        .outerjoin(caller, caller.id == PhoneCall.member_id)
        .where(PhoneCall.store_id == store_id)
        .order_by(PhoneCall.received_at.desc(), PhoneCall.id.desc())
        .limit(limit)
    )
    if missed_only:
        query = query.where(PhoneCall.outcome.is_(None), PhoneCall.received_at <= now - MISSED_AFTER)
    if register_id is not None:
        query = query.where(PhoneCall.register_id == register_id)
    if since is not None:
        query = query.where(PhoneCall.received_at >= since)
    return [
        CallRow(
            call=call,
            member_name=name if erased_at is None else None,
            register_name=register_name,
            assistant_name=assistant_name,
            is_missed=is_missed(call, now),
            is_ringing=is_ringing(call, now),
        )
        for call, name, erased_at, register_name, assistant_name in (await session.execute(query)).all()
    ]


async def call_row(session: AsyncSession, call: PhoneCall) -> CallRow:
    """One call as the call log shows it."""
    register = await session.get(Register, call.register_id)
    assistant = await session.get(PhoneAssistant, call.assistant_id)
    assert register is not None
    assert assistant is not None
    member = await _member_of_call(session, call)
    now = utc_now()
    return CallRow(
        call=call,
        member_name=member.name if member is not None else None,
        register_name=register.name,
        assistant_name=assistant.name,
        is_missed=is_missed(call, now),
        is_ringing=is_ringing(call, now),
    )


async def ringing_calls(session: AsyncSession, actor: Actor, register_id: int) -> Sequence[PhoneCall]:
    """A register's calls that ring still (no outcome, not missed yet), oldest first: a
    register page that opens while one rings shows it."""
    actor.require(Permission.MEMBER_VIEW)
    register, _store = await _store_register(session, actor, register_id)
    return (
        await session.scalars(
            select(PhoneCall)
            .where(
                PhoneCall.register_id == register.id,
                PhoneCall.outcome.is_(None),
                PhoneCall.received_at > utc_now() - MISSED_AFTER,
            )
            .order_by(PhoneCall.received_at, PhoneCall.id)
        )
    ).all()
