"""The members API: a round trip, and 4xx answers as problem+json naming the field."""

from __future__ import annotations

from typing import Any

import httpx

from kassa.core.auth import Role
from tests.shop import Shop, new_key

PROBLEM_JSON = "application/problem+json"


def _signup(phone: str = "138 0013 8000", **extra: Any) -> dict[str, Any]:
    return {
        "phone": phone,
        "name": "Li Na",
        "privacy_policy_accepted": True,
        "privacy_policy_version": "2026-11",
        **extra,
    }


async def _request(
    shop: Shop, method: str, path: str, body: dict[str, Any] | None = None, role: Role = Role.CASHIER
) -> httpx.Response:
    headers = await shop.login(role)
    return await shop.client.request(method, f"/api/v1{path}", json=body, headers=headers)


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


async def test_register_find_change_and_consent_round_trip(shop: Shop) -> None:
    # register
    created = await shop.call(
        "POST",
        "/members",
        _signup(
            email="li@example.com",
            birthday="1990-05-17",
            gender="female",
            tags=["vip"],
            marketing_sms_opt_in=True,
        ),
        expect=201,
    )
    assert created["phone"] == "+8613800138000"
    assert created["registered_at_store_id"] == shop.store_id
    assert created["registered_by_staff_id"] == shop.staff_ids[Role.CASHIER]
    assert created["registration_source"] == "register"
    assert (created["birthday"], created["gender"], created["tags"]) == ("1990-05-17", "female", ["vip"])
    assert created["marketing_sms_opt_in"] is True
    member_id = created["id"]
    # find, by every kind of query, also as a waiter
    for query in ("+86 138-0013-8000", "0086 13800138000", "8000", created["card_number"], "li n"):
        found = await shop.call("GET", f"/members?q={query.replace('+', '%2B')}", role=Role.WAITER)
        assert [item["id"] for item in found] == [member_id], query
    assert await shop.call("GET", f"/members/{member_id}", role=Role.CASHIER) == created
    # a waiter sees the name and card, not the contact details
    assert await shop.call("GET", f"/members/{member_id}", role=Role.WAITER) == {
        **created,
        "phone": "•••• 8000",
        "email": None,
        "birthday": None,
        "gender": "unspecified",
        "address": None,
        "notes": "",
        "contacts_visible": False,
    }
    # change
    changed = await shop.call("PATCH", f"/members/{member_id}", {"name": "Li Na 李娜", "email": None})
    assert (changed["name"], changed["email"], changed["tags"]) == ("Li Na 李娜", None, ["vip"])
    # consent
    consent = await shop.call(
        "POST", f"/members/{member_id}/consents", {"kind": "marketing_sms", "is_granted": False}, expect=201
    )
    assert (consent["kind"], consent["is_granted"], consent["source"]) == ("marketing_sms", False, "register")
    assert consent["recorded_by_staff_id"] == shop.staff_ids[Role.CASHIER]
    history = await shop.call("GET", f"/members/{member_id}/consents")
    assert [(item["kind"], item["is_granted"]) for item in history] == [
        ("marketing_sms", False),
        ("marketing_sms", True),
        ("privacy_policy", True),
    ]
    assert (await shop.call("GET", f"/members/{member_id}"))["marketing_sms_opt_in"] is False


async def test_the_same_number_in_another_format_is_409_naming_phone(shop: Shop) -> None:
    first = await shop.call("POST", "/members", _signup("13800138000"), expect=201)
    response = await _request(shop, "POST", "/members", _signup("+86 138-0013-8000", name="Someone else"))
    body = _problem(response, 409, "conflict")
    assert body["errors"] == [{"field": "phone", "reason": "a member with this phone number exists already"}]
    assert body["member_id"] == first["id"]


async def test_an_invalid_number_is_422_naming_phone(shop: Shop) -> None:
    body = _problem(await _request(shop, "POST", "/members", _signup("12345")), 422, "validation_failed")
    assert [error["field"] for error in body["errors"]] == ["phone"]


async def test_refusing_the_privacy_policy_is_422_naming_the_field(shop: Shop) -> None:
    response = await _request(shop, "POST", "/members", _signup(privacy_policy_accepted=False))
    body = _problem(response, 422, "validation_failed")
    assert [error["field"] for error in body["errors"]] == ["privacy_policy_accepted"]


async def test_missing_fields_are_422_naming_each(shop: Shop) -> None:
    response = await _request(shop, "POST", "/members", {"phone": "13800138000"})
    body = _problem(response, 422, "validation_failed")
    assert {error["field"] for error in body["errors"]} == {
        "name",
        "privacy_policy_accepted",
        "privacy_policy_version",
    }


async def test_a_required_field_cannot_be_cleared(shop: Shop) -> None:
    member = await shop.call("POST", "/members", _signup(), expect=201)
    body = _problem(
        await _request(shop, "PATCH", f"/members/{member['id']}", {"name": None}), 422, "validation_failed"
    )
    assert [error["field"] for error in body["errors"]] == ["name"]


async def test_a_waiter_may_not_register_members(shop: Shop) -> None:
    body = _problem(
        await _request(shop, "POST", "/members", _signup(), role=Role.WAITER), 403, "permission_denied"
    )
    assert body["permission"] == "member.manage"


async def test_an_unknown_member_is_404_naming_member_id(shop: Shop) -> None:
    body = _problem(await _request(shop, "GET", "/members/999999"), 404, "not_found")
    assert [error["field"] for error in body["errors"]] == ["member_id"]


async def test_a_privacy_consent_without_its_version_is_422(shop: Shop) -> None:
    member = await shop.call("POST", "/members", _signup(), expect=201)
    response = await _request(
        shop, "POST", f"/members/{member['id']}/consents", {"kind": "privacy_policy", "is_granted": True}
    )
    body = _problem(response, 422, "validation_failed")
    assert [error["field"] for error in body["errors"]] == ["policy_version"]


async def test_members_need_a_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/members?q=8000")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON


async def test_a_repeated_sign_up_with_the_same_key_returns_the_first_member(shop: Shop) -> None:
    key = new_key()
    first = await shop.call("POST", "/members", _signup(), key=key, expect=201)
    again = await shop.call("POST", "/members", _signup(), key=key, expect=201)
    assert again == first


async def test_a_search_limit_outside_its_range_is_422(shop: Shop) -> None:
    body = _problem(await _request(shop, "GET", "/members?q=8000&limit=0"), 422, "validation_failed")
    assert [error["field"] for error in body["errors"]] == ["limit"]
