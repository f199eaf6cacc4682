"""overview: each store's premiums by month kept beside the ledger (filled here from it), a
store's requests by filing and by closing time, and the resolutions of a month summed from their
index alone (PostgreSQL's INCLUDE)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 01:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

FILL_PREMIUM_MONTHS = """
INSERT INTO premium_months (store_id, month, amount)
SELECT store_id, month, SUM(amount) FROM (
  SELECT store_id, month, amount FROM premiums
  UNION ALL
  SELECT store_id, month, amount FROM premium_adjustments
) AS booked
GROUP BY store_id, month
"""


def upgrade() -> None:
    op.create_table(
        "premium_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_premium_months_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_premium_months")),
        sa.UniqueConstraint("store_id", "month", name=op.f("uq_premium_months_store_id_month")),
    )
    op.execute(FILL_PREMIUM_MONTHS)
    op.create_index(
        "ix_reorder_requests_store_created",
        "reorder_requests",
        ["store_id", "created_at"],
        postgresql_include=["issue_type", "status", "id"],
    )
    op.create_index(
        "ix_reorder_requests_store_closed",
        "reorder_requests",
        ["store_id", "closed_at"],
        postgresql_include=["created_at", "status"],
    )
    if op.get_bind().dialect.name == "postgresql":
        _resolutions_index(["status", "kind", "amount"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _resolutions_index([])
    op.drop_index("ix_reorder_requests_store_closed", table_name="reorder_requests")
    op.drop_index("ix_reorder_requests_store_created", table_name="reorder_requests")
    op.drop_table("premium_months")


def _resolutions_index(include: list[str]) -> None:
    op.drop_index("ix_resolutions_store_month", table_name="resolutions")
    op.create_index(
        "ix_resolutions_store_month",
        "resolutions",
        ["store_id", "resolved_at"],
        postgresql_include=include,
    )
