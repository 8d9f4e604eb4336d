"""Members: sign up, look up at the counter, change details, record consents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, status

from kassa.core import idempotency
from kassa.core.errors import ValidationFailed
from kassa.members import service
from kassa.members.schemas import ConsentIn, ConsentOut, MemberCreate, MemberOut, MemberUpdate
from kassa.web.dependencies import CurrentActor, Session

router = APIRouter(tags=["members"])

IdempotencyKey = Annotated[str | None, Header(alias=idempotency.HEADER, description="Repeat-safe retries")]


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
    return MemberOut.model_validate(member)


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
        MemberOut.model_validate(item) for item in await service.find_members(session, actor, q, limit=limit)
    ]


@router.get("/members/{member_id}", response_model=MemberOut)
async def get_member(member_id: int, actor: CurrentActor, session: Session) -> MemberOut:
    return MemberOut.model_validate(await service.get_member(session, actor, member_id))


@router.patch("/members/{member_id}", response_model=MemberOut)
async def update_member(
    member_id: int, body: MemberUpdate, actor: CurrentActor, session: Session
) -> MemberOut:
    changes = service.MemberChanges(**body.model_dump(exclude_unset=True))
    return MemberOut.model_validate(await service.update_member(session, actor, member_id, changes))


@router.post("/members/{member_id}/consents", response_model=ConsentOut, status_code=status.HTTP_201_CREATED)
async def record_consent(
    member_id: int, body: ConsentIn, actor: CurrentActor, session: Session
) -> ConsentOut:
    """Record a consent given or withdrawn at the counter; the history is never rewritten."""
    consent = await service.record_consent(
        session, actor, member_id, body.kind, body.is_granted, policy_version=body.policy_version
    )
    return ConsentOut.model_validate(consent)


@router.get("/members/{member_id}/consents", response_model=list[ConsentOut], summary="Consent history")
async def list_consents(member_id: int, actor: CurrentActor, session: Session) -> list[ConsentOut]:
    return [
        ConsentOut.model_validate(item) for item in await service.list_consents(session, actor, member_id)
    ]
