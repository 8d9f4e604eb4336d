"""members: members shared by an organization's stores, and their consent records

Revision ID: 0007_members
Revises: 0006_payment_index
Create Date: 2026-11-30 12:57:41.911831
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_members"
down_revision: str | None = "0006_payment_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("organization_id", ID, nullable=False),
        sa.Column("phone_e164", sa.String(length=16), nullable=False),
        sa.Column("phone_last4", sa.String(length=4), nullable=False),
        sa.Column("card_number", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column(
            "gender",
            sa.Enum("female", "male", "other", "unspecified", name="gender", native_enum=False, length=21),
            nullable=False,
        ),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("notes", sa.String(length=1000), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("marketing_sms_opt_in", sa.Boolean(), nullable=False),
        sa.Column("registered_at_store_id", ID, nullable=False),
        sa.Column("registered_by_staff_id", ID, nullable=True),
        sa.Column(
            "registration_source",
            sa.Enum(
                "register",
                "portal",
                "online_order",
                "import",
                name="registrationsource",
                native_enum=False,
                length=22,
            ),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_members_organization_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["registered_at_store_id"], ["stores.id"], name=op.f("fk_members_registered_at_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["registered_by_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_members_registered_by_staff_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint(
            "organization_id", "card_number", name=op.f("uq_members_organization_id_card_number")
        ),
        # Also the index of the lookup by whole phone number.
        sa.UniqueConstraint(
            "organization_id", "phone_e164", name=op.f("uq_members_organization_id_phone_e164")
        ),
    )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index(
            "ix_members_organization_id_phone_last4",
            ["organization_id", "phone_last4", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_members_organization_id_created_at", ["organization_id", "created_at"], unique=False
        )

    op.create_table(
        "member_consents",
        sa.Column("member_id", ID, nullable=False),
        sa.Column(
            "kind",
            sa.Enum("privacy_policy", "marketing_sms", name="consentkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("is_granted", sa.Boolean(), nullable=False),
        sa.Column("policy_version", sa.String(length=40), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "register",
                "portal",
                "online_order",
                "sms_reply",
                "import",
                name="consentsource",
                native_enum=False,
                length=22,
            ),
            nullable=False,
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_staff_id", ID, nullable=True),
        sa.Column("id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_consents_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_member_consents_recorded_by_staff_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_consents")),
    )
    with op.batch_alter_table("member_consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_consents_member_id"), ["member_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("member_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_consents_member_id"))
    op.drop_table("member_consents")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index("ix_members_organization_id_created_at")
        batch_op.drop_index("ix_members_organization_id_phone_last4")
    op.drop_table("members")
