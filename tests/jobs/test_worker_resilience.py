"""The worker outlives a failing queue, and stops a handler whose lease another worker took."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from portal.clock import utcnow
from portal.db import session_factory
from portal.jobs import queue
from portal.jobs.models import Job, JobStatus
from portal.jobs.worker import JobContext, Worker

pytestmark = pytest.mark.anyio


async def test_a_failing_queue_does_not_end_the_worker(engine: AsyncEngine) -> None:
    real = session_factory(engine)
    calls = {"n": 0}

    def flaky() -> Any:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise ConnectionError("database away")
        return real()

    ran = asyncio.Event()

    async def handler(ctx: JobContext) -> None:
        ran.set()

    async with real() as db:
        await queue.enqueue(db, "k", {})
        await db.commit()
    stop = asyncio.Event()
    worker = Worker(flaky, {"k": handler}, services=None, poll_interval=0.01)  # type: ignore[arg-type]
    task = asyncio.create_task(worker.run(stop))
    await asyncio.wait_for(ran.wait(), timeout=10)
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert calls["n"] > 2


async def test_a_lost_lease_cancels_the_handler_and_records_nothing(
    engine: AsyncEngine, db: AsyncSession
) -> None:
    await queue.enqueue(db, "slow", {})
    await db.commit()
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def slow(ctx: JobContext) -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    worker = Worker(session_factory(engine), {"slow": slow}, services=None, lease_seconds=0.3)
    running = asyncio.create_task(worker.run_once())
    await asyncio.wait_for(started.wait(), timeout=10)
    # another worker takes the job over (its lease is now someone else's)
    await db.execute(
        update(Job).values(worker_id="other", lease_expires_at=utcnow() + timedelta(minutes=5))
    )
    await db.commit()
    await asyncio.wait_for(running, timeout=10)
    assert cancelled.is_set()
    db.expire_all()
    job = (await db.scalars(select(Job))).one()
    assert (job.status, job.worker_id) == (JobStatus.RUNNING, "other")


async def test_a_worker_that_cannot_renew_its_lease_stops_the_handler_before_it_runs_out(
    engine: AsyncEngine, db: AsyncSession
) -> None:
    """The database is away for the renewals: by the end of the lease another worker may take
    the job, so this one stops its handler by then and records nothing."""
    await queue.enqueue(db, "slow", {})
    await db.commit()
    real = session_factory(engine)
    opened = {"n": 0}

    def away_after_the_claim() -> Any:
        opened["n"] += 1
        if opened["n"] > 1:
            raise ConnectionError("database away")
        return real()

    cancelled = asyncio.Event()

    async def slow(ctx: JobContext) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    lease = 0.6
    worker = Worker(away_after_the_claim, {"slow": slow}, services=None, lease_seconds=lease)  # type: ignore[arg-type]
    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(worker.run_once(), timeout=10)
    assert cancelled.is_set()
    assert asyncio.get_running_loop().time() - started <= lease + 0.2
    assert opened["n"] >= 3  # it tried to renew until the lease ran out
    db.expire_all()
    job = (await db.scalars(select(Job))).one()
    assert (job.status, job.attempts) == (JobStatus.RUNNING, 1)
