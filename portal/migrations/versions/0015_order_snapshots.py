"""order snapshots: the order a shopper verified, kept for their flow; a lookup waiting for the
store's Shopify points

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 01:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shopper_order_snapshots",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("shopify_order_id", sa.String(64), nullable=False),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_shopper_order_snapshots_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "store_id", "shopify_order_id", name=op.f("pk_shopper_order_snapshots")
        ),
    )
    with op.batch_alter_table("order_verifications") as batch:
        batch.add_column(sa.Column("sealed_lookup", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_verifications") as batch:
        batch.drop_column("sealed_lookup")
    op.drop_table("shopper_order_snapshots")
