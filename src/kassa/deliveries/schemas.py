from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from kassa.core.outbox import OutboxStatus


class DeliveryOut(BaseModel):
    """A message Kassa sends (a print job, an SMS, a provider call): what, when, why."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    store_id: int
    kind: str = Field(description="e.g. print.document, notification.send, refund.execute")
    subject: str = Field(description="What it is about (a receipt's bill number and printer); never its text")
    status: OutboxStatus
    attempts: int
    last_error: str | None = Field(description="Why the last attempt failed")
    created_at: datetime = Field(description="When it was queued")
    sent_at: datetime | None
