"""PostgreSQL closing every connection (a restart, a failover) costs no page and no job."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import sync_url
from portal.jobs.email import queue_email
from portal.mail.messages import OutgoingEmail
from tests.helpers import databases
from tests.helpers.environment import PortalEnvironment, portal_environment
from tests.helpers.requests import in_database

TERMINATE_OTHERS = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
"""


@pytest.fixture
def postgres_env(postgres_url: str, tmp_path: Path) -> Iterator[PortalEnvironment]:
    """The whole portal with its worker, on PostgreSQL only (there is no server to lose on
    SQLite; without PostgreSQL the ``postgres_url`` fixture skips)."""
    try:
        with portal_environment(postgres_url, tmp_path) as env:
            yield env
    finally:
        databases.empty_all_tables(postgres_url)


def terminate_every_connection(database_url: str) -> int:
    """What a restart does to the portal's pooled connections, from a connection of our own."""
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(TERMINATE_OTHERS)).scalar_one())
    finally:
        engine.dispose()


def send_notice(env: PortalEnvironment, subject: str) -> None:
    email = OutgoingEmail(to="jane@example.com", subject=subject, text="Hi", html=None, kind="n")

    async def work(db: AsyncSession) -> None:
        async with db.begin():
            await queue_email(db, email)

    in_database(env, work)
    env.wait_for_email(email.to, subject)


def test_pages_and_jobs_outlive_the_database_closing_every_connection(
    postgres_env: PortalEnvironment,
) -> None:
    env = postgres_env
    with httpx.Client(base_url=env.base_url) as client:
        assert client.get(f"/{env.slug}/").status_code == 200
        send_notice(env, "before")  # the worker's pooled connections are in use too
        assert terminate_every_connection(env.settings.database_url) > 0
        pages = [client.get(f"/{env.slug}/").status_code for _ in range(5)]
    assert pages == [200] * 5
    send_notice(env, "after")
