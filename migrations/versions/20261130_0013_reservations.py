"""Table reservations

Revision ID: 0013_reservations
Revises: 0012_telephony
Create Date: 2026-11-30 13:50:00
"""

from collections.abc import Sequence

revision: str = "0013_reservations"
down_revision: str | None = "0012_telephony"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
