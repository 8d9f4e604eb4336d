"""The phone assistant under concurrent requests with real commits: two screens acting on
one call, one notification sent several times at once, two phones typing one code.

Like ``tests/orders/test_concurrency.py`` these need several connections, so they commit
and empty every table afterwards."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Select, func, select

from kassa.core.database import Database
from kassa.orders.models import Bill
from kassa.telephony.models import PhoneAssistant, PhoneCall
from tests.shop import Shop
from tests.telephony.conftest import call_in, make_member, pair, pair_phone, pairing_code, ring


async def _count(database: Database, query: Select[Any]) -> int:
    async with database.read_only() as session:
        return int(await session.scalar(query) or 0)


async def test_two_screens_acting_on_one_call_make_one_bill(
    committed_shop: Shop, migrated_database: Database
) -> None:
    shop = committed_shop
    member = await make_member(shop)
    token = await pair_phone(shop)
    call = await call_in(shop, token, "13800138000")
    headers = await shop.login()

    responses = await asyncio.gather(
        *(
            shop.client.post(
                f"/api/v1/telephony/calls/{call['call_id']}/actions", json={"action": action}, headers=headers
            )
            # (repeating the last order needs one; this member has none, so it is left out)
            for action in ("select_customer", "new_order", "ignore", "select_customer")
        )
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(200) == 1, [response.text for response in responses]
    assert all(
        response.json()["code"] == "call_handled" for response in responses if response.status_code != 200
    )
    query = select(func.count(Bill.id)).where(Bill.member_id == member["id"])
    winner = next(response for response in responses if response.status_code == 200)
    assert await _count(migrated_database, query) == (
        0 if winner.json()["call"]["outcome"] == "ignored" else 1
    )


async def test_one_notification_sent_at_once_several_times_is_one_call(
    committed_shop: Shop, migrated_database: Database
) -> None:
    shop = committed_shop
    await make_member(shop)
    token = await pair_phone(shop)

    responses = await asyncio.gather(*(ring(shop, token, "13800138000", key="pbx-77") for _ in range(4)))

    assert sorted(response.status_code for response in responses) == [200, 200, 200, 201]
    assert len({response.json()["call_id"] for response in responses}) == 1
    assert await _count(migrated_database, select(func.count(PhoneCall.id))) == 1


async def test_two_phones_typing_one_code_at_once_pair_one(
    committed_shop: Shop, migrated_database: Database
) -> None:
    shop = committed_shop
    code = await pairing_code(shop)

    responses = await asyncio.gather(pair(shop, code, "Phone A"), pair(shop, code, "Phone B"))

    assert sorted(response.status_code for response in responses) == [201, 409]
    assert await _count(migrated_database, select(func.count(PhoneAssistant.id))) == 1
