"""Members on bills: attach, tier discount

Revision ID: 0011_member_bills
Revises: 0010_portal
Create Date: 2026-11-30 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_member_bills"
down_revision: str | None = "0010_portal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_bills_member_id"), ["member_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_bills_member_id_members"), "members", ["member_id"], ["id"]
        )
        batch_op.add_column(sa.Column("member_discount_basis_points", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("member_discount_label", sa.String(length=60), nullable=True))
        batch_op.add_column(
            sa.Column("member_discount_amount", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_bills_member_id_members"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_bills_member_id"))
        batch_op.drop_column("member_id")
        batch_op.drop_column("member_discount_amount")
        batch_op.drop_column("member_discount_label")
        batch_op.drop_column("member_discount_basis_points")
