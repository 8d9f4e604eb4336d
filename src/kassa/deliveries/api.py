"""Dead messages through the API: list a store's, send one again, cancel one that waits."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from kassa.core.schemas import Id
from kassa.deliveries import service
from kassa.deliveries.schemas import DeliveryOut
from kassa.web.dependencies import CurrentActor, Session

router = APIRouter(tags=["deliveries"])


@router.get(
    "/stores/{store_id}/deliveries", response_model=list[DeliveryOut], summary="Dead or waiting messages"
)
async def list_deliveries(
    store_id: Id,
    actor: CurrentActor,
    session: Session,
    status: Literal["dead", "waiting"] = "dead",
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT)] = service.DEFAULT_LIMIT,
) -> list[DeliveryOut]:
    """The store's messages Kassa gave up on (``dead``, the default) or still tries to
    send (``waiting``: a receipt for a printer that is off), newest first."""
    rows = await service.list_deliveries(
        session, actor, store_id, is_waiting=status == "waiting", limit=limit
    )
    return [DeliveryOut.model_validate(row) for row in rows]


@router.post(
    "/deliveries/{message_id}/resend", response_model=DeliveryOut, summary="Send a dead message again"
)
async def resend(message_id: Id, actor: CurrentActor, session: Session) -> DeliveryOut:
    """Back in the queue at once, attempts counted from zero; only a dead message (409
    ``message_not_dead`` otherwise, so a second tap never sends twice)."""
    return DeliveryOut.model_validate(await service.resend(session, actor, message_id))


@router.post("/deliveries/{message_id}/cancel", response_model=DeliveryOut, summary="Cancel a message")
async def cancel(message_id: Id, actor: CurrentActor, session: Session) -> DeliveryOut:
    """Call off a waiting message or put away a dead one (409 ``message_not_waiting`` for
    one being sent this moment or already sent)."""
    return DeliveryOut.model_validate(await service.cancel(session, actor, message_id))
