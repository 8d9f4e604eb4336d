from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kassa.core.schemas import (
    Amount,
    BasisPoints,
    Id,
    Line,
    PriceAmount,
    Quantity,
    RequestModel,
    Text,
    Version,
)
from kassa.orders.models import BillStatus, LineStatus, OrderType
from kassa.payments.models import PaymentStatus, Tender


class BillOpen(RequestModel):
    order_type: OrderType
    table_id: Id | None = None
    guest_count: int | None = Field(default=None, ge=1, le=100)
    delivery_address: Text | None = Field(default=None, max_length=300)
    delivery_phone: Line | None = Field(default=None, max_length=40)
    note: Text = Field(default="", max_length=500)


class Versioned(RequestModel):
    version: Version = Field(ge=1, description="The bill version you saw; a stale one is a 409")


class LineAdd(Versioned):
    product_id: Id
    quantity: Quantity = 1
    modifier_option_ids: list[Id] = Field(default_factory=list, max_length=50)
    open_price_amount: PriceAmount | None = Field(
        default=None, description="Open-price items: the typed amount"
    )
    note: Text = Field(default="", max_length=300)


class LineQuantity(Versioned):
    quantity: Quantity


class LineNote(Versioned):
    note: Text = Field(max_length=300)


class LineVoid(Versioned):
    reason: Line = Field(default="", max_length=200, description="Required once the kitchen has the line")
    quantity: int | None = Field(
        default=None,
        ge=1,
        le=999,
        description="How many of the line to void (at most its quantity); none: the whole line",
    )


class Approval(RequestModel):
    approver_staff_id: Id
    approver_pin: Line = Field(pattern=r"^\d{4,6}$", max_length=6)


class DiscountIn(Versioned):
    basis_points: BasisPoints | None = Field(default=None, description="1000 = 10 %")
    fixed_amount: Amount | None = None
    reason: Line = Field(min_length=1, max_length=200)
    approval: Approval | None = None


class MemberAttach(Versioned):
    member_id: Id | None = Field(description="The member to attach; null takes the member off the bill")


class UrgentIn(Versioned):
    is_urgent: bool


class TableMove(Versioned):
    table_id: Id


class MergeIn(Versioned):
    source_bill_id: Id
    source_version: Version = Field(ge=1)


class SplitLine(RequestModel):
    line_id: Id
    quantity: Quantity


class SplitByLines(Versioned):
    lines: list[SplitLine] = Field(min_length=1)


class SplitEvenly(Versioned):
    parts: int = Field(ge=1, le=50)


class ModifierOut(BaseModel):
    group_name: str
    name: str
    option_id: int
    price_delta_amount: int


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    product_id: int
    name: str
    name_translations: dict[str, Any]
    sku: str
    quantity: int
    unit_price_amount: int
    modifiers: list[ModifierOut]
    note: str
    vat_rate_code: str
    discount_amount: int
    discount_reason: str | None
    total_amount: int
    status: LineStatus
    kitchen_station: str | None
    sent_to_kitchen_at: datetime | None
    void_reason: str | None


class PaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    bill_id: int
    tender: Tender
    status: PaymentStatus
    amount: int
    currency: str
    tendered_amount: int | None
    change_amount: int
    split_share_index: int | None
    approval_code: str | None
    provider: str | None
    out_trade_no: str | None
    qr_code: str | None
    failure_reason: str | None
    created_at: datetime


class VatRowOut(BaseModel):
    code: str
    rate_basis_points: int
    gross_amount: int
    vat_amount: int
    net_amount: int


class BillOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    store_id: int
    register_id: int
    number: int
    business_date: date
    order_type: OrderType
    status: BillStatus
    version: int
    currency: str
    table_id: int | None
    guest_count: int | None
    pickup_code: str | None
    delivery_address: str | None
    delivery_phone: str | None
    member_id: int | None
    note: str
    is_urgent: bool
    is_parked: bool
    subtotal_amount: int
    discount_amount: int
    discount_reason: str | None
    member_discount_label: str | None
    member_discount_basis_points: int | None
    member_discount_amount: int
    total_amount: int
    rounding_amount: int
    paid_amount: int
    amount_due: int
    split_shares: list[int] | None
    opened_by_staff_id: int
    opened_at: datetime
    closed_at: datetime | None
    receipt_url: str
    lines: list[LineOut] = Field(default_factory=list)
    payments: list[PaymentOut] = Field(default_factory=list)
    vat: list[VatRowOut] = Field(default_factory=list)


class BillSummary(BaseModel):
    """A row of the open-bills list and the order queue."""

    id: int
    number: int
    order_type: OrderType
    version: int
    table_id: int | None
    pickup_code: str | None
    is_urgent: bool
    is_parked: bool
    opened_by_staff_id: int
    opened_at: datetime
    age_minutes: int
    total_amount: int
    amount_due: int


class OrderQueueOut(BaseModel):
    dine_in: list[BillSummary]
    takeaway: list[BillSummary]
    delivery: list[BillSummary]
    online: list[BillSummary]


class KitchenTicketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    station: str
    line_ids: list[int]
    created_at: datetime
