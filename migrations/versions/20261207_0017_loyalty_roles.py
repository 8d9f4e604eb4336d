"""Loyalty roles: stored-value top-ups as real money, top-up presets and maximum

Revision ID: 0017_loyalty_roles
Revises: 0016_notify
Create Date: 2026-12-07 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_loyalty_roles"
down_revision: str | None = "0016_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TENDERS = ("cash", "card", "wechat_pay", "alipay", "stored_value", "points")
STATUSES = ("pending", "succeeded", "failed", "voided")


def upgrade() -> None:
    op.create_table(
        "top_up_payments",
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("store_id", ID, nullable=False),
        sa.Column("register_id", ID, nullable=False),
        sa.Column("shift_id", ID, nullable=True),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("tender", sa.Enum(*TENDERS, name="tender", native_enum=False, length=22), nullable=False),
        sa.Column(
            "status", sa.Enum(*STATUSES, name="paymentstatus", native_enum=False, length=19), nullable=False
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("approval_code", sa.String(length=40), nullable=True),
        sa.Column("provider", sa.String(length=30), nullable=True),
        sa.Column("out_trade_no", sa.String(length=64), nullable=True),
        sa.Column("provider_reference", sa.String(length=80), nullable=True),
        sa.Column("qr_code", sa.String(length=500), nullable=True),
        sa.Column("failure_reason", sa.String(length=300), nullable=True),
        sa.Column("provider_response", sa.JSON(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("created_by_staff_id", ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("credited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_top_up_payments_created_by_staff_id_staff_members"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_top_up_payments_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_top_up_payments_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["register_id"], ["registers.id"], name=op.f("fk_top_up_payments_register_id_registers")
        ),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"], name=op.f("fk_top_up_payments_shift_id_shifts")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_top_up_payments_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_top_up_payments")),
        sa.UniqueConstraint("out_trade_no", name=op.f("uq_top_up_payments_out_trade_no")),
        sa.UniqueConstraint(
            "store_id", "idempotency_key", name=op.f("uq_top_up_payments_store_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("top_up_payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_top_up_payments_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            "ix_top_up_payments_register_completed", ["register_id", "completed_at"], unique=False
        )
        batch_op.create_index(
            "ix_top_up_payments_store_completed", ["store_id", "completed_at"], unique=False
        )

    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cash_top_ups_amount", sa.BigInteger(), nullable=True))

    with op.batch_alter_table("loyalty_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("top_up_presets", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("maximum_top_up_amount", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("loyalty_settings", schema=None) as batch_op:
        batch_op.drop_column("maximum_top_up_amount")
        batch_op.drop_column("top_up_presets")

    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.drop_column("cash_top_ups_amount")

    with op.batch_alter_table("top_up_payments", schema=None) as batch_op:
        batch_op.drop_index("ix_top_up_payments_store_completed")
        batch_op.drop_index("ix_top_up_payments_register_completed")
        batch_op.drop_index(batch_op.f("ix_top_up_payments_member_id"))

    op.drop_table("top_up_payments")
