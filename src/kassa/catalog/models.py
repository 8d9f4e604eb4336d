"""What is sold: categories and products (shared by the organization's stores)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kassa.core.database import Base, IdMixin, IdType, TimestampMixin


class Category(IdMixin, Base):
    __tablename__ = "catalog_categories"

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    # Names in other languages by locale, e.g. {"en": "Coffee"}; ``name`` is the default.
    name_translations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sort_order: Mapped[int] = mapped_column(default=0)


class Product(IdMixin, TimestampMixin, Base):
    __tablename__ = "catalog_products"
    __table_args__ = (UniqueConstraint("organization_id", "sku"),)

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"), index=True)
    category_id: Mapped[int] = mapped_column(IdType, ForeignKey("catalog_categories.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    name_translations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sku: Mapped[str] = mapped_column(String(40))
    price_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    vat_rate_code: Mapped[str] = mapped_column(String(20))
    sort_order: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
