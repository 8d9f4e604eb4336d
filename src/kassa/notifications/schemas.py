"""Notifications in the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from kassa.core.schemas import Code, Line, RequestModel, Text
from kassa.notifications.models import MessageStatus


class TemplateOut(BaseModel):
    event: str
    description: str
    language: str
    channel: str
    body: str
    subject: str | None
    variables: list[str]
    provider_template_codes: dict[str, Any]
    numbered_parameters: list[str] = Field(
        description="The variable each numbered parameter {1}, {2}, ... of the provider's "
        "template receives (Tencent Cloud)"
    )
    has_own_numbered_parameters: bool = Field(
        description="false: the numbered parameters follow the order the text uses the variables in"
    )
    is_custom: bool
    segments: int
    characters: int


class TemplateIn(RequestModel):
    event: Line = Field(min_length=1, max_length=40)
    language: Line = Field(min_length=2, max_length=16)
    channel: Line = Field(default="sms", pattern="^(sms|email)$", max_length=5)
    body: Text = Field(min_length=1, max_length=2000)
    subject: Line | None = Field(default=None, max_length=200)
    provider_template_codes: dict[Code, Annotated[Line, Field(max_length=100)]] = Field(
        max_length=20,
        default_factory=dict,
        description='Ids the template-based providers gave this text, e.g. {"aliyun": "SMS_1"}',
    )
    numbered_parameters: list[Annotated[str, Field(max_length=40)]] | None = Field(
        default=None,
        max_length=20,
        description="The variable each numbered parameter {1}, {2}, ... of the registered provider "
        'template receives, e.g. ["items", "refund_amount"]; omitted: the order the text uses them in',
    )


class PreviewIn(RequestModel):
    event: Line = Field(min_length=1, max_length=40)
    body: Text = Field(min_length=1, max_length=2000)
    variables: dict[Code, Annotated[Text, Field(max_length=500)]] = Field(default_factory=dict, max_length=50)
    numbered_parameters: list[Annotated[str, Field(max_length=40)]] | None = Field(
        default=None, max_length=20
    )


class NumberedParameterOut(BaseModel):
    number: int
    variable: str
    value: str


class PreviewOut(BaseModel):
    text: str
    encoding: str
    characters: int
    segments: int
    numbered_parameters: list[NumberedParameterOut] = Field(
        description="What each numbered parameter {1}, {2}, ... receives, with the sample values"
    )


class WebhookAddressOut(BaseModel):
    provider: str
    kind: str = Field(description="inbound (customers' replies) or delivery (delivery reports)")
    url: str


class WebhooksOut(BaseModel):
    organization_id: int
    token: str
    addresses: list[WebhookAddressOut]


class ReplyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    from_address: str
    body: str
    received_at: datetime
    outcome: str


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    store_id: int | None
    channel: str
    event: str
    language: str
    to_address: str
    body: str
    segments: int
    status: MessageStatus
    provider: str | None
    provider_message_id: str | None
    error: str | None
    caused_by: str
    caused_by_staff_id: int | None
    subject_type: str | None
    subject_id: int | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    replies: list[ReplyOut] = Field(default_factory=list)


class FreeTextIn(RequestModel):
    to: Line = Field(min_length=3, max_length=40)
    text: Text = Field(min_length=1, max_length=500)


class SimulatedReplyIn(RequestModel):
    """A reply as the built-in log provider receives it (for the demo and tests)."""

    from_: Line = Field(alias="from", min_length=3, max_length=40)
    body: Text = Field(min_length=1, max_length=1000)
