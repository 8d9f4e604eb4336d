from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from kassa.core.auth import Permission
from kassa.core.schemas import Line, RequestModel


class ApiKeyCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=80, description="The integration, e.g. 'Online shop'")
    permissions: list[Permission] = Field(min_length=1, max_length=len(Permission))
    store_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(min_length=1, max_length=1000)


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    display_prefix: str = Field(description="The key's first characters, to tell keys apart")
    permissions: list[str]
    store_ids: list[int]
    created_at: datetime
    created_by_staff_id: int | None
    last_used_at: datetime | None = Field(description="Recorded at most once a minute")
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself: shown this once, never again")
