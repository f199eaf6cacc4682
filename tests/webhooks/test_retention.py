"""Requests closed longer ago than the retention period lose their personal data (and jobs
finished that long ago are deleted), while the invoice stays the same and newer requests keep
everything."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from portal.clock import utcnow
from portal.compliance.retention import purge_expired
from portal.db import create_engine, session_factory
from portal.jobs.models import Job, JobStatus
from portal.reorders.models import ReorderRequest
from portal.storage import DirectoryStorage
from tests.helpers.environment import PortalEnvironment
from tests.webhooks.helpers import all_rows, found_anywhere
from tests.webhooks.seeds import OTTO, ZELDA, seed
from tests.webhooks.test_compliance import _files_naming, _invoice, _request_of

pytestmark = pytest.mark.settings(run_worker=False)
# The tables retention works on; drafts and order lookups go sooner (the nightly purge).
KEPT_TABLES = {"reorder_requests", "request_events", "request_photos", "resolutions", "jobs"}


def age_zelda(env: PortalEnvironment, references: list[str], days: int) -> None:
    async def write() -> None:
        engine = create_engine(env.settings.database_url)
        try:
            async with session_factory(engine)() as db, db.begin():
                long_ago = utcnow() - timedelta(days=days)
                await db.execute(
                    update(ReorderRequest)
                    .where(ReorderRequest.reference.in_(references))
                    .values(closed_at=long_ago)
                )
                finished = [JobStatus.DONE, JobStatus.FAILED]
                await db.execute(
                    update(Job).where(Job.status.in_(finished)).values(finished_at=long_ago)
                )
                await db.execute(
                    update(Job).where(Job.status == JobStatus.QUEUED).values(run_after=long_ago)
                )
        finally:
            await engine.dispose()

    asyncio.run(write())


def run_retention(env: PortalEnvironment, days: int) -> dict[str, int]:
    async def run() -> dict[str, int]:
        engine = create_engine(env.settings.database_url)
        try:
            async with session_factory(engine)() as db:
                return await purge_expired(
                    db,
                    retention=timedelta(days=days),
                    storage=DirectoryStorage(env.settings.upload_dir),
                    now=utcnow(),
                )
        finally:
            await engine.dispose()

    return asyncio.run(run())


def held(env: PortalEnvironment, needles: list[str]) -> set[str]:
    return {
        needle
        for table, _, needle in found_anywhere(env.settings.database_url, needles)
        if table in KEPT_TABLES
    }


def test_closed_requests_past_the_period_keep_their_amounts_and_lose_the_rest(
    env: PortalEnvironment,
) -> None:
    seeded = seed(env)
    zelda = seeded.references[ZELDA.email]
    invoice_before = _invoice(env, seeded.store_id)
    otto_before = _request_of(env, seeded.references[OTTO.email][0])
    assert held(env, ZELDA.needles) and held(env, OTTO.needles)

    assert run_retention(env, 90)["requests"] == 0  # nothing is old enough yet
    age_zelda(env, zelda, days=91)
    removed = run_retention(env, 90)

    assert removed["requests"] == len(zelda) and removed["photos"] == len(zelda)
    assert removed["jobs"] >= 1
    assert held(env, ZELDA.needles) == set()
    files = {p.stem for p in env.settings.upload_dir.glob("*.jpg")}
    assert not files & set(seeded.photos[ZELDA.email])  # the requests' photos are gone
    assert not [
        j for j in all_rows(env.settings.database_url, Job) if ZELDA.email in str(j.payload)
    ]
    assert _invoice(env, seeded.store_id) == invoice_before
    for reference in zelda:
        kept = _request_of(env, reference)
        assert kept.items_total == 48 and kept.status == "refunded"
    otto = _request_of(env, seeded.references[OTTO.email][0])
    assert (otto.email, otto.shipping_address) == (otto_before.email, otto_before.shipping_address)
    assert len(_files_naming(env.settings.upload_dir, [OTTO.name])) == 2
    assert run_retention(env, 90)["requests"] == 0  # done once
