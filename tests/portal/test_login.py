"""Getting into the portal: the SMS code (right, wrong, expired, used up), signing up from
the portal with consents, and the password with its lockout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.audit import AuditRecord
from kassa.core.database import utc_now
from kassa.members.models import ConsentKind, ConsentSource, Member, MemberConsent, RegistrationSource
from kassa.notifications import service as notifications
from kassa.portal import service
from kassa.portal.models import MemberCredential, PortalSession
from tests.portal.conftest import Portal, bearer, e164, new_phone


async def test_a_newcomer_signs_up_with_an_sms_code_and_the_privacy_policy(
    portal: Portal, session: AsyncSession
) -> None:
    phone = new_phone()
    code = await portal.request_code(f"{phone[:3]} {phone[3:7]} {phone[7:]}")  # typed with spaces
    answer = await portal.verify(phone, code)
    assert answer["registration_required"] is True
    assert answer["token"] is None
    assert answer["phone"] == e164(phone)

    # without the privacy policy, nobody signs up
    refused = await portal.post(
        "/register",
        {
            "registration_ticket": answer["registration_ticket"],
            "name": "Wang Fang",
            "privacy_policy_accepted": False,
            "privacy_policy_version": "2026-11",
        },
        expect=422,
    )
    assert refused["errors"][0]["field"] == "privacy_policy_accepted"
    # an outdated version is not the one shown now
    outdated = await portal.post(
        "/register",
        {
            "registration_ticket": answer["registration_ticket"],
            "name": "Wang Fang",
            "privacy_policy_accepted": True,
            "privacy_policy_version": "2020-01",
        },
        expect=422,
    )
    assert outdated["errors"][0]["field"] == "privacy_policy_version"

    signed_up = await portal.post(
        "/register",
        {
            "registration_ticket": answer["registration_ticket"],
            "name": "  Wang   Fang ",
            "email": "Wang@Example.com",
            "privacy_policy_accepted": True,
            "privacy_policy_version": "2026-11",
            "marketing_sms_opt_in": True,
        },
        expect=201,
    )
    me = (await portal.me(bearer(signed_up["token"]))).json()
    assert (me["name"], me["phone"], me["email"], me["marketing_sms_opt_in"]) == (
        "Wang Fang",
        e164(phone),
        "wang@example.com",
        True,
    )
    assert len(me["card_number"]) == 10
    assert (me["loyalty"]["points"], me["loyalty"]["tier_name"]) == (0, None)

    member = await session.get(Member, me["id"])
    assert member is not None
    assert member.registration_source == RegistrationSource.PORTAL
    assert member.registered_by_staff_id is None
    consents = (
        await session.scalars(select(MemberConsent).where(MemberConsent.member_id == member.id))
    ).all()
    assert sorted((c.kind, c.is_granted, c.policy_version, c.source) for c in consents) == [
        (ConsentKind.MARKETING_SMS, True, None, ConsentSource.PORTAL),
        (ConsentKind.PRIVACY_POLICY, True, "2026-11", ConsentSource.PORTAL),
    ]

    # the ticket signs up once; the number is a member now
    again = await portal.post(
        "/register",
        {
            "registration_ticket": answer["registration_ticket"],
            "name": "Someone",
            "privacy_policy_accepted": True,
            "privacy_policy_version": "2026-11",
        },
        expect=409,
    )
    assert again["errors"][0]["field"] == "phone"


async def test_a_member_logs_in_with_the_code_and_the_code_is_used_up(portal: Portal) -> None:
    phone = new_phone()
    await portal.sign_up(phone, name="Li Na")
    code = await portal.request_code(phone)
    answer = await portal.verify(phone, code)
    assert answer["registration_required"] is False
    me = (await portal.me(bearer(answer["token"]))).json()
    assert me["name"] == "Li Na"

    reused = await portal.verify(phone, code, expect=401)
    assert reused["errors"][0]["field"] == "code"


async def test_a_wrong_code_counts_and_five_use_the_code_up(portal: Portal, session: AsyncSession) -> None:
    phone = new_phone()
    await portal.sign_up(phone)
    code = await portal.request_code(phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    first = await portal.verify(phone, wrong, expect=401)
    assert first["errors"][0]["field"] == "code"
    assert first["remaining_attempts"] == 4
    for _ in range(4):
        await portal.verify(phone, wrong, expect=401)
    # the attempts were committed although every request failed, so even the right code is refused now
    refused = await portal.verify(phone, code, expect=401)
    assert "too many wrong codes" in refused["detail"]


async def test_an_expired_code_is_refused(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    phone = new_phone()
    await portal.sign_up(phone)
    code = await portal.request_code(phone)
    later = utc_now() + notifications.OTP_TTL + timedelta(seconds=1)
    monkeypatch.setattr(notifications, "utc_now", lambda: later)
    expired = await portal.verify(phone, code, expect=401)
    assert expired["errors"][0]["field"] == "code"
    assert "expired" in expired["detail"]


async def test_codes_per_hour_are_limited(portal: Portal) -> None:
    phone = new_phone()
    for _ in range(notifications.OTP_MAX_SENDS_PER_HOUR):
        await portal.post("/request-code", {"phone": phone}, expect=202)
    too_many = await portal.post("/request-code", {"phone": phone}, expect=429)
    assert too_many["errors"][0]["field"] == "phone"


async def test_bad_input_names_the_field(portal: Portal) -> None:
    bad_phone = await portal.post("/request-code", {"phone": "12345"}, expect=422)
    assert bad_phone["errors"][0]["field"] == "phone"
    bad_code = await portal.post("/verify-code", {"phone": new_phone(), "code": "12ab"}, expect=422)
    assert bad_code["errors"][0]["field"] == "code"
    missing = await portal.post("/verify-code", {"phone": new_phone()}, expect=422)
    assert missing["errors"][0]["field"] == "code"
    forged = await portal.post(
        "/register",
        {
            "registration_ticket": f"1.{e164(new_phone())}.9999999999.deadbeef",
            "name": "Mallory",
            "privacy_policy_accepted": True,
            "privacy_policy_version": "2026-11",
        },
        expect=401,
    )
    assert forged["errors"][0]["field"] == "registration_ticket"
    unknown_store = await portal.client.post("/api/v1/portal/stores/999999/request-code", json={"phone": "x"})
    assert unknown_store.status_code == 404
    assert unknown_store.json()["errors"][0]["field"] == "store_id"
    anonymous = await portal.client.get("/api/v1/portal/me")
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["field"] == "Authorization"


async def test_a_registration_ticket_runs_out_and_belongs_to_one_organization() -> None:
    phone = e164(new_phone())
    ticket = service.registration_ticket(7, phone, now=utc_now() - timedelta(minutes=16))
    with pytest.raises(Exception, match="ran out"):
        service.read_registration_ticket(ticket, 7)
    fresh = service.registration_ticket(7, phone)
    assert service.read_registration_ticket(fresh, 7) == phone
    with pytest.raises(Exception, match="ran out"):
        service.read_registration_ticket(fresh, 8)


async def test_a_staff_token_is_no_portal_token(portal: Portal) -> None:
    staff_headers = await portal.shop.login()
    response = await portal.me(staff_headers)
    assert response.status_code == 401


async def test_password_login_and_lockout(
    portal: Portal, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    phone = new_phone()
    headers = await portal.sign_up(phone)
    # no password yet: the same answer as a wrong one
    nothing_set = await portal.post("/login", {"phone": phone, "password": "whatever-it-is"}, expect=401)
    assert nothing_set["errors"][0]["field"] == "password"

    too_short = await portal.me(headers, "PUT", "/password", json={"password": "short"})
    assert too_short.status_code == 422
    assert too_short.json()["errors"][0]["field"] == "password"
    assert (
        await portal.me(headers, "PUT", "/password", json={"password": "jasmine-tea-42"})
    ).status_code == 204
    assert (await portal.me(headers)).json()["has_password"] is True

    answer = await portal.post("/login", {"phone": f"+86 {phone}", "password": "jasmine-tea-42"}, expect=200)
    assert (await portal.me(bearer(answer["token"]))).json()["phone"] == e164(phone)

    # an unknown number answers like a wrong password
    unknown = await portal.post("/login", {"phone": new_phone(), "password": "jasmine-tea-42"}, expect=401)
    assert unknown["detail"] == "wrong phone number or password"

    for remaining in (4, 3, 2, 1):
        wrong = await portal.post("/login", {"phone": phone, "password": "green-tea-42"}, expect=401)
        assert wrong["remaining_attempts"] == remaining
    locked = await portal.post("/login", {"phone": phone, "password": "green-tea-42"}, expect=423)
    assert locked["errors"][0]["field"] == "password"
    # while locked, even the right password is refused; the SMS code still works
    await portal.post("/login", {"phone": phone, "password": "jasmine-tea-42"}, expect=423)
    sms_headers = await portal.log_in(phone)
    assert (await portal.me(sms_headers)).status_code == 200

    member_id = (await portal.me(sms_headers)).json()["id"]
    credential = await session.get(MemberCredential, member_id, populate_existing=True)
    assert credential is not None
    assert credential.locked_until is not None
    actions = (
        await session.scalars(
            select(AuditRecord.action).where(AuditRecord.entity_id == str(member_id)).order_by(AuditRecord.id)
        )
    ).all()
    assert "member.password_locked" in actions

    later = utc_now() + timedelta(minutes=16)
    monkeypatch.setattr(service, "utc_now", lambda: later)
    await portal.post("/login", {"phone": phone, "password": "jasmine-tea-42"}, expect=200)


async def test_logout_ends_the_session(portal: Portal, session: AsyncSession) -> None:
    phone = new_phone()
    headers = await portal.sign_up(phone)
    response = await portal.client.post("/api/v1/portal/logout", headers=headers)
    assert response.status_code == 204
    assert (await portal.me(headers)).status_code == 401
    rows = (await session.scalars(select(PortalSession).where(PortalSession.revoked_at.is_not(None)))).all()
    assert len(rows) == 1
