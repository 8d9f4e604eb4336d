"""A member books a table in the portal: the free times, booking one (as themselves, from the
portal), a time taken meanwhile, their reservations still to come, and cancelling their own
but nobody else's. The shop's hall has four tables of four (tests/shop.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from tests.portal.conftest import Portal, new_phone
from tests.reservations.conftest import local, tomorrow

SLOTS = "/reservations/slots"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def _slots(portal: Portal, headers: dict[str, str], party_size: int, day: date | None = None) -> Any:
    response = await portal.me(
        headers, path=SLOTS, params={"day": (day or tomorrow()).isoformat(), "party_size": party_size}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _book(
    portal: Portal,
    headers: dict[str, str],
    clock: str,
    *,
    party_size: int = 2,
    expect: int = 201,
    **extra: Any,
) -> dict[str, Any]:
    body = {"starts_at": local(tomorrow(), clock).isoformat(), "party_size": party_size, **extra}
    response = await portal.me(headers, "POST", "/reservations", json=body)
    assert response.status_code == expect, response.text
    return dict(response.json())


async def _member_id(portal: Portal, headers: dict[str, str]) -> int:
    response = await portal.me(headers)
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


async def test_a_member_sees_the_free_times_and_books_one_as_themselves(portal: Portal) -> None:
    headers = await portal.sign_up(new_phone(), name="李雷")
    free = await _slots(portal, headers, 4)
    slots = [_at(slot) for slot in free["slots"]]
    assert (free["store_id"], free["party_size"], free["duration_minutes"]) == (portal.store_id, 4, 90)
    assert slots[0] == local(tomorrow(), "11:00")
    assert slots[-1] == local(tomorrow(), "21:00")
    assert len(slots) == 41  # every 15 minutes
    assert free["slots"][0].endswith("+08:00")  # the store's time

    booked = await _book(portal, headers, "19:00", party_size=4, notes="靠窗")
    assert _at(booked["starts_at"]) == local(tomorrow(), "19:00")
    assert booked["starts_at"].endswith("+08:00")
    assert (booked["status"], booked["party_size"], booked["notes"], booked["can_cancel"]) == (
        "booked",
        4,
        "靠窗",
        True,
    )
    assert len(booked["table_names"]) == 1
    assert booked["store_name"]

    # the store sees the member's booking, from the portal
    seen = await portal.shop.call("GET", f"/reservations/{booked['id']}")
    assert (seen["member_id"], seen["customer_name"], seen["source"]) == (
        await _member_id(portal, headers),
        "李雷",
        "portal",
    )
    assert seen["history"][0]["changed_by"] == "member portal"


async def test_a_time_taken_meanwhile_is_a_conflict(portal: Portal) -> None:
    headers = await portal.sign_up(new_phone())
    assert local(tomorrow(), "19:00") in [_at(slot) for slot in (await _slots(portal, headers, 4))["slots"]]
    # meanwhile the staff fill the hall at 19:00
    for _table in range(4):
        await portal.shop.call(
            "POST",
            f"/stores/{portal.store_id}/reservations",
            {"party_size": 4, "starts_at": local(tomorrow(), "19:00").isoformat(), "customer_name": "王女士"},
            expect=201,
        )
    problem = await _book(portal, headers, "19:00", party_size=4, expect=409)
    assert problem["code"] == "conflict"
    assert problem["errors"][0]["field"] == "starts_at"
    slots = [_at(slot) for slot in (await _slots(portal, headers, 4))["slots"]]
    assert local(tomorrow(), "19:00") not in slots
    assert local(tomorrow(), "17:30") in slots  # ends at 19:00 sharp


async def test_only_offered_times_and_sensible_parties(portal: Portal) -> None:
    headers = await portal.sign_up(new_phone())
    problem = await _book(portal, headers, "19:07", expect=422)
    assert problem["errors"][0]["field"] == "starts_at"
    problem = await _book(portal, headers, "19:00", party_size=0, expect=422)
    assert problem["errors"][0]["field"] == "party_size"
    response = await portal.me(headers, path=SLOTS, params={"day": "tomorrow", "party_size": 2})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "day"
    response = await portal.me(
        headers, path=SLOTS, params={"day": tomorrow().isoformat(), "party_size": 2, "store_id": 999999}
    )
    assert response.status_code == 404, response.text
    assert response.json()["errors"][0]["field"] == "store_id"


async def test_a_member_lists_and_cancels_their_own_reservations_only(portal: Portal) -> None:
    headers = await portal.sign_up(new_phone())
    later = await _book(portal, headers, "20:00", party_size=2)
    sooner = await _book(portal, headers, "12:00", party_size=3)
    response = await portal.me(headers, path="/reservations")
    assert response.status_code == 200, response.text
    listed = response.json()
    assert [item["id"] for item in listed] == [sooner["id"], later["id"]]  # soonest first
    assert [item["party_size"] for item in listed] == [3, 2]
    assert all(item["table_names"] and item["status"] == "booked" for item in listed)

    stranger = await portal.sign_up(new_phone(), name="Someone Else")
    assert (await portal.me(stranger, path="/reservations")).json() == []
    response = await portal.me(stranger, "POST", f"/reservations/{sooner['id']}/cancel")
    assert response.status_code == 404, response.text
    assert response.json()["errors"][0]["field"] == "reservation_id"
    response = await portal.me(stranger, "POST", "/reservations/999999/cancel")
    assert response.status_code == 404

    response = await portal.me(headers, "POST", f"/reservations/{sooner['id']}/cancel")
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["can_cancel"]) == ("cancelled", False)
    again = await portal.me(headers, "POST", f"/reservations/{sooner['id']}/cancel")
    assert again.status_code == 409, again.text
    assert again.json()["errors"][0]["field"] == "status"
    statuses = {
        item["id"]: item["status"] for item in (await portal.me(headers, path="/reservations")).json()
    }
    assert statuses == {sooner["id"]: "cancelled", later["id"]: "booked"}
    seen = await portal.shop.call("GET", f"/reservations/{sooner['id']}")
    assert (seen["status"], seen["history"][-1]["changed_by"]) == ("cancelled", "member portal")


async def test_booking_needs_a_portal_login(portal: Portal) -> None:
    client = portal.client
    day = tomorrow().isoformat()
    assert (
        await client.get(f"/api/v1/portal/me/reservations/slots?day={day}&party_size=2")
    ).status_code == 401
    assert (await client.get("/api/v1/portal/me/reservations")).status_code == 401
    body = {"starts_at": local(tomorrow(), "19:00").isoformat(), "party_size": 2}
    assert (await client.post("/api/v1/portal/me/reservations", json=body)).status_code == 401
    staff = await portal.shop.login()
    assert (await client.get("/api/v1/portal/me/reservations", headers=staff)).status_code == 401
