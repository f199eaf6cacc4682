"""Migrations build the schema from empty, on SQLite and on PostgreSQL, and match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from portal.db import Base, sync_url
from portal.migrate import downgrade, upgrade
from portal.models import import_all_models
from tests.helpers import databases


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
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
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
