"""Test databases: a fresh migrated SQLite file per test, and on PostgreSQL one freshly created
database per test run whose tables are emptied after each test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal.db import Base, sync_url
from portal.migrate import upgrade
from portal.models import import_all_models

POSTGRES_ENV = "PORTAL_TEST_DATABASE_URL"


def postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@contextmanager
def scratch_postgres_database(admin_url: str) -> Iterator[str]:
    """Create an empty database beside ``admin_url``'s, yield its URL, drop it afterwards."""
    name = f"portal_test_{uuid.uuid4().hex[:12]}"
    _admin_execute(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_execute(admin_url: str, statement: str) -> None:
    conninfo = (
        make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(statement.encode())


def migrate(url: str) -> None:
    upgrade(url)


def empty_all_tables(url: str) -> None:
    import_all_models()
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as connection:
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            if names:
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()
