"""Registering, finding and changing members, and their consents, through the service."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.audit import AuditRecord
from kassa.core.auth import Actor, Role
from kassa.core.database import utc_now
from kassa.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kassa.members import service
from kassa.members.cards import is_card_number
from kassa.members.models import ConsentKind, ConsentSource, Gender, Member, RegistrationSource
from tests.factories import make_organization, make_staff, make_store
from tests.fingerprint import unchanged
from tests.members.conftest import MemberShop, make_member, make_member_shop, new_phone

CONSENTS = service.RegistrationConsents(privacy_policy_accepted=True, privacy_policy_version="2026-11")


async def _audit(session: AsyncSession, member_id: int) -> list[AuditRecord]:
    # Records are buffered until commit; flush them as a commit would.
    await session.commit()
    rows = await session.scalars(
        select(AuditRecord)
        .where(AuditRecord.entity_type == "member", AuditRecord.entity_id == str(member_id))
        .order_by(AuditRecord.id)
    )
    return list(rows.all())


async def test_a_cashier_registers_a_member_with_consents(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    # given a customer who accepts the privacy policy and marketing SMS
    data = service.MemberInput(
        phone="138 0013 8000",
        name="  Li   Na ",
        email=" Li.Na@Example.com ",
        birthday=date(1990, 5, 17),
        gender=Gender.FEMALE,
        address="1 Nanjing Road",
        notes="likes oat milk",
        tags=["vip", " vip ", "", "oat milk"],
    )
    consents = service.RegistrationConsents(
        privacy_policy_accepted=True, privacy_policy_version="2026-11", marketing_sms=True
    )
    # when a cashier signs them up
    member = await service.register_member(session, member_shop.cashier, member_shop.store.id, data, consents)
    # then the member is stored normalised, with a card number
    assert (member.phone_e164, member.phone_last4) == ("+8613800138000", "8000")
    assert is_card_number(member.card_number)
    assert (member.name, member.email, member.tags) == ("Li Na", "li.na@example.com", ["vip", "oat milk"])
    assert (member.birthday, member.gender, member.address, member.notes) == (
        date(1990, 5, 17),
        Gender.FEMALE,
        "1 Nanjing Road",
        "likes oat milk",
    )
    assert member.registered_at_store_id == member_shop.store.id
    assert member.registered_by_staff_id == member_shop.cashier.staff_id
    assert member.registration_source == RegistrationSource.REGISTER
    assert member.marketing_sms_opt_in is True
    assert member.erased_at is None
    # and both consents are on record
    history = await service.list_consents(session, member_shop.cashier, member.id)
    assert sorted((item.kind, item.is_granted, item.policy_version, item.source) for item in history) == [
        (ConsentKind.MARKETING_SMS, True, None, ConsentSource.REGISTER),
        (ConsentKind.PRIVACY_POLICY, True, "2026-11", ConsentSource.REGISTER),
    ]
    assert {item.recorded_by_staff_id for item in history} == {member_shop.cashier.staff_id}


async def test_declining_marketing_is_recorded_too(session: AsyncSession, member_shop: MemberShop) -> None:
    member = await make_member(session, member_shop.cashier, member_shop.store, marketing_sms=False)
    history = await service.list_consents(session, member_shop.cashier, member.id)
    assert [(item.kind, item.is_granted) for item in history if item.kind == ConsentKind.MARKETING_SMS] == [
        (ConsentKind.MARKETING_SMS, False)
    ]
    assert member.marketing_sms_opt_in is False


async def test_the_audit_trail_names_changes_but_holds_no_personal_data(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    member = await make_member(
        session, member_shop.cashier, member_shop.store, phone="13800138000", name="Li Na"
    )
    await service.update_member(
        session,
        member_shop.cashier,
        member.id,
        service.MemberChanges(name="Wang Fang", email="w@example.com"),
    )
    records = await _audit(session, member.id)
    assert [record.action for record in records] == [
        "member.register",
        "member.consent",
        "member.consent",
        "member.update",
    ]
    assert records[-1].after == {"changed": ["email", "name"]}
    text = " ".join(f"{record.before} {record.after}" for record in records)
    for personal in ("13800138000", "8000", "Li Na", "Wang Fang", "w@example.com"):
        assert personal not in text.replace(member.card_number, "")


@pytest.mark.parametrize(
    ("consents", "field"),
    [
        (
            service.RegistrationConsents(privacy_policy_accepted=False, privacy_policy_version="2026-11"),
            "privacy_policy_accepted",
        ),
        (
            service.RegistrationConsents(privacy_policy_accepted=True, privacy_policy_version="  "),
            "privacy_policy_version",
        ),
    ],
)
async def test_the_privacy_policy_must_be_accepted(
    session: AsyncSession, member_shop: MemberShop, consents: service.RegistrationConsents, field: str
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        await service.register_member(
            session,
            member_shop.cashier,
            member_shop.store.id,
            service.MemberInput(new_phone(), "Li"),
            consents,
        )
    assert raised.value.field == field
    assert await session.scalar(select(Member.id)) is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (service.MemberInput("12345", "Li"), "phone"),
        (service.MemberInput("13800138000", "   "), "name"),
        (service.MemberInput("13800138000", "x" * 101), "name"),
        (service.MemberInput("13800138000", "Li", email="not an address"), "email"),
        (service.MemberInput("13800138000", "Li", birthday=date(1899, 12, 31)), "birthday"),
        (service.MemberInput("13800138000", "Li", birthday=utc_now().date() + timedelta(days=2)), "birthday"),
        (service.MemberInput("13800138000", "Li", tags=["x" * 31]), "tags"),
        (service.MemberInput("13800138000", "Li", tags=[f"t{n}" for n in range(21)]), "tags"),
    ],
)
async def test_bad_details_are_refused_naming_the_field(
    session: AsyncSession, member_shop: MemberShop, data: service.MemberInput, field: str
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        await service.register_member(session, member_shop.cashier, member_shop.store.id, data, CONSENTS)
    assert raised.value.field == field


@pytest.mark.parametrize("again", ["+86 138-0013-8000", "0086 13800138000", "138 0013 8000"])
async def test_one_member_per_phone_number_in_any_format_and_any_store(
    session: AsyncSession, member_shop: MemberShop, again: str
) -> None:
    first = await make_member(session, member_shop.cashier, member_shop.store, phone="13800138000")
    with pytest.raises(Conflict) as raised:
        await make_member(session, member_shop.actors[Role.OWNER], member_shop.other_store, phone=again)
    assert raised.value.status == 409
    assert raised.value.field == "phone"
    assert raised.value.extra == {"member_id": first.id}


async def test_another_organization_may_have_a_member_with_the_same_number(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    await make_member(session, member_shop.cashier, member_shop.store, phone="13800138000")
    elsewhere = await make_member_shop(session)
    other = await make_member(session, elsewhere.cashier, elsewhere.store, phone="+8613800138000")
    assert other.organization_id == elsewhere.organization.id
    assert await service.find_members(session, member_shop.cashier, "13800138000") != [other]
    assert await service.find_members(session, elsewhere.cashier, "13800138000") == [other]


async def test_a_store_bound_cashier_registers_only_in_their_store(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    with pytest.raises(PermissionDenied):
        await make_member(session, member_shop.cashier, member_shop.other_store)


async def test_a_store_of_another_organization_is_not_found(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    foreign = await make_store(session, await make_organization(session))
    with pytest.raises(NotFound) as raised:
        await make_member(session, member_shop.actors[Role.OWNER], foreign)
    assert raised.value.field == "store_id"


@pytest.mark.parametrize("typed", ["13800138000", "+86 138-0013-8000", "0086 13800138000", "138 0013 8000"])
async def test_find_by_whole_phone_number_in_any_format(
    session: AsyncSession, member_shop: MemberShop, typed: str
) -> None:
    member = await make_member(session, member_shop.cashier, member_shop.store, phone="13800138000")
    await make_member(session, member_shop.cashier, member_shop.store, phone="13900138000")  # same last 6
    assert await service.find_members(session, member_shop.cashier, typed) == [member]


async def test_members_are_shared_by_the_stores_of_the_organization(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    member = await make_member(session, member_shop.cashier, member_shop.store, phone="13800138000")
    waiter_elsewhere = await make_staff(session, member_shop.other_store, role=Role.WAITER)
    actor = Actor(
        organization_id=member_shop.organization.id,
        staff_id=waiter_elsewhere.id,
        role=Role.WAITER,
        store_id=member_shop.other_store.id,
    )
    assert await service.find_members(session, actor, "138 0013 8000") == [member]
    assert await service.get_member(session, actor, member.id) == member


async def test_last_four_digits_give_a_pick_list_newest_first(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    # given 22 members whose numbers end in 8000 and one that does not
    matching = [
        await make_member(session, member_shop.cashier, member_shop.store, phone=f"139{index:04d}8000")
        for index in range(22)
    ]
    await make_member(session, member_shop.cashier, member_shop.store, phone="13900008001")
    # when the cashier types 8000
    found = await service.find_members(session, member_shop.cashier, "8000")
    # then the 20 latest of them come back, the newest first
    assert [member.id for member in found] == [member.id for member in reversed(matching)][:20]
    assert len(await service.find_members(session, member_shop.cashier, "8000", limit=50)) == 22


async def test_find_by_card_number(session: AsyncSession, member_shop: MemberShop) -> None:
    member = await make_member(session, member_shop.cashier, member_shop.store)
    await make_member(session, member_shop.cashier, member_shop.store)
    assert await service.find_members(session, member_shop.cashier, member.card_number) == [member]
    spaced = f"{member.card_number[:5]} {member.card_number[5:]}"
    assert await service.find_members(session, member_shop.cashier, spaced) == [member]
    mistyped = member.card_number[:-1] + str((int(member.card_number[-1]) + 1) % 10)
    assert await service.find_members(session, member_shop.cashier, mistyped) == []


async def test_find_by_part_of_a_name_ignoring_case_prefix_first(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    cashier, store = member_shop.cashier, member_shop.store
    anna = await make_member(session, cashier, store, name="Anna Schmidt")
    hanna = await make_member(session, cashier, store, name="Hanna Berg")
    await make_member(session, cashier, store, name="Li Na")
    li_lei = await make_member(session, cashier, store, name="李雷")
    # "ann" starts Anna's name and is inside Hanna's: Anna first, then the newest
    assert await service.find_members(session, cashier, "ANN") == [anna, hanna]
    assert await service.find_members(session, cashier, "berg") == [hanna]
    assert await service.find_members(session, cashier, "李") == [li_lei]
    # LIKE's wildcards are plain text here
    assert await service.find_members(session, cashier, "%") == []
    assert await service.find_members(session, cashier, "_") == []


async def test_an_empty_search_lists_the_latest_members(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    members = [await make_member(session, member_shop.cashier, member_shop.store) for _ in range(3)]
    assert await service.find_members(session, member_shop.cashier, "  ") == members[::-1]
    assert await service.find_members(session, member_shop.cashier, "", limit=2) == members[:0:-1]


async def test_unknown_or_partial_numbers_find_nobody(session: AsyncSession, member_shop: MemberShop) -> None:
    await make_member(session, member_shop.cashier, member_shop.store, phone="13800138000")
    for query in ("13800138001", "1380013", "+86", "000"):
        assert await service.find_members(session, member_shop.cashier, query) == []


async def test_erased_members_are_not_found(session: AsyncSession, member_shop: MemberShop) -> None:
    member = await make_member(
        session, member_shop.cashier, member_shop.store, phone="13800138000", name="Gone"
    )
    member.erased_at = utc_now()
    await session.flush()
    for query in ("13800138000", "8000", member.card_number, "Gone", ""):
        assert await service.find_members(session, member_shop.cashier, query) == []


async def test_a_member_of_another_organization_is_not_found(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    elsewhere = await make_member_shop(session)
    foreign = await make_member(session, elsewhere.cashier, elsewhere.store)
    with pytest.raises(NotFound) as raised:
        await service.get_member(session, member_shop.cashier, foreign.id)
    assert raised.value.field == "member_id"


async def test_update_changes_only_what_is_given(session: AsyncSession, member_shop: MemberShop) -> None:
    cashier = member_shop.cashier
    member = await make_member(session, cashier, member_shop.store, phone="13800138000", tags=["vip"])
    await service.update_member(
        session, cashier, member.id, service.MemberChanges(email="a@b.cn", address="Here")
    )
    before_update = member.updated_at
    changes = service.MemberChanges(
        phone="+86 139 0013 8000", email=None, gender=Gender.MALE, tags=["regular"]
    )
    with pytest.raises(PermissionDenied):  # the phone number is the portal login: a manager's change
        await service.update_member(session, cashier, member.id, changes)
    updated = await service.update_member(session, member_shop.actors[Role.MANAGER], member.id, changes)
    assert (updated.phone_e164, updated.phone_last4) == ("+8613900138000", "8000")
    assert (updated.email, updated.address, updated.gender, updated.tags) == (
        None,
        "Here",
        Gender.MALE,
        ["regular"],
    )
    assert updated.name == "Li Na"
    assert updated.updated_at >= before_update
    assert await service.find_members(session, cashier, "13900138000") == [member]
    assert await service.find_members(session, cashier, "13800138000") == []
    records = await _audit(session, member.id)
    assert records[-1].after == {"changed": ["email", "gender", "phone", "tags"]}


async def test_an_update_that_changes_nothing_is_not_audited(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    member = await make_member(
        session, member_shop.cashier, member_shop.store, phone="13800138000", name="Li Na"
    )
    await service.update_member(
        session, member_shop.cashier, member.id, service.MemberChanges(phone="138 0013 8000", name="Li Na")
    )
    assert [record.action for record in await _audit(session, member.id)][-1] == "member.consent"


async def test_a_new_number_that_belongs_to_another_member_is_a_conflict(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    first = await make_member(session, member_shop.cashier, member_shop.store, phone="13800138000")
    second = await make_member(session, member_shop.cashier, member_shop.store, phone="13900138000")
    with pytest.raises(Conflict) as raised:
        await service.update_member(
            session, member_shop.cashier, second.id, service.MemberChanges(phone="+86 138 0013 8000")
        )
    assert (raised.value.field, raised.value.extra) == ("phone", {"member_id": first.id})


async def test_consents_are_appended_and_the_latest_marketing_one_decides(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    cashier = member_shop.cashier
    member = await make_member(session, cashier, member_shop.store, marketing_sms=False)
    await service.record_consent(session, cashier, member.id, ConsentKind.MARKETING_SMS, True)
    assert member.marketing_sms_opt_in is True
    await service.record_consent(session, cashier, member.id, ConsentKind.MARKETING_SMS, False)
    assert member.marketing_sms_opt_in is False
    await service.record_consent(
        session, cashier, member.id, ConsentKind.PRIVACY_POLICY, True, policy_version="2027-01"
    )
    history = await service.list_consents(session, cashier, member.id)
    assert [(item.kind, item.is_granted, item.policy_version) for item in history] == [
        (ConsentKind.PRIVACY_POLICY, True, "2027-01"),
        (ConsentKind.MARKETING_SMS, False, None),
        (ConsentKind.MARKETING_SMS, True, None),
        (ConsentKind.MARKETING_SMS, False, None),
        (ConsentKind.PRIVACY_POLICY, True, "2026-11"),
    ]


@pytest.mark.parametrize(
    ("kind", "version"),
    [
        (ConsentKind.PRIVACY_POLICY, None),
        (ConsentKind.PRIVACY_POLICY, " "),
        (ConsentKind.MARKETING_SMS, "v1"),
    ],
)
async def test_a_policy_version_goes_with_privacy_consents_only(
    session: AsyncSession, member_shop: MemberShop, kind: ConsentKind, version: str | None
) -> None:
    member = await make_member(session, member_shop.cashier, member_shop.store)
    with pytest.raises(ValidationFailed) as raised:
        await service.record_consent(
            session, member_shop.cashier, member.id, kind, True, policy_version=version
        )
    assert raised.value.field == "policy_version"


async def test_stop_by_sms_opts_the_member_out(session: AsyncSession, member_shop: MemberShop) -> None:
    # given a member who opted in, and a member of another organization with the same number
    member = await make_member(
        session, member_shop.cashier, member_shop.store, phone="13800138000", marketing_sms=True
    )
    elsewhere = await make_member_shop(session)
    other = await make_member(
        session, elsewhere.cashier, elsewhere.store, phone="13800138000", marketing_sms=True
    )
    # when STOP arrives from that number for the first organization
    result = await service.opt_out_marketing_by_phone(session, member_shop.organization.id, "+8613800138000")
    # then only that member is opted out, with a record saying how
    assert result is member
    assert (member.marketing_sms_opt_in, other.marketing_sms_opt_in) == (False, True)
    latest = (await service.list_consents(session, member_shop.cashier, member.id))[0]
    assert (latest.kind, latest.is_granted, latest.source, latest.recorded_by_staff_id) == (
        ConsentKind.MARKETING_SMS,
        False,
        ConsentSource.SMS_REPLY,
        None,
    )


async def test_stop_from_an_unknown_number_records_nothing(
    session: AsyncSession, member_shop: MemberShop
) -> None:
    assert (
        await service.opt_out_marketing_by_phone(session, member_shop.organization.id, "+8613800138000")
        is None
    )


WHO_MAY = [
    (Role.WAITER, False),
    (Role.CASHIER, True),
    (Role.MANAGER, True),
    (Role.OWNER, True),
]


@pytest.mark.parametrize(("role", "may_manage"), WHO_MAY)
async def test_who_may_view_and_who_may_manage_members(
    session: AsyncSession, member_shop: MemberShop, role: Role, may_manage: bool
) -> None:
    actor = member_shop.actors[role]
    member = await make_member(session, member_shop.cashier, member_shop.store, phone="13800138000")
    # everyone at the counter may look members up
    assert await service.find_members(session, actor, "8000") == [member]
    assert await service.get_member(session, actor, member.id) == member
    assert len(await service.list_consents(session, actor, member.id)) == 2
    changes = [
        lambda: make_member(session, actor, member_shop.store),
        lambda: service.update_member(session, actor, member.id, service.MemberChanges(name="New")),
        lambda: service.record_consent(session, actor, member.id, ConsentKind.MARKETING_SMS, True),
    ]
    for change in changes:
        if may_manage:
            await change()
        else:
            async with unchanged(session):
                with pytest.raises(PermissionDenied):
                    await change()


async def test_an_actor_without_a_role_sees_nothing(session: AsyncSession, member_shop: MemberShop) -> None:
    nobody = Actor(organization_id=member_shop.organization.id)
    with pytest.raises(PermissionDenied):
        await service.find_members(session, nobody, "8000")


async def test_a_card_number_drawn_twice_is_drawn_again(
    session: AsyncSession, member_shop: MemberShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a member holding a card number the generator is about to repeat
    first = await make_member(session, member_shop.cashier, member_shop.store)
    draws = iter([first.card_number, "1234567897"])
    monkeypatch.setattr(service, "new_card_number", lambda: next(draws))
    # when another customer signs up, then they get the next draw
    second = await make_member(session, member_shop.cashier, member_shop.store)
    assert second.card_number == "1234567897"
    assert len(await service.list_consents(session, member_shop.cashier, second.id)) == 2


async def test_when_no_free_card_number_turns_up_the_sign_up_fails_cleanly(
    session: AsyncSession, member_shop: MemberShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await make_member(session, member_shop.cashier, member_shop.store)
    monkeypatch.setattr(service, "new_card_number", lambda: first.card_number)
    with pytest.raises(Conflict) as raised:
        await make_member(session, member_shop.cashier, member_shop.store)
    assert raised.value.field == "card_number"
    assert await service.find_members(session, member_shop.cashier, "") == [first]
