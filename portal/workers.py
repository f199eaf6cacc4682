"""Where the job workers are assembled: every handler, the recurring jobs, and how many
workers a process runs. ``portal worker`` runs them alone; the web app's lifespan runs them
beside the pages when ``PORTAL_RUN_WORKER`` is on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from portal.jobs.handlers import job_handlers, schedule_recurring
from portal.jobs.models import Priority
from portal.jobs.worker import Worker, new_worker_id
from portal.runtime import Runtime

SHUTDOWN_GRACE_SECONDS = 5.0


async def run_workers(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run ``PORTAL_WORKER_CONCURRENCY`` job workers until ``stop`` is set. The first only takes
    urgent and high-priority jobs, so a month's order sync never holds up an emailed code or an
    agent's refund. Leases keep the workers from sharing a job."""
    await schedule_recurring(runtime.sessions)
    handlers = job_handlers()
    concurrency = max(1, runtime.settings.worker_concurrency)
    workers = [
        Worker(
            runtime.sessions,
            handlers,
            services=runtime,
            worker_id=new_worker_id(),
            max_priority=Priority.HIGH if n == 0 and concurrency > 1 else None,
            poll_interval=0.2 if n == 0 else 1.0,
        )
        for n in range(concurrency)
    ]
    await asyncio.gather(*(worker.run(stop) for worker in workers))


@asynccontextmanager
async def worker_running(runtime: Runtime) -> AsyncIterator[None]:
    """Run the job workers beside the web app for as long as the block lasts."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_workers(runtime, stop))
    try:
        yield
    finally:
        stop.set()
        # A job still running after a short grace is cancelled: its lease runs out and
        # another worker takes it up, so nothing is lost or done twice.
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=SHUTDOWN_GRACE_SECONDS)
