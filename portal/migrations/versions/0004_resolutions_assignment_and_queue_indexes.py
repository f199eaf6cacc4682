"""resolutions, assignment and queue indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 23:35:00.570197
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resolutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("deducted", sa.Boolean(), nullable=False),
        sa.Column("agent_email", sa.String(length=320), nullable=False),
        sa.Column("shopify_order_id", sa.String(length=64), nullable=True),
        sa.Column("shopify_order_name", sa.String(length=32), nullable=True),
        sa.Column("shopify_refund_id", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["reorder_requests.id"],
            name=op.f("fk_resolutions_request_id_reorder_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_resolutions_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resolutions")),
    )
    with op.batch_alter_table("resolutions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_resolutions_store_month", ["store_id", "resolved_at"], unique=False
        )
        batch_op.create_index(
            "uq_resolutions_live_per_request",
            ["request_id"],
            unique=True,
            sqlite_where=sa.text("status != 'failed'"),
            postgresql_where=sa.text("status != 'failed'"),
        )

    with op.batch_alter_table("reorder_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_to_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_reorder_requests_order_name", ["order_name"], unique=False)
        batch_op.create_index(
            "ix_reorder_requests_queue_by_agent",
            ["assigned_to_id", "status", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_reorder_requests_queue_by_store",
            ["store_id", "status", "created_at", "id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_reorder_requests_assigned_to_id_users"),
            "users",
            ["assigned_to_id"],
            ["id"],
        )
    # The queue's status index also covers the filter columns (PostgreSQL INCLUDE), so counts
    # per status under a filter read only the index.
    with op.batch_alter_table("reorder_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_reorder_requests_queue")
        batch_op.create_index(
            "ix_reorder_requests_queue",
            ["status", "created_at", "id"],
            unique=False,
            postgresql_include=["store_id", "issue_type", "resolution", "assigned_to_id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("reorder_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_reorder_requests_queue")
        batch_op.create_index(
            "ix_reorder_requests_queue", ["status", "created_at", "id"], unique=False
        )
    with op.batch_alter_table("reorder_requests", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_reorder_requests_assigned_to_id_users"), type_="foreignkey"
        )
        batch_op.drop_index("ix_reorder_requests_queue_by_store")
        batch_op.drop_index("ix_reorder_requests_queue_by_agent")
        batch_op.drop_index("ix_reorder_requests_order_name")
        batch_op.drop_column("assigned_to_id")

    with op.batch_alter_table("resolutions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_resolutions_live_per_request",
            sqlite_where=sa.text("status != 'failed'"),
            postgresql_where=sa.text("status != 'failed'"),
        )
        batch_op.drop_index("ix_resolutions_store_month")

    op.drop_table("resolutions")
