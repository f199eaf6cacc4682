"""Fixtures shared by every test: the network is loopback-only; each test gets an empty migrated
database (SQLite, and PostgreSQL when PORTAL_TEST_DATABASE_URL is set); ``env`` is the whole
portal on loopback and ``portal`` the portal alone.

Markers (registered in pyproject.toml) are added here where they follow from the code: ``e2e``
to every test that, itself or through a fixture, calls one of the helpers that start servers
(``SERVER_STARTERS``), ``browser`` to every test in tests/browser, ``slow`` to every test of
Shopify's real schemas. A test that starts a server some other way carries ``e2e`` itself; one
that forgets fails when it tries (tests/helpers/servers.py), so ``make test-fast`` never starts
a server.
"""

from __future__ import annotations

import functools
import inspect
import ipaddress
import os
import re
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from graphql import GraphQLSchema
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from portal.accounts import passwords
from portal.db import create_engine, session_factory
from tests.helpers import databases, servers
from tests.helpers.environment import PortalEnvironment, portal_environment
from tests.helpers.portal import Portal, portal_settings, running_portal
from tests.helpers.shopify_schema import require_real_schemas

TESTS = Path(__file__).resolve().parent
SERVER_STARTERS = re.compile(
    r"\b(?:serve|running_portal|portal_environment|crash_environment|smtp_server|start_smtp"
    r"|s3_server)\("
)
"""Calls that start servers on loopback (tests/helpers)."""

NO_CERTIFICATES = TESTS / "no-certificates"
"""A certificate directory that does not exist (see ``pytest_configure``)."""


def pytest_configure(config: pytest.Config) -> None:
    """Tests speak plain HTTP on loopback alone, yet httpx builds a verifying TLS context for
    every client it makes, and with SSL_CERT_FILE set (as on this project's machines) that loads
    the whole CA bundle, 30 to 60 ms each time: a fifth of the suite's time. An empty
    certificate directory makes it free; any TLS a test tried would fail verification. Worker
    processes started by tests inherit the same."""
    os.environ.pop("SSL_CERT_FILE", None)
    os.environ["SSL_CERT_DIR"] = str(NO_CERTIFICATES)


# --- markers and the server guard --------------------------------------------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        fixturedefs = [d for defs in item._fixtureinfo.name2fixturedefs.values() for d in defs]
        if _starts_servers(item, fixturedefs):
            item.add_marker(pytest.mark.e2e)
        if item.path.is_relative_to(TESTS / "browser"):
            item.add_marker(pytest.mark.browser)
        if "shopify_schemas" in item.fixturenames:
            item.add_marker(pytest.mark.slow)


def _starts_servers(item: pytest.Function, fixturedefs: list[Any]) -> bool:
    functions = [item.function, *(fixturedef.func for fixturedef in fixturedefs)]
    return any(_calls_a_server_starter(function) for function in functions)


@functools.cache
def _calls_a_server_starter(function: Callable[..., Any]) -> bool:
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return False
    return SERVER_STARTERS.search(source) is not None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    servers.allow_servers(item.nodeid if item.get_closest_marker("e2e") else None)


def marked_settings(node: pytest.Item) -> dict[str, Any]:
    """The ``settings(...)`` markers of a test, the module's first and the test's own last."""
    overrides: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers("settings"))):
        overrides.update(marker.kwargs)
    return overrides


# --- the network and the event loop ------------------------------------------------------------

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


# --- password hashing --------------------------------------------------------------------------

QUICK_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def _quick_password_hashing(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2id with the product's parameters takes about half a second a hash on a busy test
    machine, and sign-in tests hash dozens of times; they hash with argon2id's smallest
    parameters instead. The tests of hashing itself use ``product_password_hashing``."""
    if "product_password_hashing" not in request.fixturenames:
        monkeypatch.setattr(passwords, "_hasher", QUICK_HASHER)


@pytest.fixture
def product_password_hashing() -> None:
    """Hash with the product's argon2 parameters (see ``_quick_password_hashing``)."""


# --- Shopify's real schemas -------------------------------------------------------------------


@pytest.fixture(scope="session")
def shopify_schemas() -> dict[str, GraphQLSchema]:
    """Shopify's real Admin GraphQL schemas (tests/helpers/shopify_schema.py); building them
    takes a test process 5 to 10 s, once: the tests that use them are marked slow."""
    return require_real_schemas()


# --- databases ---------------------------------------------------------------------------------


def _database_params() -> list[Any]:
    params: list[Any] = [pytest.param("sqlite", id="sqlite")]
    if databases.postgres_admin_url():
        params.append(pytest.param("postgresql", id="postgresql"))
    return params


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrated schema in a SQLite file, built once per test process."""
    return databases.migrated_sqlite_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """This test process's own PostgreSQL database (one per xdist worker), migrated once."""
    admin_url = databases.postgres_admin_url()
    if admin_url is None:
        pytest.skip(f"{databases.POSTGRES_ENV} is not set")
    with databases.scratch_postgres_database(admin_url) as url:
        databases.migrate(url)
        yield url


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated, empty SQLite database of this test's own: a copy of the template."""
    return databases.sqlite_copy(sqlite_template, tmp_path / "portal.db")


@pytest.fixture(params=_database_params())
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated, empty database: a SQLite file of the test's own, or the process's PostgreSQL
    database, emptied again after the test."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_url")
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


# --- the portal on loopback --------------------------------------------------------------------


@pytest.fixture
def env(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> Iterator[PortalEnvironment]:
    """The whole portal on loopback with its worker, the sandbox shop and Corso, and SMTP; its
    settings changed by the test's ``@pytest.mark.settings(...)``."""
    overrides = marked_settings(request.node)
    with portal_environment(database_url, tmp_path, **overrides) as environment:
        yield environment


@pytest.fixture
def portal(request: pytest.FixtureRequest, database_url: str) -> Iterator[Portal]:
    """The portal alone on loopback: no sandbox services, no worker."""
    settings = portal_settings(database_url, **marked_settings(request.node))
    with running_portal(settings) as base_url:
        yield Portal(base_url=base_url, database_url=database_url)
