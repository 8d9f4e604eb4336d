"""What is sold: categories, products, modifier groups and their options (shared by the
organization's stores), and how each store sells a product (availability, price, stock)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kassa.core.database import Base, IdMixin, IdType, TimestampMixin, enum_type


class ProductKind(StrEnum):
    STANDARD = "standard"
    # Its modifier groups' options are component products (choose a tea, choose a dessert).
    COMBO = "combo"
    # Time sold, not goods: a massage, a room hour; carries a duration.
    SERVICE = "service"
    # A department key: the cashier types the amount, within the product's bounds.
    OPEN_PRICE = "open_price"


class Category(IdMixin, Base):
    __tablename__ = "catalog_categories"

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    # Names in other languages by locale, e.g. {"en": "Coffee"}; ``name`` is the default.
    name_translations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sort_order: Mapped[int] = mapped_column(default=0)
    # Which kitchen ticket a line of this category goes to ("bar", "kitchen"); None: no ticket.
    kitchen_station: Mapped[str | None] = mapped_column(String(40))


class Product(IdMixin, TimestampMixin, Base):
    __tablename__ = "catalog_products"
    __table_args__ = (
        UniqueConstraint("organization_id", "sku"),
        # NULLs are distinct in a unique constraint on every database: many products have none.
        UniqueConstraint("organization_id", "barcode"),
    )

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"), index=True)
    category_id: Mapped[int] = mapped_column(IdType, ForeignKey("catalog_categories.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    name_translations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sku: Mapped[str] = mapped_column(String(40))
    barcode: Mapped[str | None] = mapped_column(String(64))
    price_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    vat_rate_code: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(20), default="piece", server_default="piece")
    image_url: Mapped[str] = mapped_column(String(500), default="", server_default="")
    kind: Mapped[ProductKind] = mapped_column(
        enum_type(ProductKind), default=ProductKind.STANDARD, server_default=ProductKind.STANDARD.value
    )
    duration_minutes: Mapped[int | None] = mapped_column(Integer)  # SERVICE only
    min_price_amount: Mapped[int | None] = mapped_column(BigInteger)  # OPEN_PRICE only
    max_price_amount: Mapped[int | None] = mapped_column(BigInteger)  # OPEN_PRICE only
    sort_order: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class ModifierGroup(IdMixin, Base):
    """A choice made when selling a product: "Size", "Sugar level", "Add-ons".

    A required group needs ``min_choices`` (at least 1) to ``max_choices`` options; an
    optional group takes none, or ``min_choices`` to ``max_choices``.
    """

    __tablename__ = "catalog_modifier_groups"

    organization_id: Mapped[int] = mapped_column(IdType, ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    name_translations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_required: Mapped[bool] = mapped_column(Boolean, default=False)
    min_choices: Mapped[int] = mapped_column(default=0)
    max_choices: Mapped[int] = mapped_column(default=1)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class ModifierOption(IdMixin, Base):
    __tablename__ = "catalog_modifier_options"

    group_id: Mapped[int] = mapped_column(IdType, ForeignKey("catalog_modifier_groups.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    name_translations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Added to the product's price; may be negative ("no milk") but a line never goes below 0.
    price_delta_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    # Combos: the component product this option sells, whose stock it consumes.
    product_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("catalog_products.id"), index=True)
    sort_order: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class ProductModifierGroup(Base):
    """A modifier group offered with a product, in the order the register shows it."""

    # (a short table name: PostgreSQL cuts identifiers at 63 characters, and the foreign
    # key's conventional name is built from it)
    __tablename__ = "catalog_product_modifiers"

    product_id: Mapped[int] = mapped_column(IdType, ForeignKey("catalog_products.id"), primary_key=True)
    group_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("catalog_modifier_groups.id"), primary_key=True, index=True
    )
    sort_order: Mapped[int] = mapped_column(default=0)


class StoreProduct(Base):
    """How one store sells a product. No row means the defaults: available at the catalog
    price, stock not counted, not sold out."""

    __tablename__ = "catalog_store_products"

    store_id: Mapped[int] = mapped_column(IdType, ForeignKey("stores.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("catalog_products.id"), primary_key=True, index=True
    )
    is_available: Mapped[bool] = mapped_column(Boolean, default=True)
    # This store's price in the product's currency; None: the catalog price.
    price_amount: Mapped[int | None] = mapped_column(BigInteger)
    # Set by hand when the kitchen ran out of something whose stock is not counted.
    is_marked_sold_out: Mapped[bool] = mapped_column(Boolean, default=False)
    is_stock_tracked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Changed only by the atomic UPDATE in ``service.change_stock`` (or a count).
    stock_quantity: Mapped[int] = mapped_column(default=0)

    @property
    def is_sold_out(self) -> bool:
        return self.is_marked_sold_out or (self.is_stock_tracked and self.stock_quantity <= 0)
