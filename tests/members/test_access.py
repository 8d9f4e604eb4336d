"""Member permissions: contact details (member.contacts_view), issuing a coupon
(member.coupon_issue) and changing the phone number, the member's portal login
(member.phone_change, or a code texted to the old number). A refused call changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.audit import AuditRecord
from kassa.core.auth import Actor, Permission, Role
from kassa.core.errors import PermissionDenied
from kassa.members import access, transfer
from kassa.members.models import Member
from kassa.notifications import service as notifications
from kassa.notifications.models import Message
from kassa.notifications.providers.log import LogProvider
from tests.fingerprint import unchanged
from tests.returns.conftest import Worker
from tests.shop import Shop

CODE = re.compile(r"验证码(\d{6})，")
PHONE = "+8613800138000"
NEW_PHONE = "+8613900139000"


@pytest.fixture
def sms() -> Iterator[LogProvider]:
    provider = LogProvider()
    notifications.configure_providers(sms=[provider], email=LogProvider("log-email"))
    yield provider
    notifications.configure_providers()


@pytest.fixture
def worker(database: Any, sms: LogProvider) -> Worker:
    return Worker(database)


async def _member(shop: Shop) -> dict[str, Any]:
    return await shop.call(
        "POST",
        "/members",
        {
            "phone": "138 0013 8000",
            "name": "Li Na",
            "email": "li.na@example.com",
            "birthday": "1990-05-17",
            "address": "1 Nanjing Road",
            "notes": "allergic to nuts; call her husband 13700000000",
            "privacy_policy_accepted": True,
            "privacy_policy_version": "2026-11",
        },
    )


CONTACTS = {
    "phone": PHONE,
    "email": "li.na@example.com",
    "birthday": "1990-05-17",
    "address": "1 Nanjing Road",
    "notes": "allergic to nuts; call her husband 13700000000",
    "contacts_visible": True,
}
MASKED = {
    "phone": "•••• 8000",
    "email": None,
    "birthday": None,
    "address": None,
    "notes": "",
    "contacts_visible": False,
}


def _contacts(member: dict[str, Any]) -> dict[str, Any]:
    return {name: member[name] for name in CONTACTS}


@pytest.mark.parametrize(
    ("role", "expected"),
    [(Role.WAITER, MASKED), (Role.CASHIER, CONTACTS), (Role.MANAGER, CONTACTS), (Role.OWNER, CONTACTS)],
)
async def test_who_reads_contact_details(shop: Shop, role: Role, expected: dict[str, Any]) -> None:
    member = await _member(shop)
    one = await shop.call("GET", f"/members/{member['id']}", role=role)
    assert (one["name"], one["card_number"]) == ("Li Na", member["card_number"])
    assert _contacts(one) == expected
    [found] = await shop.call("GET", "/members?q=8000", role=role)
    assert _contacts(found) == expected
    page = await shop.call("GET", "/members/list", role=role)
    assert [_contacts(item["member"]) for item in page["items"]] == [expected]
    profile = await shop.call("GET", f"/members/{member['id']}/profile", role=role)
    assert _contacts(profile["member"]) == expected
    # name, tier and points stay visible to all
    loyalty = await shop.call("GET", f"/members/{member['id']}/loyalty", role=role)
    assert loyalty["points_balance"] == 0


async def test_the_member_export_needs_contact_details(session: AsyncSession, shop: Shop) -> None:
    member = await session.get(Member, (await _member(shop))["id"])
    assert member is not None
    manager_without = Actor(
        organization_id=member.organization_id,
        staff_id=shop.staff_ids[Role.MANAGER],
        store_id=shop.store_id,
        granted_permissions=frozenset({Permission.BACK_OFFICE, Permission.MEMBER_VIEW}),
    )
    with pytest.raises(PermissionDenied):
        await transfer.export_members(session, manager_without, transfer.MemberFileFormat.CSV)
    assert access.member_view(manager_without, member).phone_e164 == "•••• 8000"


@pytest.mark.parametrize(
    ("role", "expected"), [(Role.WAITER, 403), (Role.CASHIER, 201), (Role.MANAGER, 201), (Role.OWNER, 201)]
)
async def test_who_issues_a_coupon_to_a_member(
    shop: Shop, session: AsyncSession, role: Role, expected: int
) -> None:
    member = await _member(shop)
    definition = await shop.call(
        "POST",
        "/loyalty/coupon-definitions",
        {"name": "¥10 off", "discount_kind": "amount", "discount_amount": 1000, "valid_days": 30},
        role=Role.OWNER,
    )
    await shop.login(role)
    async with unchanged(session, when=expected == 403):
        answer = await shop.call(
            "POST",
            f"/members/{member['id']}/coupons",
            {"definition_id": definition["id"]},
            role=role,
            expect=expected,
        )
    if expected == 403:
        assert answer["permission"] == "member.coupon_issue"


@pytest.mark.parametrize(("role", "expected"), [(Role.WAITER, 403), (Role.CASHIER, 403), (Role.MANAGER, 200)])
async def test_who_changes_a_phone_number_without_a_code(
    shop: Shop, session: AsyncSession, role: Role, expected: int
) -> None:
    member = await _member(shop)
    await shop.login(role)
    async with unchanged(session, when=expected == 403):
        patched = await shop.call(
            "PATCH", f"/members/{member['id']}", {"phone": "139 0013 9000"}, role=role, expect=expected
        )
        posted = await shop.call(
            "POST", f"/members/{member['id']}/phone", {"phone": "139 0013 9001"}, role=role, expect=expected
        )
    if expected == 200:
        assert (patched["phone"], posted["phone"]) == (NEW_PHONE, "+8613900139001")
    elif role == Role.CASHIER:
        assert posted["permission"] == "member.phone_change"


async def test_a_cashier_changes_the_number_with_the_code_sent_to_the_old_one(
    shop: Shop, session: AsyncSession, sms: LogProvider, worker: Worker
) -> None:
    member = await _member(shop)
    path = f"/members/{member['id']}"
    sent = await shop.call("POST", f"{path}/phone-change-code", {"phone": "139 0013 9000"}, expect=202)
    assert sent["sent_to"] == "•••• 8000"
    await worker.run()
    [outgoing] = sms.sent
    assert outgoing.to == PHONE  # the old number proves it is the member
    found = CODE.search(outgoing.body)
    assert found is not None, outgoing.body
    code = found.group(1)
    # the message log keeps the code masked
    row = await session.get(Message, sent["message_id"])
    assert row is not None
    await session.refresh(row)
    assert code not in row.body
    assert row.variables["code"] == "••••••"

    # a wrong code is refused, counts, and changes nothing else
    wrong = "000000" if code != "000000" else "111111"
    refused = await shop.call("POST", f"{path}/phone", {"phone": "139 0013 9000", "code": wrong}, expect=401)
    assert "4 tries left" in refused["detail"]
    assert (await shop.call("GET", path))["phone"] == PHONE
    # the code is for that new number only
    await shop.call("POST", f"{path}/phone", {"phone": "139 0013 9555", "code": code}, expect=401)

    changed = await shop.call("POST", f"{path}/phone", {"phone": "139 0013 9000", "code": code})
    assert changed["phone"] == NEW_PHONE
    audit = await session.scalar(
        select(AuditRecord).where(AuditRecord.action == "member.phone_change").order_by(AuditRecord.id.desc())
    )
    assert audit is not None
    assert audit.after == {"phone_last4": "9000", "method": "sms_code"}
    # used up
    await shop.call("POST", f"{path}/phone", {"phone": "139 0013 9000", "code": code}, expect=422)


async def test_a_waiter_may_not_send_a_phone_change_code(
    shop: Shop, session: AsyncSession, sms: LogProvider
) -> None:
    member = await _member(shop)
    await shop.login(Role.WAITER)
    async with unchanged(session):
        await shop.call(
            "POST",
            f"/members/{member['id']}/phone-change-code",
            {"phone": "139 0013 9000"},
            role=Role.WAITER,
            expect=403,
        )
