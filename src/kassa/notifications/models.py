"""The message log (every SMS and e-mail Kassa sends), replies, templates and OTP codes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kassa.core.database import Base, IdMixin, IdType, enum_type, utc_now


class MessageStatus(StrEnum):
    QUEUED = "queued"  # written with the business change; the worker has not sent it yet
    SENT = "sent"  # a provider accepted it
    DELIVERED = "delivered"  # the provider's delivery report says it reached the phone
    FAILED = "failed"  # refused for good, or every attempt failed


class Message(IdMixin, Base):
    """One outgoing SMS or e-mail, with who or what caused it and what became of it."""

    __tablename__ = "notification_messages"
    __table_args__ = (
        Index("ix_notification_messages_store_created", "store_id", "created_at"),
        Index("ix_notification_messages_to_reply_code", "to_address", "reply_code"),
        Index("ix_notification_messages_provider_id", "provider", "provider_message_id"),
    )

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"))
    store_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("stores.id"))
    channel: Mapped[str] = mapped_column(String(10))
    event: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(16))
    to_address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # The variables the body was rendered from, for template-based providers (Aliyun, Tencent).
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    segments: Mapped[int] = mapped_column(default=1)
    status: Mapped[MessageStatus] = mapped_column(enum_type(MessageStatus), default=MessageStatus.QUEUED)
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(String(500))
    # Who caused it: a staff member, or a named part of the system ("return.timeout").
    caused_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
    caused_by: Mapped[str] = mapped_column(String(60))
    # What it is about, e.g. ("return", 42): replies are routed back there.
    subject_type: Mapped[str | None] = mapped_column(String(30))
    subject_id: Mapped[int | None] = mapped_column(IdType)
    # A short code the customer quotes in a reply when several messages await one.
    reply_code: Mapped[str | None] = mapped_column(String(8))
    # One message per business event: the same key queued twice is one message.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]


class InboundMessage(IdMixin, Base):
    """An SMS a customer sent us (a reply), and what Kassa did with it."""

    __tablename__ = "notification_inbound"
    __table_args__ = (
        Index("ix_notification_inbound_from_received", "from_address", "received_at"),
        Index("ix_notification_inbound_organization_provider_id", "organization_id", "provider_message_id"),
    )

    # The organization whose webhook URL it came in by: only its messages can be answered.
    # Empty only for replies recorded before webhooks were per organization.
    organization_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("organizations.id"))
    provider: Mapped[str] = mapped_column(String(20))
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    from_address: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(1000))
    received_at: Mapped[datetime] = mapped_column(default=utc_now)
    # The message it answers, when one could be matched.
    message_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("notification_messages.id"))
    store_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("stores.id"))
    outcome: Mapped[str] = mapped_column(String(200), default="unmatched")


class MessageTemplate(IdMixin, Base):
    """An organization's own text for an event in a language (the built-in one otherwise)."""

    __tablename__ = "notification_templates"
    __table_args__ = (UniqueConstraint("organization_id", "event", "language", "channel"),)

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"))
    event: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # The id each template-based provider gave this text, e.g. {"aliyun": "SMS_1234"}.
    provider_template_codes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The variables the provider's numbered parameters {1}, {2}, ... receive, in order
    # (Tencent Cloud); empty (None): the variables in the order the text uses them.
    numbered_parameters: Mapped[list[str] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))


class OtpCode(IdMixin, Base):
    """A one-time code sent to a phone: 6 digits, kept only as a keyed hash."""

    __tablename__ = "notification_otps"
    __table_args__ = (Index("ix_notification_otps_phone_created", "phone", "created_at"),)

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"))
    phone: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(60))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime]
    consumed_at: Mapped[datetime | None]
    message_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("notification_messages.id"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class WebhookRotation(Base):
    """How often an organization's webhook token was replaced: the token is derived from the
    secret key, the organization and this generation, so nothing secret is stored here."""

    __tablename__ = "notification_webhook_rotations"

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"), primary_key=True)
    generation: Mapped[int] = mapped_column(default=0)
    rotated_at: Mapped[datetime] = mapped_column(default=utc_now)
    rotated_by_staff_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("staff_members.id"))
