"""Bookings at once against a real database with real commits: of N bookings of one table
at one time exactly one succeeds; the rest get 409 naming ``table_ids``. (These tests
commit, so they use the committed shop of the bill concurrency tests, which empties every
table afterwards.)"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select

from kassa.core.database import Database
from kassa.reservations.models import Reservation, ReservationTable
from tests.reservations.conftest import local, tomorrow
from tests.shop import Shop

BOOKINGS = 6


async def _book(shop: Shop, body: dict[str, Any], register_index: int) -> httpx.Response:
    headers = await shop.login(register_index=register_index)
    return await shop.client.post(f"/api/v1/stores/{shop.store_id}/reservations", json=body, headers=headers)


async def test_concurrent_bookings_of_one_table_give_one_reservation(
    committed_shop: Shop, migrated_database: Database
) -> None:
    shop = committed_shop
    for register_index in (0, 1):
        await shop.login(register_index=register_index)
    table_id = shop.table_ids[0]
    responses = await asyncio.gather(
        *(
            _book(
                shop,
                {
                    "party_size": 2,
                    "starts_at": local(tomorrow(), "19:00" if index % 2 else "19:30").isoformat(),
                    "customer_name": f"Guest {index}",
                    "table_ids": [table_id],
                },
                index % 2,
            )
            for index in range(BOOKINGS)
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * (BOOKINGS - 1), [response.text for response in responses]
    for response in responses:
        if response.status_code == 409:
            assert response.json()["errors"][0]["field"] == "table_ids"
            assert response.json()["table_ids"] == [table_id]
    async with migrated_database.engine.connect() as connection:
        held = await connection.scalar(
            select(func.count()).select_from(ReservationTable).where(ReservationTable.table_id == table_id)
        )
        reservations = await connection.scalar(select(func.count(Reservation.id)))
    assert (held, reservations) == (1, 1)


async def test_concurrent_bookings_of_different_tables_all_succeed(committed_shop: Shop) -> None:
    shop = committed_shop
    for register_index in (0, 1):
        await shop.login(register_index=register_index)
    responses = await asyncio.gather(
        *(
            _book(
                shop,
                {
                    "party_size": 4,
                    "starts_at": local(tomorrow(), "19:00").isoformat(),
                    "customer_name": f"Guest {index}",
                    "table_ids": [table_id],
                },
                index % 2,
            )
            for index, table_id in enumerate(shop.table_ids)
        )
    )
    assert [response.status_code for response in responses] == [201] * len(shop.table_ids)
