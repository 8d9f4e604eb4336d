"""An incoming call: the number in any format finds the member, the call is logged even
when the number is none, it pops up on the paired register only, and a repeated
notification is the same call."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor
from kassa.core.events import Event, InProcessEventBus
from kassa.members import service as members
from kassa.members.models import Member
from kassa.telephony.models import PhoneCall
from kassa.telephony.service import CALL_EVENT, register_topic
from tests.factories import make_organization, make_store
from tests.shop import Shop
from tests.telephony.conftest import PairedShop, call_in, make_member, pair_phone, ring


@pytest.mark.parametrize(
    "number", ["+86 138 0013 8000", "138-0013-8000", "0086 13800138000", "13800138000", "(138) 0013 8000"]
)
async def test_any_format_of_the_number_finds_the_member(paired: PairedShop, number: str) -> None:
    answer = await call_in(paired.shop, paired.token, number)

    assert answer["phone_e164"] == "+8613800138000"
    assert answer["member"] == {
        "id": paired.member["id"],
        "name": "Li Na",
        "card_number": paired.member["card_number"],
    }
    assert answer["number"] == number
    assert answer["register_id"] == paired.shop.register_ids[0]
    assert answer["is_repeat"] is False


@pytest.mark.parametrize("number", ["12345", "anonymous", "", "+86 000"])
async def test_a_number_that_is_none_is_logged_as_unknown(
    paired: PairedShop, session: AsyncSession, number: str
) -> None:
    answer = await call_in(paired.shop, paired.token, number)

    assert (answer["phone_e164"], answer["member"]) == (None, None)
    call = await session.get(PhoneCall, answer["call_id"])
    assert call is not None
    assert (call.number, call.phone_e164, call.member_id, call.outcome) == (number, None, None, None)


async def test_a_valid_number_of_nobody_is_an_unknown_caller(paired: PairedShop) -> None:
    answer = await call_in(paired.shop, paired.token, "139 1111 2222")
    assert (answer["phone_e164"], answer["member"]) == ("+8613911112222", None)


async def test_members_of_another_organization_are_not_found(shop: Shop, session: AsyncSession) -> None:
    organization = await make_organization(session, name="Other")
    store = await make_store(session, organization)
    await members.register_member(
        session,
        Actor.system(organization.id, store_id=store.id),
        store.id,
        members.MemberInput(phone="13800138000", name="Someone else"),
        members.RegistrationConsents(privacy_policy_accepted=True, privacy_policy_version="2026-11"),
    )
    await session.commit()
    token = await pair_phone(shop)

    answer = await call_in(shop, token, "13800138000")

    assert answer["member"] is None


async def test_an_erased_member_is_not_named(paired: PairedShop, session: AsyncSession) -> None:
    member = await session.get(Member, paired.member["id"])
    assert member is not None
    member.erased_at = member.created_at
    await session.commit()
    answer = await call_in(paired.shop, paired.token, "13800138000")
    assert answer["member"] is None


async def test_a_number_too_long_is_refused_naming_it(paired: PairedShop) -> None:
    response = await ring(paired.shop, paired.token, "1" * 61)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["number"]


class Listener:
    def __init__(self, bus: InProcessEventBus, *topics: str) -> None:
        self.heard: list[tuple[str, Event]] = []
        for topic in topics:
            bus.subscribe(topic, self._hear(topic))

    def _hear(self, topic: str) -> Callable[[Event], None]:
        def hear(event: Event) -> None:
            self.heard.append((topic, event))

        return hear


async def test_a_call_pops_up_on_the_paired_register_only(shop: Shop, event_bus: InProcessEventBus) -> None:
    await make_member(shop)
    first, second = (register_topic(register_id) for register_id in shop.register_ids)
    listener = Listener(event_bus, first, second)
    token_of_first = await pair_phone(shop, 0)
    token_of_second = await pair_phone(shop, 1, "Back phone")

    answer = await call_in(shop, token_of_first, "+86 138 0013 8000")

    calls = [(topic, event) for topic, event in listener.heard if event.name == CALL_EVENT]
    assert [(topic, event.payload["call_id"]) for topic, event in calls] == [(first, answer["call_id"])]
    assert calls[0][1].payload["member_id"] == answer["member"]["id"]

    other = await call_in(shop, token_of_second, "13800138000")
    calls = [(topic, event) for topic, event in listener.heard if event.name == CALL_EVENT]
    assert [(topic, event.payload["call_id"]) for topic, event in calls] == [
        (first, answer["call_id"]),
        (second, other["call_id"]),
    ]


async def test_nothing_pops_up_for_a_refused_call(paired: PairedShop, event_bus: InProcessEventBus) -> None:
    listener = Listener(event_bus, register_topic(paired.shop.register_ids[0]))
    assert (await ring(paired.shop, paired.token, "1" * 61)).status_code == 422
    assert listener.heard == []


@pytest.mark.parametrize("how", ["header", "external_call_id"])
async def test_a_repeated_notification_is_one_call(
    paired: PairedShop, session: AsyncSession, event_bus: InProcessEventBus, how: str
) -> None:
    listener = Listener(event_bus, register_topic(paired.shop.register_ids[0]))
    send = {"key": "pbx-1700000000.42"} if how == "header" else {"external_call_id": "pbx-1700000000.42"}

    first = await ring(paired.shop, paired.token, "13800138000", **send)
    again = await ring(paired.shop, paired.token, "13800138000", **send)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["call_id"] == first.json()["call_id"]
    assert (first.json()["is_repeat"], again.json()["is_repeat"]) == (False, True)
    assert again.json()["member"] == first.json()["member"]
    assert await session.scalar(select(func.count(PhoneCall.id))) == 1
    assert len(listener.heard) == 1  # it popped up once


async def test_the_same_key_for_another_number_is_refused(paired: PairedShop) -> None:
    await ring(paired.shop, paired.token, "13800138000", key="pbx-call-7")
    response = await ring(paired.shop, paired.token, "13911112222", key="pbx-call-7")
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["Idempotency-Key"]


async def test_keys_belong_to_one_phone(paired: PairedShop) -> None:
    other_phone = await pair_phone(paired.shop, 1, "Back phone")
    first = await ring(paired.shop, paired.token, "13800138000", key="pbx-call-7")
    second = await ring(paired.shop, other_phone, "13800138000", key="pbx-call-7")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["call_id"] != second.json()["call_id"]


async def test_calls_without_a_key_are_separate_calls(paired: PairedShop) -> None:
    first = await call_in(paired.shop, paired.token, "13800138000")
    second = await call_in(paired.shop, paired.token, "13800138000")
    assert first["call_id"] != second["call_id"]
