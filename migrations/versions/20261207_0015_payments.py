"""Per-store payment provider settings (WeChat Pay, Alipay, the simulator), secrets encrypted

Revision ID: 0015_payments
Revises: 0014_auth
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_payments"
down_revision: str | None = "0014_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TENDERS = ("cash", "card", "wechat_pay", "alipay", "stored_value", "points")
PROVIDER_KINDS = ("simulator", "wechat_pay", "alipay")


def upgrade() -> None:
    op.create_table(
        "payment_provider_settings",
        sa.Column("store_id", ID, nullable=False),
        sa.Column("tender", sa.Enum(*TENDERS, name="tender", native_enum=False, length=22), nullable=False),
        sa.Column(
            "provider",
            sa.Enum(*PROVIDER_KINDS, name="providerkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("encrypted_secrets", sa.Text(), nullable=True),
        sa.Column("secret_names", sa.JSON(), nullable=False),
        sa.Column("revision", sa.String(length=32), nullable=False),
        sa.Column("updated_by_staff_id", ID, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_payment_provider_settings_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_staff_id"],
            ["staff_members.id"],
            name=op.f("fk_payment_provider_settings_updated_by_staff_id_staff_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_provider_settings")),
        sa.UniqueConstraint("store_id", "tender", name=op.f("uq_payment_provider_settings_store_id_tender")),
    )


def downgrade() -> None:
    op.drop_table("payment_provider_settings")
