"""Returns in the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kassa.core.schemas import Amount, Id, Line, LocaleCode, Quantity, RequestModel, Text, Word
from kassa.payments.models import Tender
from kassa.returns.models import Confirmation, ConfirmationMode, RefundState, ReturnStatus, TimeoutAction


class ReturnLineIn(RequestModel):
    line_id: Id
    quantity: Quantity
    was_prepared: bool | None = Field(
        default=None,
        description="Made already (stock is waste, not given back); default: sent to the kitchen",
    )


class ReturnRequestIn(RequestModel):
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=100)
    reason_code: Line = Field(min_length=1, max_length=40)
    reason_text: Text = Field(default="", max_length=500)
    customer_phone: Line | None = Field(default=None, max_length=40)


class ManagerApproval(RequestModel):
    """A manager authorises a return above the threshold: their PIN, or an SMS code."""

    manager_staff_id: Id
    pin: Line | None = Field(default=None, pattern=r"^\d{4,6}$", max_length=6)
    sms_code: Line | None = Field(default=None, pattern=r"^\d{6}$", max_length=6)


class RefundDirectionIn(RequestModel):
    """Send the refund to one tender instead of the original ones (``refund.direct``)."""

    tender: Tender = Field(description="cash, or card when the bill was paid (partly) by card")
    reason: Line = Field(min_length=1, max_length=300, description="e.g. the card terminal is down")


class ApproveIn(RequestModel):
    comment: Text = Field(default="", max_length=500)
    manager: ManagerApproval | None = None
    refund_to: RefundDirectionIn | None = Field(
        default=None, description="Default: back to the bill's tenders in proportion"
    )


class RejectIn(RequestModel):
    comment: Text = Field(min_length=1, max_length=500)


class ManagerCodeIn(RequestModel):
    manager_staff_id: Id


class ResolveIn(RequestModel):
    refund: bool
    comment: Text = Field(min_length=1, max_length=500)


class ReturnLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    bill_line_id: int
    product_id: int
    name: str
    quantity: int
    amount: int
    was_prepared: bool


class RefundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    payment_id: int
    tender: str
    amount: int
    currency: str
    status: str
    is_held: bool
    directed_from_tender: str | None = Field(default=None, description="Set when a manager directed it")
    direction_reason: str | None = None
    register_id: int | None
    approval_code: str | None
    provider_reference: str | None
    failure_reason: str | None
    completed_at: datetime | None


class ReturnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    store_id: int
    bill_id: int
    status: ReturnStatus
    reason_code: str
    reason_text: str
    bill_was_paid: bool
    amount: int
    currency: str
    customer_phone: str | None
    requested_by_staff_id: int
    requested_at: datetime
    reviewed_by_staff_id: int | None
    reviewed_at: datetime | None
    review_comment: str | None
    approval_method: str | None
    manager_staff_id: int | None
    confirmation: Confirmation
    confirmation_due_at: datetime | None
    confirmed_at: datetime | None
    reply_code: str | None
    refund_state: RefundState
    refunded_amount: int
    resolution_comment: str | None
    lines: list[ReturnLineOut]
    refunds: list[RefundOut]


class ReturnSettingsIn(RequestModel):
    reasons: list[dict[str, Any]] | None = None
    manager_threshold_amount: Amount | None = None
    confirmation_mode: ConfirmationMode | None = None
    confirmation_timeout_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    timeout_action: TimeoutAction | None = None
    confirm_words: dict[LocaleCode, list[Word]] | None = Field(default=None, max_length=20)
    dispute_words: dict[LocaleCode, list[Word]] | None = Field(default=None, max_length=20)
    arrival_times: dict[LocaleCode, dict[Word, Word]] | None = Field(default=None, max_length=20)


class ReturnSettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    store_id: int
    reasons: list[dict[str, Any]]
    manager_threshold_amount: int
    confirmation_mode: ConfirmationMode
    confirmation_timeout_minutes: int
    timeout_action: TimeoutAction
    confirm_words: dict[str, Any]
    dispute_words: dict[str, Any]
    arrival_times: dict[str, Any]


class PayOutIn(RequestModel):
    approval_code: Line | None = Field(default=None, max_length=40)
