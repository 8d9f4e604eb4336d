"""Reservations tests: the shop of the bill tests plus a terrace (small joinable tables and a
booth that cannot be joined), the log SMS provider and the worker with a movable clock of
the returns tests, and helpers to book through the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Role
from kassa.core.database import utc_now
from kassa.floor import service as floor
from kassa.members.service import CURRENT_PRIVACY_POLICY_VERSION
from kassa.stores.models import Store
from tests.returns.conftest import Worker, sms, worker
from tests.shop import Shop

__all__ = ["Worker", "sms", "worker"]

ZONE = ZoneInfo("Asia/Shanghai")  # the shop's store (tests/factories.make_store)
PHONE = "+8613800138000"


def tomorrow() -> date:
    return (utc_now().astimezone(ZONE) + timedelta(days=1)).date()


def local(day: date, clock: str) -> datetime:
    """``day`` at ``clock`` ("19:00") in the store's zone."""
    hours, minutes = (int(part) for part in clock.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=ZONE)


async def deliver(worker: Worker) -> int:
    """Run the worker for what is due: at its clock, or now if the clock is behind (the
    fixture's clock starts before the test books anything)."""
    worker.clock.moment = max(worker.clock.moment, utc_now() + timedelta(seconds=1))
    return await worker.run()


@dataclass
class Floor:
    """Hall: T1-T4 (4 seats each). Terrace: P1-P3 (2 seats, joinable), B1 (6 seats, a booth)."""

    shop: Shop
    tables: dict[str, int]

    def ids(self, *names: str) -> list[int]:
        return [self.tables[name] for name in names]

    async def book(
        self,
        clock: str = "19:00",
        *,
        day: date | None = None,
        expect: int | None = 201,
        role: Role = Role.CASHIER,
        **fields: Any,
    ) -> dict[str, Any]:
        """Book through the API: tomorrow at ``clock``, 王女士, a party of 2, unless told."""
        body: dict[str, Any] = {
            "party_size": 2,
            "starts_at": local(day or tomorrow(), clock).isoformat(),
            "customer_name": "王女士",
            **fields,
        }
        path = f"/stores/{self.shop.store_id}/reservations"
        return await self.shop.call("POST", path, body, expect=expect, role=role)

    async def member(self, name: str = "王女士", phone: str = "13800138000") -> dict[str, Any]:
        return await self.shop.call(
            "POST",
            "/members",
            {
                "phone": phone,
                "name": name,
                "privacy_policy_accepted": True,
                "privacy_policy_version": CURRENT_PRIVACY_POLICY_VERSION,
            },
            expect=201,
        )


@pytest.fixture
async def terrace(shop: Shop, session: AsyncSession) -> Floor:
    store = await session.get(Store, shop.store_id)
    assert store is not None
    actor = Actor.system(store.organization_id, store_id=store.id)
    area = await floor.create_area(session, actor, store.id, "Terrace", sort_order=1)
    tables = {f"T{index}": table_id for index, table_id in enumerate(shop.table_ids, start=1)}
    for name, seats, is_joinable in (("P1", 2, True), ("P2", 2, True), ("P3", 2, True), ("B1", 6, False)):
        table = await floor.create_table(session, actor, area.id, name, seats=seats, is_joinable=is_joinable)
        tables[name] = table.id
    await session.commit()
    return Floor(shop, tables)
