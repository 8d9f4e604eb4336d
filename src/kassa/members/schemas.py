from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kassa.members.models import ConsentKind, ConsentSource, Gender, RegistrationSource


class MemberCreate(BaseModel):
    phone: str = Field(min_length=1, max_length=40, description="Any format; read in the store's region")
    name: str = Field(min_length=1, max_length=100)
    email: str | None = Field(default=None, max_length=254)
    birthday: date | None = None
    gender: Gender = Gender.UNSPECIFIED
    address: str | None = Field(default=None, max_length=300)
    notes: str = Field(default="", max_length=1000)
    tags: list[str] = Field(default_factory=list, max_length=20)
    store_id: int | None = Field(default=None, description="Where the member signs up; default: your store")
    privacy_policy_accepted: bool = Field(description="The customer accepted the privacy policy")
    privacy_policy_version: str = Field(min_length=1, max_length=40, description="The version they accepted")
    marketing_sms_opt_in: bool = Field(default=False, description="They agreed to marketing SMS")


class MemberUpdate(BaseModel):
    """Only the fields sent change; ``null`` clears email, birthday or address."""

    phone: str | None = Field(default=None, min_length=1, max_length=40)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    email: str | None = Field(default=None, max_length=254)
    birthday: date | None = None
    gender: Gender | None = None
    address: str | None = Field(default=None, max_length=300)
    notes: str | None = Field(default=None, max_length=1000)
    tags: list[str] | None = Field(default=None, max_length=20)

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


class ConsentIn(BaseModel):
    kind: ConsentKind
    is_granted: bool
    policy_version: str | None = Field(
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
