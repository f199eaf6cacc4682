"""``/readyz``: 503 until the database answers and its migrations are at head, then 200;
``/healthz`` answers as long as the process does."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from portal import checks
from portal.db import create_engine
from tests.helpers import databases
from tests.helpers.factories import TEST_ENCRYPTION_KEY
from tests.helpers.portal import TEST_SECRET, portal_settings, running_portal
from tests.helpers.worker_process import REPOSITORY


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if databases.postgres_admin_url() else ["sqlite"]


@pytest.fixture(params=_backends())
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all: never migrated."""
    if request.param == "sqlite":
        yield databases.sqlite_url(tmp_path / "empty.db")
        return
    admin_url = databases.postgres_admin_url()
    assert admin_url is not None
    with databases.scratch_postgres_database(admin_url) as url:
        yield url


def portal_migrate(database_url: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")},
        "PORTAL_SECRET_KEY": TEST_SECRET,
        "PORTAL_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "PORTAL_DATABASE_URL": database_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "portal.cli", "migrate"],
        env=environ,
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_not_ready_until_migrated_then_ready(empty_database: str) -> None:
    settings = portal_settings(empty_database)
    with running_portal(settings) as base, httpx.Client(base_url=base) as client:
        before = client.get("/readyz")
        alive = client.get("/healthz")
        assert portal_migrate(empty_database).returncode == 0
        after = client.get("/readyz")
        again = client.get("/readyz", headers={"Host": "10.0.0.7"})  # a load balancer's
    assert before.status_code == 503
    assert before.json()["status"] == "not ready"
    assert "portal migrate" in before.json()["reasons"]["migrations"]
    assert alive.status_code == 200
    assert after.status_code == 200, after.text
    assert after.json() == {
        "status": "ready",
        "reasons": {"database": "ok", "migrations": "at head"},
    }
    assert again.status_code == 200


def test_not_ready_while_the_database_does_not_answer() -> None:
    settings = portal_settings("postgresql://portal@127.0.0.1:1/portal")
    with running_portal(settings) as base, httpx.Client(base_url=base) as client:
        answer = client.get("/readyz")
        alive = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["reasons"]["migrations"] == "not checked"
    assert alive.status_code == 200


@pytest.mark.anyio
async def test_migrations_at_head_are_remembered_briefly(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    real = checks.current_revisions

    async def counted(engine: AsyncEngine) -> frozenset[str]:
        reads.append("read")
        return await real(engine)

    monkeypatch.setattr(checks, "current_revisions", counted)
    now = [1000.0]
    engine = create_engine(database_url)
    key = f"{database_url}#cache-test"
    try:
        answers = [await checks.readiness(engine, key, clock=lambda: now[0])]
        answers.append(await checks.readiness(engine, key, clock=lambda: now[0]))
        now[0] += checks.HEAD_CACHE_SECONDS + 1
        answers.append(await checks.readiness(engine, key, clock=lambda: now[0]))
    finally:
        await engine.dispose()
    assert all(answer.ready for answer in answers)
    assert len(reads) == 2  # the second within the cache's time, the third after it
