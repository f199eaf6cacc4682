"""each store's own Corso client credentials

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("corso_client_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("corso_client_secret", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_column("corso_client_secret")
        batch_op.drop_column("corso_client_id")
