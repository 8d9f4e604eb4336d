from __future__ import annotations

from pydantic import BaseModel, Field

from kassa.orders.models import OrderType
from kassa.payments.models import Tender


class PaymentIn(BaseModel):
    version: int = Field(ge=1, description="The bill version you saw")
    tender: Tender
    amount: int | None = Field(default=None, gt=0, description="Default: all that is due (or the share)")
    split_share_index: int | None = Field(default=None, ge=0)
    tendered_amount: int | None = Field(default=None, gt=0, description="Cash handed over")
    approval_code: str | None = Field(default=None, max_length=40, description="Card terminal approval code")
    payment_code: str | None = Field(
        default=None,
        max_length=32,
        description="WeChat Pay / Alipay: the customer's code; omit for a QR code",
    )
    close_when_paid: bool = True


class PaymentVoid(BaseModel):
    version: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=200)


class SaleLineIn(BaseModel):
    product_id: int
    quantity: int = Field(default=1, ge=1, le=999)
    modifier_option_ids: list[int] = Field(default_factory=list, max_length=50)
    note: str = Field(default="", max_length=300)


class SaleTenderIn(BaseModel):
    tender: Tender
    amount: int | None = Field(default=None, gt=0)
    tendered_amount: int | None = Field(default=None, gt=0)
    approval_code: str | None = Field(default=None, max_length=40)


class SaleIn(BaseModel):
    """A whole counter sale: lines and the tenders that pay it (the last takes what is due)."""

    order_type: OrderType = OrderType.TAKEAWAY
    lines: list[SaleLineIn] = Field(min_length=1, max_length=200)
    tenders: list[SaleTenderIn] = Field(min_length=1, max_length=10)
