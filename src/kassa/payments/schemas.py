from __future__ import annotations

from pydantic import BaseModel, Field

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
