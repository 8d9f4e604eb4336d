"""Members: sign up, look up at the counter, change details, record consents."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, Depends, File, Header, Query, Response, UploadFile, status

from kassa.core import idempotency
from kassa.core.auth import Permission
from kassa.core.database import commit, utc_now
from kassa.core.errors import ValidationFailed
from kassa.core.schemas import MAX_AMOUNT, MAX_ID, Day, Id, Line
from kassa.members import access, analytics, profile, service, transfer
from kassa.members.schemas import (
    ActiveMembersOut,
    ConsentIn,
    ConsentOut,
    MemberAnalyticsOut,
    MemberCreate,
    MemberImportOut,
    MemberOut,
    MemberPageOut,
    MemberProfileOut,
    MemberUpdate,
    PhoneChangeCodeIn,
    PhoneChangeCodeOut,
    PhoneChangeIn,
    SpendGroupOut,
    UsualItemOut,
    WeekCountOut,
)
from kassa.web.dependencies import CurrentActor, Session

router = APIRouter(tags=["members"])

IdempotencyKey = Annotated[
    str | None, Header(alias=idempotency.HEADER, max_length=100, description="Repeat-safe retries")
]


@router.post("/members", response_model=MemberOut, status_code=status.HTTP_201_CREATED)
async def register_member(
    body: MemberCreate, actor: CurrentActor, session: Session, idempotency_key: IdempotencyKey = None
) -> MemberOut:
    """Sign a customer up. One member per phone number: the same number in another format
    answers 409 naming `phone` (with the existing `member_id`)."""
    scope = f"member.register:{actor.organization_id}"
    if idempotency_key:
        stored = await idempotency.replay_or_reserve(session, scope, idempotency_key, body.model_dump())
        if stored is not None:
            return MemberOut.model_validate(
                await service.get_member(session, actor, int(stored["member_id"]))
            )
    store_id = body.store_id if body.store_id is not None else actor.store_id
    if store_id is None:
        raise ValidationFailed("name the store the member signs up in", field="store_id")
    member = await service.register_member(
        session,
        actor,
        store_id,
        service.MemberInput(
            phone=body.phone,
            name=body.name,
            email=body.email,
            birthday=body.birthday,
            gender=body.gender,
            address=body.address,
            notes=body.notes,
            tags=body.tags,
        ),
        service.RegistrationConsents(
            privacy_policy_accepted=body.privacy_policy_accepted,
            privacy_policy_version=body.privacy_policy_version,
            marketing_sms=body.marketing_sms_opt_in,
        ),
    )
    if idempotency_key:
        await idempotency.remember(session, scope, idempotency_key, {"member_id": member.id})
    return MemberOut.model_validate(access.member_view(actor, member))


@router.get("/members", response_model=list[MemberOut], summary="Find members")
async def find_members(
    actor: CurrentActor,
    session: Session,
    q: Annotated[
        str,
        Query(
            max_length=100,
            description="A phone number in any format, its last 4 digits, a card number or part of a "
            "name; empty: the latest sign-ups",
        ),
    ] = "",
    limit: Annotated[int, Query(ge=1, le=service.MAX_SEARCH_LIMIT)] = service.SEARCH_LIMIT,
) -> list[MemberOut]:
    return [
        MemberOut.model_validate(access.member_view(actor, item))
        for item in await service.find_members(session, actor, q, limit=limit)
    ]


# --- list, analytics, export and import ---------------------------------------------------
# Declared before /members/{member_id}, whose path would otherwise take "list", "analytics"
# and "export" for a member id.

MAX_IMPORT_BYTES = 5 * 1024 * 1024


def _member_filter(
    q: Annotated[
        Line, Query(max_length=100, description="As the counter search: phone, last 4 digits, card or name")
    ] = "",
    tag: Annotated[Line | None, Query(max_length=30)] = None,
    last_visit_from: Annotated[Day | None, Query(description="Local day, included")] = None,
    last_visit_to: Annotated[Day | None, Query(description="Local day, included")] = None,
    spend_at_least_amount: Annotated[
        int | None, Query(ge=0, le=MAX_AMOUNT, description="Total spend, minor units")
    ] = None,
    spend_at_most_amount: Annotated[
        int | None, Query(ge=0, le=MAX_AMOUNT, description="Total spend, minor units")
    ] = None,
    registered_from: Annotated[Day | None, Query(description="Local day, included")] = None,
    registered_to: Annotated[Day | None, Query(description="Local day, included")] = None,
) -> profile.MemberFilter:
    # LOYALTY HOOK: a tier filter (?tier=) becomes MemberFilter.tier_member_ids here.
    return profile.MemberFilter(
        text=q,
        tag=tag,
        last_visit_from=last_visit_from,
        last_visit_to=last_visit_to,
        spend_at_least_amount=spend_at_least_amount,
        spend_at_most_amount=spend_at_most_amount,
        registered_from=registered_from,
        registered_to=registered_to,
    )


MemberFilterQuery = Annotated[profile.MemberFilter, Depends(_member_filter)]


@router.get("/members/list", response_model=MemberPageOut, summary="The member list: search, filters, pages")
async def list_members(
    actor: CurrentActor,
    session: Session,
    filters: MemberFilterQuery,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=profile.MAX_LIST_LIMIT)] = profile.LIST_LIMIT,
) -> MemberPageOut:
    """The latest sign-ups first, each with their figures (closed bills; paid = total +
    cash rounding, less succeeded refunds; a visit is a closed bill)."""
    page = await profile.list_members(session, actor, filters, offset=offset, limit=limit)
    items = [{"member": access.member_view(actor, row.member), "figures": row.figures} for row in page.rows]
    return MemberPageOut.model_validate(
        {"items": items, "total": page.total, "offset": page.offset, "limit": page.limit}
    )


@router.get("/members/analytics", response_model=MemberAnalyticsOut, summary="Member figures by week")
async def member_analytics(
    actor: CurrentActor,
    session: Session,
    weeks: Annotated[int, Query(ge=1, le=analytics.MAX_WEEKS)] = analytics.DEFAULT_WEEKS,
    today: Annotated[Day | None, Query(description="Figures as of this day; default: today")] = None,
) -> MemberAnalyticsOut:
    """Sign-ups per week, active members (30 and 90 days), the repeat rate, and spend per
    loyalty tier when the loyalty capability is there (else per registration store)."""
    actor.require(Permission.REPORT_VIEW)
    if today is None:
        today = (await profile.local_settings(session, actor)).local_date(utc_now())
    tiers = analytics.loyalty_tier_provider()
    tier_of = await tiers(session, actor.organization_id) if tiers is not None else None
    result = await analytics.member_analytics(session, actor, today=today, weeks=weeks, tier_of=tier_of)
    return MemberAnalyticsOut(
        today=result.today,
        weeks=result.weeks,
        period_start=result.period_start,
        currency=result.currency,
        members_total=result.members_total,
        new_members=[WeekCountOut.model_validate(week) for week in result.new_members],
        new_members_in_period=result.new_members_in_period,
        active_members=[
            ActiveMembersOut(days=days, members=count) for days, count in result.active_members.items()
        ],
        visiting_members=result.visiting_members,
        repeat_members=result.repeat_members,
        repeat_rate=result.repeat_rate,
        spend_grouping=result.spend_grouping,
        spend_groups=[SpendGroupOut.model_validate(group) for group in result.spend_groups],
    )


@router.get(
    "/members/export",
    summary="Members as CSV or XLSX, one row per member",
    response_class=Response,
    responses={200: {"content": {media_type: {} for media_type in transfer.MEDIA_TYPES.values()}}},
)
async def export_members(
    actor: CurrentActor,
    session: Session,
    filters: MemberFilterQuery,
    format: transfer.MemberFileFormat = transfer.MemberFileFormat.CSV,
) -> Response:
    """The members the list filters select (all by default), with their figures; the
    columns an import reads back."""
    content = await transfer.export_members(session, actor, format, filters)
    return Response(
        content,
        media_type=transfer.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="members.{format.value}"'},
    )


@router.post("/members/import", response_model=MemberImportOut, summary="Create members from CSV or XLSX")
async def import_members(
    actor: CurrentActor,
    session: Session,
    file: Annotated[UploadFile, File(description="A sheet as exported by /members/export")],
    format: transfer.MemberFileFormat | None = None,
    store_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Where they sign up; default: your store")
    ] = None,
    duplicates: transfer.DuplicatePolicy = transfer.DuplicatePolicy.SKIP,
    all_or_nothing: bool = True,
) -> MemberImportOut:
    """Every row states the privacy policy version the member accepted. Phone numbers that
    are members already are skipped (listed) or reported (``duplicates=report``). All or
    nothing by default: a problem in any row imports nothing and names every row and column
    at fault (``errors[].field`` is ``rows.<row>.<column>``)."""
    if format is None:
        suffix = PurePath(file.filename or "").suffix.lower().lstrip(".")
        if suffix not in {item.value for item in transfer.MemberFileFormat}:
            raise ValidationFailed(
                "name the format (?format=csv or xlsx) or upload a .csv/.xlsx", field="format"
            )
        format = transfer.MemberFileFormat(suffix)
    store = store_id if store_id is not None else actor.store_id
    if store is None:
        raise ValidationFailed("name the store the members sign up in", field="store_id")
    content = await file.read(MAX_IMPORT_BYTES + 1)
    if len(content) > MAX_IMPORT_BYTES:
        raise ValidationFailed("the file is larger than 5 MB", field="file")
    result = await transfer.import_members(
        session,
        actor,
        content,
        format,
        store_id=store,
        duplicates=duplicates,
        is_all_or_nothing=all_or_nothing,
    )
    return MemberImportOut.model_validate(result)


@router.get("/members/{member_id}", response_model=MemberOut)
async def get_member(member_id: Id, actor: CurrentActor, session: Session) -> MemberOut:
    return MemberOut.model_validate(await access.get_member_view(session, actor, member_id))


@router.patch("/members/{member_id}", response_model=MemberOut)
async def update_member(
    member_id: Id, body: MemberUpdate, actor: CurrentActor, session: Session
) -> MemberOut:
    changes = service.MemberChanges(**body.model_dump(exclude_unset=True))
    member = await service.update_member(session, actor, member_id, changes)
    return MemberOut.model_validate(access.member_view(actor, member))


@router.post(
    "/members/{member_id}/phone-change-code",
    response_model=PhoneChangeCodeOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Text a code to the member's current number, to change it",
)
async def send_phone_change_code(
    member_id: Id, body: PhoneChangeCodeIn, actor: CurrentActor, session: Session
) -> PhoneChangeCodeOut:
    """The phone number is the member's portal login: staff without `member.phone_change`
    change it with a code sent to the current number (shown masked in the message log)."""
    sent = await access.send_phone_change_code(session, actor, member_id, body.phone)
    return PhoneChangeCodeOut(message_id=sent.message.id, sent_to=sent.sent_to)


@router.post(
    "/members/{member_id}/phone", response_model=MemberOut, summary="Change the member's phone number"
)
async def change_phone(
    member_id: Id, body: PhoneChangeIn, actor: CurrentActor, session: Session
) -> MemberOut:
    """With `member.phone_change` (managers), or with the `code` texted to the current number
    (a wrong code counts: five and it is used up)."""
    result = await access.change_phone(session, actor, member_id, body.phone, code=body.code)
    if result.error is not None:
        await commit(session)  # the wrong try counts
        raise result.error
    assert result.member is not None
    return MemberOut.model_validate(access.member_view(actor, result.member))


@router.post("/members/{member_id}/consents", response_model=ConsentOut, status_code=status.HTTP_201_CREATED)
async def record_consent(member_id: Id, body: ConsentIn, actor: CurrentActor, session: Session) -> ConsentOut:
    """Record a consent given or withdrawn at the counter; the history is never rewritten."""
    consent = await service.record_consent(
        session, actor, member_id, body.kind, body.is_granted, policy_version=body.policy_version
    )
    return ConsentOut.model_validate(consent)


@router.get("/members/{member_id}/consents", response_model=list[ConsentOut], summary="Consent history")
async def list_consents(member_id: Id, actor: CurrentActor, session: Session) -> list[ConsentOut]:
    return [
        ConsentOut.model_validate(item) for item in await service.list_consents(session, actor, member_id)
    ]


@router.get("/members/{member_id}/profile", response_model=MemberProfileOut, summary="A member's profile")
async def member_profile(
    member_id: Id,
    actor: CurrentActor,
    session: Session,
    history_limit: Annotated[int, Query(ge=1, le=profile.MAX_HISTORY_LIMIT)] = profile.HISTORY_LIMIT,
    history_offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> MemberProfileOut:
    """Figures (total spend, visits, average bill, last visit), favourite items and the
    order history, newest first, with the returns on each bill."""
    result = await profile.member_profile(
        session, actor, member_id, history_limit=history_limit, history_offset=history_offset
    )
    return MemberProfileOut.model_validate(
        {
            "member": access.member_view(actor, result.member),
            "currency": result.currency,
            "figures": result.figures,
            "favourites": result.favourites,
            "history": result.history,
            "history_total": result.history_total,
        }
    )


@router.get(
    "/members/{member_id}/usual-order", response_model=list[UsualItemOut], summary="What they usually order"
)
async def usual_order(
    member_id: Id,
    actor: CurrentActor,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=20)] = profile.USUAL_ORDER_ITEMS,
) -> list[UsualItemOut]:
    """The products on most of the member's latest bills, still on sale, with the quantity
    they usually take."""
    member = await service.get_member(session, actor, member_id)
    return [
        UsualItemOut.model_validate(item)
        for item in await profile.usual_order(session, member.id, limit=limit)
    ]
