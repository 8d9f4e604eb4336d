"""The shop of the bill tests plus a second VAT rate (9 %) and two products sold at it:
water in a new "饮料" (drinks) category and a tea egg in the food category, so one category
sells at two rates and names in the reports are Chinese."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kassa.catalog import service as catalog
from kassa.catalog.models import Product
from kassa.core.auth import Actor
from kassa.core.money import Money
from kassa.stores.models import Store, VatRate
from tests.shop import Shop


@pytest.fixture
async def cafe(shop: Shop, session: AsyncSession) -> Shop:
    store = await session.get(Store, shop.store_id)
    assert store is not None
    actor = Actor.system(store.organization_id, store_id=store.id)
    session.add(VatRate(store_id=store.id, code="reduced", label="9%", rate_basis_points=900))
    await session.flush()
    drinks = await catalog.create_category(session, actor, "饮料", translations={"en": "Drinks"})
    food_id = await session.scalar(select(Product.category_id).where(Product.id == shop.products["cake"]))
    assert food_id is not None
    for name, category_id, price in (("water", drinks.id, 500), ("茶叶蛋", food_id, 300)):
        product = await catalog.create_product(
            session,
            actor,
            category_id=category_id,
            name=name,
            sku=f"SKU-{price}",
            price=Money(price, "CNY"),
            vat_rate_code="reduced",
        )
        shop.products["egg" if name == "茶叶蛋" else name] = product.id
    await session.commit()
    return shop
