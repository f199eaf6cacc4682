"""staff administration: invitations that set a first password, and the audit of staff changes

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_staff_invitations_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_invitations_token_hash")),
        sa.UniqueConstraint("user_id", name=op.f("uq_staff_invitations_user_id")),
    )
    op.create_table(
        "staff_audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_staff_audit_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["users.id"], name=op.f("fk_staff_audit_events_target_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_audit_events")),
    )
    op.create_index("ix_staff_audit_events_at", "staff_audit_events", ["at"])
    op.create_index(op.f("ix_staff_audit_events_target_id"), "staff_audit_events", ["target_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_audit_events_target_id"), table_name="staff_audit_events")
    op.drop_index("ix_staff_audit_events_at", table_name="staff_audit_events")
    op.drop_table("staff_audit_events")
    op.drop_table("staff_invitations")
