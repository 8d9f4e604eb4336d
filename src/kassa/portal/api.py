"""The member portal's API: everything the portal pages do, for an app or a mini program.

Logging in gives a portal session token; send it as ``Authorization: Bearer <token>``
to the ``/portal/me`` routes. Staff tokens are not portal tokens, and the reverse.
"""

from __future__ import annotations

import json
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Response, status

from kassa.core.database import commit
from kassa.core.schemas import MAX_ID, Day, Id
from kassa.members import service as members
from kassa.members.models import ConsentKind, Member
from kassa.portal import account, loyalty_view, service
from kassa.portal import reservations as portal_reservations
from kassa.portal.schemas import (
    CodeRequest,
    CodeRequested,
    CodeVerify,
    ConsentIn,
    ConsentOut,
    ConsentsOut,
    CouponOut,
    FeedbackIn,
    FeedbackOut,
    LoginOut,
    LoyaltyOut,
    MeOut,
    OrderLineOut,
    OrderOut,
    PasswordIn,
    PasswordLogin,
    PortalReservationIn,
    PortalReservationOut,
    PortalSlotsOut,
    PortalStoreOut,
    ProfileUpdate,
    RegistrationIn,
    ReturnOut,
    StaffFeedbackOut,
)
from kassa.portal.service import PortalIdentity
from kassa.web.dependencies import CurrentActor, Session, Token

router = APIRouter(tags=["member portal"])


async def current_member(session: Session, token: Token) -> PortalIdentity:
    return await service.authenticate(session, token)


CurrentMember = Annotated[PortalIdentity, Depends(current_member)]


async def _login_out(session: Session, result: service.PortalLogin) -> LoginOut:
    # A wrong code or password changed a counter: commit that, then report the failure.
    await commit(session)
    if result.error is not None:
        raise result.error
    if result.registration_ticket is not None:
        return LoginOut(
            registration_required=True, phone=result.phone, registration_ticket=result.registration_ticket
        )
    assert result.portal_session is not None
    assert result.member is not None
    return LoginOut(
        token=result.token,
        expires_at=result.portal_session.expires_at,
        member_id=result.member.id,
        phone=result.member.phone_e164,
    )


@router.get("/portal/stores/{store_id}", response_model=PortalStoreOut, summary="The store's portal")
async def portal_store(store_id: Id, session: Session) -> PortalStoreOut:
    store = await service.portal_store(session, store_id)
    return PortalStoreOut(
        store_id=store.id,
        name=store.name,
        phone_region=store.phone_region,
        locale=store.locale,
        privacy_policy_version=members.CURRENT_PRIVACY_POLICY_VERSION,
    )


@router.post(
    "/portal/stores/{store_id}/request-code",
    response_model=CodeRequested,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Text a login code",
)
async def request_code(store_id: Id, body: CodeRequest, session: Session) -> CodeRequested:
    """A 6-digit code for any number (a newcomer signs up after it); 429 naming `phone`
    when the number had too many codes this hour."""
    otp = await service.request_login_code(session, store_id, body.phone)
    return CodeRequested(phone=otp.phone, expires_at=otp.expires_at)


@router.post("/portal/stores/{store_id}/verify-code", response_model=LoginOut, summary="Log in with the code")
async def verify_code(store_id: Id, body: CodeVerify, session: Session) -> LoginOut:
    """A member gets a session token. A number with no member gets `registration_required`
    and a `registration_ticket` for `/register`. A wrong or expired code: 401 naming `code`."""
    return await _login_out(
        session, await service.verify_login_code(session, store_id, body.phone, body.code)
    )


@router.post(
    "/portal/stores/{store_id}/register",
    response_model=LoginOut,
    status_code=status.HTTP_201_CREATED,
    summary="Sign up (after verify-code)",
)
async def register(store_id: Id, body: RegistrationIn, session: Session) -> LoginOut:
    result = await service.register(
        session,
        store_id,
        body.registration_ticket,
        service.Registration(
            name=body.name,
            email=body.email,
            birthday=body.birthday,
            privacy_policy_accepted=body.privacy_policy_accepted,
            privacy_policy_version=body.privacy_policy_version,
            marketing_sms=body.marketing_sms_opt_in,
        ),
    )
    return await _login_out(session, result)


@router.post("/portal/stores/{store_id}/login", response_model=LoginOut, summary="Log in with a password")
async def login_with_password(store_id: Id, body: PasswordLogin, session: Session) -> LoginOut:
    """401 naming `password` for a wrong number or password; 423 once locked."""
    return await _login_out(
        session, await service.login_with_password(session, store_id, body.phone, body.password)
    )


@router.post("/portal/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(identity: CurrentMember, session: Session) -> None:
    await service.logout(session, identity)


async def me_out(session: Session, identity: PortalIdentity, member: Member) -> MeOut:
    out = MeOut.model_validate(member)
    out.has_password = await service.has_password(session, identity)
    summary = await loyalty_view.loyalty_summary(session, identity.organization_id, identity.member_id)
    if summary is not None:
        out.loyalty = LoyaltyOut(
            tier_name=summary.tier_name,
            points=summary.points,
            balance_amount=summary.balance.amount if summary.balance else None,
            currency=summary.balance.currency if summary.balance else None,
            coupons=[
                CouponOut(name=coupon.name, description=coupon.description, valid_until=coupon.valid_until)
                for coupon in summary.coupons
            ],
            next_tier_name=summary.next_tier_name,
            points_to_next_tier=summary.points_to_next_tier,
        )
    return out


@router.get("/portal/me", response_model=MeOut, summary="My profile, card and loyalty")
async def me(identity: CurrentMember, session: Session) -> MeOut:
    return await me_out(session, identity, await account.me(session, identity))


@router.patch("/portal/me", response_model=MeOut, summary="Change my name, e-mail, birthday or address")
async def update_profile(body: ProfileUpdate, identity: CurrentMember, session: Session) -> MeOut:
    changes = account.ProfileChanges(**body.model_dump(exclude_unset=True))
    member = await account.update_profile(session, identity, changes)
    return await me_out(session, identity, member)


@router.delete("/portal/me", status_code=status.HTTP_204_NO_CONTENT, summary="Delete my account")
async def erase_account(identity: CurrentMember, session: Session) -> None:
    """Erases the personal data (orders stay, anonymous) and ends every portal session."""
    await account.erase_account(session, identity)


@router.get("/portal/me/orders", response_model=list[OrderOut], summary="My orders, newest first")
async def orders(
    identity: CurrentMember,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=account.MAX_ORDER_PAGE_SIZE)] = account.ORDER_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[OrderOut]:
    return [
        OrderOut(
            bill_id=order.bill_id,
            number=order.number,
            store_id=order.store_id,
            store_name=order.store_name,
            status=order.status,
            opened_at=order.opened_at,
            closed_at=order.closed_at,
            currency=order.currency,
            total_amount=order.total_amount,
            paid_amount=order.paid_amount,
            lines=[
                OrderLineOut(
                    name=line.name,
                    quantity=line.quantity,
                    unit_price_amount=line.unit_price_amount,
                    total_amount=line.total_amount,
                    modifiers=list(line.modifiers),
                )
                for line in order.lines
            ],
            returns=[
                ReturnOut(
                    id=request.id,
                    status=request.status,
                    requested_at=request.requested_at,
                    amount=request.amount,
                    refunded_amount=request.refunded_amount,
                    refund_state=request.refund_state,
                    lines=[{"name": name, "quantity": quantity} for name, quantity in request.lines],
                )
                for request in order.returns
            ],
        )
        for order in await account.orders(session, identity, limit=limit, offset=offset)
    ]


@router.get("/portal/me/consents", response_model=ConsentsOut, summary="My consents")
async def consents(identity: CurrentMember, session: Session) -> ConsentsOut:
    history = await account.consents(session, identity)
    marketing = account.latest_consent(history, ConsentKind.MARKETING_SMS)
    return ConsentsOut(
        current_privacy_policy_version=members.CURRENT_PRIVACY_POLICY_VERSION,
        marketing_sms_opt_in=bool(marketing and marketing.is_granted),
        history=[ConsentOut.model_validate(item) for item in history],
    )


@router.post(
    "/portal/me/consents",
    response_model=ConsentOut,
    status_code=status.HTTP_201_CREATED,
    summary="Marketing SMS on/off, or accept the current privacy policy",
)
async def record_consent(body: ConsentIn, identity: CurrentMember, session: Session) -> ConsentOut:
    consent = await account.record_consent(session, identity, body.kind, body.is_granted, body.policy_version)
    return ConsentOut.model_validate(consent)


@router.put("/portal/me/password", status_code=status.HTTP_204_NO_CONTENT, summary="Set my password")
async def set_password(body: PasswordIn, identity: CurrentMember, session: Session) -> None:
    await service.set_password(session, identity, body.password)


@router.get("/portal/me/feedback", response_model=list[FeedbackOut], summary="My feedback")
async def my_feedback(identity: CurrentMember, session: Session) -> list[FeedbackOut]:
    return [FeedbackOut.model_validate(item) for item in await account.my_feedback(session, identity)]


@router.post(
    "/portal/me/feedback",
    response_model=FeedbackOut,
    status_code=status.HTTP_201_CREATED,
    summary="Send feedback",
)
async def submit_feedback(body: FeedbackIn, identity: CurrentMember, session: Session) -> FeedbackOut:
    feedback = await account.submit_feedback(session, identity, body.rating, body.text, body.bill_id)
    return FeedbackOut.model_validate(feedback)


@router.get("/portal/me/export", summary="Download my data (JSON)")
async def export_data(identity: CurrentMember, session: Session) -> Response:
    data = await account.export_data(session, identity)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{account.export_filename(data)}"'},
    )


def reservation_out(item: portal_reservations.MemberReservation) -> PortalReservationOut:
    reservation = item.reservation
    zone = ZoneInfo(item.timezone)
    return PortalReservationOut(
        id=reservation.id,
        store_id=reservation.store_id,
        store_name=item.store_name,
        status=reservation.status,
        party_size=reservation.party_size,
        starts_at=reservation.starts_at.astimezone(zone),
        ends_at=reservation.ends_at.astimezone(zone),
        table_names=list(item.table_names),
        notes=reservation.notes,
        can_cancel=item.can_cancel,
    )


@router.get(
    "/portal/me/reservations/slots", response_model=PortalSlotsOut, summary="Free times to book a table"
)
async def reservation_slots(
    identity: CurrentMember,
    session: Session,
    day: Annotated[Day, Query(description="The store's local date")],
    party_size: Annotated[int, Query(ge=1, le=100)],
    store_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Default: the store the member logged in at")
    ] = None,
) -> PortalSlotsOut:
    """The start times of `day` at which the party can book, from now on."""
    free = await portal_reservations.free_slots(session, identity, day, party_size, store_id)
    return PortalSlotsOut(
        store_id=free.store.id,
        day=free.day,
        party_size=free.party_size,
        duration_minutes=free.duration_minutes,
        slots=free.slots,
    )


@router.get(
    "/portal/me/reservations",
    response_model=list[PortalReservationOut],
    summary="My reservations still to come, soonest first",
)
async def my_reservations(identity: CurrentMember, session: Session) -> list[PortalReservationOut]:
    return [reservation_out(item) for item in await portal_reservations.upcoming(session, identity)]


@router.post(
    "/portal/me/reservations",
    response_model=PortalReservationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Book a table",
)
async def book_reservation(
    body: PortalReservationIn, identity: CurrentMember, session: Session
) -> PortalReservationOut:
    """At one of the free slots; 409 naming `starts_at` when no table is free any more, 422
    naming `starts_at` for a time that is not a slot or has passed."""
    item = await portal_reservations.book(
        session,
        identity,
        starts_at=body.starts_at,
        party_size=body.party_size,
        notes=body.notes,
        store_id=body.store_id,
    )
    return reservation_out(item)


@router.post(
    "/portal/me/reservations/{reservation_id}/cancel",
    response_model=PortalReservationOut,
    summary="Cancel my reservation",
)
async def cancel_reservation(
    reservation_id: Id, identity: CurrentMember, session: Session
) -> PortalReservationOut:
    """404 for a reservation that is not the member's; 409 naming `status` once it is seated,
    done or cancelled."""
    return reservation_out(await portal_reservations.cancel(session, identity, reservation_id))


@router.get(
    "/stores/{store_id}/feedback",
    response_model=list[StaffFeedbackOut],
    summary="Members' feedback (back office)",
)
async def list_feedback(
    store_id: Id,
    actor: CurrentActor,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[StaffFeedbackOut]:
    return [
        StaffFeedbackOut.model_validate(item)
        for item in await account.list_feedback(session, actor, store_id, limit=limit, offset=offset)
    ]
