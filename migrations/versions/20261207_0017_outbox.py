"""Outbox: messages tried until sent (print jobs), cancelled messages

Revision ID: 0017_outbox
Revises: 0016_notify
Create Date: 2026-12-07 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_outbox"
down_revision: str | None = "0016_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No limit (NULL): a print job is tried until it is printed or staff cancel it.
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column("max_attempts", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE outbox_messages SET max_attempts = 2147483647 WHERE max_attempts IS NULL")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column("max_attempts", existing_type=sa.Integer(), nullable=False)
