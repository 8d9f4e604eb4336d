"""Notifications: numbered template parameters, per-organization webhooks

Revision ID: 0016_notify
Revises: 0015_payments
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_notify"
down_revision: str | None = "0015_payments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("notification_templates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("numbered_parameters", sa.JSON(), nullable=True))

    with op.batch_alter_table("notification_inbound", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organization_id", ID, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_notification_inbound_organization_id_organizations"),
            "organizations",
            ["organization_id"],
            ["id"],
        )
        batch_op.create_index(
            "ix_notification_inbound_organization_provider_id",
            ["organization_id", "provider_message_id"],
            unique=False,
        )
    # A reply matched to a message belongs to that message's store's organization; an
    # unmatched one recorded before this revision stays without one.
    op.execute(
        "UPDATE notification_inbound SET organization_id = "
        "(SELECT stores.organization_id FROM stores WHERE stores.id = notification_inbound.store_id) "
        "WHERE store_id IS NOT NULL"
    )

    op.create_table(
        "notification_webhook_rotations",
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_by_staff_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_notification_webhook_rotations_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["rotated_by_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_notification_webhook_rotations_rotated_by_staff_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_notification_webhook_rotations")),
    )


def downgrade() -> None:
    op.drop_table("notification_webhook_rotations")
    with op.batch_alter_table("notification_inbound", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_inbound_organization_provider_id")
        batch_op.drop_constraint(
            batch_op.f("fk_notification_inbound_organization_id_organizations"), type_="foreignkey"
        )
        batch_op.drop_column("organization_id")
    with op.batch_alter_table("notification_templates", schema=None) as batch_op:
        batch_op.drop_column("numbered_parameters")
