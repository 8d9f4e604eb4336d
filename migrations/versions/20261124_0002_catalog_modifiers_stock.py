"""catalog: modifiers, combos, product kinds, per-store availability, price and stock

Revision ID: 0002_catalog
Revises: 147713a3e4bb
Create Date: 2026-11-24 00:15:52.365330
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_catalog"
down_revision: str | None = "147713a3e4bb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_modifier_groups",
        sa.Column("organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("name_translations", sa.JSON(), nullable=False),
        sa.Column("is_required", sa.Boolean(), nullable=False),
        sa.Column("min_choices", sa.Integer(), nullable=False),
        sa.Column("max_choices", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_catalog_modifier_groups_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_modifier_groups")),
    )
    with op.batch_alter_table("catalog_modifier_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_modifier_groups_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "catalog_modifier_options",
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("name_translations", sa.JSON(), nullable=False),
        sa.Column("price_delta_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["catalog_modifier_groups.id"],
            name=op.f("fk_catalog_modifier_options_group_id_catalog_modifier_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["catalog_products.id"],
            name=op.f("fk_catalog_modifier_options_product_id_catalog_products"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_modifier_options")),
    )
    with op.batch_alter_table("catalog_modifier_options", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_modifier_options_group_id"), ["group_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_catalog_modifier_options_product_id"), ["product_id"], unique=False
        )

    op.create_table(
        "catalog_product_modifiers",
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["catalog_modifier_groups.id"],
            name=op.f("fk_catalog_product_modifiers_group_id_catalog_modifier_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["catalog_products.id"],
            name=op.f("fk_catalog_product_modifiers_product_id_catalog_products"),
        ),
        sa.PrimaryKeyConstraint("product_id", "group_id", name=op.f("pk_catalog_product_modifiers")),
    )
    with op.batch_alter_table("catalog_product_modifiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_product_modifiers_group_id"), ["group_id"], unique=False)

    op.create_table(
        "catalog_store_products",
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("is_available", sa.Boolean(), nullable=False),
        sa.Column("price_amount", sa.BigInteger(), nullable=True),
        sa.Column("is_marked_sold_out", sa.Boolean(), nullable=False),
        sa.Column("is_stock_tracked", sa.Boolean(), nullable=False),
        sa.Column("stock_quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["catalog_products.id"],
            name=op.f("fk_catalog_store_products_product_id_catalog_products"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_catalog_store_products_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("store_id", "product_id", name=op.f("pk_catalog_store_products")),
    )
    with op.batch_alter_table("catalog_store_products", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_store_products_product_id"), ["product_id"], unique=False
        )

    with op.batch_alter_table("catalog_categories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kitchen_station", sa.String(length=40), nullable=True))

    with op.batch_alter_table("catalog_products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("barcode", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("unit", sa.String(length=20), server_default="piece", nullable=False))
        batch_op.add_column(sa.Column("image_url", sa.String(length=500), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.Enum(
                    "standard",
                    "combo",
                    "service",
                    "open_price",
                    name="productkind",
                    native_enum=False,
                    length=20,
                ),
                server_default="standard",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("duration_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("min_price_amount", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("max_price_amount", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_catalog_products_organization_id_barcode"), ["organization_id", "barcode"]
        )


def downgrade() -> None:
    with op.batch_alter_table("catalog_products", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_catalog_products_organization_id_barcode"), type_="unique")
        batch_op.drop_column("max_price_amount")
        batch_op.drop_column("min_price_amount")
        batch_op.drop_column("duration_minutes")
        batch_op.drop_column("kind")
        batch_op.drop_column("image_url")
        batch_op.drop_column("unit")
        batch_op.drop_column("barcode")

    with op.batch_alter_table("catalog_categories", schema=None) as batch_op:
        batch_op.drop_column("kitchen_station")

    with op.batch_alter_table("catalog_store_products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_store_products_product_id"))

    op.drop_table("catalog_store_products")
    with op.batch_alter_table("catalog_product_modifiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_product_modifiers_group_id"))

    op.drop_table("catalog_product_modifiers")
    with op.batch_alter_table("catalog_modifier_options", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_modifier_options_product_id"))
        batch_op.drop_index(batch_op.f("ix_catalog_modifier_options_group_id"))

    op.drop_table("catalog_modifier_options")
    with op.batch_alter_table("catalog_modifier_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_modifier_groups_organization_id"))

    op.drop_table("catalog_modifier_groups")
