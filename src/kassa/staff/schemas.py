from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from kassa.core.auth import Permission, Role
from kassa.core.schemas import Id, Line, RequestModel


class PinLogin(RequestModel):
    register_id: Id
    staff_id: Id
    pin: Line = Field(pattern=r"^\d{4,6}$", max_length=6, description="4 to 6 digits")


class PasswordLogin(RequestModel):
    email: Line = Field(min_length=3, max_length=254)
    password: Line = Field(min_length=1, max_length=200)


class SessionOut(BaseModel):
    token: str
    staff_id: int
    display_name: str
    role: Role
    store_id: int | None
    register_id: int | None
    expires_at: datetime


class StaffCreate(RequestModel):
    display_name: Line = Field(min_length=1, max_length=80)
    role: Role
    pin: Line = Field(pattern=r"^\d{4,6}$", max_length=6, description="4 to 6 digits")
    store_id: Id | None = None
    email: Line | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    password: Line | None = Field(default=None, min_length=10, max_length=200)
    phone: Line | None = Field(default=None, max_length=20)


class StaffOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    display_name: str
    role: Role
    store_id: int | None
    email: str | None
    is_active: bool
    locked_until: datetime | None
    granted_permissions: list[str] = Field(description="Given on top of the role")
    withheld_permissions: list[str] = Field(description="Taken away from the role")


class StaffPermissionsIn(RequestModel):
    """Replaces the permissions given and withheld on top of the role."""

    granted: list[Permission] = Field(default_factory=list, max_length=len(Permission))
    withheld: list[Permission] = Field(default_factory=list, max_length=len(Permission))


class StaffPermissionsOut(StaffOut):
    permissions: list[str] = Field(description="What the staff member may do now")


class CredentialsReset(RequestModel):
    pin: Line | None = Field(default=None, pattern=r"^\d{4,6}$", max_length=6, description="4 to 6 digits")
    password: Line | None = Field(default=None, min_length=10, max_length=200)


class StaffTile(BaseModel):
    """What a register's PIN pad shows before anyone is logged in."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    display_name: str
    role: Role


class Me(BaseModel):
    staff_id: int | None
    display_name: str
    role: Role | None
    organization_id: int
    store_id: int | None
    register_id: int | None
    permissions: list[str]
