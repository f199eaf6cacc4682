"""languages: a store's default language and the language each request was filed in

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 01:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.add_column(
            sa.Column("default_locale", sa.String(8), nullable=False, server_default="en")
        )
    with op.batch_alter_table("reorder_requests") as batch:
        batch.add_column(sa.Column("locale", sa.String(8), nullable=False, server_default="en"))


def downgrade() -> None:
    with op.batch_alter_table("reorder_requests") as batch:
        batch.drop_column("locale")
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("default_locale")
