"""Sending messages: written with the business change, sent by the outbox worker.

``queue_message`` renders the text and writes a ``Message`` row plus an outbox message in
the caller's unit of work, so the SMS exists only if the change commits, and a crash after
the commit still sends it. The worker (``deliver_message``) hands it to the providers in
failover order: a provider that is down is skipped for the next one, and when all are down
the message waits and is tried again with backoff; it is never lost. A message already
handed over is not handed over again (the row's status is checked first, and the provider
gets our message id as its client reference where it takes one).

Replies come in by webhook (``receive_inbound``): the sender's number and a short code in
the text find the message they answer, and the capability that sent it (a return, a
reservation) is told through a reply handler registered for its ``subject_type``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core import audit, outbox
from kassa.core.auth import Actor, Permission
from kassa.core.database import get_database, utc_now
from kassa.core.errors import Conflict, NotAuthenticated, NotFound, TooManyRequests, ValidationFailed
from kassa.core.events import Event, publish_after_commit
from kassa.core.i18n import normalize_locale
from kassa.core.outbox import ClaimedMessage, Handler, PermanentFailure, RetryLater
from kassa.core.phones import normalize_phone
from kassa.core.settings import get_settings
from kassa.notifications import sealed, templates
from kassa.notifications.models import (
    InboundMessage,
    Message,
    MessageStatus,
    MessageTemplate,
    OtpCode,
    WebhookRotation,
)
from kassa.notifications.providers.base import (
    Channel,
    DeliveryReport,
    DeliveryStatus,
    InboundSms,
    MessageRejected,
    NotificationProvider,
    OutgoingMessage,
    ProviderUnavailable,
)
from kassa.notifications.providers.segments import count_segments
from kassa.stores.models import Store
from kassa.stores.service import store_topic

SEND_KIND = "notification.send"
# In a send job's payload: the real text of a message with secret variables (sealed), and
# the moment after which it is not worth sending.
SEALED_KEY = "sealed"
SEND_BEFORE_KEY = "send_before"
MESSAGE_EVENT = "message.changed"
# A reply quotes a code of this many digits; a message awaiting one is answerable this long.
REPLY_CODE_DIGITS = 4
REPLY_WINDOW = timedelta(days=7)

OTP_DIGITS = 6
OTP_TTL = timedelta(minutes=5)
OTP_MAX_ATTEMPTS = 5
OTP_MAX_SENDS_PER_HOUR = 5


# --- providers ----------------------------------------------------------------------------

_sms_providers: list[NotificationProvider] | None = None
_email_provider: NotificationProvider | None = None


def configure_providers(
    sms: Sequence[NotificationProvider] | None = None, email: NotificationProvider | None = None
) -> None:
    """Use these providers (failover order for SMS); None goes back to the configured ones."""
    global _sms_providers, _email_provider
    _sms_providers = list(sms) if sms is not None else None
    _email_provider = email


def sms_providers() -> list[NotificationProvider]:
    global _sms_providers
    if _sms_providers is None:
        from kassa.notifications.providers.config import NotificationProviderSettings, build_sms_providers

        _sms_providers = build_sms_providers(NotificationProviderSettings())
    return _sms_providers


def email_provider() -> NotificationProvider:
    global _email_provider
    if _email_provider is None:
        from kassa.notifications.providers.config import NotificationProviderSettings, build_email_provider

        _email_provider = build_email_provider(NotificationProviderSettings())
    return _email_provider


def providers_for(channel: str) -> list[NotificationProvider]:
    return sms_providers() if channel == Channel.SMS else [email_provider()]


def provider_named(name: str) -> NotificationProvider:
    for provider in [*sms_providers(), email_provider()]:
        if provider.name == name:
            return provider
    raise NotFound(f"no message provider {name!r} is configured", field="provider")


# --- webhook tokens -------------------------------------------------------------------------

WEBHOOK_PATH = "/api/v1/notifications/webhooks/{provider}/{kind}"
WEBHOOK_KINDS = ("inbound", "delivery")
# An organization id in a token is at most this many digits (a 64-bit id has 19).
_MAX_ID_DIGITS = 18


def _token_for(organization_id: int, generation: int) -> str:
    key = get_settings().resolved_secret_key().encode()
    digest = hmac.new(
        key, f"kassa-notification-webhooks|{organization_id}|{generation}".encode(), hashlib.sha256
    ).hexdigest()[:40]
    return f"{organization_id}.{digest}"


async def _generation(session: AsyncSession, organization_id: int) -> int:
    rotation = await session.get(WebhookRotation, organization_id)
    return rotation.generation if rotation is not None else 0


async def webhook_token(session: AsyncSession, organization_id: int) -> str:
    """The secret an organization's webhook URLs carry (most SMS providers do not sign their
    callbacks): ``<organization id>.<HMAC of the secret key, the organization and its
    rotation>``. It names the organization, so a webhook touches that organization's
    messages only; nothing secret is stored, and a rotation makes the old token worthless."""
    return _token_for(organization_id, await _generation(session, organization_id))


async def organization_of_webhook_token(session: AsyncSession, token: str | None) -> int:
    """The organization whose current webhook token ``token`` is, compared in constant time;
    NotAuthenticated for any other text."""
    text = token or ""
    prefix, dot, _digest = text.partition(".")
    is_id = bool(dot) and prefix.isascii() and prefix.isdigit() and len(prefix) <= _MAX_ID_DIGITS
    organization_id = int(prefix) if is_id else 0
    generation = await _generation(session, organization_id) if organization_id else 0
    # Computed and compared whatever the token looks like: a wrong one costs the same.
    expected = _token_for(organization_id, generation)
    if not hmac.compare_digest(expected.encode(), text.encode()) or not organization_id:
        raise NotAuthenticated("unknown webhook token", field="token")
    return organization_id


def webhook_url(base_url: str, provider: str, kind: str, token: str) -> str:
    path = WEBHOOK_PATH.format(provider=provider, kind=kind)
    return f"{base_url.rstrip('/')}{path}?{urlencode({'token': token})}"


@dataclass(frozen=True)
class WebhookAddress:
    provider: str
    kind: str  # "inbound" (replies) or "delivery" (delivery reports)
    url: str


@dataclass(frozen=True)
class WebhookSetup:
    organization_id: int
    token: str
    generation: int
    addresses: tuple[WebhookAddress, ...]


async def webhook_setup(
    session: AsyncSession, organization_id: int, base_url: str | None = None
) -> WebhookSetup:
    """The token and the URL of each webhook of each configured SMS provider (the built-in
    log provider included), at ``base_url`` (default: ``KASSA_PUBLIC_URL``)."""
    generation = await _generation(session, organization_id)
    token = _token_for(organization_id, generation)
    base = base_url or get_settings().base_url
    names = list(dict.fromkeys(provider.name for provider in sms_providers()))
    addresses = tuple(
        WebhookAddress(name, kind, webhook_url(base, name, kind, token))
        for name in names
        for kind in WEBHOOK_KINDS
    )
    return WebhookSetup(organization_id, token, generation, addresses)


async def webhooks(session: AsyncSession, actor: Actor, base_url: str | None = None) -> WebhookSetup:
    """The actor's organization's webhook URLs: they carry its secret, so only those who
    manage its settings (owners) see them."""
    actor.require(Permission.SETTINGS_MANAGE)
    return await webhook_setup(session, actor.organization_id, base_url)


async def rotate_webhook_token(
    session: AsyncSession, actor: Actor, base_url: str | None = None
) -> WebhookSetup:
    """A new token for the actor's organization; the old URLs stop working at once (the
    gateways' consoles must be given the new ones)."""
    actor.require(Permission.SETTINGS_MANAGE)
    # The organization's row exists (two first rotations at once both insert nothing new),
    # then it is locked: two rotations at once count twice.
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(
        insert(WebhookRotation)
        .values(organization_id=actor.organization_id, generation=0, rotated_at=utc_now())
        .on_conflict_do_nothing(index_elements=[WebhookRotation.organization_id])
    )
    rotation = (
        await session.scalars(
            select(WebhookRotation)
            .where(WebhookRotation.organization_id == actor.organization_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()
    before = rotation.generation
    rotation.generation = before + 1
    rotation.rotated_at = utc_now()
    rotation.rotated_by_staff_id = actor.staff_id
    await session.flush()
    # The token itself never goes into the trail: only that it changed.
    audit.record(
        session,
        actor,
        "notification_webhooks.rotate",
        "organization",
        actor.organization_id,
        before={"generation": before},
        after={"generation": rotation.generation},
    )
    return await webhook_setup(session, actor.organization_id, base_url)


# --- phone numbers ------------------------------------------------------------------------


def _inbound_phone(raw: str, regions: Sequence[str]) -> str:
    """A sender's number as E.164 when it parses; providers give it in many shapes (with or
    without "+", or national, read in the regions of the stores)."""
    text = raw.strip()
    candidates = [text] if text.startswith(("+", "00")) else ["+" + text, text]
    for candidate in candidates:
        for region in regions or ["CN"]:
            try:
                return normalize_phone(candidate, region)
            except ValidationFailed:
                continue
    return text


# --- queuing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cause:
    """Who or what made a message go out: a staff member, or a named part of the system."""

    name: str
    staff_id: int | None = None

    @classmethod
    def of(cls, actor: Actor, what: str) -> Cause:
        return cls(what, actor.staff_id)


@dataclass(frozen=True)
class TemplateText:
    """An event's text as an organization sends it, and how template-based providers get it."""

    body: str
    subject: str | None
    provider_template_codes: dict[str, Any]
    numbered_parameters: tuple[str, ...]  # the variables that {1}, {2}, ... receive
    is_custom: bool
    has_own_numbered_parameters: bool


async def template_text(
    session: AsyncSession, organization_id: int, event: str, language: str, channel: str
) -> TemplateText:
    """The organization's own text of an event, else the built-in one."""
    own = await session.scalar(
        select(MessageTemplate).where(
            MessageTemplate.organization_id == organization_id,
            MessageTemplate.event == event,
            MessageTemplate.language == language,
            MessageTemplate.channel == channel,
        )
    )
    return _template_text(templates.event_spec(event), language, channel, own)


def _template_text(
    spec: templates.EventSpec, language: str, channel: str, own: MessageTemplate | None
) -> TemplateText:
    if own is not None:
        return TemplateText(
            body=own.body,
            subject=own.subject,
            provider_template_codes=dict(own.provider_template_codes),
            numbered_parameters=tuple(
                own.numbered_parameters
                if own.numbered_parameters is not None
                else templates.default_numbered_parameters(own.body)
            ),
            is_custom=True,
            has_own_numbered_parameters=own.numbered_parameters is not None,
        )
    body = spec.bodies.get(language) or spec.bodies["en"]
    subject = (spec.subjects or {}).get(language) if channel == Channel.EMAIL else None
    return TemplateText(
        body=body,
        subject=subject,
        provider_template_codes={},
        numbered_parameters=tuple(templates.default_numbered_parameters(body)),
        is_custom=False,
        has_own_numbered_parameters=False,
    )


async def queue_message(
    session: AsyncSession,
    *,
    store: Store,
    to: str,
    event: str,
    variables: Mapping[str, str],
    cause: Cause,
    channel: str = Channel.SMS,
    language: str | None = None,
    subject: tuple[str, int] | None = None,
    reply_code: str | None = None,
    dedupe_key: str | None = None,
    send_before: datetime | None = None,
) -> Message:
    """Write a message for ``to`` (E.164, or an e-mail address) in the caller's unit of work.

    ``variables`` fill the event's text (``store_name`` is added); ``subject`` names what the
    message is about, so replies find their way back; ``dedupe_key`` names the business event
    so that queuing it again returns the message already there; a message not handed over
    by ``send_before`` (a code that expired) is not sent at all.

    The event's secret variables (a one-time code) are masked in the message row; the real
    text is sealed into the outbox payload (``notifications.sealed``) for the worker alone.
    """
    if dedupe_key is not None:
        existing = await session.scalar(select(Message).where(Message.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    language = normalize_locale(language or store.locale)
    values = {"store_name": store.name, **variables}
    text = await template_text(session, store.organization_id, event, language, channel)
    body = templates.render(text.body, values)
    subject_line = templates.render(text.subject, values) if text.subject else None
    secret = sorted(templates.event_spec(event).secret_variables & values.keys())
    shown = templates.masked(event, values) if secret else values
    message = Message(
        organization_id=store.organization_id,
        store_id=store.id,
        channel=channel,
        event=event,
        language=language,
        to_address=to,
        subject=templates.render(text.subject, shown) if text.subject else None,
        body=templates.render(text.body, shown),
        variables=dict(shown),
        # The length of what the customer receives, not of the mask.
        segments=count_segments(body).segments if channel == Channel.SMS else 1,
        status=MessageStatus.QUEUED,
        caused_by=cause.name,
        caused_by_staff_id=cause.staff_id,
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        reply_code=reply_code,
        dedupe_key=dedupe_key,
    )
    session.add(message)
    await session.flush()
    payload: dict[str, Any] = {"message_id": message.id}
    if secret:
        payload[SEALED_KEY] = sealed.seal(
            message.id,
            {"body": body, "subject": subject_line, "variables": {name: values[name] for name in secret}},
        )
    if send_before is not None:
        payload[SEND_BEFORE_KEY] = send_before.isoformat()
    await outbox.enqueue(session, SEND_KIND, payload, store_id=store.id, dedupe_key=f"message:{message.id}")
    _announce(session, message)
    return message


async def send_free_text(
    session: AsyncSession, actor: Actor, store_id: int, to: str, text: str, idempotency_key: str | None = None
) -> Message:
    """A message typed by staff to a customer; only roles with ``sms.free_text`` may."""
    actor.require(Permission.SMS_FREE_TEXT)
    actor.require_store(store_id)
    store = await session.get(Store, store_id)
    if store is None:
        raise NotFound(f"no store {store_id}", field="store_id")
    if not text.strip():
        raise ValidationFailed("the message is empty", field="text")
    phone = normalize_phone(to, store.phone_region, field="to")
    message = await queue_message(
        session,
        store=store,
        to=phone,
        event="free_text",
        variables={"text": text.strip()},
        cause=Cause.of(actor, "staff.free_text"),
        dedupe_key=f"free_text:{store_id}:{idempotency_key}" if idempotency_key else None,
    )
    audit.record(
        session,
        actor,
        "message.free_text",
        "message",
        message.id,
        store_id=store_id,
        # Not the number: the trail cannot be edited, and an erased member's number must go.
        # The message row (scrubbed on erasure) says who it went to.
        after={"segments": message.segments},
    )
    return message


def _announce(session: AsyncSession, message: Message) -> None:
    if message.store_id is not None:
        publish_after_commit(
            session,
            Event(
                store_topic(message.store_id),
                MESSAGE_EVENT,
                {"message_id": message.id, "status": message.status.value, "event": message.event},
            ),
        )


# --- sending (the outbox worker) ------------------------------------------------------------


async def _settle(message_id: int, *, outbox_id: int | None = None, **values: Any) -> None:
    """Record what became of a message; with ``outbox_id`` (it is handed over or given up)
    the send job keeps only the message id: a sealed text is not kept beyond its use."""
    async with get_database().unit_of_work() as session:
        await session.execute(update(Message).where(Message.id == message_id).values(**values))
        if outbox_id is not None:
            await session.execute(
                update(outbox.OutboxMessage)
                .where(outbox.OutboxMessage.id == outbox_id)
                .values(payload={"message_id": message_id})
            )
        message = await session.get(Message, message_id)
        if message is not None:
            _announce(session, message)


async def _give_up(message_id: int, outbox_id: int, provider: str | None, error: str) -> None:
    values: dict[str, Any] = {"status": MessageStatus.FAILED, "error": error[:500], "failed_at": utc_now()}
    if provider is not None:
        values["provider"] = provider
    await _settle(message_id, outbox_id=outbox_id, **values)


def _send_before(claimed: ClaimedMessage) -> datetime | None:
    text = claimed.payload.get(SEND_BEFORE_KEY)
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


async def deliver_message(claimed: ClaimedMessage) -> None:
    """The outbox handler: hand the message to the first provider that takes it."""
    try:
        message_id = int(claimed.payload["message_id"])
    except (KeyError, TypeError, ValueError) as error:
        raise PermanentFailure(f"outbox message {claimed.id} names no message") from error
    async with get_database().read_only() as session:
        message = await session.get(Message, message_id)
        if message is None:
            raise PermanentFailure(f"message {message_id} is gone")
        if message.status != MessageStatus.QUEUED:
            return  # handed over on an earlier attempt whose settle was lost
        text = await template_text(
            session, message.organization_id, message.event, message.language, message.channel
        )
        delivery_token = await _delivery_webhook_token(session, message.organization_id)
    send_before = _send_before(claimed)
    if send_before is not None and utc_now() >= send_before:
        await _give_up(message_id, claimed.id, None, "not sent: it expired before a provider took it")
        raise PermanentFailure(f"message {message_id} expired before it could be sent")
    body, subject = message.body, message.subject
    variables = {key: str(value) for key, value in message.variables.items()}
    if templates.event_spec(message.event).secret_variables & variables.keys():
        # The row holds the masked text; the real one was sealed into this job.
        try:
            content = sealed.unseal(message_id, str(claimed.payload[SEALED_KEY]))
        except (KeyError, sealed.SealBroken) as error:
            await _give_up(message_id, claimed.id, None, "not sent: its code can no longer be read")
            raise PermanentFailure(f"message {message_id}: {error}") from error
        body, subject = str(content["body"]), content.get("subject")
        variables.update({key: str(value) for key, value in dict(content["variables"]).items()})
    problems: list[str] = []
    for provider in providers_for(message.channel):
        code = text.provider_template_codes.get(provider.name)
        attempt = OutgoingMessage(
            message_id=message.id,
            channel=Channel(message.channel),
            to=message.to_address,
            body=body,
            subject=subject,
            event=message.event,
            template_params=variables,
            numbered_params=templates.numbered_values(text.numbered_parameters, variables),
            provider_template_code=str(code) if code else None,
            delivery_webhook_url=(
                webhook_url(get_settings().base_url, provider.name, "delivery", delivery_token)
                if delivery_token
                else None
            ),
        )
        try:
            result = await provider.send(attempt)
        except MessageRejected as error:
            if error.permanent:
                await _give_up(message_id, claimed.id, provider.name, f"{provider.name}: {error}")
                raise PermanentFailure(f"{provider.name} refused message {message_id}: {error}") from error
            problems.append(f"{provider.name}: {error}")
        except ProviderUnavailable as error:
            problems.append(f"{provider.name} unavailable: {error}")
        else:
            await _settle(
                message_id,
                outbox_id=claimed.id,
                status=MessageStatus.SENT,
                provider=provider.name,
                provider_message_id=result.provider_message_id,
                error=None,
                sent_at=utc_now(),
            )
            return
    summary = "; ".join(problems) or "no provider for this channel"
    if claimed.is_last_attempt:
        await _give_up(message_id, claimed.id, None, summary)
    else:
        await _settle(message_id, error=summary[:500])
    raise RetryLater(summary)


async def _delivery_webhook_token(session: AsyncSession, organization_id: int) -> str | None:
    """The organization's webhook token for providers told per message where to report
    (Twilio); None while Kassa does not know its public address (``KASSA_PUBLIC_URL``)."""
    if not get_settings().public_url:
        return None
    return await webhook_token(session, organization_id)


async def requeue_for_resend(session: AsyncSession, payload: Mapping[str, Any]) -> None:
    """A dead send job is sent again (``kassa.deliveries``): its message waits again, so
    the handler sends it instead of taking it for one already handed over. A one-time
    code's sealed text is gone by then: such a message fails again, as it should."""
    try:
        message_id = int(payload["message_id"])
    except (KeyError, TypeError, ValueError):
        return
    await session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == MessageStatus.FAILED)
        .values(status=MessageStatus.QUEUED, error=None, failed_at=None)
    )


def register_notification_handlers(handlers: dict[str, Handler]) -> None:
    handlers[SEND_KIND] = deliver_message


# --- delivery reports and replies ---------------------------------------------------------


async def record_delivery_reports(
    session: AsyncSession, organization_id: int, provider: str, reports: Sequence[DeliveryReport]
) -> int:
    """Mark the organization's messages sent by ``provider`` delivered or failed (a report
    about anyone else's is ignored); returns how many were found."""
    found = 0
    for report in reports:
        query = select(Message).where(
            Message.organization_id == organization_id, Message.provider == provider
        )
        if report.our_message_id is not None:
            query = query.where(Message.id == report.our_message_id)
        elif report.provider_message_id:
            query = query.where(Message.provider_message_id == report.provider_message_id)
        else:
            continue
        message = await session.scalar(query)
        if message is None:
            continue
        found += 1
        if report.status == DeliveryStatus.DELIVERED:
            message.status = MessageStatus.DELIVERED
            message.delivered_at = utc_now()
        else:
            message.status = MessageStatus.FAILED
            message.failed_at = utc_now()
            message.error = (report.error or "not delivered")[:500]
        _announce(session, message)
    return found


# A capability that sent a message about ``subject_type`` answers its replies:
# (session, the inbound message, the message it answers) -> what was done, for the log.
ReplyHandler = Callable[[AsyncSession, InboundMessage, Message], Awaitable[str]]
# Replies that answer nothing in particular (e.g. STOP): -> what was done, or None.
UnmatchedHandler = Callable[[AsyncSession, InboundMessage], Awaitable[str | None]]

_reply_handlers: dict[str, ReplyHandler] = {}
_unmatched_handlers: list[UnmatchedHandler] = []


def register_reply_handler(subject_type: str, handler: ReplyHandler) -> None:
    _reply_handlers[subject_type] = handler


def register_unmatched_handler(handler: UnmatchedHandler) -> None:
    if handler not in _unmatched_handlers:
        _unmatched_handlers.append(handler)


def reply_code_in(text: str) -> str | None:
    match = re.search(rf"(?<!\d)(\d{{{REPLY_CODE_DIGITS}}})(?!\d)", text)
    return match.group(1) if match else None


def new_reply_code() -> str:
    return f"{secrets.randbelow(10**REPLY_CODE_DIGITS):0{REPLY_CODE_DIGITS}d}"


async def _answered_message(
    session: AsyncSession, organization_id: int, phone: str, text: str
) -> Message | None:
    """The message a reply answers: the sender's newest one from the organization awaiting a
    reply, narrowed by the code quoted in the text. Several awaiting and no code: no guess."""
    query = (
        select(Message)
        .where(
            Message.organization_id == organization_id,
            Message.to_address == phone,
            Message.reply_code.is_not(None),
            Message.created_at >= utc_now() - REPLY_WINDOW,
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
    )
    candidates = list((await session.scalars(query)).all())
    code = reply_code_in(text)
    if code is not None:
        quoted = [message for message in candidates if message.reply_code == code]
        if quoted:
            return quoted[0]
    subjects = {(message.subject_type, message.subject_id) for message in candidates}
    return candidates[0] if len(subjects) == 1 else None


async def receive_inbound(
    session: AsyncSession, organization_id: int, provider: str, items: Sequence[InboundSms]
) -> list[InboundMessage]:
    """Record replies that came by the organization's webhook and pass each to whoever
    waits for it among the organization's messages. A repeated webhook (the same provider
    message id) is recorded once."""
    regions = list(
        (
            await session.scalars(
                select(Store.phone_region).where(Store.organization_id == organization_id).distinct()
            )
        ).all()
    )
    recorded: list[InboundMessage] = []
    for item in items:
        if item.provider_message_id:
            seen = await session.scalar(
                select(InboundMessage).where(
                    InboundMessage.organization_id == organization_id,
                    InboundMessage.provider == provider,
                    InboundMessage.provider_message_id == item.provider_message_id,
                )
            )
            if seen is not None:
                recorded.append(seen)
                continue
        phone = _inbound_phone(item.from_number, regions)
        inbound = InboundMessage(
            organization_id=organization_id,
            provider=provider,
            provider_message_id=item.provider_message_id,
            from_address=phone,
            body=item.body[:1000],
            received_at=item.received_at,
        )
        session.add(inbound)
        await session.flush()
        answered = await _answered_message(session, organization_id, phone, item.body)
        if answered is not None:
            inbound.message_id = answered.id
            inbound.store_id = answered.store_id
            handler = _reply_handlers.get(answered.subject_type or "")
            inbound.outcome = (await handler(session, inbound, answered)) if handler else "recorded"
        else:
            for unmatched in _unmatched_handlers:
                outcome = await unmatched(session, inbound)
                if outcome:
                    inbound.outcome = outcome
                    break
        if inbound.store_id is not None:
            publish_after_commit(
                session,
                Event(store_topic(inbound.store_id), "message.reply", {"inbound_id": inbound.id}),
            )
        recorded.append(inbound)
    return recorded


async def simulate_reply(
    session: AsyncSession, actor: Actor, store: Store, from_number: str, body: str
) -> InboundMessage:
    """A customer's reply typed in the back office, as if the built-in log provider had
    received it: lets the demo run the whole return flow without a real SMS gateway."""
    actor.require(Permission.BACK_OFFICE)
    actor.require_store(store.id)
    if not any(provider.name == "log" for provider in sms_providers()):
        raise Conflict("replies are simulated only with the built-in log provider", field="from")
    phone = normalize_phone(from_number, store.phone_region, field="from")
    item = InboundSms(
        provider="log",
        from_number=phone,
        to_number=None,
        body=body,
        received_at=utc_now(),
        provider_message_id=None,
        raw={"simulated_by_staff_id": actor.staff_id},
    )
    (inbound,) = await receive_inbound(session, store.organization_id, "log", [item])
    audit.record(session, actor, "message.simulated_reply", "inbound_message", inbound.id, store_id=store.id)
    return inbound


# --- one-time codes -----------------------------------------------------------------------


def _code_hash(phone: str, purpose: str, code: str) -> str:
    key = get_settings().resolved_secret_key().encode()
    return hmac.new(key, f"{phone}|{purpose}|{code}".encode(), hashlib.sha256).hexdigest()


async def issue_otp(
    session: AsyncSession, *, store: Store, phone: str, purpose: str, cause: Cause
) -> OtpCode:
    """Send a 6-digit code to ``phone`` (E.164); at most ``OTP_MAX_SENDS_PER_HOUR`` an hour.

    Only a keyed hash of the code is kept, and the message log shows it masked: nobody,
    staff included, can read a code afterwards; only the provider receives it."""
    sent_lately = await session.scalar(
        select(func.count())
        .select_from(OtpCode)
        .where(OtpCode.phone == phone, OtpCode.created_at >= utc_now() - timedelta(hours=1))
    )
    if (sent_lately or 0) >= OTP_MAX_SENDS_PER_HOUR:
        raise TooManyRequests(
            f"{OTP_MAX_SENDS_PER_HOUR} codes were sent to this number in the last hour; try later",
            field="phone",
        )
    code = f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"
    otp = OtpCode(
        organization_id=store.organization_id,
        phone=phone,
        purpose=purpose,
        code_hash=_code_hash(phone, purpose, code),
        expires_at=utc_now() + OTP_TTL,
    )
    session.add(otp)
    await session.flush()
    message = await queue_message(
        session,
        store=store,
        to=phone,
        event="verification_code",
        variables={"code": code, "minutes": str(int(OTP_TTL.total_seconds() // 60))},
        cause=cause,
        subject=("otp", otp.id),
        # A code that arrives after it expired only confuses: then it is not sent at all.
        send_before=otp.expires_at,
    )
    otp.message_id = message.id
    return otp


@dataclass(frozen=True)
class OtpCheck:
    ok: bool
    problem: str | None = None
    remaining_attempts: int = 0


async def check_otp(session: AsyncSession, *, phone: str, purpose: str, code: str) -> OtpCheck:
    """Check a code against the newest live one for ``phone`` and ``purpose``. A wrong code
    counts (the caller commits that even when it then refuses); a right one is used up."""
    otp = await session.scalar(
        select(OtpCode)
        .where(
            OtpCode.phone == phone,
            OtpCode.purpose == purpose,
            OtpCode.consumed_at.is_(None),
            OtpCode.expires_at > utc_now(),
        )
        .order_by(OtpCode.created_at.desc(), OtpCode.id.desc())
        .limit(1)
        .with_for_update()
    )
    if otp is None:
        return OtpCheck(False, "no valid code: it expired or was never sent; ask for a new one")
    if otp.attempts >= OTP_MAX_ATTEMPTS:
        return OtpCheck(False, "too many wrong codes; ask for a new one")
    if not hmac.compare_digest(otp.code_hash, _code_hash(phone, purpose, code.strip())):
        otp.attempts += 1
        remaining = OTP_MAX_ATTEMPTS - otp.attempts
        return OtpCheck(False, f"wrong code ({remaining} tries left)", remaining)
    otp.consumed_at = utc_now()
    return OtpCheck(True)


# --- templates and the message log (back office) ------------------------------------------


@dataclass(frozen=True)
class TemplateView:
    event: str
    description: str
    language: str
    channel: str
    body: str
    subject: str | None
    variables: tuple[str, ...]
    provider_template_codes: dict[str, Any]
    # The variables that the numbered parameters {1}, {2}, ... of a provider template
    # receive (Tencent Cloud); stated by the organization, or the order its text uses them.
    numbered_parameters: tuple[str, ...]
    has_own_numbered_parameters: bool
    is_custom: bool


async def list_templates(
    session: AsyncSession, actor: Actor, channel: str = Channel.SMS
) -> list[TemplateView]:
    """Every event in every language, the organization's own text where it has one."""
    actor.require(Permission.SETTINGS_MANAGE)
    own = {
        (row.event, row.language): row
        for row in (
            await session.scalars(
                select(MessageTemplate).where(
                    MessageTemplate.organization_id == actor.organization_id,
                    MessageTemplate.channel == channel,
                )
            )
        ).all()
    }
    views: list[TemplateView] = []
    for spec in templates.EVENTS.values():
        for language in templates.LANGUAGES:
            text = _template_text(spec, language, channel, own.get((spec.name, language)))
            views.append(
                TemplateView(
                    event=spec.name,
                    description=spec.description,
                    language=language,
                    channel=channel,
                    body=text.body,
                    subject=text.subject if text.is_custom else (spec.subjects or {}).get(language),
                    variables=tuple(spec.variables),
                    provider_template_codes=text.provider_template_codes,
                    numbered_parameters=text.numbered_parameters,
                    has_own_numbered_parameters=text.has_own_numbered_parameters,
                    is_custom=text.is_custom,
                )
            )
    return views


async def template_view(
    session: AsyncSession, actor: Actor, *, event: str, language: str, channel: str = Channel.SMS
) -> TemplateView:
    for view in await list_templates(session, actor, channel):
        if (view.event, view.language) == (event, language):
            return view
    raise NotFound(f"no template for {event!r} in {language!r}", field="event")


async def save_template(
    session: AsyncSession,
    actor: Actor,
    *,
    event: str,
    language: str,
    body: str,
    channel: str = Channel.SMS,
    subject: str | None = None,
    provider_template_codes: Mapping[str, str] | None = None,
    numbered_parameters: Sequence[str] | None = None,
) -> MessageTemplate:
    """The organization's own text of an event in a language; ``numbered_parameters`` name
    the variable each number {1}, {2}, ... of the provider's registered template receives
    (None: the order the text uses them). Only the event's variables are allowed."""
    actor.require(Permission.SETTINGS_MANAGE)
    if language not in templates.LANGUAGES:
        raise ValidationFailed(f"language is one of {', '.join(templates.LANGUAGES)}", field="language")
    if channel not in (Channel.SMS, Channel.EMAIL):
        raise ValidationFailed("channel is sms or email", field="channel")
    templates.check_text(event, body)
    if subject:
        templates.check_text(event, subject, field="subject")
    if numbered_parameters is not None:
        templates.check_numbered_parameters(event, numbered_parameters)
    row = await session.scalar(
        select(MessageTemplate).where(
            MessageTemplate.organization_id == actor.organization_id,
            MessageTemplate.event == event,
            MessageTemplate.language == language,
            MessageTemplate.channel == channel,
        )
    )
    before = {"body": row.body, "numbered_parameters": row.numbered_parameters} if row else None
    if row is None:
        row = MessageTemplate(
            organization_id=actor.organization_id, event=event, language=language, channel=channel, body=body
        )
        session.add(row)
    row.body = body
    row.subject = subject
    row.provider_template_codes = dict(provider_template_codes or {})
    row.numbered_parameters = list(numbered_parameters) if numbered_parameters is not None else None
    row.updated_at = utc_now()
    row.updated_by_staff_id = actor.staff_id
    await session.flush()
    audit.record(
        session,
        actor,
        "message_template.save",
        "message_template",
        row.id,
        before=before,
        after={"body": body, "numbered_parameters": row.numbered_parameters},
    )
    return row


async def reset_template(
    session: AsyncSession, actor: Actor, *, event: str, language: str, channel: str
) -> None:
    """Back to the built-in text."""
    actor.require(Permission.SETTINGS_MANAGE)
    row = await session.scalar(
        select(MessageTemplate).where(
            MessageTemplate.organization_id == actor.organization_id,
            MessageTemplate.event == event,
            MessageTemplate.language == language,
            MessageTemplate.channel == channel,
        )
    )
    if row is not None:
        audit.record(
            session, actor, "message_template.reset", "message_template", row.id, before={"body": row.body}
        )
        await session.delete(row)


@dataclass(frozen=True)
class LoggedMessage:
    message: Message
    replies: tuple[InboundMessage, ...]


async def message_log(
    session: AsyncSession,
    actor: Actor,
    store_id: int,
    *,
    status: MessageStatus | None = None,
    to: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[LoggedMessage]:
    """The store's messages, newest first, each with the replies it got."""
    actor.require(Permission.BACK_OFFICE)
    actor.require_store(store_id)
    query = select(Message).where(Message.store_id == store_id)
    if status is not None:
        query = query.where(Message.status == status)
    if to:
        query = query.where(Message.to_address.contains(to.strip()))
    query = query.order_by(Message.created_at.desc(), Message.id.desc()).limit(min(limit, 500)).offset(offset)
    messages = list((await session.scalars(query)).all())
    replies: dict[int, list[InboundMessage]] = {}
    if messages:
        rows = await session.scalars(
            select(InboundMessage)
            .where(InboundMessage.message_id.in_([message.id for message in messages]))
            .order_by(InboundMessage.received_at)
        )
        for reply in rows:
            assert reply.message_id is not None
            replies.setdefault(reply.message_id, []).append(reply)
    return [LoggedMessage(message, tuple(replies.get(message.id, ()))) for message in messages]


async def unmatched_replies(session: AsyncSession, actor: Actor, store_id: int) -> Sequence[InboundMessage]:
    """Replies no message could be found for (shown so a person can deal with them)."""
    actor.require(Permission.BACK_OFFICE)
    actor.require_store(store_id)
    customers = select(Message.to_address).where(Message.store_id == store_id)
    return (
        await session.scalars(
            select(InboundMessage)
            .where(
                InboundMessage.organization_id == actor.organization_id,
                InboundMessage.message_id.is_(None),
                InboundMessage.from_address.in_(customers),
            )
            .order_by(InboundMessage.received_at.desc())
            .limit(100)
        )
    ).all()
