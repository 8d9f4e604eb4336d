"""API keys for integrations (owners): make one, list them, revoke one."""

from __future__ import annotations

from fastapi import APIRouter, status

from kassa.api_keys import service
from kassa.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from kassa.core.schemas import Id
from kassa.web.dependencies import CurrentActor, Session

router = APIRouter(tags=["api keys"])


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Make an API key for an integration (owners; the key is shown this once)",
)
async def create_api_key(body: ApiKeyCreate, actor: CurrentActor, session: Session) -> ApiKeyCreated:
    """Requests with `Authorization: Bearer <key>` then act with exactly these permissions in
    exactly these stores (403 elsewhere). Store it at once: only its SHA-256 is kept."""
    issued = await service.create_api_key(
        session, actor, name=body.name, permissions=body.permissions, store_ids=body.store_ids
    )
    return ApiKeyCreated(**ApiKeyOut.model_validate(issued.api_key).model_dump(), key=issued.key)


@router.get("/api-keys", response_model=list[ApiKeyOut], summary="The organization's API keys (owners)")
async def list_api_keys(
    actor: CurrentActor, session: Session, include_revoked: bool = False
) -> list[ApiKeyOut]:
    keys = await service.list_api_keys(session, actor, include_revoked=include_revoked)
    return [ApiKeyOut.model_validate(key) for key in keys]


@router.post(
    "/api-keys/{api_key_id}/revoke",
    response_model=ApiKeyOut,
    summary="Revoke an API key: refused from the next request on",
)
async def revoke_api_key(api_key_id: Id, actor: CurrentActor, session: Session) -> ApiKeyOut:
    return ApiKeyOut.model_validate(await service.revoke_api_key(session, actor, api_key_id))
