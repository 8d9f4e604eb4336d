"""Phone assistant: paired devices, calls

Revision ID: 0012_telephony
Revises: 0011_member_bills
Create Date: 2026-11-30 13:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_telephony"
down_revision: str | None = "0011_member_bills"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "phone_assistants",
        sa.Column("organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("register_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("paired_by_staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("last_call_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_phone_assistants_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["paired_by_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_phone_assistants_paired_by_staff_id_staff_members"),
        ),
        sa.ForeignKeyConstraint(
            ["register_id"], ["registers.id"], name=op.f("fk_phone_assistants_register_id_registers")
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_phone_assistants_revoked_by_staff_id_staff_members"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_phone_assistants_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_assistants")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_phone_assistants_token_digest")),
    )
    with op.batch_alter_table("phone_assistants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_phone_assistants_register_id"), ["register_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_phone_assistants_store_id"), ["store_id"], unique=False)

    op.create_table(
        "phone_pairing_codes",
        sa.Column("register_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("created_by_staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assistant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assistant_id"],
            ["phone_assistants.id"],
            name=op.f("fk_phone_pairing_codes_assistant_id_phone_assistants"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_phone_pairing_codes_created_by_staff_id_staff_members"),
        ),
        sa.ForeignKeyConstraint(
            ["register_id"], ["registers.id"], name=op.f("fk_phone_pairing_codes_register_id_registers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_pairing_codes")),
        sa.UniqueConstraint("code_digest", name=op.f("uq_phone_pairing_codes_code_digest")),
    )
    with op.batch_alter_table("phone_pairing_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_phone_pairing_codes_register_id"), ["register_id"], unique=False)

    op.create_table(
        "phone_calls",
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("register_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("assistant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("phone_e164", sa.String(length=16), nullable=True),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "ignored",
                "customer_added",
                "customer_selected",
                "bill_opened",
                "new_order",
                "order_repeated",
                "reservation_made",
                "called_back",
                name="calloutcome",
                native_enum=False,
                length=27,
            ),
            nullable=True,
        ),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handled_by_staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("bill_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("parked_bill_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["assistant_id"],
            ["phone_assistants.id"],
            name=op.f("fk_phone_calls_assistant_id_phone_assistants"),
        ),
        sa.ForeignKeyConstraint(["bill_id"], ["bills.id"], name=op.f("fk_phone_calls_bill_id_bills")),
        sa.ForeignKeyConstraint(
            ["handled_by_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_phone_calls_handled_by_staff_id_staff_members"),
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_phone_calls_member_id_members")),
        sa.ForeignKeyConstraint(
            ["parked_bill_id"], ["bills.id"], name=op.f("fk_phone_calls_parked_bill_id_bills")
        ),
        sa.ForeignKeyConstraint(
            ["register_id"], ["registers.id"], name=op.f("fk_phone_calls_register_id_registers")
        ),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_phone_calls_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_calls")),
        sa.UniqueConstraint(
            "assistant_id", "idempotency_key", name=op.f("uq_phone_calls_assistant_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("phone_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_phone_calls_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            "ix_phone_calls_register_id_received_at", ["register_id", "received_at"], unique=False
        )
        batch_op.create_index(
            "ix_phone_calls_store_id_received_at", ["store_id", "received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("phone_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_phone_calls_store_id_received_at")
        batch_op.drop_index("ix_phone_calls_register_id_received_at")
        batch_op.drop_index(batch_op.f("ix_phone_calls_member_id"))

    op.drop_table("phone_calls")
    with op.batch_alter_table("phone_pairing_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_phone_pairing_codes_register_id"))

    op.drop_table("phone_pairing_codes")
    with op.batch_alter_table("phone_assistants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_phone_assistants_store_id"))
        batch_op.drop_index(batch_op.f("ix_phone_assistants_register_id"))

    op.drop_table("phone_assistants")
