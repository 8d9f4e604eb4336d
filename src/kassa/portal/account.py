"""What a logged-in member sees and changes about themselves in the portal: profile,
consents, orders (with returns), feedback, the export of their data and the erasure of
their account. Changes to the member go through ``members.service`` with the portal's
system actor (``PortalIdentity.actor``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit
from kassa.core.auth import Actor, Permission
from kassa.core.database import utc_now
from kassa.core.errors import Conflict, NotFound, ValidationFailed
from kassa.members import service as members
from kassa.members.models import ConsentKind, ConsentSource, Member, MemberConsent
from kassa.members.service import UNSET
from kassa.members.service import _Unset as Unset  # the sentinel's type, shared so changes pass through
from kassa.orders.models import Bill, BillLine, BillStatus, LineStatus
from kassa.portal import loyalty_view
from kassa.portal.models import MemberCredential, MemberFeedback, PortalSession
from kassa.portal.service import PortalIdentity, has_password
from kassa.returns.models import ReturnLine, ReturnRequest
from kassa.stores.models import Organization, Store
from kassa.stores.service import get_store

ORDER_PAGE_SIZE = 50
MAX_ORDER_PAGE_SIZE = 200
MAX_FEEDBACK_LENGTH = 1000
# Bills that never became a sale of their own are not the member's orders.
HIDDEN_BILL_STATUSES = (BillStatus.MERGED, BillStatus.CANCELLED)


# --- the member's own data --------------------------------------------------------------


async def me(session: AsyncSession, identity: PortalIdentity) -> Member:
    return await members.get_member(session, identity.actor, identity.member_id)


@dataclass(frozen=True)
class ProfileChanges:
    """What a member may change about themselves; fields left ``UNSET`` stay as they are,
    ``None`` clears e-mail, birthday or address. (The phone number is their login: a new
    one means a new sign-up.)"""

    name: str | Unset = UNSET
    email: str | Unset | None = UNSET
    birthday: date | Unset | None = UNSET
    address: str | Unset | None = UNSET


async def update_profile(session: AsyncSession, identity: PortalIdentity, changes: ProfileChanges) -> Member:
    """Change the member's name, e-mail, birthday or address (checked as at the counter)."""
    return await members.update_member(
        session,
        identity.actor,
        identity.member_id,
        members.MemberChanges(
            name=changes.name, email=changes.email, birthday=changes.birthday, address=changes.address
        ),
    )


async def consents(session: AsyncSession, identity: PortalIdentity) -> list[MemberConsent]:
    """The member's consent history, newest first."""
    return await members.list_consents(session, identity.actor, identity.member_id)


def latest_consent(history: Sequence[MemberConsent], kind: ConsentKind) -> MemberConsent | None:
    return next((consent for consent in history if consent.kind == kind), None)


async def record_consent(
    session: AsyncSession,
    identity: PortalIdentity,
    kind: ConsentKind,
    is_granted: bool,
    policy_version: str | None = None,
) -> MemberConsent:
    """Marketing SMS on or off, or accepting the current privacy policy. Withdrawing the
    privacy policy is not a setting: it is deleting the account."""
    if kind == ConsentKind.PRIVACY_POLICY:
        if not is_granted:
            raise ValidationFailed(
                "to withdraw from the privacy policy, delete your account", field="is_granted"
            )
        if (policy_version or "").strip() != members.CURRENT_PRIVACY_POLICY_VERSION:
            raise ValidationFailed(
                f"the current privacy policy is version {members.CURRENT_PRIVACY_POLICY_VERSION}",
                field="policy_version",
            )
    return await members.record_consent(
        session,
        identity.actor,
        identity.member_id,
        kind,
        is_granted,
        policy_version=policy_version,
        source=ConsentSource.PORTAL,
    )


# --- orders -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderLineView:
    name: str
    quantity: int
    unit_price_amount: int
    total_amount: int
    modifiers: tuple[str, ...]


@dataclass(frozen=True)
class ReturnView:
    id: int
    status: str
    requested_at: datetime
    amount: int
    refunded_amount: int
    refund_state: str
    lines: tuple[tuple[str, int], ...]  # (dish, quantity)


@dataclass(frozen=True)
class OrderView:
    """One of the member's bills as they see it: where, when, what, how much."""

    bill_id: int
    store_id: int
    store_name: str
    timezone: str
    number: str
    status: BillStatus
    opened_at: datetime
    closed_at: datetime | None
    currency: str
    total_amount: int
    paid_amount: int
    lines: tuple[OrderLineView, ...]
    returns: tuple[ReturnView, ...]


async def orders(
    session: AsyncSession, identity: PortalIdentity, *, limit: int = ORDER_PAGE_SIZE, offset: int = 0
) -> list[OrderView]:
    """The member's bills in every store of the organization, newest first, with the lines
    sold and any returns on them. Merged and cancelled bills sold nothing of their own and
    are left out."""
    limit = max(1, min(limit, MAX_ORDER_PAGE_SIZE))
    rows = (
        await session.execute(
            select(Bill, Store)
            .join(Store, Store.id == Bill.store_id)
            .where(
                Bill.member_id == identity.member_id,
                Store.organization_id == identity.organization_id,
                Bill.status.not_in(HIDDEN_BILL_STATUSES),
            )
            .order_by(Bill.opened_at.desc(), Bill.id.desc())
            .limit(limit)
            .offset(max(0, offset))
        )
    ).all()
    bill_ids = [bill.id for bill, _store in rows]
    if not bill_ids:
        return []
    lines: dict[int, list[OrderLineView]] = {}
    for line in await session.scalars(
        select(BillLine)
        .where(BillLine.bill_id.in_(bill_ids), BillLine.status == LineStatus.ACTIVE)
        .order_by(BillLine.id)
    ):
        lines.setdefault(line.bill_id, []).append(
            OrderLineView(
                name=line.name,
                quantity=line.quantity,
                unit_price_amount=line.unit_price_amount,
                total_amount=line.total_amount,
                modifiers=tuple(str(modifier.get("name", "")) for modifier in line.modifiers),
            )
        )
    requests = list(
        (
            await session.scalars(
                select(ReturnRequest)
                .where(ReturnRequest.bill_id.in_(bill_ids))
                .order_by(ReturnRequest.requested_at, ReturnRequest.id)
            )
        ).all()
    )
    return_lines: dict[int, list[tuple[str, int]]] = {}
    if requests:
        for return_line in await session.scalars(
            select(ReturnLine)
            .where(ReturnLine.return_id.in_([request.id for request in requests]))
            .order_by(ReturnLine.id)
        ):
            return_lines.setdefault(return_line.return_id, []).append(
                (return_line.name, return_line.quantity)
            )
    returns: dict[int, list[ReturnView]] = {}
    for request in requests:
        returns.setdefault(request.bill_id, []).append(
            ReturnView(
                id=request.id,
                status=request.status.value,
                requested_at=request.requested_at,
                amount=request.amount,
                refunded_amount=request.refunded_amount,
                refund_state=request.refund_state.value,
                lines=tuple(return_lines.get(request.id, ())),
            )
        )
    return [
        OrderView(
            bill_id=bill.id,
            store_id=store.id,
            store_name=store.name,
            timezone=store.timezone,
            number=f"{bill.business_date:%Y%m%d}-{bill.number:04d}",
            status=bill.status,
            opened_at=bill.opened_at,
            closed_at=bill.closed_at,
            currency=bill.currency,
            total_amount=bill.total_amount,
            paid_amount=bill.paid_amount,
            lines=tuple(lines.get(bill.id, ())),
            returns=tuple(returns.get(bill.id, ())),
        )
        for bill, store in rows
    ]


# --- feedback ---------------------------------------------------------------------------


async def submit_feedback(
    session: AsyncSession, identity: PortalIdentity, rating: int, text: str = "", bill_id: int | None = None
) -> MemberFeedback:
    """A rating from 1 to 5 with an optional comment, about the store of the portal or one
    of the member's own bills (then it goes to that bill's store)."""
    if not 1 <= rating <= 5:
        raise ValidationFailed("a rating is 1 to 5 stars", field="rating")
    cleaned = text.strip()
    if len(cleaned) > MAX_FEEDBACK_LENGTH:
        raise ValidationFailed(f"at most {MAX_FEEDBACK_LENGTH} characters", field="text")
    store_id = identity.store_id
    if bill_id is not None:
        bill = await session.get(Bill, bill_id)
        if bill is None or bill.member_id != identity.member_id:
            raise NotFound(f"no order {bill_id} of yours", field="bill_id")
        store_id = bill.store_id
    feedback = MemberFeedback(
        organization_id=identity.organization_id,
        store_id=store_id,
        member_id=identity.member_id,
        bill_id=bill_id,
        rating=rating,
        text=cleaned,
    )
    session.add(feedback)
    await session.flush()
    audit.record(
        session,
        identity.actor,
        "member.feedback",
        "member_feedback",
        feedback.id,
        store_id=store_id,
        after={"member_id": identity.member_id, "rating": rating, "bill_id": bill_id},
    )
    return feedback


async def my_feedback(session: AsyncSession, identity: PortalIdentity) -> list[MemberFeedback]:
    rows = await session.scalars(
        select(MemberFeedback)
        .where(MemberFeedback.member_id == identity.member_id)
        .order_by(MemberFeedback.created_at.desc(), MemberFeedback.id.desc())
    )
    return list(rows.all())


@dataclass(frozen=True)
class FeedbackView:
    """Feedback as the back office sees it."""

    id: int
    created_at: datetime
    rating: int
    text: str
    member_id: int
    member_name: str
    card_number: str
    bill_id: int | None
    bill_number: str | None


async def list_feedback(
    session: AsyncSession, actor: Actor, store_id: int, *, limit: int = 100, offset: int = 0
) -> list[FeedbackView]:
    """A store's feedback from members, newest first (read-only, for the back office)."""
    actor.require(Permission.BACK_OFFICE)
    await get_store(session, actor, store_id)
    rows = (
        await session.execute(
            select(MemberFeedback, Member, Bill)
            .join(Member, Member.id == MemberFeedback.member_id)
            .outerjoin(Bill, Bill.id == MemberFeedback.bill_id)
            .where(MemberFeedback.store_id == store_id)
            .order_by(MemberFeedback.created_at.desc(), MemberFeedback.id.desc())
            .limit(max(1, min(limit, 500)))
            .offset(max(0, offset))
        )
    ).all()
    return [
        FeedbackView(
            id=feedback.id,
            created_at=feedback.created_at,
            rating=feedback.rating,
            text=feedback.text,
            member_id=member.id,
            member_name=member.name,
            card_number=member.card_number,
            bill_id=feedback.bill_id,
            bill_number=f"{bill.business_date:%Y%m%d}-{bill.number:04d}" if bill is not None else None,
        )
        for feedback, member, bill in rows
    ]


# --- export and erasure -----------------------------------------------------------------


def _order_json(order: OrderView) -> dict[str, Any]:
    return {
        "bill_id": order.bill_id,
        "number": order.number,
        "store": {"id": order.store_id, "name": order.store_name},
        "status": order.status.value,
        "opened_at": order.opened_at.isoformat(),
        "closed_at": order.closed_at.isoformat() if order.closed_at else None,
        "currency": order.currency,
        "total_amount": order.total_amount,
        "paid_amount": order.paid_amount,
        "lines": [
            {
                "name": line.name,
                "quantity": line.quantity,
                "unit_price_amount": line.unit_price_amount,
                "total_amount": line.total_amount,
                "modifiers": list(line.modifiers),
            }
            for line in order.lines
        ],
        "returns": [
            {
                "id": request.id,
                "status": request.status,
                "requested_at": request.requested_at.isoformat(),
                "amount": request.amount,
                "refunded_amount": request.refunded_amount,
                "refund_state": request.refund_state,
                "lines": [{"name": name, "quantity": quantity} for name, quantity in request.lines],
            }
            for request in order.returns
        ],
    }


async def export_data(session: AsyncSession, identity: PortalIdentity) -> dict[str, Any]:
    """Everything Kassa holds about the member, as JSON-ready data: profile, consents,
    orders (with returns), feedback, whether a portal password is set, and loyalty (null
    until the loyalty capability is wired into the portal). Amounts are in minor units."""
    data = await members.export_member_data(session, identity.actor, identity.member_id)
    organization = await session.get(Organization, identity.organization_id)
    every_order: list[OrderView] = []
    while page := await orders(session, identity, limit=MAX_ORDER_PAGE_SIZE, offset=len(every_order)):
        every_order += page
        if len(page) < MAX_ORDER_PAGE_SIZE:
            break
    return {
        "exported_at": utc_now().isoformat(),
        "organization": organization.name if organization else None,
        **data,
        "orders": [_order_json(order) for order in every_order],
        "feedback": [
            {
                "id": feedback.id,
                "created_at": feedback.created_at.isoformat(),
                "store_id": feedback.store_id,
                "bill_id": feedback.bill_id,
                "rating": feedback.rating,
                "text": feedback.text,
            }
            for feedback in await my_feedback(session, identity)
        ],
        "portal": {"has_password": await has_password(session, identity)},
        "loyalty": await loyalty_view.loyalty_export(session, identity.organization_id, identity.member_id),
    }


def export_filename(data: dict[str, Any]) -> str:
    profile = data.get("profile")
    card = profile.get("card_number", "member") if isinstance(profile, dict) else "member"
    return f"kassa-member-{card}.json"


async def erase_account(session: AsyncSession, identity: PortalIdentity) -> None:
    """The member deletes their account: their personal data is erased
    (``members.erase_member``; bills and returns stay, pointing at the anonymous row), the
    password and feedback comments go, and every portal session ends."""
    obstacle = await loyalty_view.erasure_obstacle(session, identity.organization_id, identity.member_id)
    if obstacle is not None:
        raise Conflict(obstacle, field="member")
    await members.erase_member(session, identity.actor, identity.member_id, source=ConsentSource.PORTAL)
    await session.execute(delete(MemberCredential).where(MemberCredential.member_id == identity.member_id))
    await session.execute(
        update(MemberFeedback).where(MemberFeedback.member_id == identity.member_id).values(text="")
    )
    await session.execute(
        update(PortalSession)
        .where(PortalSession.member_id == identity.member_id, PortalSession.revoked_at.is_(None))
        .values(revoked_at=utc_now())
    )
