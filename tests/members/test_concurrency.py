"""Two counters signing up one phone number at the same moment get one member.

Real commits on separate connections (the rolled-back test transaction cannot show a race);
everything made here is deleted at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.audit import AuditChainHead, AuditRecord, verify_chains
from kassa.core.auth import Actor, Role
from kassa.core.database import Database
from kassa.core.errors import Conflict
from kassa.members import service
from kassa.members.models import Member, MemberConsent
from kassa.stores import service as store_service
from kassa.stores.models import Organization, Store, VatRate

FORMATS = ["138 0013 8000", "+86 138-0013-8000", "0086 13800138000", "13800138000"]


@pytest.fixture
async def committed_store(migrated_database: Database) -> AsyncIterator[Store]:
    async with migrated_database.unit_of_work() as setup:
        # Made directly (not via the service) so no audit record lands on the global chain.
        organization = Organization(name="Members at once")
        setup.add(organization)
        await setup.flush()
        store = await store_service.create_store(
            setup,
            Actor.system(organization.id),
            name="Busy store",
            currency="CNY",
            timezone="Asia/Shanghai",
            phone_region="CN",
            locale="zh_CN",
            vat_rates=[store_service.VatRateInput("standard", "6%", 600, is_default=True)],
        )
    yield store
    async with migrated_database.unit_of_work() as cleanup:
        chain = f"store:{store.id}"
        member_ids = select(Member.id).where(Member.organization_id == organization.id)
        await cleanup.execute(delete(MemberConsent).where(MemberConsent.member_id.in_(member_ids)))
        await cleanup.execute(delete(Member).where(Member.organization_id == organization.id))
        await cleanup.execute(delete(AuditRecord).where(AuditRecord.chain_key == chain))
        await cleanup.execute(delete(AuditChainHead).where(AuditChainHead.chain_key == chain))
        await cleanup.execute(delete(VatRate).where(VatRate.store_id == store.id))
        await cleanup.execute(delete(Store).where(Store.id == store.id))
        await cleanup.execute(delete(Organization).where(Organization.id == organization.id))


async def test_simultaneous_sign_ups_of_one_number_give_one_member(
    migrated_database: Database, committed_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = migrated_database
    store = committed_store
    lookups: list[str] = []
    if not database.is_sqlite:
        # Make every counter see "no member yet" before any of them inserts, so the unique
        # index, not the first check, has to decide. (SQLite takes the write lock at BEGIN,
        # so there the sign-ups queue instead; waiting here would deadlock them.)
        barrier = asyncio.Barrier(len(FORMATS))
        checked: set[asyncio.Task[object] | None] = set()
        original = service._member_id_by_phone

        async def check_then_wait(session: AsyncSession, organization_id: int, phone: str) -> int | None:
            found = await original(session, organization_id, phone)
            if asyncio.current_task() in checked:
                lookups.append("after refusal")
            else:
                lookups.append("before insert")
                checked.add(asyncio.current_task())
                await barrier.wait()
            return found

        monkeypatch.setattr(service, "_member_id_by_phone", check_then_wait)

    async def sign_up(counter: int, phone: str) -> int | str:
        cashier = Actor(
            organization_id=store.organization_id,
            role=Role.CASHIER,
            store_id=store.id,
            display_name=f"Counter {counter}",
        )
        try:
            async with database.unit_of_work() as session:
                member = await service.register_member(
                    session,
                    cashier,
                    store.id,
                    service.MemberInput(phone=phone, name=f"Customer at counter {counter}"),
                    service.RegistrationConsents(
                        privacy_policy_accepted=True, privacy_policy_version="2026-11"
                    ),
                )
                return member.id
        except Conflict as conflict:
            return f"conflict on {conflict.field}"

    results = await asyncio.gather(*(sign_up(counter, phone) for counter, phone in enumerate(FORMATS, 1)))

    winners = [result for result in results if isinstance(result, int)]
    assert len(winners) == 1
    assert results.count("conflict on phone") == len(FORMATS) - 1
    if not database.is_sqlite:
        # every loser checked again after the unique index refused its insert
        assert lookups == [*["before insert"] * len(FORMATS), *["after refusal"] * (len(FORMATS) - 1)]
    async with database.unit_of_work() as check:
        members = (
            await check.scalars(select(Member).where(Member.organization_id == store.organization_id))
        ).all()
        assert [(member.id, member.phone_e164) for member in members] == [(winners[0], "+8613800138000")]
        consents = await check.scalar(
            select(func.count(MemberConsent.id)).where(MemberConsent.member_id == winners[0])
        )
        assert consents == 2
        assert (await verify_chains(check))[1] == []
