"""A new owner's organization from nothing: the organization, its first store with a
register, and the owner's logins (`kassa org create`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.core.auth import Actor, Role
from kassa.core.errors import ValidationFailed
from kassa.staff import service as staff
from kassa.staff.models import StaffMember
from kassa.stores import service as stores
from kassa.stores.models import Organization, Register, Store


@dataclass(frozen=True)
class OrganizationSetup:
    name: str
    owner_name: str
    owner_email: str
    owner_password: str
    owner_pin: str
    store_name: str
    currency: str = "CNY"
    timezone: str = "Asia/Shanghai"
    phone_region: str = "CN"
    locale: str = "zh_CN"
    vat_rates: Sequence[stores.VatRateInput] = (stores.VatRateInput("standard", "6%", 600, is_default=True),)
    register_name: str = "Counter 1"


@dataclass(frozen=True)
class CreatedOrganization:
    organization: Organization
    store: Store
    register: Register
    owner: StaffMember


async def create_organization(session: AsyncSession, setup: OrganizationSetup) -> CreatedOrganization:
    """One transaction: the organization, its first store and register, and its owner with
    a PIN for the registers and an e-mail and password for the back office. Everything is
    checked by the services that make each part; a refusal leaves nothing behind."""
    if not setup.name.strip():
        raise ValidationFailed("an organization needs a name", field="name")
    organization = await stores.create_organization(session, setup.name.strip())
    setup_actor = Actor.system(organization.id, name="kassa org create")
    store = await stores.create_store(
        session,
        setup_actor,
        name=setup.store_name,
        currency=setup.currency,
        timezone=setup.timezone,
        phone_region=setup.phone_region,
        locale=setup.locale,
        vat_rates=list(setup.vat_rates),
    )
    store_actor = Actor.system(organization.id, store_id=store.id, name="kassa org create")
    register = await stores.add_register(session, store_actor, store.id, setup.register_name)
    owner = await staff.create_staff(
        session,
        store_actor,
        display_name=setup.owner_name,
        role=Role.OWNER,
        pin=setup.owner_pin,
        store_id=None,
        email=setup.owner_email,
        password=setup.owner_password,
    )
    return CreatedOrganization(organization, store, register, owner)


@dataclass(frozen=True)
class OrganizationSummary:
    id: int
    name: str
    stores: int
    staff: int


async def list_organizations(session: AsyncSession) -> list[OrganizationSummary]:
    """Every organization on this installation (for the server's operator, not an API)."""
    store_count = (
        select(func.count(Store.id)).where(Store.organization_id == Organization.id).scalar_subquery()
    )
    staff_count = (
        select(func.count(StaffMember.id))
        .where(StaffMember.organization_id == Organization.id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Organization.id, Organization.name, store_count, staff_count).order_by(Organization.id)
    )
    return [OrganizationSummary(*row) for row in rows.all()]
