"""The database: declarative base, engine construction and URL handling.

One URL setting (``PORTAL_DATABASE_URL``) names the database in its plain form,
``sqlite:///path`` or ``postgresql://user@host/db``; the portal picks the drivers:
aiosqlite or psycopg for the running app, the synchronous form for Alembic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import DateTime, MetaData, event, text
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from portal.settings import Settings

# The largest id a row can have: SQLite's INTEGER and PostgreSQL's BIGINT both hold it.
MAX_ROW_ID = 2**63 - 1

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite keeps no zone, so store UTC naive there)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


def async_url(url: str) -> URL:
    """The URL with the driver the running app uses."""
    return _with_driver(url, sqlite="sqlite+aiosqlite", postgresql="postgresql+psycopg")


def sync_url(url: str) -> URL:
    """The URL with the driver Alembic and command-line tools use."""
    return _with_driver(url, sqlite="sqlite", postgresql="postgresql+psycopg")


def _with_driver(url: str, *, sqlite: str, postgresql: str) -> URL:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        _ensure_sqlite_directory(parsed)
        return parsed.set(drivername=sqlite)
    if backend == "postgresql":
        return parsed.set(drivername=postgresql)
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def _ensure_sqlite_directory(url: URL) -> None:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite files run in WAL mode with foreign keys enforced. A PostgreSQL
    connection is checked as it leaves the pool and replaced if the server closed it (a restart,
    a failover, an idle timeout), so no request or job is the one that finds it dead.
    ``kwargs``: the engine's options, such as ``pool_options(settings)``."""
    if is_sqlite(url):
        engine = create_async_engine(async_url(url), **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(async_url(url), pool_pre_ping=True, **kwargs)


def pool_options(settings: Settings) -> dict[str, Any]:
    """The connection pool as the settings size it (``PORTAL_DATABASE_POOL_*``); an in-memory
    SQLite database keeps its one connection."""
    if make_url(settings.database_url).database in (None, "", ":memory:"):
        return {}
    return {
        "pool_size": settings.database_pool_size,
        "max_overflow": settings.database_pool_overflow,
        "pool_timeout": settings.database_pool_timeout,
    }


def database_busy(exc: BaseException) -> bool:
    """Whether ``exc`` says the database was too busy to take the work, which nothing began:
    every pooled connection stayed taken for the pool's timeout, or SQLite's one writer kept
    its lock past ``busy_timeout``."""
    if isinstance(exc, PoolTimeout):
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


# SQLSTATE classes of a connection that was lost or refused: 08 connection exceptions, and
# 57P01-57P03 (the server shut the session down, crashed, or is starting up).
LOST_CONNECTION_STATES = ("08", "57P01", "57P02", "57P03")


def lost_connection(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection to the database was lost or could not be made (a
    restart or failover), as opposed to a statement the database refused: the work it
    interrupted was rolled back (unless it failed during COMMIT itself, which work that runs again
    must tolerate: unique keys make a second insert a no-op). SQLite's errors are never this."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError) or not hasattr(exc.orig, "sqlstate"):
        return False  # sqlite3's errors carry no SQLSTATE: a locked database is not a lost one
    state: str | None = getattr(exc.orig, "sqlstate", None)
    return state is None or state.startswith(LOST_CONNECTION_STATES)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def serialise(session: AsyncSession, *keys: str) -> None:
    """Hold the transaction's turn for each of ``keys`` until it ends, so count-then-write
    checks on them cannot interleave. PostgreSQL: transaction-scoped advisory locks, taken in
    a fixed order so two callers cannot deadlock. SQLite has one writer at a time: write before
    counting and the write lock does the same."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


def escape_like(text: str) -> str:
    """``text`` matched literally inside a LIKE pattern (with ``escape="\\"``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# The queue's search index differs by dialect and is made by its migration (0011), not the
# models: on PostgreSQL a trigram GIN index and a covering index in queue order, on SQLite an
# FTS5 table (and its shadow tables).
SEARCH_INDEX = "ix_reorder_requests_search_trgm"
SEARCH_BY_AGE_INDEX = "ix_reorder_requests_search_by_age"
SEARCH_TABLE = "reorder_search"


def modelled(_object: Any, name: str | None, _type: str, reflected: bool, _to: Any) -> bool:
    """Alembic's ``include_object``: compare everything but the search index."""
    if not reflected or name is None:
        return True
    return name not in (SEARCH_INDEX, SEARCH_BY_AGE_INDEX) and not name.startswith(SEARCH_TABLE)
