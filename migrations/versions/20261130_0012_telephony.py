"""Phone assistant: paired devices, calls

Revision ID: 0012_telephony
Revises: 0011_member_bills
Create Date: 2026-11-30 13:50:00
"""

from collections.abc import Sequence

revision: str = "0012_telephony"
down_revision: str | None = "0011_member_bills"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
