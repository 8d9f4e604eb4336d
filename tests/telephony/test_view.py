"""What the register's popup reads: the open bill it acts on, the caller's card, labels."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Role
from kassa.core.database import utc_now
from kassa.orders.models import OrderType
from kassa.orders.ui import hooks
from kassa.staff.models import StaffMember
from kassa.stores.models import Register, Store
from kassa.telephony.models import CallOutcome, PhoneCall
from kassa.telephony.ui.view import caller_number, load_call_card, open_bill_of, state_label
from tests.factories import actor_of
from tests.telephony.conftest import PairedShop, act, call_in


async def _cashier(session: AsyncSession, paired: PairedShop) -> Actor:
    staff = await session.get(StaffMember, paired.shop.staff_ids[Role.CASHIER])
    store = await session.get(Store, paired.shop.store_id)
    register = await session.get(Register, paired.shop.register_ids[0])
    assert staff is not None
    assert store is not None
    assert register is not None
    return actor_of(staff, store, register)


async def _gold_facts(session: AsyncSession, organization_id: int, member_id: int) -> list[str]:
    return ["Gold", "120 points"]


@pytest.fixture
def loyalty_facts() -> Iterator[None]:
    hooks.MEMBER_FACT_LOADERS.append(_gold_facts)
    yield
    hooks.MEMBER_FACT_LOADERS.remove(_gold_facts)


async def test_the_card_of_a_known_caller_has_the_loyalty_facts(
    paired: PairedShop, session: AsyncSession, loyalty_facts: None
) -> None:
    call = await call_in(paired.shop, paired.token, "0086 13800138000")
    actor = await _cashier(session, paired)

    card = await load_call_card(session, actor, call["call_id"], "CN", "en")

    assert card.is_known
    assert card.number == "138 0013 8000"
    assert card.facts == ("Gold", "120 points")
    caller = card.caller()
    assert (caller.call_id, caller.member_id, caller.name, caller.phone_e164) == (
        call["call_id"],
        paired.member["id"],
        "Li Na",
        "+8613800138000",
    )


async def test_the_card_of_an_unknown_caller_has_no_facts(
    paired: PairedShop, session: AsyncSession, loyalty_facts: None
) -> None:
    call = await call_in(paired.shop, paired.token, "withheld")
    card = await load_call_card(session, await _cashier(session, paired), call["call_id"], "CN", "en")
    assert (card.is_known, card.number, card.facts) == (False, "withheld", ())


async def test_the_open_bill_is_the_one_shown_while_it_is_open(
    paired: PairedShop, session: AsyncSession
) -> None:
    actor = await _cashier(session, paired)
    bill = await paired.shop.add(await paired.shop.open_takeaway(), "cake")

    shown = await open_bill_of(session, actor, bill["id"])

    assert shown is not None
    assert (shown.id, shown.version, shown.order_type) == (bill["id"], bill["version"], OrderType.TAKEAWAY)
    assert await open_bill_of(session, actor, None) is None
    assert await open_bill_of(session, actor, 999_999) is None
    paid = await paired.shop.pay(bill, "card", approval_code="A1")
    assert paid["status"] == "closed"
    assert await open_bill_of(session, actor, bill["id"]) is None


def test_numbers_and_states_for_people() -> None:
    now = utc_now()
    call = PhoneCall(number="+86 138-0013-8000", phone_e164="+8613800138000", received_at=now)
    assert caller_number(call, "CN") == "138 0013 8000"
    assert caller_number(call, "DE") == "+86 138 0013 8000"
    assert caller_number(PhoneCall(number="anonymous", phone_e164=None), "CN") == "anonymous"
    assert state_label(call, now) == "Ringing"
    call.received_at = now - timedelta(minutes=3)
    assert state_label(call, now) == "Missed"
    call.outcome = CallOutcome.NEW_ORDER
    assert state_label(call, now) == "Bill parked, new bill"


async def test_a_handled_call_shows_its_outcome(paired: PairedShop) -> None:
    call = await call_in(paired.shop, paired.token, "13800138000")
    done = await act(paired.shop, call["call_id"], "ignore")
    assert done["call"]["is_ringing"] is False
    assert done["call"]["is_missed"] is False
