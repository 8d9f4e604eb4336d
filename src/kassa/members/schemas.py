from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kassa.core.schemas import Day, Id, Line, RequestModel, Tag, Text
from kassa.members.analytics import SpendGrouping
from kassa.members.models import ConsentKind, ConsentSource, Gender, RegistrationSource
from kassa.orders.models import BillStatus, OrderType
from kassa.returns.models import RefundState, ReturnStatus


class MemberCreate(RequestModel):
    phone: Line = Field(min_length=1, max_length=40, description="Any format; read in the store's region")
    name: Line = Field(min_length=1, max_length=100)
    email: Line | None = Field(default=None, max_length=254)
    birthday: Day | None = None
    gender: Gender = Gender.UNSPECIFIED
    address: Text | None = Field(default=None, max_length=300)
    notes: Text = Field(default="", max_length=1000)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    store_id: Id | None = Field(default=None, description="Where the member signs up; default: your store")
    privacy_policy_accepted: bool = Field(description="The customer accepted the privacy policy")
    privacy_policy_version: Line = Field(min_length=1, max_length=40, description="The version they accepted")
    marketing_sms_opt_in: bool = Field(default=False, description="They agreed to marketing SMS")


class MemberUpdate(RequestModel):
    """Only the fields sent change; ``null`` clears email, birthday or address."""

    phone: Line | None = Field(default=None, min_length=1, max_length=40)
    name: Line | None = Field(default=None, min_length=1, max_length=100)
    email: Line | None = Field(default=None, max_length=254)
    birthday: Day | None = None
    gender: Gender | None = None
    address: Text | None = Field(default=None, max_length=300)
    notes: Text | None = Field(default=None, max_length=1000)
    tags: list[Tag] | None = Field(default=None, max_length=20)

    @field_validator("phone", "name", "gender", "notes", "tags")
    @classmethod
    def not_null(cls, value: object) -> object:
        # Runs only for fields that were sent: these can change but not be cleared.
        if value is None:
            raise ValueError("may not be null")
        return value


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    phone: str = Field(validation_alias="phone_e164", description="E.164")
    card_number: str
    name: str
    email: str | None
    birthday: date | None
    gender: Gender
    address: str | None
    notes: str
    tags: list[str]
    marketing_sms_opt_in: bool
    registered_at_store_id: int
    registered_by_staff_id: int | None
    registration_source: RegistrationSource
    created_at: datetime
    updated_at: datetime
    contacts_visible: bool = Field(
        default=True,
        description="False: you may not read contact details (member.contacts_view); the phone "
        "shows its last 4 digits and e-mail, birthday, gender, address and notes are left out",
    )


class PhoneChangeCodeIn(RequestModel):
    phone: Line = Field(min_length=1, max_length=40, description="The new number, any format")


class PhoneChangeCodeOut(BaseModel):
    message_id: int
    sent_to: str = Field(description="The member's current number, masked")


class PhoneChangeIn(RequestModel):
    phone: Line = Field(min_length=1, max_length=40, description="The new number, any format")
    code: Line | None = Field(
        default=None,
        max_length=12,
        description="The code texted to the current number; not needed with member.phone_change",
    )


class ConsentIn(RequestModel):
    kind: ConsentKind
    is_granted: bool
    policy_version: Line | None = Field(
        default=None, max_length=40, description="Required when the privacy policy is accepted"
    )


class ConsentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    member_id: int
    kind: ConsentKind
    is_granted: bool
    policy_version: str | None
    source: ConsentSource
    recorded_at: datetime
    recorded_by_staff_id: int | None


# --- profile, list, import and analytics --------------------------------------------------


class MemberFiguresOut(BaseModel):
    """Totals over the member's closed bills: paid = total + cash rounding; total spend =
    paid less succeeded refunds; a visit is a closed bill. Amounts in minor units."""

    model_config = ConfigDict(from_attributes=True)

    visits: int
    paid_amount: int
    refunded_amount: int
    total_spend_amount: int
    average_bill_amount: int | None
    first_visit_at: datetime | None
    last_visit_at: datetime | None


class FavouriteItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    product_id: int
    name: str
    quantity: int
    bill_count: int


class BillReturnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    return_id: int
    status: ReturnStatus
    amount: int
    refund_state: RefundState
    requested_at: datetime


class HistoryBillOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    bill_id: int
    store_id: int
    store_name: str
    business_date: date
    number: int
    order_type: OrderType
    status: BillStatus
    currency: str
    amount: int = Field(description="Paid (total + cash rounding) on a closed bill; the total on an open one")
    refunded_amount: int = Field(description="Succeeded refunds on the bill")
    opened_at: datetime
    closed_at: datetime | None
    returns: list[BillReturnOut]


class MemberProfileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    member: MemberOut
    currency: str
    figures: MemberFiguresOut
    favourites: list[FavouriteItemOut]
    history: list[HistoryBillOut] = Field(description="Newest first, one page")
    history_total: int


class UsualItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    product_id: int
    name: str
    bill_count: int
    usual_quantity: int


class MemberListItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    member: MemberOut
    figures: MemberFiguresOut


class MemberPageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    items: list[MemberListItemOut]
    total: int
    offset: int
    limit: int


class ImportProblemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    row: int
    column: str
    reason: str


class MemberImportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    created: int
    skipped: list[ImportProblemOut] = Field(description="Duplicates left out")
    problems: list[ImportProblemOut] = Field(description="Rows not imported (all_or_nothing=false only)")


class WeekCountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    week_start: date
    count: int


class SpendGroupOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str = Field(description="The tier (empty: no tier) or the registration store")
    store_id: int | None
    members: int
    visits: int
    spend_amount: int


class ActiveMembersOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    days: int
    members: int


class MemberAnalyticsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    today: date
    weeks: int
    period_start: date
    currency: str
    members_total: int
    new_members: list[WeekCountOut]
    new_members_in_period: int
    active_members: list[ActiveMembersOut]
    visiting_members: int
    repeat_members: int
    repeat_rate: Decimal | None = Field(description="Members with 2+ visits / with 1+, in the period")
    spend_grouping: SpendGrouping
    spend_groups: list[SpendGroupOut]
