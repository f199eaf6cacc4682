"""An idle worker is woken by the job a request queues, not by its next poll: at once in the
process that queued it, by LISTEN/NOTIFY from another process on PostgreSQL, by a change of the
database file on SQLite. While nothing is due it sleeps until the next job falls due."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from portal.clock import utcnow
from portal.db import create_engine, is_sqlite, session_factory
from portal.jobs import queue
from portal.jobs.wakeup import IDLE_SECONDS, FileWatch, Wakeup, Watch
from portal.jobs.worker import JobContext, Worker

pytestmark = pytest.mark.anyio


async def test_on_postgresql_a_job_queued_by_another_process_wakes_the_worker(
    database_url: str,
) -> None:
    if is_sqlite(database_url):
        pytest.skip("SQLite has no notifications: its workers watch the file (below)")
    async with watched_worker(database_url, Wakeup) as woken:
        assert await woken.after_another_process_queues(database_url)


async def test_notifications_come_back_after_the_listening_connection_is_lost(
    database_url: str, db: AsyncSession
) -> None:
    """The server ends the listening connection (a restart, an idle timeout): the worker polls
    meanwhile, the listener connects again, and notifications wake the worker again."""
    if is_sqlite(database_url):
        pytest.skip("SQLite has no notifications")
    async with watched_worker(database_url, Wakeup) as woken:
        wakeup = woken.worker.wakeup
        assert wakeup is not None
        ended = await db.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            )
        )
        await db.commit()
        assert ended == 1
        await until(lambda: not wakeup.listening)
        # The lost connection's socket is no longer watched: a socket the process opens next
        # may get its number, and the loop would take it for watched and never wake for it.
        loop = asyncio.get_running_loop()
        assert [fd for fd in loop._selector.get_map() if not _open(fd)] == []  # type: ignore[attr-defined]
        await until(lambda: wakeup.listening)
        await asyncio.sleep(0.3)
        assert await woken.after_another_process_queues(database_url)


def _open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


async def until(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_an_idle_worker_sleeps_until_the_next_job_is_due(
    database_url: str, db: AsyncSession
) -> None:
    engine = create_engine(database_url)
    wakeup = FileWatch.of(engine.url) if is_sqlite(database_url) else Wakeup(engine.url)
    assert wakeup is not None
    wakeup.listening = True  # as while the connection listens, or the file is watched
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


class WokenWorker:
    """A worker that polls once a minute (so only a wake-up brings a job in quickly), and
    when each of its jobs ran."""

    def __init__(self, engine: AsyncEngine, wakeup: Watch | None = None) -> None:
        self.ran_at: list[float] = []
        self.done = asyncio.Event()
        self.worker = Worker(
            session_factory(engine),
            {"woken": self.handler},
            services=None,
            poll_interval=60,
            wakeup=wakeup,
        )

    async def handler(self, ctx: JobContext) -> None:
        self.ran_at.append(time.monotonic())
        self.done.set()

    async def ran_within(self, seconds: float, since: float) -> bool:
        await asyncio.wait_for(self.done.wait(), timeout=10)
        return self.ran_at[0] - since < seconds

    async def after_another_process_queues(self, database_url: str) -> bool:
        """Whether a job queued by another process ran within a second of its commit."""
        other = await asyncio.create_subprocess_exec(
            sys.executable, "-c", ENQUEUE_ELSEWHERE, database_url
        )
        assert await other.wait() == 0
        return await self.ran_within(1.0, since=time.monotonic())


async def test_a_job_queued_in_this_process_wakes_its_worker_at_once(
    database_url: str, db: AsyncSession
) -> None:
    """No notification, no file watch: the commit that queued the job wakes the worker of the
    same process (the web app running its worker, as the demo does)."""
    engine = create_engine(database_url)
    woken = WokenWorker(engine)
    stop = asyncio.Event()
    running = asyncio.create_task(woken.worker.run(stop))
    try:
        await asyncio.sleep(0.3)  # idle now, sleeping for a minute
        await queue.enqueue(db, "woken", {})
        await db.rollback()  # a rolled back job wakes no one, and is not there to run
        await asyncio.sleep(0.3)
        assert not woken.done.is_set()
        await queue.enqueue(db, "woken", {})
        queued_at = time.monotonic()
        await db.commit()
        assert await woken.ran_within(0.5, since=queued_at)
    finally:
        stop.set()
        await running
        await engine.dispose()


ENQUEUE_ELSEWHERE = """
import asyncio, sys
from portal.db import create_engine, session_factory
from portal.jobs import queue

async def main():
    engine = create_engine(sys.argv[1])
    async with session_factory(engine)() as session:
        await queue.enqueue(session, "woken", {})
        await session.commit()
    await engine.dispose()

asyncio.run(main())
"""


async def test_on_sqlite_a_job_queued_by_another_process_wakes_the_worker(
    database_url: str,
) -> None:
    if not is_sqlite(database_url):
        pytest.skip("PostgreSQL's workers are woken by notifications (above)")
    async with watched_worker(database_url, FileWatch.of) as woken:
        assert await woken.after_another_process_queues(database_url)


@asynccontextmanager
async def watched_worker(
    database_url: str, watch_of: Callable[[URL], Watch | None]
) -> AsyncIterator[WokenWorker]:
    """A worker polling once a minute with its watch on, idle and asleep when the block
    starts; stopped after it."""
    engine = create_engine(database_url)
    watch = watch_of(engine.url)
    assert watch is not None
    woken = WokenWorker(engine, watch)
    stop = asyncio.Event()
    watching = asyncio.create_task(watch.listen())
    running = asyncio.create_task(woken.worker.run(stop))
    try:
        await until(lambda: watch.listening)
        await asyncio.sleep(0.3)  # idle now, sleeping on its safety net
        yield woken
    finally:
        stop.set()
        await running
        watching.cancel()
        await engine.dispose()
