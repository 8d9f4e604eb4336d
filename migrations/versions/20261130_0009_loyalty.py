"""Loyalty: tiers, points, stored value, coupons

Revision ID: 0009_loyalty
Revises: 0008_returns
Create Date: 2026-11-30 13:40:00
"""

from collections.abc import Sequence

revision: str = "0009_loyalty"
down_revision: str | None = "0008_returns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
