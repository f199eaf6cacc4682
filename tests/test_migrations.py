"""Migrations build the schema from empty, on SQLite and on PostgreSQL, and match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from portal.db import Base, modelled, sync_url
from portal.errors import SettingsError
from portal.migrate import downgrade, upgrade
from portal.models import import_all_models
from tests.helpers import databases
from tests.helpers.factories import SEALER, TEST_ENCRYPTION_KEY


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin_url = databases.postgres_admin_url()
    if admin_url is None:
        pytest.skip(f"{databases.POSTGRES_ENV} is not set")
    with databases.scratch_postgres_database(admin_url) as url:
        yield url


def test_migrations_from_empty_create_every_table_and_match_models(empty_database: str) -> None:
    upgrade(empty_database)
    import_all_models()
    engine = create_engine(sync_url(empty_database))
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_object": modelled})
            diff = compare_metadata(context, Base.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
    finally:
        engine.dispose()


def test_migrations_downgrade_to_empty_and_up_again(empty_database: str) -> None:
    upgrade(empty_database)
    downgrade(empty_database, "base")
    engine = create_engine(sync_url(empty_database))
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(empty_database)


def test_tokens_kept_before_sealing_are_sealed_by_the_migration(empty_database: str) -> None:
    upgrade(empty_database, "0008")
    engine = create_engine(sync_url(empty_database))
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO stores (name, slug, shop_domain, access_token, api_version,"
                    " protection_variant_ids, claim_window_days, support_email, time_zone,"
                    " currency, brand_color, corso_client_id, corso_client_secret, created_at)"
                    " VALUES ('Shop', 'shop', 'shop.myshopify.com', 'shpat_plain', '2025-04',"
                    " '[]', 30, 'help@shop.example', 'UTC', 'USD', '#123456', 'corso-id',"
                    " 'corso-plain', CURRENT_TIMESTAMP)"
                )
            )
        with pytest.raises(SettingsError, match="PORTAL_ENCRYPTION_KEYS"):
            upgrade(empty_database)
        upgrade(empty_database, encryption_keys=TEST_ENCRYPTION_KEY)
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT sealed_access_token, sealed_corso_client_secret FROM stores")
            ).one()
        assert "shpat_plain" not in row[0] and "corso-plain" not in row[1]
        assert SEALER.open(row[0]) == "shpat_plain"
        assert SEALER.open(row[1]) == "corso-plain"
        downgrade(empty_database, "0008", encryption_keys=TEST_ENCRYPTION_KEY)
        with engine.connect() as connection:
            plain = connection.execute(text("SELECT access_token FROM stores")).scalar_one()
        assert plain == "shpat_plain"
    finally:
        engine.dispose()
