"""Role boundaries at the register: per-staff permissions, void reasons, cash only with an
open shift, blind drawer count, directed refunds

Revision ID: 0019_register_roles
Revises: 0018_outbox
Create Date: 2026-12-07 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_register_roles"
down_revision: str | None = "0018_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENDERS = ("cash", "card", "wechat_pay", "alipay", "stored_value", "points")
DEFAULT_VOID_REASONS = [
    "Customer changed their mind",
    "Wrong item",
    "Kitchen could not make it",
]


def upgrade() -> None:
    with op.batch_alter_table("staff_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("granted_permissions", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("withheld_permissions", sa.JSON(), nullable=False, server_default="[]"))

    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("void_reasons", sa.JSON(), nullable=False, server_default="[]"))
        # On for stores that exist too: cash moves only with an open shift from now on.
        batch_op.add_column(
            sa.Column("cash_requires_open_shift", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("is_drawer_count_blind", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(
        sa.text("UPDATE stores SET void_reasons = :reasons").bindparams(
            sa.bindparam("reasons", value=DEFAULT_VOID_REASONS, type_=sa.JSON())
        )
    )

    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "directed_from_tender",
                sa.Enum(*TENDERS, name="tender", native_enum=False, length=22),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("direction_reason", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_column("direction_reason")
        batch_op.drop_column("directed_from_tender")
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_column("is_drawer_count_blind")
        batch_op.drop_column("cash_requires_open_shift")
        batch_op.drop_column("void_reasons")
    with op.batch_alter_table("staff_members", schema=None) as batch_op:
        batch_op.drop_column("withheld_permissions")
        batch_op.drop_column("granted_permissions")
