"""A two-store organization with staff of every role, and members made through the service."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Role
from kassa.members import service
from kassa.members.models import Member
from kassa.stores.models import Organization, Store
from tests.factories import actor_of, make_organization, make_staff, make_store

_numbers = itertools.count(1)


def new_phone() -> str:
    """A valid Chinese mobile number not used by another test member (as typed, no +86)."""
    return f"139{next(_numbers):08d}"


@dataclass
class MemberShop:
    organization: Organization
    store: Store
    other_store: Store
    actors: dict[Role, Actor]  # staff of ``store``; the owner works across stores

    @property
    def cashier(self) -> Actor:
        return self.actors[Role.CASHIER]


async def make_member_shop(session: AsyncSession) -> MemberShop:
    organization = await make_organization(session)
    store = await make_store(session, organization)
    other_store = await make_store(session, organization)
    actors = {}
    for role in Role:
        staff = await make_staff(session, store, role=role)
        actors[role] = actor_of(staff, store)
    actors[Role.OWNER] = Actor(
        organization_id=organization.id,
        staff_id=actors[Role.OWNER].staff_id,
        role=Role.OWNER,
        display_name=actors[Role.OWNER].display_name,
        store_ids=frozenset({store.id, other_store.id}),
    )
    return MemberShop(organization, store, other_store, actors)


@pytest.fixture
async def member_shop(session: AsyncSession) -> MemberShop:
    return await make_member_shop(session)


async def make_member(
    session: AsyncSession,
    actor: Actor,
    store: Store,
    *,
    phone: str | None = None,
    name: str = "Li Na",
    marketing_sms: bool = False,
    tags: Sequence[str] = (),
) -> Member:
    return await service.register_member(
        session,
        actor,
        store.id,
        service.MemberInput(phone=phone or new_phone(), name=name, tags=tags),
        service.RegistrationConsents(
            privacy_policy_accepted=True, privacy_policy_version="2026-11", marketing_sms=marketing_sms
        ),
    )
