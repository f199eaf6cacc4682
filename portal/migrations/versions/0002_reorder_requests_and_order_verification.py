"""reorder requests and order verification

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 23:15:34.967926
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("shopify_order_id", sa.String(length=64), nullable=True),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("client_hash", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("wrong_tries", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_order_verifications_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_verifications")),
        sa.UniqueConstraint("public_id", name=op.f("uq_order_verifications_public_id")),
    )
    with op.batch_alter_table("order_verifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_order_verifications_client", ["client_hash", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_order_verifications_email", ["email_hash", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_order_verifications_order", ["shopify_order_id", "created_at"], unique=False
        )

    op.create_table(
        "reorder_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("submit_key", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("shopify_order_id", sa.String(length=64), nullable=False),
        sa.Column("order_name", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("customer_name", sa.String(length=200), nullable=False),
        sa.Column("issue_type", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=False),
        sa.Column("alternative_wish", sa.Text(), nullable=False),
        sa.Column("shipping_address", sa.JSON(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("items_total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_reorder_requests_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reorder_requests")),
        sa.UniqueConstraint("reference", name=op.f("uq_reorder_requests_reference")),
        sa.UniqueConstraint("submit_key", name=op.f("uq_reorder_requests_submit_key")),
    )
    with op.batch_alter_table("reorder_requests", schema=None) as batch_op:
        batch_op.create_index("ix_reorder_requests_email", ["email"], unique=False)
        batch_op.create_index(
            "ix_reorder_requests_queue", ["status", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_reorder_requests_store_order", ["store_id", "shopify_order_id"], unique=False
        )

    op.create_table(
        "request_drafts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("shopify_order_id", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_request_drafts_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_drafts")),
    )
    op.create_table(
        "request_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["reorder_requests.id"],
            name=op.f("fk_request_events_request_id_reorder_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_events")),
    )
    with op.batch_alter_table("request_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_request_events_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "request_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("line_item_id", sa.String(length=64), nullable=False),
        sa.Column("variant_id", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("variant_title", sa.String(length=200), nullable=True),
        sa.Column("sku", sa.String(length=100), nullable=True),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["reorder_requests.id"],
            name=op.f("fk_request_items_request_id_reorder_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_items")),
    )
    with op.batch_alter_table("request_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_request_items_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "request_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("photo_id", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["reorder_requests.id"],
            name=op.f("fk_request_photos_request_id_reorder_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_photos")),
        sa.UniqueConstraint("photo_id", name=op.f("uq_request_photos_photo_id")),
    )
    with op.batch_alter_table("request_photos", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_request_photos_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("request_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_photos_request_id"))

    op.drop_table("request_photos")
    with op.batch_alter_table("request_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_items_request_id"))

    op.drop_table("request_items")
    with op.batch_alter_table("request_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_events_request_id"))

    op.drop_table("request_events")
    op.drop_table("request_drafts")
    with op.batch_alter_table("reorder_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_reorder_requests_store_order")
        batch_op.drop_index("ix_reorder_requests_queue")
        batch_op.drop_index("ix_reorder_requests_email")

    op.drop_table("reorder_requests")
    with op.batch_alter_table("order_verifications", schema=None) as batch_op:
        batch_op.drop_index("ix_order_verifications_order")
        batch_op.drop_index("ix_order_verifications_email")
        batch_op.drop_index("ix_order_verifications_client")

    op.drop_table("order_verifications")
