from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.catalog.factories import Shop, make_shop


@pytest.fixture
async def shop(session: AsyncSession) -> Shop:
    return await make_shop(session)
