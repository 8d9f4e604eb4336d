"""Member portal: passwords, feedback, erasure

Revision ID: 0010_portal
Revises: 0009_loyalty
Create Date: 2026-11-30 13:40:00
"""

from collections.abc import Sequence

revision: str = "0010_portal"
down_revision: str | None = "0009_loyalty"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
