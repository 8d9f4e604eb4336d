"""Member portal: passwords, feedback, erasure

Revision ID: 0010_portal
Revises: 0009_loyalty
Create Date: 2026-11-30 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_portal"
down_revision: str | None = "0009_loyalty"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "member_credentials",
        sa.Column("member_id", ID, nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_credentials_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_credentials")),
    )
    op.create_table(
        "portal_sessions",
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("store_id", ID, nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_portal_sessions_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_portal_sessions_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_portal_sessions_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sessions")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_portal_sessions_token_digest")),
    )
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_portal_sessions_member_id"), ["member_id"], unique=False)

    op.create_table(
        "member_feedback",
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("store_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=False),
        sa.Column("bill_id", ID, nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rating >= 1 AND rating <= 5", name=op.f("ck_member_feedback_rating_range")),
        sa.ForeignKeyConstraint(["bill_id"], ["bills.id"], name=op.f("fk_member_feedback_bill_id_bills")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_feedback_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_member_feedback_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_member_feedback_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_feedback")),
    )
    with op.batch_alter_table("member_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_feedback_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            "ix_member_feedback_store_id_created_at", ["store_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("member_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_member_feedback_store_id_created_at")
        batch_op.drop_index(batch_op.f("ix_member_feedback_member_id"))
    op.drop_table("member_feedback")
    with op.batch_alter_table("portal_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portal_sessions_member_id"))
    op.drop_table("portal_sessions")
    op.drop_table("member_credentials")
