"""What a logged-in member does: see their orders (with returns), edit the profile, change
consents, send feedback the back office sees, export their data and delete the account."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.audit import AuditRecord
from kassa.core.auth import Actor, Role
from kassa.core.database import utc_now
from kassa.core.errors import Conflict, PermissionDenied
from kassa.members import service as members
from kassa.members.models import ConsentKind, ConsentSource, Member, MemberConsent
from kassa.members.service import ERASED_MEMBER_NAME, erased_phone
from kassa.orders.models import Bill
from kassa.portal import service
from kassa.portal.models import MemberCredential, MemberFeedback, PortalSession
from tests.portal.conftest import Portal, e164, new_phone


async def _member_id(portal: Portal, headers: dict[str, str]) -> int:
    return int((await portal.me(headers)).json()["id"])


async def test_orders_show_the_members_bills_with_lines_and_returns(portal: Portal) -> None:
    headers = await portal.sign_up(new_phone())
    member_id = await _member_id(portal, headers)
    first = await portal.paid_bill(member_id, ("latte", "cake"))
    second = await portal.paid_bill(member_id, ("americano",))
    await portal.paid_bill(None, ("tart",))  # someone else's
    cake_line = next(line["id"] for line in first["lines"] if line["name"] == "cake")
    await portal.shop.call(
        "POST",
        f"/bills/{first['id']}/returns",
        {"lines": [{"line_id": cake_line, "quantity": 1}], "reason_code": "quality"},
        role=Role.WAITER,
    )

    response = await portal.me(headers, path="/orders")
    assert response.status_code == 200
    orders = response.json()
    assert [order["bill_id"] for order in orders] == [second["id"], first["id"]]
    newest, oldest = orders
    assert (newest["status"], newest["total_amount"], newest["currency"]) == ("closed", 1800, "CNY")
    assert [(line["name"], line["quantity"]) for line in newest["lines"]] == [("americano", 1)]
    assert newest["returns"] == []
    assert oldest["total_amount"] == 2400 + 300 + 2800
    assert [(line["name"], line["modifiers"]) for line in oldest["lines"]] == [
        ("latte", ["Large"]),
        ("cake", []),
    ]
    (returned,) = oldest["returns"]
    assert (returned["status"], returned["amount"], returned["lines"]) == (
        "pending",
        2800,
        [{"name": "cake", "quantity": 1}],
    )
    assert oldest["store_name"] == newest["store_name"]

    paged = (await portal.me(headers, path="/orders", params={"limit": 1, "offset": 1})).json()
    assert [order["bill_id"] for order in paged] == [first["id"]]


async def test_a_member_edits_their_profile(portal: Portal, session: AsyncSession) -> None:
    phone = new_phone()
    headers = await portal.sign_up(phone, name="Zhao Lei")
    response = await portal.me(
        headers,
        "PATCH",
        json={
            "name": "Zhao Lei 赵磊",
            "email": "lei@example.com",
            "birthday": "1990-05-17",
            "address": "1 Nanjing Rd",
        },
    )
    assert response.status_code == 200, response.text
    me = response.json()
    assert (me["name"], me["email"], me["birthday"], me["address"], me["phone"]) == (
        "Zhao Lei 赵磊",
        "lei@example.com",
        "1990-05-17",
        "1 Nanjing Rd",
        e164(phone),
    )
    cleared = (await portal.me(headers, "PATCH", json={"email": None, "address": ""})).json()
    assert (cleared["email"], cleared["address"], cleared["birthday"]) == (None, None, "1990-05-17")

    bad_email = await portal.me(headers, "PATCH", json={"email": "not-an-address"})
    assert bad_email.status_code == 422
    assert bad_email.json()["errors"][0]["field"] == "email"
    future = await portal.me(headers, "PATCH", json={"birthday": "2999-01-01"})
    assert future.json()["errors"][0]["field"] == "birthday"
    no_name = await portal.me(headers, "PATCH", json={"name": None})
    assert no_name.status_code == 422
    assert no_name.json()["errors"][0]["field"] == "name"
    # the phone number is the login: not a profile field, refused naming it (unknown fields
    # are never silently ignored), and the number stays
    phone_change = await portal.me(headers, "PATCH", json={"phone": "13900000000"})
    assert phone_change.status_code == 422
    assert phone_change.json()["errors"][0]["field"] == "phone"
    assert (await portal.me(headers, "GET")).json()["phone"] == e164(phone)

    actions = (
        await session.scalars(
            select(AuditRecord.actor_name).where(
                AuditRecord.action == "member.update", AuditRecord.entity_id == str(me["id"])
            )
        )
    ).all()
    assert actions == ["member portal", "member portal"]


async def test_consent_changes_are_recorded(portal: Portal, session: AsyncSession) -> None:
    headers = await portal.sign_up(new_phone(), marketing=False)
    member_id = await _member_id(portal, headers)
    on = await portal.me(headers, "POST", "/consents", json={"kind": "marketing_sms", "is_granted": True})
    assert on.status_code == 201, on.text
    assert on.json()["source"] == "portal"
    assert (await portal.me(headers)).json()["marketing_sms_opt_in"] is True
    await portal.me(headers, "POST", "/consents", json={"kind": "marketing_sms", "is_granted": False})
    consents = (await portal.me(headers, path="/consents")).json()
    assert consents["marketing_sms_opt_in"] is False
    assert consents["current_privacy_policy_version"] == "2026-11"
    assert [(item["kind"], item["is_granted"]) for item in consents["history"]][:2] == [
        ("marketing_sms", False),
        ("marketing_sms", True),
    ]

    withdraw = await portal.me(
        headers, "POST", "/consents", json={"kind": "privacy_policy", "is_granted": False}
    )
    assert withdraw.status_code == 422
    assert withdraw.json()["errors"][0]["field"] == "is_granted"
    old_version = await portal.me(
        headers,
        "POST",
        "/consents",
        json={"kind": "privacy_policy", "is_granted": True, "policy_version": "1999"},
    )
    assert old_version.json()["errors"][0]["field"] == "policy_version"
    accepted = await portal.me(
        headers,
        "POST",
        "/consents",
        json={"kind": "privacy_policy", "is_granted": True, "policy_version": "2026-11"},
    )
    assert accepted.status_code == 201

    rows = (
        await session.scalars(
            select(MemberConsent).where(MemberConsent.member_id == member_id).order_by(MemberConsent.id)
        )
    ).all()
    assert [(row.kind, row.is_granted, row.source) for row in rows] == [
        (ConsentKind.PRIVACY_POLICY, True, ConsentSource.PORTAL),
        (ConsentKind.MARKETING_SMS, False, ConsentSource.PORTAL),
        (ConsentKind.MARKETING_SMS, True, ConsentSource.PORTAL),
        (ConsentKind.MARKETING_SMS, False, ConsentSource.PORTAL),
        (ConsentKind.PRIVACY_POLICY, True, ConsentSource.PORTAL),
    ]


async def test_feedback_reaches_the_back_office(portal: Portal) -> None:
    headers = await portal.sign_up(new_phone(), name="Sun Yue")
    member_id = await _member_id(portal, headers)
    bill = await portal.paid_bill(member_id, ("americano",))
    other_bill = await portal.paid_bill(None, ("tart",))

    general = await portal.me(headers, "POST", "/feedback", json={"rating": 5, "text": "  Lovely staff  "})
    assert general.status_code == 201, general.text
    about_bill = await portal.me(
        headers, "POST", "/feedback", json={"rating": 2, "text": "Coffee was cold", "bill_id": bill["id"]}
    )
    assert about_bill.status_code == 201
    not_mine = await portal.me(headers, "POST", "/feedback", json={"rating": 3, "bill_id": other_bill["id"]})
    assert not_mine.status_code == 404
    assert not_mine.json()["errors"][0]["field"] == "bill_id"
    bad_rating = await portal.me(headers, "POST", "/feedback", json={"rating": 6})
    assert bad_rating.status_code == 422
    assert bad_rating.json()["errors"][0]["field"] == "rating"
    too_long = await portal.me(headers, "POST", "/feedback", json={"rating": 4, "text": "x" * 1001})
    assert too_long.json()["errors"][0]["field"] == "text"
    mine = (await portal.me(headers, path="/feedback")).json()
    assert [(item["rating"], item["text"]) for item in mine] == [(2, "Coffee was cold"), (5, "Lovely staff")]

    seen = await portal.shop.call("GET", f"/stores/{portal.store_id}/feedback", role=Role.MANAGER)
    assert [(item["rating"], item["text"], item["member_name"], item["bill_id"]) for item in seen] == [
        (2, "Coffee was cold", "Sun Yue", bill["id"]),
        (5, "Lovely staff", "Sun Yue", None),
    ]
    assert seen[0]["bill_number"].endswith(f"-{bill['number']:04d}")
    # a cashier has no back office
    await portal.shop.call("GET", f"/stores/{portal.store_id}/feedback", role=Role.CASHIER, expect=403)


async def test_export_contains_the_members_data(portal: Portal) -> None:
    phone = new_phone()
    headers = await portal.sign_up(phone, name="Qian Hui", marketing=True)
    member_id = await _member_id(portal, headers)
    await portal.me(headers, "PATCH", json={"address": "88 Huaihai Rd"})
    bill = await portal.paid_bill(member_id, ("cake",))
    await portal.me(
        headers, "POST", "/feedback", json={"rating": 4, "text": "Good cake", "bill_id": bill["id"]}
    )

    response = await portal.me(headers, path="/export")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"].startswith('attachment; filename="kassa-member-')
    data = json.loads(response.content)
    assert data["organization"] == "Test Org"
    assert (data["profile"]["name"], data["profile"]["phone"], data["profile"]["address"]) == (
        "Qian Hui",
        e164(phone),
        "88 Huaihai Rd",
    )
    assert sorted((item["kind"], item["is_granted"]) for item in data["consents"]) == [
        ("marketing_sms", True),
        ("privacy_policy", True),
    ]
    assert [(order["bill_id"], order["total_amount"]) for order in data["orders"]] == [(bill["id"], 2800)]
    assert data["orders"][0]["lines"][0]["name"] == "cake"
    assert [(item["rating"], item["text"]) for item in data["feedback"]] == [(4, "Good cake")]
    assert data["portal"] == {"has_password": False}
    assert data["loyalty"]["points_balance"] == 28  # the cake earned a point per yuan


async def test_erasure_anonymises_keeps_the_bills_and_frees_the_number(
    portal: Portal, session: AsyncSession
) -> None:
    phone = new_phone()
    headers = await portal.sign_up(phone, name="Zhou Min", marketing=True)
    second_device = await portal.log_in(phone)
    member_id = await _member_id(portal, headers)
    await portal.me(
        headers, "PATCH", json={"email": "min@example.com", "birthday": "1985-02-03", "address": "5 Rd"}
    )
    await portal.me(headers, "PUT", "/password", json={"password": "osmanthus-99"})
    bill = await portal.paid_bill(member_id, ("latte",))
    await portal.me(headers, "POST", "/feedback", json={"rating": 1, "text": "Call me on 13700000000"})

    erased = await portal.me(headers, "DELETE")
    assert erased.status_code == 204, erased.text

    # every session ended, on every device
    assert (await portal.me(headers)).status_code == 401
    assert (await portal.me(second_device)).status_code == 401
    sessions = (
        await session.scalars(select(PortalSession).where(PortalSession.member_id == member_id))
    ).all()
    assert len(sessions) == 2
    assert all(row.revoked_at is not None for row in sessions)

    member = await session.get(Member, member_id, populate_existing=True)
    assert member is not None
    assert (member.name, member.phone_e164, member.email, member.birthday, member.address) == (
        ERASED_MEMBER_NAME,
        erased_phone(member_id),
        None,
        None,
        None,
    )
    assert len(member.phone_e164) <= 16
    assert (member.notes, member.tags, member.marketing_sms_opt_in) == ("", [], False)
    assert member.erased_at is not None
    # the books still add up: the bill keeps pointing at the anonymous row
    stored_bill = await session.get(Bill, bill["id"], populate_existing=True)
    assert stored_bill is not None
    assert (stored_bill.member_id, stored_bill.total_amount) == (member_id, bill["total_amount"])
    latest = (
        await session.scalars(
            select(MemberConsent)
            .where(MemberConsent.member_id == member_id)
            .order_by(MemberConsent.id.desc())
            .limit(2)
        )
    ).all()
    assert sorted((row.kind, row.is_granted, row.source) for row in latest) == [
        (ConsentKind.MARKETING_SMS, False, ConsentSource.PORTAL),
        (ConsentKind.PRIVACY_POLICY, False, ConsentSource.PORTAL),
    ]
    assert await session.get(MemberCredential, member_id) is None
    feedback = (
        await session.scalars(select(MemberFeedback).where(MemberFeedback.member_id == member_id))
    ).one()
    await session.refresh(feedback)
    assert (feedback.rating, feedback.text) == (1, "")

    # the audit says what happened without saying who it was
    erase_audit = (
        await session.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "member.erase", AuditRecord.entity_id == str(member_id)
            )
        )
    ).one()
    assert erase_audit.after == {"source": "portal"}
    everything_audited = json.dumps(
        [
            [row.before, row.after]
            for row in (
                await session.scalars(select(AuditRecord).where(AuditRecord.entity_id == str(member_id)))
            ).all()
        ],
        ensure_ascii=False,
    )
    for personal in ("Zhou Min", phone, "min@example.com", "1985-02-03", "5 Rd"):
        assert personal not in everything_audited

    # the password is gone, and the number is free: the same person signs up again as someone new
    await portal.post("/login", {"phone": phone, "password": "osmanthus-99"}, expect=401)
    again = await portal.sign_up(phone, name="Zhou Min")
    again_id = await _member_id(portal, again)
    assert again_id != member_id
    assert (await portal.me(again, path="/orders")).json() == []
    # and staff no longer find the erased row
    found = await portal.shop.call("GET", "/members", role=Role.MANAGER)
    assert member_id not in [item["id"] for item in found]


async def test_staff_erasure_needs_the_back_office_and_happens_once(
    portal: Portal, session: AsyncSession
) -> None:
    headers = await portal.sign_up(new_phone())
    member_id = await _member_id(portal, headers)
    store = portal.shop.store_id
    member = await session.get(Member, member_id)
    assert member is not None
    organization_id = member.organization_id
    cashier = Actor(
        organization_id, staff_id=portal.shop.staff_ids[Role.CASHIER], role=Role.CASHIER, store_id=store
    )
    manager = Actor(
        organization_id, staff_id=portal.shop.staff_ids[Role.MANAGER], role=Role.MANAGER, store_id=store
    )
    with pytest.raises(PermissionDenied):
        await members.erase_member(session, cashier, member_id)
    erased = await members.erase_member(session, manager, member_id)
    assert erased.name == ERASED_MEMBER_NAME
    with pytest.raises(Conflict):
        await members.erase_member(session, manager, member_id)
    # the portal session of an erased member ends, whoever erased them
    assert (await portal.me(headers)).status_code == 401


def test_the_phone_placeholder_fits_the_column_and_is_unique() -> None:
    assert erased_phone(1) == "x000000000000001"
    assert erased_phone(999_999_999_999_999) == "x999999999999999"
    assert len({erased_phone(member_id) for member_id in range(1, 1000)}) == 999
    with pytest.raises(ValueError, match="does not fit"):
        erased_phone(10**15)


async def test_a_portal_session_runs_out(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    headers = await portal.sign_up(new_phone())
    later = utc_now() + service.SESSION_LIFETIME + timedelta(minutes=1)
    monkeypatch.setattr(service, "utc_now", lambda: later)
    response = await portal.me(headers)
    assert response.status_code == 401
    assert response.json()["errors"][0]["field"] == "Authorization"
