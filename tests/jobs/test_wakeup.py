"""On PostgreSQL an idle worker is woken by the job a request queues (LISTEN/NOTIFY), not by
its next poll; while nothing is due it sleeps until the next job falls due."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from portal.clock import utcnow
from portal.db import create_engine, is_sqlite, session_factory
from portal.jobs import queue
from portal.jobs.wakeup import IDLE_SECONDS, Wakeup
from portal.jobs.worker import JobContext, Worker

pytestmark = pytest.mark.anyio


async def test_a_queued_job_wakes_an_idle_worker_at_once(
    database_url: str, db: AsyncSession
) -> None:
    if is_sqlite(database_url):
        pytest.skip("SQLite has no notifications: its workers poll")
    engine = create_engine(database_url)
    done = asyncio.Event()
    ran_at: list[float] = []

    async def handler(ctx: JobContext) -> None:
        ran_at.append(time.monotonic())
        done.set()

    wakeup = Wakeup(engine.url)
    # Polling every minute: only the notification can bring the job in within a second.
    worker = Worker(
        session_factory(engine), {"woken": handler}, services=None, poll_interval=60, wakeup=wakeup
    )
    stop = asyncio.Event()
    listener = asyncio.create_task(wakeup.listen())
    running = asyncio.create_task(worker.run(stop))
    try:
        for _ in range(100):
            if wakeup.listening:
                break
            await asyncio.sleep(0.05)
        assert wakeup.listening
        await asyncio.sleep(0.3)  # the worker is idle now, sleeping on its safety net
        await queue.enqueue(db, "woken", {})
        queued_at = time.monotonic()
        await db.commit()
        await asyncio.wait_for(done.wait(), timeout=10)
        assert ran_at[0] - queued_at < 1.0
    finally:
        stop.set()
        await running
        listener.cancel()
        await engine.dispose()


async def test_an_idle_worker_sleeps_until_the_next_job_is_due(
    database_url: str, db: AsyncSession
) -> None:
    if is_sqlite(database_url):
        pytest.skip("SQLite has no notifications: its workers poll")
    engine = create_engine(database_url)
    wakeup = Wakeup(engine.url)
    wakeup.listening = True  # as while the connection listens
    worker = Worker(
        session_factory(engine),
        {"later": lambda ctx: None},  # type: ignore[arg-type,return-value]
        services=None,
        wakeup=wakeup,
    )
    try:
        assert await worker._idle_wait() == IDLE_SECONDS  # nothing queued: the safety net
        await queue.enqueue(db, "later", {}, run_after=utcnow() + timedelta(seconds=2))
        await db.commit()
        wait = await worker._idle_wait()
        assert 1.0 < wait <= 2.0
        wakeup.listening = False  # notifications lost: poll again
        assert await worker._idle_wait() == worker.poll_interval
    finally:
        await engine.dispose()
