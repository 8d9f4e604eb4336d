"""Booking, availability, editing, status history, search and settings through the API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.audit import AuditRecord
from kassa.core.auth import Role
from kassa.core.errors import NotFound, ValidationFailed
from kassa.reservations import service
from tests.factories import actor_of, make_organization, make_staff, make_store
from tests.reservations.conftest import PHONE, Floor, local, tomorrow


async def _options(floor: Floor, clock: str, party_size: int, **query: Any) -> list[list[str]]:
    shop = floor.shop
    params = "&".join(f"{key}={value}" for key, value in query.items())
    starts_at = local(tomorrow(), clock).isoformat().replace("+", "%2B")
    found = await shop.call(
        "GET",
        f"/stores/{shop.store_id}/reservations/tables?starts_at={starts_at}&party_size={party_size}&{params}",
    )
    return [option["table_names"] for option in found]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_a_booking_holds_the_chosen_tables_for_the_default_duration(terrace: Floor) -> None:
    booked = await terrace.book(
        "19:00",
        party_size=4,
        table_ids=terrace.ids("T2"),
        customer_phone="138 0013 8000",
        notes="window, birthday",
        deposit_amount=10000,
    )
    assert booked["status"] == "booked"
    assert (booked["customer_name"], booked["customer_phone"]) == ("王女士", PHONE)
    assert (booked["table_ids"], booked["table_names"]) == (terrace.ids("T2"), ["T2"])
    assert (_at(booked["starts_at"]), _at(booked["ends_at"])) == (
        local(tomorrow(), "19:00"),
        local(tomorrow(), "20:30"),
    )
    assert booked["duration_minutes"] == 90
    assert (booked["deposit_amount"], booked["currency"], booked["notes"]) == (
        10000,
        "CNY",
        "window, birthday",
    )
    assert (booked["source"], booked["bill_id"]) == ("staff", None)
    read = await terrace.shop.call("GET", f"/reservations/{booked['id']}")
    [created] = read["history"]
    assert (created["from_status"], created["to_status"]) == (None, "booked")
    assert created["changed_by_staff_id"] == terrace.shop.staff_ids[Role.CASHIER]


async def test_the_table_picker_offers_tables_that_fit_single_first_then_joined(terrace: Floor) -> None:
    assert await _options(terrace, "19:00", 2) == [
        ["P1"],
        ["P2"],
        ["P3"],
        ["T1"],
        ["T2"],
        ["T3"],
        ["T4"],
        ["B1"],
    ]
    assert await _options(terrace, "19:00", 4) == [
        ["T1"],
        ["T2"],
        ["T3"],
        ["T4"],
        ["P1", "P2"],
        ["P1", "P3"],
        ["P2", "P3"],
        ["B1"],
    ]
    # six: the booth, or three small terrace tables pushed together, or two hall tables
    assert await _options(terrace, "19:00", 6) == [
        ["B1"],
        ["P1", "P2", "P3"],
        ["T1", "T2"],
        ["T1", "T3"],
        ["T1", "T4"],
        ["T2", "T3"],
        ["T2", "T4"],
        ["T3", "T4"],
    ]


async def test_booked_tables_are_not_offered_for_an_overlapping_time(terrace: Floor) -> None:
    await terrace.book("19:00", party_size=4, table_ids=terrace.ids("T1"))
    await terrace.book("18:00", party_size=2, table_ids=terrace.ids("P1", "P2"))
    at_seven = await _options(terrace, "19:00", 4)
    assert ["T1"] not in at_seven
    assert ["P1", "P2"] not in at_seven
    assert ["P2", "P3"] not in at_seven  # P2 is held until 19:30
    # 20:30: T1 is free again (19:00 + 90 minutes ends exactly then)
    assert ["T1"] in await _options(terrace, "20:30", 4)
    assert ["T1"] not in await _options(terrace, "20:29", 4)
    # a booking that would end at 19:00 sharp fits before it
    assert ["T1"] in await _options(terrace, "17:00", 4, duration_minutes=120)
    assert ["T1"] not in await _options(terrace, "17:00", 4, duration_minutes=121)


async def test_a_booking_ending_at_seven_and_one_starting_at_seven_do_not_conflict(terrace: Floor) -> None:
    early = await terrace.book("17:30", table_ids=terrace.ids("T1"))
    late = await terrace.book("19:00", table_ids=terrace.ids("T1"))
    assert early["ends_at"] == late["starts_at"]
    problem = await terrace.book("18:59", table_ids=terrace.ids("T1"), duration_minutes=15, expect=409)
    assert problem["code"] == "conflict"
    assert problem["errors"] == [{"field": "table_ids", "reason": problem["detail"]}]
    assert problem["table_ids"] == terrace.ids("T1")


async def test_two_reservations_never_hold_one_table_at_the_same_time(terrace: Floor) -> None:
    await terrace.book("19:00", party_size=4, table_ids=terrace.ids("P1", "P2"))
    problem = await terrace.book("19:30", party_size=4, table_ids=terrace.ids("P2", "P3"), expect=409)
    assert problem["errors"][0]["field"] == "table_ids"
    assert problem["table_ids"] == terrace.ids("P2")
    assert "P2" in problem["detail"]


async def test_tables_that_do_not_seat_the_party_or_cannot_be_joined_are_refused(terrace: Floor) -> None:
    problem = await terrace.book(party_size=5, table_ids=terrace.ids("T1"), expect=422)
    assert problem["errors"] == [{"field": "table_ids", "reason": "T1 seat 4, not 5"}]
    problem = await terrace.book(party_size=8, table_ids=terrace.ids("P1", "B1"), expect=422)
    assert problem["errors"][0]["reason"] == "B1 cannot be joined with other tables"
    problem = await terrace.book(party_size=6, table_ids=terrace.ids("T1", "P1"), expect=422)
    assert problem["errors"][0]["reason"] == "joined tables must stand in one area"


async def test_without_tables_the_best_fit_is_booked(terrace: Floor) -> None:
    booked = await terrace.book(party_size=6)
    assert booked["table_names"] == ["B1"]
    second = await terrace.book(party_size=6)
    assert second["table_names"] == ["P1", "P2", "P3"]
    assert (await terrace.book(party_size=20, expect=409))["errors"][0]["field"] == "starts_at"


async def test_a_member_booking_takes_the_members_name_and_phone(terrace: Floor) -> None:
    member = await terrace.member("李先生", "139 0013 9000")
    booked = await terrace.book(member_id=member["id"], customer_name="")
    assert (booked["member_id"], booked["customer_name"], booked["customer_phone"]) == (
        member["id"],
        "李先生",
        "+8613900139000",
    )
    assert (await terrace.book(member_id=999999, expect=404))["errors"][0]["field"] == "member_id"


async def test_bad_input_names_the_field(terrace: Floor) -> None:
    assert (await terrace.book(customer_name="  ", expect=422))["errors"][0]["field"] == "customer_name"
    assert (await terrace.book(customer_phone="12", expect=422))["errors"][0]["field"] == "customer_phone"
    assert (await terrace.book(party_size=0, expect=422))["errors"][0]["field"] == "party_size"
    assert (await terrace.book(duration_minutes=5, expect=422))["errors"][0]["field"] == "duration_minutes"
    yesterday = tomorrow() - timedelta(days=2)
    assert (await terrace.book(day=yesterday, expect=422))["errors"][0]["field"] == "starts_at"


async def test_a_time_without_an_offset_is_read_in_the_stores_zone(terrace: Floor) -> None:
    naive = local(tomorrow(), "19:00").replace(tzinfo=None).isoformat()
    booked = await terrace.book(starts_at=naive)
    assert _at(booked["starts_at"]) == local(tomorrow(), "19:00")


async def test_moving_onto_a_booked_table_is_refused_and_to_a_free_time_works(terrace: Floor) -> None:
    shop = terrace.shop
    await terrace.book("19:00", table_ids=terrace.ids("T1"), customer_name="A")
    other = await terrace.book("21:00", table_ids=terrace.ids("T1"), customer_name="B")
    # 19:30 clashes with A's 19:00-20:30
    moved = local(tomorrow(), "19:30").isoformat()
    problem = await shop.call("PATCH", f"/reservations/{other['id']}", {"starts_at": moved}, expect=409)
    assert problem["errors"][0]["field"] == "table_ids"
    unchanged = await shop.call("GET", f"/reservations/{other['id']}")
    assert _at(unchanged["starts_at"]) == local(tomorrow(), "21:00")
    # 20:30 is free (A ends then), and so is another table at 19:30
    free = local(tomorrow(), "20:30").isoformat()
    changed = await shop.call("PATCH", f"/reservations/{other['id']}", {"starts_at": free, "party_size": 3})
    assert (_at(changed["starts_at"]), changed["party_size"]) == (local(tomorrow(), "20:30"), 3)
    changed = await shop.call(
        "PATCH",
        f"/reservations/{other['id']}",
        {"starts_at": moved, "table_ids": terrace.ids("T2"), "duration_minutes": 120, "notes": "late"},
    )
    assert (changed["table_names"], changed["duration_minutes"], changed["notes"]) == (["T2"], 120, "late")
    assert _at(changed["ends_at"]) == local(tomorrow(), "21:30")
    # the booking does not clash with itself: a longer stay on its own table is fine
    longer = await shop.call("PATCH", f"/reservations/{other['id']}", {"duration_minutes": 150})
    assert longer["duration_minutes"] == 150


async def test_a_bigger_party_needs_tables_that_seat_it(terrace: Floor) -> None:
    shop = terrace.shop
    booked = await terrace.book(party_size=2, table_ids=terrace.ids("P1"))
    problem = await shop.call("PATCH", f"/reservations/{booked['id']}", {"party_size": 4}, expect=422)
    assert problem["errors"] == [{"field": "table_ids", "reason": "P1 seat 2, not 4"}]
    joined = await shop.call(
        "PATCH", f"/reservations/{booked['id']}", {"party_size": 4, "table_ids": terrace.ids("P1", "P2")}
    )
    assert joined["table_names"] == ["P1", "P2"]
    assert ["P2"] not in [
        option["table_names"]
        for option in await shop.call(
            "GET",
            f"/stores/{shop.store_id}/reservations/tables?party_size=2"
            f"&starts_at={local(tomorrow(), '19:00').isoformat().replace('+', '%2B')}",
        )
    ]


async def test_every_status_change_is_in_the_history(terrace: Floor) -> None:
    shop = terrace.shop
    booked = await terrace.book()
    await shop.call("POST", f"/reservations/{booked['id']}/confirm")
    cancelled = await shop.call(
        "POST", f"/reservations/{booked['id']}/cancel", {"reason": "called to cancel"}, role=Role.WAITER
    )
    assert cancelled["status"] == "cancelled"
    steps = [(row["from_status"], row["to_status"], row["note"]) for row in cancelled["history"]]
    assert steps == [
        (None, "booked", ""),
        ("booked", "confirmed", ""),
        ("confirmed", "cancelled", "called to cancel"),
    ]
    assert cancelled["history"][2]["changed_by_staff_id"] == shop.staff_ids[Role.WAITER]
    # a cancelled reservation cannot be confirmed, moved or cancelled again; its table is free
    problem = await shop.call("POST", f"/reservations/{booked['id']}/confirm", expect=409)
    assert (problem["errors"][0]["field"], problem["reservation_status"]) == ("status", "cancelled")
    await shop.call("PATCH", f"/reservations/{booked['id']}", {"notes": "x"}, expect=409)
    again = await terrace.book(table_ids=booked["table_ids"])
    assert again["table_ids"] == booked["table_ids"]


async def test_changes_are_audited(terrace: Floor, session: AsyncSession) -> None:
    booked = await terrace.book()
    await terrace.shop.call("PATCH", f"/reservations/{booked['id']}", {"party_size": 1})
    await terrace.shop.call("POST", f"/reservations/{booked['id']}/cancel", {})
    actions = (
        await session.scalars(
            select(AuditRecord.action)
            .where(AuditRecord.entity_type == "reservation", AuditRecord.entity_id == str(booked["id"]))
            .order_by(AuditRecord.id)
        )
    ).all()
    assert list(actions) == ["reservation.book", "reservation.edit", "reservation.status"]


async def test_the_day_lists_its_reservations_by_time_and_search_finds_name_or_phone(terrace: Floor) -> None:
    shop = terrace.shop
    late = await terrace.book("20:00", customer_name="Mr Zhang", customer_phone="13900139000")
    early = await terrace.book("12:00", customer_name="王女士", customer_phone="13800138000")
    await terrace.book("12:00", day=tomorrow() + timedelta(days=1), customer_name="Other day")
    day = await shop.call("GET", f"/stores/{shop.store_id}/reservations?day={tomorrow().isoformat()}")
    assert [row["id"] for row in day] == [early["id"], late["id"]]

    async def found(query: str) -> list[int]:
        rows = await shop.call("GET", f"/stores/{shop.store_id}/reservations/search?q={query}")
        return [row["id"] for row in rows]

    assert await found("zhang") == [late["id"]]
    assert await found("王") == [early["id"]]
    assert await found("138 0013 8000") == [early["id"]]
    assert await found("9000") == [late["id"]]
    assert await found("nobody") == []


async def test_settings_change_the_default_duration_and_only_owners_change_them(terrace: Floor) -> None:
    shop = terrace.shop
    path = f"/stores/{shop.store_id}/reservation-settings"
    assert (await shop.call("GET", path))["default_duration_minutes"] == 90
    await shop.call("PATCH", path, {"default_duration_minutes": 120}, role=Role.MANAGER, expect=403)
    changed = await shop.call(
        "PATCH", path, {"default_duration_minutes": 120, "hold_before_minutes": 45}, role=Role.OWNER
    )
    assert (changed["default_duration_minutes"], changed["hold_before_minutes"]) == (120, 45)
    assert (await terrace.book())["duration_minutes"] == 120
    problem = await shop.call("PATCH", path, {"slot_minutes": 0}, role=Role.OWNER, expect=422)
    assert problem["errors"][0]["field"] == "slot_minutes"


async def test_free_slots_are_public_and_leave_out_times_without_a_table(terrace: Floor) -> None:
    shop = terrace.shop
    day = tomorrow().isoformat()
    response = await shop.client.get(
        f"/api/v1/stores/{shop.store_id}/reservations/availability?day={day}&party_size=6"
    )
    assert response.status_code == 200, response.text
    slots = [_at(slot) for slot in response.json()["slots"]]
    assert slots[0] == local(tomorrow(), "11:00")
    assert slots[-1] == local(tomorrow(), "21:00")
    assert len(slots) == 41  # every 15 minutes
    # take every table that seats six at 19:00: the booth, the terrace three, and the hall
    for tables in (("B1",), ("P1", "P2", "P3"), ("T1", "T2"), ("T3", "T4")):
        await terrace.book("19:00", party_size=6, table_ids=terrace.ids(*tables))
    response = await shop.client.get(
        f"/api/v1/stores/{shop.store_id}/reservations/availability?day={day}&party_size=6"
    )
    times = {_at(slot) for slot in response.json()["slots"]}
    # a 90-minute booking from 17:45 would end after 19:00; one from 17:30 ends at 19:00 sharp
    assert local(tomorrow(), "17:30") in times
    assert local(tomorrow(), "17:45") not in times
    assert local(tomorrow(), "20:15") not in times
    assert local(tomorrow(), "20:30") in times
    assert (
        await shop.client.get(f"/api/v1/stores/999999/reservations/availability?day={day}&party_size=2")
    ).status_code == 404


async def test_a_member_books_one_of_the_free_slots_for_themselves(
    terrace: Floor, session: AsyncSession
) -> None:
    member = await terrace.member()
    slots = await service.free_slots(session, terrace.shop.store_id, tomorrow(), 4)
    reservation = await service.book_for_member(
        session,
        terrace.shop.store_id,
        member["id"],
        starts_at=slots[0],
        party_size=4,
        notes="from the portal",
    )
    assert (reservation.member_id, reservation.customer_name, reservation.customer_phone) == (
        member["id"],
        "王女士",
        PHONE,
    )
    assert (reservation.source, reservation.starts_at) == ("portal", local(tomorrow(), "11:00"))
    [change] = await service.status_changes(session, reservation.id)
    assert (change.changed_by, change.changed_by_staff_id) == ("member portal", None)
    with pytest.raises(ValidationFailed) as refused:
        await service.book_for_member(
            session, terrace.shop.store_id, member["id"], starts_at=local(tomorrow(), "11:07"), party_size=2
        )
    assert refused.value.field == "starts_at"


async def test_staff_of_another_store_see_nothing(terrace: Floor, session: AsyncSession) -> None:
    booked = await terrace.book()
    organization = await make_organization(session, name="Other")
    store = await make_store(session, organization)
    stranger = await make_staff(session, store, role=Role.MANAGER)
    with pytest.raises(NotFound):
        await service.get_reservation(session, actor_of(stranger, store), booked["id"])


@pytest.mark.parametrize(
    ("role", "books", "changes_settings"),
    [
        (Role.OWNER, 201, 200),
        (Role.MANAGER, 201, 403),
        (Role.CASHIER, 201, 403),
        (Role.WAITER, 201, 403),
    ],
)
async def test_who_may_book_and_who_may_change_the_settings(
    terrace: Floor, role: Role, books: int, changes_settings: int
) -> None:
    await terrace.book(role=role, expect=books)
    await terrace.shop.call(
        "PATCH",
        f"/stores/{terrace.shop.store_id}/reservation-settings",
        {"hold_before_minutes": 20},
        role=role,
        expect=changes_settings,
    )


async def test_staff_need_a_login_but_the_free_slots_do_not(terrace: Floor) -> None:
    client = terrace.shop.client
    day = tomorrow().isoformat()
    store_id = terrace.shop.store_id
    assert (await client.get(f"/api/v1/stores/{store_id}/reservations?day={day}")).status_code == 401
    assert (await client.post(f"/api/v1/stores/{store_id}/reservations", json={})).status_code == 401
    free = await client.get(f"/api/v1/stores/{store_id}/reservations/availability?day={day}&party_size=2")
    assert free.status_code == 200
