"""Loyalty: tiers, points, stored value, coupons

Revision ID: 0009_loyalty
Revises: 0008_returns
Create Date: 2026-11-30 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_loyalty"
down_revision: str | None = "0008_returns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "loyalty_coupon_definitions",
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("name_translations", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "discount_kind",
            sa.Enum("amount", "percent", name="discountkind", native_enum=False, length=17),
            nullable=False,
        ),
        sa.Column("discount_amount", sa.BigInteger(), nullable=True),
        sa.Column("discount_basis_points", sa.Integer(), nullable=True),
        sa.Column("minimum_spend_amount", sa.BigInteger(), nullable=False),
        sa.Column("product_ids", sa.JSON(), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_loyalty_coupon_definitions_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_coupon_definitions")),
    )
    with op.batch_alter_table("loyalty_coupon_definitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_loyalty_coupon_definitions_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "loyalty_tiers",
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("name_translations", sa.JSON(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("spend_threshold_amount", sa.BigInteger(), nullable=False),
        sa.Column("points_threshold", sa.BigInteger(), nullable=False),
        sa.Column("discount_basis_points", sa.Integer(), nullable=False),
        sa.Column("points_multiplier_basis_points", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_loyalty_tiers_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_tiers")),
    )
    with op.batch_alter_table("loyalty_tiers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_loyalty_tiers_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "loyalty_settings",
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "tier_basis",
            sa.Enum("spend", "points", name="tierbasis", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("points_per_currency_unit", sa.Integer(), nullable=False),
        sa.Column("excluded_category_ids", sa.JSON(), nullable=False),
        sa.Column("bonus_products", sa.JSON(), nullable=False),
        sa.Column("redeem_points", sa.Integer(), nullable=False),
        sa.Column("redeem_value_amount", sa.BigInteger(), nullable=False),
        sa.Column("points_expiry_months", sa.Integer(), nullable=True),
        sa.Column("top_up_bonus_rules", sa.JSON(), nullable=False),
        sa.Column("birthday_coupon_definition_id", ID, nullable=True),
        sa.Column("birthday_days_before", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["birthday_coupon_definition_id"],
            ["loyalty_coupon_definitions.id"],
            name=op.f("fk_loyalty_settings_birthday_coupon_definition_id_loyalty_coupon_definitions"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_loyalty_settings_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_loyalty_settings")),
    )
    op.create_table(
        "loyalty_accounts",
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("points_balance", sa.BigInteger(), nullable=False),
        sa.Column("principal_amount", sa.BigInteger(), nullable=False),
        sa.Column("bonus_amount", sa.BigInteger(), nullable=False),
        sa.Column("tier_id", ID, nullable=True),
        sa.Column("tier_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.CheckConstraint("bonus_amount >= 0", name=op.f("ck_loyalty_accounts_bonus_amount_not_negative")),
        sa.CheckConstraint(
            "points_balance >= 0", name=op.f("ck_loyalty_accounts_points_balance_not_negative")
        ),
        sa.CheckConstraint(
            "principal_amount >= 0", name=op.f("ck_loyalty_accounts_principal_amount_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_loyalty_accounts_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_loyalty_accounts_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["tier_id"], ["loyalty_tiers.id"], name=op.f("fk_loyalty_accounts_tier_id_loyalty_tiers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_accounts")),
        sa.UniqueConstraint("member_id", name=op.f("uq_loyalty_accounts_member_id")),
    )
    with op.batch_alter_table("loyalty_accounts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loyalty_accounts_organization_id_tier_id", ["organization_id", "tier_id"], unique=False
        )

    op.create_table(
        "loyalty_stored_value_entries",
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "top_up",
                "bonus",
                "charge",
                "refund",
                "adjust",
                name="storedvalueentrykind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("principal_amount", sa.BigInteger(), nullable=False),
        sa.Column("bonus_amount", sa.BigInteger(), nullable=False),
        sa.Column("principal_after", sa.BigInteger(), nullable=False),
        sa.Column("bonus_after", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("tender", sa.String(length=30), nullable=True),
        sa.Column("charge_entry_id", ID, nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("store_id", ID, nullable=True),
        sa.Column("staff_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["charge_entry_id"],
            ["loyalty_stored_value_entries.id"],
            name=op.f("fk_loyalty_stored_value_entries_charge_entry_id_loyalty_stored_value_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_loyalty_stored_value_entries_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_loyalty_stored_value_entries_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_members.id"],
            name=op.f("fk_loyalty_stored_value_entries_staff_id_staff_members"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_loyalty_stored_value_entries_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_stored_value_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_loyalty_stored_value_entries_idempotency_key")),
    )
    with op.batch_alter_table("loyalty_stored_value_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_loyalty_stored_value_entries_charge_entry_id"), ["charge_entry_id"], unique=False
        )
        batch_op.create_index(
            "ix_loyalty_stored_value_entries_member_id_id", ["member_id", "id"], unique=False
        )

    op.create_table(
        "loyalty_tier_changes",
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("from_tier_id", ID, nullable=True),
        sa.Column("to_tier_id", ID, nullable=True),
        sa.Column(
            "basis",
            sa.Enum("spend", "points", name="tierbasis", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("qualifying_value", sa.BigInteger(), nullable=False),
        sa.Column("cause", sa.String(length=60), nullable=False),
        sa.Column("changed_by_staff_id", ID, nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_loyalty_tier_changes_changed_by_staff_id_staff_members"),
        ),
        sa.ForeignKeyConstraint(
            ["from_tier_id"],
            ["loyalty_tiers.id"],
            name=op.f("fk_loyalty_tier_changes_from_tier_id_loyalty_tiers"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_loyalty_tier_changes_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_loyalty_tier_changes_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["to_tier_id"],
            ["loyalty_tiers.id"],
            name=op.f("fk_loyalty_tier_changes_to_tier_id_loyalty_tiers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_tier_changes")),
    )
    with op.batch_alter_table("loyalty_tier_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loyalty_tier_changes_member_id"), ["member_id"], unique=False)

    op.create_table(
        "loyalty_coupons",
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("definition_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "issued", "redeemed", "expired", "void", name="couponstatus", native_enum=False, length=18
            ),
            nullable=False,
        ),
        sa.Column(
            "source",
            sa.Enum("staff", "campaign", "birthday", name="couponsource", native_enum=False, length=18),
            nullable=False,
        ),
        sa.Column("issue_key", sa.String(length=100), nullable=True),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("name_translations", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "discount_kind",
            sa.Enum("amount", "percent", name="discountkind", native_enum=False, length=17),
            nullable=False,
        ),
        sa.Column("discount_amount", sa.BigInteger(), nullable=True),
        sa.Column("discount_basis_points", sa.Integer(), nullable=True),
        sa.Column("minimum_spend_amount", sa.BigInteger(), nullable=False),
        sa.Column("product_ids", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by_staff_id", ID, nullable=True),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redeemed_bill_id", ID, nullable=True),
        sa.Column("redeemed_discount_amount", sa.BigInteger(), nullable=True),
        sa.Column("redeemed_by_staff_id", ID, nullable=True),
        sa.Column("id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["loyalty_coupon_definitions.id"],
            name=op.f("fk_loyalty_coupons_definition_id_loyalty_coupon_definitions"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_loyalty_coupons_issued_by_staff_id_staff_members"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_loyalty_coupons_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_loyalty_coupons_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["redeemed_bill_id"], ["bills.id"], name=op.f("fk_loyalty_coupons_redeemed_bill_id_bills")
        ),
        sa.ForeignKeyConstraint(
            ["redeemed_by_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_loyalty_coupons_redeemed_by_staff_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_coupons")),
        sa.UniqueConstraint("code", name=op.f("uq_loyalty_coupons_code")),
        sa.UniqueConstraint("issue_key", name=op.f("uq_loyalty_coupons_issue_key")),
    )
    with op.batch_alter_table("loyalty_coupons", schema=None) as batch_op:
        batch_op.create_index("ix_loyalty_coupons_member_id_status", ["member_id", "status"], unique=False)
        batch_op.create_index(
            "ix_loyalty_coupons_organization_id_status_valid_until",
            ["organization_id", "status", "valid_until"],
            unique=False,
        )

    op.create_table(
        "loyalty_points_entries",
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "earn",
                "redeem",
                "refund",
                "reverse",
                "expire",
                "adjust",
                name="pointsentrykind",
                native_enum=False,
                length=17,
            ),
            nullable=False,
        ),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("bill_id", ID, nullable=True),
        sa.Column("basis_amount", sa.BigInteger(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("store_id", ID, nullable=True),
        sa.Column("staff_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["bill_id"], ["bills.id"], name=op.f("fk_loyalty_points_entries_bill_id_bills")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_loyalty_points_entries_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_loyalty_points_entries_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_members.id"], name=op.f("fk_loyalty_points_entries_staff_id_staff_members")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_loyalty_points_entries_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_points_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_loyalty_points_entries_idempotency_key")),
    )
    with op.batch_alter_table("loyalty_points_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loyalty_points_entries_bill_id"), ["bill_id"], unique=False)
        batch_op.create_index("ix_loyalty_points_entries_member_id_id", ["member_id", "id"], unique=False)
        batch_op.create_index(
            "ix_loyalty_points_entries_organization_id_expires_on",
            ["organization_id", "expires_on"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("loyalty_points_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_points_entries_organization_id_expires_on")
        batch_op.drop_index("ix_loyalty_points_entries_member_id_id")
        batch_op.drop_index(batch_op.f("ix_loyalty_points_entries_bill_id"))

    op.drop_table("loyalty_points_entries")
    with op.batch_alter_table("loyalty_coupons", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_coupons_organization_id_status_valid_until")
        batch_op.drop_index("ix_loyalty_coupons_member_id_status")

    op.drop_table("loyalty_coupons")
    with op.batch_alter_table("loyalty_tier_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loyalty_tier_changes_member_id"))

    op.drop_table("loyalty_tier_changes")
    with op.batch_alter_table("loyalty_stored_value_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_stored_value_entries_member_id_id")
        batch_op.drop_index(batch_op.f("ix_loyalty_stored_value_entries_charge_entry_id"))

    op.drop_table("loyalty_stored_value_entries")
    with op.batch_alter_table("loyalty_accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_accounts_organization_id_tier_id")

    op.drop_table("loyalty_accounts")
    op.drop_table("loyalty_settings")
    with op.batch_alter_table("loyalty_tiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loyalty_tiers_organization_id"))

    op.drop_table("loyalty_tiers")
    with op.batch_alter_table("loyalty_coupon_definitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loyalty_coupon_definitions_organization_id"))

    op.drop_table("loyalty_coupon_definitions")
