"""An installed store's expiring offline token runs out mid-run: two ``portal worker`` processes
racing on its jobs refresh it once, no job fails, and the newest refresh token is the one kept."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from portal.billing.sync import REFRESH_ORDER
from portal.clock import utcnow
from portal.db import create_engine, session_factory
from portal.jobs import queue
from portal.jobs.models import Job, JobStatus
from portal.shopify_app.install import SYNC_WEBHOOKS
from portal.stores.models import Store
from tests.helpers.environment import PortalEnvironment
from tests.helpers.factories import SEALER
from tests.helpers.staff import StaffBrowser
from tests.helpers.worker_process import WorkerProcess, jobs, wait_for
from tests.shopify_app.helpers import (
    APP_ID,
    APP_SECRET,
    NEW_SHOP,
    Installation,
    app_settings,
    register_app,
    signed_in_admin,
    store_of,
)

pytestmark = [pytest.mark.settings(run_worker=False, **app_settings()), pytest.mark.timeout(180)]
JOBS = 24


@pytest.fixture
def installed(env: PortalEnvironment) -> Iterator[Store]:
    register_app(env)
    admin: StaffBrowser = signed_in_admin(env)
    try:
        assert Installation(env, admin).run().status_code == 303
    finally:
        admin.close()
    store = store_of(env)
    assert store is not None
    yield store


@pytest.fixture
def workers(env: PortalEnvironment, tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    for n in (1, 2):
        (tmp_path / f"w{n}").mkdir()
    started = [WorkerProcess(env.settings, tmp_path / f"w{n}") for n in (1, 2)]
    yield started
    for worker in started:
        worker.stop()


def queue_shopify_jobs(env: PortalEnvironment, store: Store) -> None:
    """Jobs that each read an order of the store from Shopify (none exists: each is done
    once Shopify has answered, which needs a working token)."""

    async def add() -> None:
        engine = create_engine(env.settings.database_url)
        try:
            async with session_factory(engine)() as db, db.begin():
                for n in range(JOBS):
                    order = f"gid://shopify/Order/{990000 + n}"
                    await queue.enqueue(
                        db, REFRESH_ORDER, {"store_id": store.id, "order_id": order}
                    )
        finally:
            await engine.dispose()

    asyncio.run(add())


def start(workers: list[WorkerProcess]) -> None:
    for worker in workers:
        worker.start()


def watched(env: PortalEnvironment) -> list[Job]:
    """The jobs that call the store's Shopify (not the recurring nightly ones)."""
    return [j for j in jobs(env.settings.database_url) if j.kind in (REFRESH_ORDER, SYNC_WEBHOOKS)]


def run_to_the_end(env: PortalEnvironment, workers: list[WorkerProcess]) -> None:
    def settled() -> bool:
        return all(j.status in (JobStatus.DONE, JobStatus.FAILED) for j in watched(env))

    wait_for(settled, timeout=120, what="every job to finish", interval=0.2)
    for worker in workers:
        worker.assert_alive()


def assert_every_job_done_first_time(env: PortalEnvironment, workers: list[WorkerProcess]) -> None:
    everything = watched(env)
    failed = [(j.kind, j.last_error) for j in everything if j.status != JobStatus.DONE]
    logs = "\n".join(w.log() for w in workers)
    assert failed == [], logs
    assert {j.attempts for j in everything} == {1}, logs


def assert_newest_tokens_kept(env: PortalEnvironment, before: Store) -> Store:
    after = store_of(env)
    assert after is not None
    assert after.token_version == before.token_version + 1  # one refresh, however many raced
    token = SEALER.open(after.sealed_access_token)
    assert token != SEALER.open(before.sealed_access_token)
    assert env.shop.world.access_token(NEW_SHOP, token) is not None
    refresh = SEALER.open(after.sealed_refresh_token or "")
    url = env.settings.shopify_oauth_url.format(shop=NEW_SHOP) + "/access_token"
    fields = {
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "grant_type": "refresh_token",
        "refresh_token": refresh,
    }
    assert httpx.post(url, data=fields).status_code == 200  # the kept one is the live one
    return after


def test_a_token_that_runs_out_mid_run_is_refreshed_once_by_racing_workers(
    env: PortalEnvironment, installed: Store, workers: list[WorkerProcess]
) -> None:
    start(workers)
    run_to_the_end(env, workers)  # the install's webhook sync, with the first token
    before = store_of(env)
    assert before is not None and before.token_version == installed.token_version
    assert env.shop.world.expire_access_tokens(NEW_SHOP, APP_ID) == 1
    queue_shopify_jobs(env, before)
    run_to_the_end(env, workers)
    assert_every_job_done_first_time(env, workers)
    assert_newest_tokens_kept(env, before)


def test_a_token_close_to_its_end_is_refreshed_before_it_is_refused(
    env: PortalEnvironment, installed: Store, workers: list[WorkerProcess]
) -> None:
    async def nearly_expired() -> None:
        engine = create_engine(env.settings.database_url)
        try:
            async with session_factory(engine)() as db, db.begin():
                await db.execute(
                    update(Store)
                    .where(Store.id == installed.id)
                    .values(access_token_expires_at=utcnow() + timedelta(minutes=2))
                )
        finally:
            await engine.dispose()

    asyncio.run(nearly_expired())
    before = store_of(env)
    assert before is not None
    queue_shopify_jobs(env, before)
    start(workers)
    run_to_the_end(env, workers)
    assert_every_job_done_first_time(env, workers)
    after = assert_newest_tokens_kept(env, before)
    assert after.access_token_expires_at is not None
    assert after.access_token_expires_at - utcnow() > timedelta(minutes=55)
