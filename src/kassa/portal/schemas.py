from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kassa.core.schemas import Day, Id, Line, LocalMoment, RequestModel, Text
from kassa.members.models import ConsentKind, ConsentSource
from kassa.orders.models import BillStatus
from kassa.reservations.models import ReservationStatus


class PortalStoreOut(BaseModel):
    store_id: int
    name: str
    phone_region: str
    locale: str
    privacy_policy_version: str = Field(description="The version a newcomer accepts")


class CodeRequest(RequestModel):
    phone: Line = Field(min_length=1, max_length=40, description="Any format; read in the store's region")


class CodeRequested(BaseModel):
    phone: str = Field(description="The number the code went to (E.164)")
    expires_at: datetime


class CodeVerify(RequestModel):
    phone: Line = Field(min_length=1, max_length=40)
    code: Line = Field(min_length=1, max_length=12, description="The 6 digits texted")


class PasswordLogin(RequestModel):
    phone: Line = Field(min_length=1, max_length=40)
    password: Line = Field(min_length=1, max_length=128)


class RegistrationIn(RequestModel):
    registration_ticket: Line = Field(min_length=1, max_length=200, description="From verify-code")
    name: Line = Field(min_length=1, max_length=100)
    email: Line | None = Field(default=None, max_length=254)
    birthday: Day | None = None
    privacy_policy_accepted: bool
    privacy_policy_version: Line = Field(min_length=1, max_length=40)
    marketing_sms_opt_in: bool = False


class LoginOut(BaseModel):
    """A session (``token``), or, for a verified number that is no member yet,
    ``registration_required`` with the ticket to sign up with."""

    registration_required: bool = False
    token: str | None = None
    expires_at: datetime | None = None
    member_id: int | None = None
    phone: str | None = None
    registration_ticket: str | None = None


class CouponOut(BaseModel):
    name: str
    description: str
    valid_until: date | None


class LoyaltyOut(BaseModel):
    tier_name: str | None
    points: int
    balance_amount: int | None
    currency: str | None
    coupons: list[CouponOut]
    next_tier_name: str | None
    points_to_next_tier: int | None


class MeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    card_number: str
    name: str
    phone: str = Field(validation_alias="phone_e164", description="E.164")
    email: str | None
    birthday: date | None
    address: str | None
    marketing_sms_opt_in: bool
    created_at: datetime
    has_password: bool = False
    loyalty: LoyaltyOut | None = Field(default=None, description="null until loyalty is available")


class ProfileUpdate(RequestModel):
    """Only the fields sent change; ``null`` clears email, birthday or address."""

    name: Line | None = Field(default=None, min_length=1, max_length=100)
    email: Line | None = Field(default=None, max_length=254)
    birthday: Day | None = None
    address: Text | None = Field(default=None, max_length=300)

    @field_validator("name")
    @classmethod
    def not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


class ConsentIn(RequestModel):
    kind: ConsentKind
    is_granted: bool
    policy_version: Line | None = Field(default=None, max_length=40)


class ConsentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: ConsentKind
    is_granted: bool
    policy_version: str | None
    source: ConsentSource
    recorded_at: datetime


class ConsentsOut(BaseModel):
    current_privacy_policy_version: str
    marketing_sms_opt_in: bool
    history: list[ConsentOut]


class PasswordIn(RequestModel):
    password: Line = Field(min_length=1, max_length=128)


class OrderLineOut(BaseModel):
    name: str
    quantity: int
    unit_price_amount: int
    total_amount: int
    modifiers: list[str]


class ReturnOut(BaseModel):
    id: int
    status: str
    requested_at: datetime
    amount: int
    refunded_amount: int
    refund_state: str
    lines: list[dict[str, str | int]]


class OrderOut(BaseModel):
    bill_id: int
    number: str
    store_id: int
    store_name: str
    status: BillStatus
    opened_at: datetime
    closed_at: datetime | None
    currency: str
    total_amount: int
    paid_amount: int
    lines: list[OrderLineOut]
    returns: list[ReturnOut]


class FeedbackIn(RequestModel):
    rating: int = Field(ge=1, le=5)
    text: Text = Field(default="", max_length=1000)
    bill_id: Id | None = Field(default=None, description="One of your orders, if it is about one")


class FeedbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    store_id: int
    bill_id: int | None
    rating: int
    text: str


class StaffFeedbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    rating: int
    text: str
    member_id: int
    member_name: str
    card_number: str
    bill_id: int | None
    bill_number: str | None


class PortalSlotsOut(BaseModel):
    store_id: int
    day: date
    party_size: int
    duration_minutes: int
    slots: list[datetime] = Field(description="Free start times, in the store's time zone")


class PortalReservationIn(RequestModel):
    starts_at: LocalMoment = Field(
        description="One of the free slots; without an offset: the store's time zone"
    )
    party_size: int = Field(ge=1, le=100)
    notes: Text = Field(default="", max_length=500)
    store_id: Id | None = Field(default=None, description="Default: the store the member logged in at")


class PortalReservationOut(BaseModel):
    id: int
    store_id: int
    store_name: str
    status: ReservationStatus
    party_size: int
    starts_at: datetime = Field(description="In the store's time zone")
    ends_at: datetime
    table_names: list[str]
    notes: str
    can_cancel: bool
