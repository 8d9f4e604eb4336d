"""Outbox: messages tried until sent, cancelled messages; registers printing receipts on close

Revision ID: 0018_outbox
Revises: 0017_loyalty_roles
Create Date: 2026-12-07 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_outbox"
down_revision: str | None = "0017_loyalty_roles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No limit (NULL): a print job is tried until it is printed or staff cancel it.
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column("max_attempts", existing_type=sa.Integer(), nullable=True)
    # Closing a sale queues its receipt on registers that print automatically.
    with op.batch_alter_table("registers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auto_print_receipt", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("registers", schema=None) as batch_op:
        batch_op.drop_column("auto_print_receipt")
    op.execute("UPDATE outbox_messages SET max_attempts = 2147483647 WHERE max_attempts IS NULL")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column("max_attempts", existing_type=sa.Integer(), nullable=False)
