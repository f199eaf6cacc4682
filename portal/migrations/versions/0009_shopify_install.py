"""install on Shopify: sealed and expiring tokens, uninstalls, store settings, install states,
compliance requests

Existing tokens and Corso secrets are sealed under PORTAL_ENCRYPTION_KEYS (``portal migrate``
hands the keys over); a database with stores cannot be migrated without them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 20:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from portal.errors import SettingsError
from portal.sealing import Sealer

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

NO_KEYS = (
    "stores hold tokens to seal: run `portal migrate` with PORTAL_ENCRYPTION_KEYS set "
    "(see README: Settings)"
)


def _sealer() -> Sealer | None:
    keys = context.config.attributes.get("encryption_keys") or ""
    return Sealer.from_text(keys) if keys.strip() else None


def _sealer_if_needed() -> Sealer | None:
    """The sealer, checked before any change: SQLite cannot roll a half-done migration back."""
    count = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM stores")).scalar_one()
    sealer = _sealer()
    if count and sealer is None:
        raise SettingsError(NO_KEYS)
    return sealer


def upgrade() -> None:
    sealer = _sealer_if_needed()
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_kind", sa.String(length=24), nullable=False, server_default="static")
        )
        batch_op.add_column(sa.Column("sealed_access_token", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("access_token_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("sealed_refresh_token", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("refresh_token_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("granted_scopes", sa.String(length=2000), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("sealed_webhook_secret", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("api_version_served", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("installed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("uninstalled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("protection_product_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("claim_windows", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.add_column(sa.Column("sealed_corso_client_secret", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("logo_path", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column(
                "protected_order_email", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )

    stores = sa.table(
        "stores",
        sa.column("id", sa.Integer()),
        sa.column("access_token", sa.Text()),
        sa.column("corso_client_secret", sa.Text()),
        sa.column("sealed_access_token", sa.Text()),
        sa.column("sealed_corso_client_secret", sa.Text()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(stores.c.id, stores.c.access_token, stores.c.corso_client_secret)
    ).all()
    if rows:
        assert sealer is not None
        for row in rows:
            bind.execute(
                stores.update()
                .where(stores.c.id == row.id)
                .values(
                    sealed_access_token=sealer.seal(row.access_token),
                    sealed_corso_client_secret=sealer.seal_optional(row.corso_client_secret),
                )
            )

    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.alter_column("sealed_access_token", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("access_token")
        batch_op.drop_column("corso_client_secret")

    op.create_table(
        "shopify_install_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("shop_domain", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopify_install_states")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_shopify_install_states_state_hash")),
    )
    op.create_index(
        op.f("ix_shopify_install_states_expires_at"),
        "shopify_install_states",
        ["expires_at"],
        unique=False,
    )
    op.create_table(
        "compliance_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.String(length=128), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("shop_domain", sa.String(length=255), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_compliance_requests_store_id_stores"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_requests")),
        sa.UniqueConstraint("webhook_id", name=op.f("uq_compliance_requests_webhook_id")),
    )
    op.create_index(
        op.f("ix_compliance_requests_shop_domain"),
        "compliance_requests",
        ["shop_domain"],
        unique=False,
    )


def downgrade() -> None:
    sealer = _sealer_if_needed()
    op.drop_index(op.f("ix_compliance_requests_shop_domain"), table_name="compliance_requests")
    op.drop_table("compliance_requests")
    op.drop_index(op.f("ix_shopify_install_states_expires_at"), table_name="shopify_install_states")
    op.drop_table("shopify_install_states")
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("access_token", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("corso_client_secret", sa.Text(), nullable=True))
    stores = sa.table(
        "stores",
        sa.column("id", sa.Integer()),
        sa.column("access_token", sa.Text()),
        sa.column("corso_client_secret", sa.Text()),
        sa.column("sealed_access_token", sa.Text()),
        sa.column("sealed_corso_client_secret", sa.Text()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(stores.c.id, stores.c.sealed_access_token, stores.c.sealed_corso_client_secret)
    ).all()
    if rows:
        assert sealer is not None
        for row in rows:
            bind.execute(
                stores.update()
                .where(stores.c.id == row.id)
                .values(
                    access_token=sealer.open(row.sealed_access_token),
                    corso_client_secret=sealer.open_optional(row.sealed_corso_client_secret),
                )
            )
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.alter_column("access_token", existing_type=sa.Text(), nullable=False)
        for column in (
            "protected_order_email",
            "logo_path",
            "sealed_corso_client_secret",
            "claim_windows",
            "protection_product_id",
            "uninstalled_at",
            "installed_at",
            "api_version_served",
            "sealed_webhook_secret",
            "granted_scopes",
            "token_version",
            "refresh_token_expires_at",
            "sealed_refresh_token",
            "access_token_expires_at",
            "sealed_access_token",
            "token_kind",
        ):
            batch_op.drop_column(column)
