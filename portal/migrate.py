"""Applying Alembic migrations, from the command line and from tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from portal.db import sync_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str, *, encryption_keys: str = "") -> Config:
    """``encryption_keys`` are for migrations that seal or open stored secrets."""
    config = Config()
    config.attributes["encryption_keys"] = encryption_keys
    config.set_main_option("script_location", str(MIGRATIONS))
    url = sync_url(database_url).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head", *, encryption_keys: str = "") -> None:
    command.upgrade(alembic_config(database_url, encryption_keys=encryption_keys), revision)


def downgrade(database_url: str, revision: str, *, encryption_keys: str = "") -> None:
    command.downgrade(alembic_config(database_url, encryption_keys=encryption_keys), revision)
