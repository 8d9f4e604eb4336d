"""Table reservations

Revision ID: 0013_reservations
Revises: 0012_telephony
Create Date: 2026-11-30 13:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_reservations"
down_revision: str | None = "0012_telephony"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATUSES = ("booked", "confirmed", "seated", "completed", "no_show", "cancelled")


def _status() -> sa.Enum:
    return sa.Enum(*STATUSES, name="reservationstatus", native_enum=False, length=19)


def upgrade() -> None:
    op.create_table(
        "reservation_locks",
        sa.Column("store_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_reservation_locks_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_reservation_locks")),
    )
    op.create_table(
        "reservation_settings",
        sa.Column("store_id", ID, nullable=False),
        sa.Column("default_duration_minutes", sa.Integer(), nullable=False),
        sa.Column("hold_before_minutes", sa.Integer(), nullable=False),
        sa.Column("reminder_lead_minutes", sa.Integer(), nullable=False),
        sa.Column("no_show_after_minutes", sa.Integer(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("opens_at_minute", sa.Integer(), nullable=False),
        sa.Column("last_start_minute", sa.Integer(), nullable=False),
        sa.Column("is_confirmation_sms_on", sa.Boolean(), nullable=False),
        sa.Column("is_reminder_sms_on", sa.Boolean(), nullable=False),
        sa.Column("is_auto_no_show_on", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_reservation_settings_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_reservation_settings")),
    )
    op.create_table(
        "reservations",
        sa.Column("store_id", ID, nullable=False),
        sa.Column("member_id", ID, nullable=True),
        sa.Column("customer_name", sa.String(length=100), nullable=False),
        sa.Column("customer_phone", sa.String(length=16), nullable=True),
        sa.Column("party_size", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notes", sa.String(length=500), nullable=False),
        sa.Column("deposit_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", _status(), nullable=False),
        sa.Column("is_sms_wanted", sa.Boolean(), nullable=False),
        sa.Column("reply_code", sa.String(length=8), nullable=True),
        sa.Column(
            "source",
            sa.Enum("staff", "portal", name="reservationsource", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("bill_id", ID, nullable=True),
        sa.Column("created_by_staff_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.ForeignKeyConstraint(["bill_id"], ["bills.id"], name=op.f("fk_reservations_bill_id_bills")),
        sa.ForeignKeyConstraint(
            ["created_by_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_reservations_created_by_staff_id_staff_members"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_reservations_member_id_members")
        ),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_reservations_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
    )
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reservations_member_id"), ["member_id"], unique=False)
        batch_op.create_index("ix_reservations_store_phone", ["store_id", "customer_phone"], unique=False)
        batch_op.create_index("ix_reservations_store_starts", ["store_id", "starts_at"], unique=False)

    op.create_table(
        "reservation_status_changes",
        sa.Column("reservation_id", ID, nullable=False),
        sa.Column("from_status", _status(), nullable=True),
        sa.Column("to_status", _status(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by_staff_id", ID, nullable=True),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_reservation_status_changes_changed_by_staff_id_staff_members"),
        ),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            name=op.f("fk_reservation_status_changes_reservation_id_reservations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservation_status_changes")),
    )
    with op.batch_alter_table("reservation_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reservation_status_changes_reservation_id"), ["reservation_id"], unique=False
        )

    op.create_table(
        "reservation_tables",
        sa.Column("reservation_id", ID, nullable=False),
        sa.Column("table_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            name=op.f("fk_reservation_tables_reservation_id_reservations"),
        ),
        sa.ForeignKeyConstraint(
            ["table_id"], ["dining_tables.id"], name=op.f("fk_reservation_tables_table_id_dining_tables")
        ),
        sa.PrimaryKeyConstraint("reservation_id", "table_id", name=op.f("pk_reservation_tables")),
    )
    with op.batch_alter_table("reservation_tables", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reservation_tables_table_id"), ["table_id"], unique=False)

    # Tables that existed before can be joined, as new ones can by default.
    with op.batch_alter_table("dining_tables", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_joinable", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("dining_tables", schema=None) as batch_op:
        batch_op.drop_column("is_joinable")

    with op.batch_alter_table("reservation_tables", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reservation_tables_table_id"))
    op.drop_table("reservation_tables")
    with op.batch_alter_table("reservation_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reservation_status_changes_reservation_id"))
    op.drop_table("reservation_status_changes")
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_index("ix_reservations_store_starts")
        batch_op.drop_index("ix_reservations_store_phone")
        batch_op.drop_index(batch_op.f("ix_reservations_member_id"))
    op.drop_table("reservations")
    op.drop_table("reservation_settings")
    op.drop_table("reservation_locks")
