from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog.models import Product
from kassa.core import audit
from kassa.demo import DEMO_STAFF, is_seeded, seed_demo
from kassa.floor.models import DiningTable
from kassa.staff import service as staff_service
from kassa.staff.models import StaffMember
from kassa.stores.models import Register


async def test_demo_has_a_store_with_registers_staff_tables_and_a_menu(session: AsyncSession) -> None:
    assert not await is_seeded(session)
    await seed_demo(session)
    await session.commit()
    assert await is_seeded(session)
    assert await session.scalar(select(func.count(Register.id))) == 2
    roles = set((await session.scalars(select(StaffMember.role))).all())
    assert {role.value for role in roles} == {"owner", "manager", "cashier", "waiter"}
    assert await session.scalar(select(func.count(DiningTable.id))) == 12
    assert await session.scalar(select(func.count(Product.id))) == 12
    assert (await audit.verify_chains(session))[1] == []


async def test_every_demo_pin_logs_in(session: AsyncSession) -> None:
    await seed_demo(session)
    await session.commit()
    register_id = await session.scalar(select(Register.id).order_by(Register.id))
    assert register_id is not None
    for login in DEMO_STAFF:
        staff_id = await session.scalar(select(StaffMember.id).where(StaffMember.display_name == login.name))
        assert staff_id is not None
        result = await staff_service.login_with_pin(session, register_id, staff_id, login.pin)
        assert result.error is None, login
