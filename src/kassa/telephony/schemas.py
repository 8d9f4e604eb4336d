"""The phone assistant's API models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field

from kassa.core.schemas import Id, Line, RequestModel, Version
from kassa.orders.models import BillStatus, OrderType
from kassa.telephony.models import CallOutcome


class PairingCodeOut(BaseModel):
    code: str = Field(description="Six digits the phone types in; good once")
    register_id: int
    expires_at: datetime


class PairIn(RequestModel):
    code: Line = Field(max_length=20, description="The pairing code the register shows")
    device_name: Line = Field(max_length=200, description="What the phone is called, e.g. 'Front desk phone'")


class PairOut(BaseModel):
    token: str = Field(description="The phone's token for 'Authorization: Bearer'; shown this once only")
    assistant_id: int
    store_id: int
    store_name: str
    register_id: int
    register_name: str


class CallIn(RequestModel):
    number: Line = Field(
        max_length=200,
        description="The caller's number in any format ('+86 138 0013 8000', '138-0013-8000'); "
        "empty or 'anonymous' when withheld",
    )
    external_call_id: Line | None = Field(
        default=None,
        max_length=100,
        description="The PBX's id of the call: a repeated notification with it is the same call "
        "(an Idempotency-Key header does the same and wins)",
    )


class CallerOut(BaseModel):
    id: int
    name: str
    card_number: str


class CallNotifiedOut(BaseModel):
    call_id: int
    is_repeat: bool = Field(description="The same notification again: the first call, nothing popped up")
    register_id: int
    register_name: str
    number: str
    phone_e164: str | None = Field(description="None: the number is no valid phone number")
    member: CallerOut | None = Field(description="The member with this number, if any")


class CallOut(BaseModel):
    id: int
    store_id: int
    register_id: int
    register_name: str
    assistant_id: int
    assistant_name: str
    received_at: datetime
    number: str
    phone_e164: str | None
    member_id: int | None
    member_name: str | None
    outcome: CallOutcome | None
    handled_at: datetime | None
    handled_by_staff_id: int | None
    bill_id: int | None
    parked_bill_id: int | None
    details: dict[str, Any]
    is_ringing: bool = Field(description="No outcome yet, and not missed yet")
    is_missed: bool = Field(description="Nobody acted on it in time: call back")


class OrderItemOut(BaseModel):
    name: str
    quantity: int


class PastOrderOut(BaseModel):
    bill_id: int
    store_id: int
    number: int
    order_type: OrderType
    status: BillStatus
    opened_at: datetime
    amount: int
    currency: str
    items: list[OrderItemOut]


class UsualItemOut(BaseModel):
    product_id: int
    name: str
    bill_count: int
    usual_quantity: int


class CallDetailOut(CallOut):
    member: CallerOut | None
    last_orders: list[PastOrderOut] = Field(description="The caller's newest open or paid bills")
    usual_items: list[UsualItemOut] = Field(description="What the caller usually orders")
    can_repeat: bool = Field(description="A paid order exists to repeat")


class CallAction(StrEnum):
    IGNORE = "ignore"
    SELECT_CUSTOMER = "select_customer"
    NEW_ORDER = "new_order"
    ADD_CUSTOMER = "add_customer"
    REPEAT_LAST_ORDER = "repeat_last_order"
    RESERVATION_MADE = "reservation_made"
    CALLED_BACK = "called_back"


class NewCustomerIn(RequestModel):
    phone: Line = Field(max_length=40)
    name: Line = Field(max_length=200)
    privacy_policy_accepted: bool
    privacy_policy_version: Line = Field(max_length=100)
    marketing_sms: bool = False


class CallActionIn(RequestModel):
    action: CallAction
    bill_id: Id | None = Field(
        default=None,
        description="select_customer, new_order, add_customer: the bill the register has open (none: "
        "a new takeaway bill)",
    )
    version: Version | None = Field(default=None, description="The version of that bill the register shows")
    new_order: bool = Field(
        default=False, description="add_customer: park the open bill and open a new one for them"
    )
    customer: NewCustomerIn | None = Field(default=None, description="add_customer: who signs up")
    reservation_id: Id | Annotated[Line, Field(max_length=40)] | None = Field(
        default=None, description="reservation_made: the reservation"
    )


class SkippedLineOut(BaseModel):
    product_id: int
    name: str
    quantity: int
    reason: str = Field(description="sold_out, unavailable or open_price")


class CallActionOut(BaseModel):
    call: CallOut
    bill_id: int | None
    bill_version: int | None
    parked_bill_id: int | None
    member_id: int | None
    skipped: list[SkippedLineOut] = Field(description="repeat_last_order: lines left out")


class AssistantOut(BaseModel):
    id: int
    name: str
    store_id: int
    register_id: int
    register_name: str
    paired_at: datetime
    paired_by_staff_id: int | None
    last_call_at: datetime | None
    revoked_at: datetime | None
