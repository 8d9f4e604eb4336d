"""Notifications through the API: templates (with preview and length), the message log,
staff SMS, and the providers' webhooks for delivery reports and replies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response

from kassa.core.errors import KassaError, NotAuthenticated, NotFound, ValidationFailed
from kassa.core.schemas import MAX_ID, Id, Line
from kassa.notifications import service, templates
from kassa.notifications.models import MessageStatus
from kassa.notifications.providers.base import (
    InvalidWebhookSignature,
    NotificationProvider,
    WebhookNotSupported,
)
from kassa.notifications.providers.segments import count_segments
from kassa.notifications.schemas import (
    FreeTextIn,
    MessageOut,
    NumberedParameterOut,
    PreviewIn,
    PreviewOut,
    ReplyOut,
    SimulatedReplyIn,
    TemplateIn,
    TemplateOut,
    WebhookAddressOut,
    WebhooksOut,
)
from kassa.stores.models import Store
from kassa.web.dependencies import CurrentActor, Session

router = APIRouter(tags=["notifications"])


def _template_out(view: service.TemplateView) -> TemplateOut:
    count = count_segments(view.body)
    return TemplateOut(
        **{
            **view.__dict__,
            "variables": list(view.variables),
            "numbered_parameters": list(view.numbered_parameters),
        },
        segments=count.segments,
        characters=count.characters,
    )


@router.get("/notifications/templates", response_model=list[TemplateOut])
async def list_templates(
    actor: CurrentActor,
    session: Session,
    channel: Annotated[Line, Query(pattern="^(sms|email)$", max_length=5)] = "sms",
) -> list[TemplateOut]:
    return [_template_out(view) for view in await service.list_templates(session, actor, channel)]


@router.put("/notifications/templates", response_model=TemplateOut)
async def save_template(body: TemplateIn, actor: CurrentActor, session: Session) -> TemplateOut:
    await service.save_template(
        session,
        actor,
        event=body.event,
        language=body.language,
        body=body.body,
        channel=body.channel,
        subject=body.subject,
        provider_template_codes=body.provider_template_codes,
        numbered_parameters=body.numbered_parameters,
    )
    view = await service.template_view(
        session, actor, event=body.event, language=body.language, channel=body.channel
    )
    return _template_out(view)


@router.post("/notifications/templates/preview", response_model=PreviewOut)
async def preview(body: PreviewIn, actor: CurrentActor) -> PreviewOut:
    shown = templates.preview(body.event, body.body, body.variables, body.numbered_parameters)
    return PreviewOut(
        text=shown.text,
        encoding=shown.segments.encoding,
        characters=shown.segments.characters,
        segments=shown.segments.segments,
        numbered_parameters=[
            NumberedParameterOut(number=item.number, variable=item.variable, value=item.value)
            for item in shown.numbered
        ],
    )


@router.get("/stores/{store_id}/messages", response_model=list[MessageOut], summary="The message log")
async def message_log(
    store_id: Id,
    actor: CurrentActor,
    session: Session,
    status: MessageStatus | None = None,
    to: Annotated[Line | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[MessageOut]:
    logged = await service.message_log(
        session, actor, store_id, status=status, to=to, limit=limit, offset=offset
    )
    return [
        MessageOut.model_validate(item.message).model_copy(
            update={"replies": [ReplyOut.model_validate(reply) for reply in item.replies]}
        )
        for item in logged
    ]


@router.post(
    "/stores/{store_id}/messages", response_model=MessageOut, status_code=202, summary="Text a customer"
)
async def send_free_text(
    store_id: Id,
    body: FreeTextIn,
    actor: CurrentActor,
    session: Session,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)] = None,
) -> MessageOut:
    message = await service.send_free_text(session, actor, store_id, body.to, body.text, idempotency_key)
    return MessageOut.model_validate(message)


def _called_url(request: Request) -> str:
    """The URL as the provider called it (Twilio signs it): behind a proxy, the public one
    (``KASSA_PUBLIC_URL``, which must then be exactly the address the provider calls)."""
    public = request.app.state.settings.public_url
    if not public:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{public.rstrip('/')}{request.url.path}{query}"


def _acknowledge(adapter: NotificationProvider) -> Response:
    answer = adapter.webhook_acknowledgement()
    return Response(content=answer.body, status_code=answer.status, media_type=answer.content_type)


def _unreadable(provider: str, error: Exception) -> KassaError:
    if isinstance(error, InvalidWebhookSignature):
        return NotAuthenticated(f"the {provider} signature does not match", field="signature")
    if isinstance(error, WebhookNotSupported):
        return NotFound(f"{provider} sends no such webhook", field="provider")
    return ValidationFailed(f"not a {provider} webhook body: {error}", field="body")


WEBHOOK_ERRORS = (InvalidWebhookSignature, WebhookNotSupported, ValueError, KeyError, TypeError)
WebhookToken = Annotated[
    str | None,
    Query(
        max_length=80,
        description="The organization's webhook token (`kassa webhook-token`, or the back office)",
    ),
]


def _webhooks_out(setup: service.WebhookSetup) -> WebhooksOut:
    return WebhooksOut(
        organization_id=setup.organization_id,
        token=setup.token,
        addresses=[
            WebhookAddressOut(provider=item.provider, kind=item.kind, url=item.url)
            for item in setup.addresses
        ],
    )


@router.get(
    "/notifications/webhooks",
    response_model=WebhooksOut,
    summary="The organization's webhook URLs for the SMS gateways' consoles (owners)",
)
async def webhooks(actor: CurrentActor, session: Session, request: Request) -> WebhooksOut:
    return _webhooks_out(await service.webhooks(session, actor, request.app.state.settings.base_url))


@router.post(
    "/notifications/webhooks/rotate",
    response_model=WebhooksOut,
    summary="A new webhook token for the organization; the old URLs stop working (owners)",
)
async def rotate_webhooks(actor: CurrentActor, session: Session, request: Request) -> WebhooksOut:
    setup = await service.rotate_webhook_token(session, actor, request.app.state.settings.base_url)
    return _webhooks_out(setup)


@router.post(
    "/notifications/webhooks/{provider}/inbound",
    summary="Replies from customers (provider webhook); answers in the provider's own format",
)
async def inbound_webhook(
    provider: Annotated[Line, Path(max_length=40)],
    request: Request,
    session: Session,
    token: WebhookToken = None,
) -> Response:
    organization_id = await service.organization_of_webhook_token(session, token)
    adapter = service.provider_named(provider)
    body = await request.body()
    try:
        items = adapter.parse_inbound(url=_called_url(request), headers=dict(request.headers), body=body)
    except WEBHOOK_ERRORS as error:
        raise _unreadable(provider, error) from error
    await service.receive_inbound(session, organization_id, provider, items)
    return _acknowledge(adapter)


@router.post(
    "/notifications/webhooks/{provider}/delivery",
    summary="Delivery reports (provider webhook); answers in the provider's own format",
)
async def delivery_webhook(
    provider: Annotated[Line, Path(max_length=40)],
    request: Request,
    session: Session,
    token: WebhookToken = None,
) -> Response:
    organization_id = await service.organization_of_webhook_token(session, token)
    adapter = service.provider_named(provider)
    body = await request.body()
    try:
        reports = adapter.parse_delivery_reports(
            url=_called_url(request), headers=dict(request.headers), body=body
        )
    except WEBHOOK_ERRORS as error:
        raise _unreadable(provider, error) from error
    await service.record_delivery_reports(session, organization_id, provider, reports)
    return _acknowledge(adapter)


@router.post(
    "/stores/{store_id}/messages/simulated-reply",
    response_model=ReplyOut,
    summary="A customer's reply through the built-in log provider (demo)",
)
async def simulated_reply(
    store_id: Id, body: SimulatedReplyIn, actor: CurrentActor, session: Session
) -> ReplyOut:
    actor.require_store(store_id)
    store = await session.get(Store, store_id)
    if store is None:
        raise NotFound(f"no store {store_id}", field="store_id")
    inbound = await service.simulate_reply(session, actor, store, body.from_, body.body)
    return ReplyOut.model_validate(inbound)
