"""Seating a reservation opens its bill; the floor shows reserved tables; no-shows."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Role
from kassa.core.database import utc_now
from kassa.reservations import service
from kassa.stores.models import Store
from tests.reservations.conftest import Floor


def _soon(minutes: int) -> datetime:
    return utc_now().replace(second=0, microsecond=0) + timedelta(minutes=minutes)


async def _actor(session: AsyncSession, floor: Floor) -> Actor:
    store = await session.get(Store, floor.shop.store_id)
    assert store is not None
    return Actor.system(store.organization_id, store_id=store.id)


async def test_seating_opens_a_bill_on_the_first_table_with_the_member(terrace: Floor) -> None:
    shop = terrace.shop
    member = await terrace.member()
    booked = await terrace.book(party_size=4, member_id=member["id"], table_ids=terrace.ids("P2", "P1"))
    seated = await shop.call("POST", f"/reservations/{booked['id']}/seat")
    assert seated["reservation"]["status"] == "seated"
    assert seated["table_id"] == terrace.tables["P2"]
    bill = await shop.call("GET", f"/bills/{seated['bill_id']}")
    assert (bill["status"], bill["order_type"], bill["table_id"], bill["guest_count"]) == (
        "open",
        "dine_in",
        terrace.tables["P2"],
        4,
    )
    assert bill["member_id"] == member["id"]
    assert seated["reservation"]["bill_id"] == bill["id"]
    assert [row["to_status"] for row in seated["reservation"]["history"]] == ["booked", "seated"]
    # seated once: a second tap is refused, and no second bill opens
    problem = await shop.call("POST", f"/reservations/{booked['id']}/seat", expect=409)
    assert problem["reservation_status"] == "seated"
    assert len(await shop.call("GET", f"/stores/{shop.store_id}/bills/open")) == 1


async def test_a_guest_who_is_no_member_is_named_in_the_bill_note(terrace: Floor) -> None:
    shop = terrace.shop
    booked = await terrace.book(customer_name="Mr Zhang", customer_phone="13900139000", notes="high chair")
    seated = await shop.call("POST", f"/reservations/{booked['id']}/seat")
    bill = await shop.call("GET", f"/bills/{seated['bill_id']}")
    assert bill["member_id"] is None
    # the shop's store speaks Chinese
    assert bill["note"] == f"预订 R{booked['id']}：Mr Zhang · 139 0013 9000 · high chair"


async def test_seating_at_a_table_with_an_open_bill_changes_nothing(terrace: Floor) -> None:
    shop = terrace.shop
    booked = await terrace.book(table_ids=terrace.ids("T1"))
    await shop.call(
        "POST", "/bills", {"order_type": "dine_in", "table_id": terrace.tables["T1"], "guest_count": 2}
    )
    problem = await shop.call("POST", f"/reservations/{booked['id']}/seat", expect=409)
    assert problem["errors"][0]["field"] == "table_id"
    assert (await shop.call("GET", f"/reservations/{booked['id']}"))["status"] == "booked"


async def test_a_table_with_an_open_bill_is_not_booked_for_now_but_for_later(terrace: Floor) -> None:
    shop = terrace.shop
    await shop.call(
        "POST", "/bills", {"order_type": "dine_in", "table_id": terrace.tables["T1"], "guest_count": 2}
    )
    problem = await terrace.book(starts_at=_soon(10).isoformat(), table_ids=terrace.ids("T1"), expect=409)
    assert problem["errors"][0]["field"] == "table_ids"
    later = await terrace.book(starts_at=_soon(120).isoformat(), table_ids=terrace.ids("T1"))
    assert later["table_names"] == ["T1"]


async def test_the_floor_shows_a_table_reserved_from_the_hold_before_time(
    terrace: Floor, session: AsyncSession
) -> None:
    actor = await _actor(session, terrace)
    booked = await terrace.book(starts_at=_soon(60).isoformat(), table_ids=terrace.ids("T3"), party_size=4)
    start = _soon(60)
    table = terrace.tables["T3"]
    assert (
        await service.upcoming_reservation_for_table(session, actor, table, start - timedelta(minutes=31))
        is None
    )
    upcoming = await service.upcoming_reservation_for_table(
        session, actor, table, start - timedelta(minutes=30)
    )
    assert upcoming is not None
    assert upcoming.id == booked["id"]
    assert await service.upcoming_reservation_for_table(session, actor, terrace.tables["T4"], start) is None
    # still expected while the guests are less than 30 minutes late
    late = await service.upcoming_reservation_for_table(session, actor, table, start + timedelta(minutes=30))
    assert late is not None
    assert (
        await service.upcoming_reservation_for_table(session, actor, table, start + timedelta(minutes=31))
        is None
    )
    holds = await service.floor_holds(session, actor, terrace.shop.store_id, start - timedelta(minutes=10))
    assert set(holds) == {table}
    assert holds[table].reservation.id == booked["id"]
    assert not holds[table].is_seated
    assert (
        await service.floor_holds(session, actor, terrace.shop.store_id, start - timedelta(minutes=45)) == {}
    )


async def test_joined_tables_of_a_seated_party_stay_reserved_until_the_bill_is_paid(
    terrace: Floor, session: AsyncSession
) -> None:
    shop = terrace.shop
    actor = await _actor(session, terrace)
    booked = await terrace.book(
        starts_at=_soon(5).isoformat(), party_size=6, table_ids=terrace.ids("P1", "P2", "P3")
    )
    seated = await shop.call("POST", f"/reservations/{booked['id']}/seat")
    holds = await service.floor_holds(session, actor, shop.store_id, utc_now())
    assert set(holds) == set(terrace.ids("P2", "P3"))  # P1 has the bill
    assert holds[terrace.tables["P2"]].is_seated
    assert holds[terrace.tables["P2"]].bill_id == seated["bill_id"]
    # their tables are not offered while the party sits there
    problem = await terrace.book(starts_at=_soon(30).isoformat(), table_ids=terrace.ids("P3"), expect=409)
    assert problem["table_ids"] == terrace.ids("P3")
    # once the bill is paid, the tables are free again (and the reservation can be completed)
    bill = await shop.call("GET", f"/bills/{seated['bill_id']}")
    bill = await shop.add(bill, "tart")
    await shop.pay(bill, "cash", tendered_amount=1000)
    assert await service.floor_holds(session, actor, shop.store_id, utc_now()) == {}
    assert (await terrace.book(starts_at=_soon(30).isoformat(), table_ids=terrace.ids("P3")))[
        "status"
    ] == "booked"
    completed = await shop.call("POST", f"/reservations/{booked['id']}/complete")
    assert completed["status"] == "completed"


async def test_a_no_show_is_marked_once_the_guests_are_late_enough(
    terrace: Floor, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = terrace.shop
    start = _soon(10)
    booked = await terrace.book(starts_at=start.isoformat())
    problem = await shop.call("POST", f"/reservations/{booked['id']}/no-show", expect=409)
    assert problem["errors"][0]["field"] == "status"
    assert "30 minutes" in problem["detail"]
    no_show_time = start + timedelta(minutes=30)
    monkeypatch.setattr(service, "utc_now", lambda: no_show_time)
    no_show = await shop.call("POST", f"/reservations/{booked['id']}/no-show", role=Role.WAITER)
    assert no_show["status"] == "no_show"
    assert [(row["from_status"], row["to_status"]) for row in no_show["history"]][-1] == ("booked", "no_show")
    # its table is free for someone else at once
    walk_in = await terrace.book(starts_at=no_show_time.isoformat(), table_ids=booked["table_ids"])
    assert walk_in["status"] == "booked"
