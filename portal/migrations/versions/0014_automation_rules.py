"""automation: a store's rules, their versions, the store's limits and the decision made for
each request

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 01:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=12, scale=2)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "automation_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("action_text", sa.Text(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_automation_rules_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_automation_rules_assignee_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_rules")),
    )
    op.create_index(
        "ix_automation_rules_store_position", "automation_rules", ["store_id", "position"]
    )
    op.create_table(
        "automation_rule_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=32), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("changed_by", sa.String(length=320), nullable=False),
        sa.Column("changed_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["automation_rules.id"],
            name=op.f("fk_automation_rule_versions_rule_id_automation_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_rule_versions")),
    )
    op.create_index(
        "uq_automation_rule_versions",
        "automation_rule_versions",
        ["rule_id", "version"],
        unique=True,
    )
    op.create_table(
        "automation_limits",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("max_per_resolution", MONEY, nullable=False),
        sa.Column("max_per_day", MONEY, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_automation_limits_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_automation_limits")),
    )
    op.create_table(
        "automation_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("rule_version", sa.Integer(), nullable=True),
        sa.Column("rule_name", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["reorder_requests.id"],
            name=op.f("fk_automation_decisions_request_id_reorder_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_automation_decisions_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_decisions")),
        sa.UniqueConstraint("request_id", name=op.f("uq_automation_decisions_request_id")),
    )
    op.create_index(
        "ix_automation_decisions_store_day",
        "automation_decisions",
        ["store_id", "outcome", "created_at"],
    )


def downgrade() -> None:
    op.drop_table("automation_decisions")
    op.drop_table("automation_limits")
    op.drop_table("automation_rule_versions")
    op.drop_table("automation_rules")
