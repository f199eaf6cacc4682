"""billing

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 23:35:02.405869
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shopify_webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.String(length=128), nullable=False),
        sa.Column("shop_domain", sa.String(length=255), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("shopify_order_id", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopify_webhooks")),
        sa.UniqueConstraint("webhook_id", name=op.f("uq_shopify_webhooks_webhook_id")),
    )
    op.create_table(
        "closed_invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("premiums_total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("deductions_total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("amount_due", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("closed_by", sa.String(length=320), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_closed_invoices_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_closed_invoices")),
        sa.UniqueConstraint("store_id", "month", name=op.f("uq_closed_invoices_store_id_month")),
    )
    op.create_table(
        "premium_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("shopify_order_id", sa.String(length=64), nullable=False),
        sa.Column("order_name", sa.String(length=32), nullable=False),
        sa.Column("order_month", sa.String(length=7), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_premium_adjustments_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_premium_adjustments")),
    )
    with op.batch_alter_table("premium_adjustments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_premium_adjustments_store_month", ["store_id", "month"], unique=False
        )

    op.create_table(
        "premiums",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("shopify_order_id", sa.String(length=64), nullable=False),
        sa.Column("order_name", sa.String(length=32), nullable=False),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("charged", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("refunded_quantity", sa.Integer(), nullable=False),
        sa.Column("shopify_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_premiums_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_premiums")),
        sa.UniqueConstraint(
            "store_id", "shopify_order_id", name=op.f("uq_premiums_store_id_shopify_order_id")
        ),
    )
    with op.batch_alter_table("premiums", schema=None) as batch_op:
        batch_op.create_index("ix_premiums_store_month", ["store_id", "month"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("premiums", schema=None) as batch_op:
        batch_op.drop_index("ix_premiums_store_month")

    op.drop_table("premiums")
    with op.batch_alter_table("premium_adjustments", schema=None) as batch_op:
        batch_op.drop_index("ix_premium_adjustments_store_month")

    op.drop_table("premium_adjustments")
    op.drop_table("closed_invoices")
    op.drop_table("shopify_webhooks")
