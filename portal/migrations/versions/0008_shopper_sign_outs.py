"""shopper sessions end on the server when the shopper signs out

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 18:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shopper_sign_outs",
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("signed_out_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_shopper_sign_outs")),
    )


def downgrade() -> None:
    op.drop_table("shopper_sign_outs")
