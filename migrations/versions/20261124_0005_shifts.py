"""shifts: register shifts (opening float, count at close, over/short) and cash in/out

Revision ID: 0005_shifts
Revises: 0004_orders
Create Date: 2026-11-24 00:32:22.125200
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_shifts"
down_revision: str | None = "0004_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shifts",
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("register_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "closed", name="shiftstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("opening_float_amount", sa.BigInteger(), nullable=False),
        sa.Column("opening_denominations", sa.JSON(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by_staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("cash_sales_amount", sa.BigInteger(), nullable=True),
        sa.Column("cash_refunds_amount", sa.BigInteger(), nullable=True),
        sa.Column("cash_in_amount", sa.BigInteger(), nullable=True),
        sa.Column("cash_out_amount", sa.BigInteger(), nullable=True),
        sa.Column("expected_cash_amount", sa.BigInteger(), nullable=True),
        sa.Column("counted_cash_amount", sa.BigInteger(), nullable=True),
        sa.Column("counted_denominations", sa.JSON(), nullable=True),
        sa.Column("difference_amount", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["closed_by_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_shifts_closed_by_staff_id_staff_members"),
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_shifts_opened_by_staff_id_staff_members"),
        ),
        sa.ForeignKeyConstraint(
            ["register_id"], ["registers.id"], name=op.f("fk_shifts_register_id_registers")
        ),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_shifts_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shifts")),
    )
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.create_index("ix_shifts_store_id_business_date", ["store_id", "business_date"], unique=False)
        batch_op.create_index(
            "uq_shifts_register_id_open",
            ["register_id"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    op.create_table(
        "cash_movements",
        sa.Column("shift_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("register_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("cash_in", "cash_out", name="cashmovementkind", native_enum=False, length=18),
            nullable=False,
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_by_staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_cash_movements_created_by_staff_id_staff_members"),
        ),
        sa.ForeignKeyConstraint(
            ["register_id"], ["registers.id"], name=op.f("fk_cash_movements_register_id_registers")
        ),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"], name=op.f("fk_cash_movements_shift_id_shifts")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_cash_movements_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cash_movements")),
    )
    with op.batch_alter_table("cash_movements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cash_movements_shift_id"), ["shift_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cash_movements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cash_movements_shift_id"))

    op.drop_table("cash_movements")
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_shifts_register_id_open",
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index("ix_shifts_store_id_business_date")

    op.drop_table("shifts")
