"""lost parcel windows: a store's days without tracking movement, and days past the carrier's
estimate, after which a parcel may be reported lost

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 01:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lost_after_quiet_days", sa.Integer(), nullable=False, server_default="7")
        )
        batch_op.add_column(
            sa.Column("lost_after_estimate_days", sa.Integer(), nullable=False, server_default="3")
        )


def downgrade() -> None:
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_column("lost_after_estimate_days")
        batch_op.drop_column("lost_after_quiet_days")
