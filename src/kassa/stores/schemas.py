from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from kassa.core.schemas import Code, Line, RequestModel, Text

MAX_VOID_REASONS = 20


class VatRateIn(RequestModel):
    code: Line = Field(min_length=1, max_length=20)
    label: Line = Field(min_length=1, max_length=60)
    rate_basis_points: int = Field(ge=0, le=10_000, description="600 = 6.00 %")
    is_default: bool = False


class VatRateOut(VatRateIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")


class StoreCreate(RequestModel):
    name: Line = Field(min_length=1, max_length=120)
    address: Text = Field(default="", max_length=300)
    phone: Line = Field(default="", max_length=40)
    currency: Line = Field(pattern=r"^[A-Z]{3}$", max_length=3)
    timezone: Line = Field(min_length=1, max_length=64)
    phone_region: Line = Field(pattern=r"^[A-Z]{2}$", max_length=2)
    locale: Line = Field(min_length=2, max_length=16)
    vat_rates: list[VatRateIn] = Field(min_length=1)


class StoreOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    address: str
    phone: str
    currency: str
    timezone: str
    phone_region: str
    locale: str


class StoreDetail(StoreOut):
    vat_rates: list[VatRateOut]


class RegisterCreate(RequestModel):
    name: Line = Field(min_length=1, max_length=60)


class RegisterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    store_id: int
    name: str


class StoreUpdate(RequestModel):
    name: Line | None = Field(default=None, min_length=1, max_length=120)
    address: Text | None = Field(default=None, max_length=300)
    phone: Line | None = Field(default=None, max_length=40)


class StoreSettingsIn(RequestModel):
    business_day_start_hour: int | None = Field(default=None, ge=0, le=23)
    allow_negative_stock: bool | None = None
    discount_limit_basis_points: int | None = Field(default=None, ge=0, le=10_000)
    kitchen_printers: dict[Code, Annotated[Line, Field(max_length=200)]] | None = Field(
        default=None, max_length=50, description='e.g. {"bar": "tcp://10.0.0.5:9100"}'
    )
    void_reasons: list[Annotated[Line, Field(min_length=1, max_length=80)]] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_VOID_REASONS,
        description="What staff pick from when they void a line the kitchen has",
    )
    cash_requires_open_shift: bool | None = Field(
        default=None, description="Cash is taken or paid out only on a register with an open shift"
    )
    is_drawer_count_blind: bool | None = Field(
        default=None, description="Closing a shift, the drawer is counted without seeing the expected cash"
    )


class StoreSettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    business_day_start_hour: int
    allow_negative_stock: bool
    discount_limit_basis_points: int
    kitchen_printers: dict[str, str]
    void_reasons: list[str]
    cash_requires_open_shift: bool
    is_drawer_count_blind: bool


class RegisterPrinterIn(RequestModel):
    receipt_printer: Line | None = Field(
        default=None, max_length=300, description="tcp://host:9100, or file:///... inside var/printers/"
    )
    auto_print_receipt: bool | None = Field(
        default=None,
        description="Queue the receipt when a sale closes, in the sale's transaction (unset: unchanged)",
    )


class RegisterPrinterOut(RegisterOut):
    receipt_printer: str | None
    auto_print_receipt: bool


class DeviceCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=80, description="e.g. 'Counter tablet'")


class DeviceOut(BaseModel):
    id: int
    name: str
    store_id: int
    store_name: str
    register_id: int
    register_name: str
    created_at: datetime
    created_by_staff_id: int | None
    last_seen_at: datetime | None = Field(description="Recorded at most once a minute")
    revoked_at: datetime | None


class DeviceCreated(DeviceOut):
    token: str = Field(description="Send it as X-Kassa-Device; shown this once, never again")
