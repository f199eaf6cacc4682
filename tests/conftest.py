"""Fixtures shared by every test: the network is loopback-only; databases are fresh."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from portal.db import create_engine, session_factory
from tests.helpers import databases

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    if isinstance(address, tuple) and self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            allowed = ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = host == "localhost"
        if not allowed:
            raise ConnectionRefusedError(f"tests may not leave the machine (tried {host})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
    yield


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- databases -------------------------------------------------------------------------------


def _database_params() -> list[Any]:
    params: list[Any] = [pytest.param("sqlite", id="sqlite")]
    if databases.postgres_admin_url():
        params.append(pytest.param("postgresql", id="postgresql"))
    return params


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    admin_url = databases.postgres_admin_url()
    if admin_url is None:
        pytest.skip(f"{databases.POSTGRES_ENV} is not set")
    with databases.scratch_postgres_database(admin_url) as url:
        databases.migrate(url)
        yield url


@pytest.fixture(params=_database_params())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a fresh SQLite file, or the run's PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'portal.db'}"
        databases.migrate(url)
        yield url
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    databases.empty_all_tables(url)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with session_factory(engine)() as session:
        yield session
