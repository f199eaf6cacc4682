"""Leases are short and renewed while the handler runs: a slow job stays with its worker, a dead
worker's job goes to another one within about a lease."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import create_engine, session_factory
from portal.jobs import queue
from portal.jobs.email import SEND_EMAIL, queue_email
from portal.jobs.models import Job, JobStatus
from portal.jobs.worker import LEASE_SECONDS, JobContext, Worker
from portal.mail.messages import OutgoingEmail
from tests.helpers.requests import in_database
from tests.helpers.worker_process import (
    CrashRig,
    WorkerProcess,
    crash_environment,
    jobs,
    wait_for,
)

RESUMED_WITHIN = 25.0
"""Bound on the time from a worker's death to another worker holding its job: the lease (15 s,
renewed every 5 s), another worker's next poll, and room for a busy machine."""


@pytest.mark.anyio
@pytest.mark.slow
async def test_a_handler_running_longer_than_its_lease_is_not_claimed_twice(
    database_url: str, db: AsyncSession
) -> None:
    job_id = (await queue.enqueue(db, "slow", {})).id
    await db.commit()
    runs: list[str] = []
    started = asyncio.Event()

    async def slow(ctx: JobContext) -> None:
        runs.append(ctx.job.worker_id)
        started.set()
        await asyncio.sleep(2.5)  # five leases

    engines = [create_engine(database_url) for _ in range(2)]
    try:
        holder, other = (
            Worker(session_factory(e), {"slow": slow}, services=None, lease_seconds=0.5)
            for e in engines
        )
        running = asyncio.create_task(holder.run_once())
        await asyncio.wait_for(started.wait(), timeout=10)
        claimed_by_other = 0
        while not running.done():
            claimed_by_other += await other.run_once()
            await asyncio.sleep(0.05)
        await running
    finally:
        for e in engines:
            await e.dispose()
    assert (runs, claimed_by_other) == ([holder.worker_id], 0)
    db.expire_all()
    done = await db.get(Job, job_id)
    assert done is not None
    assert (done.status, done.attempts, done.worker_id) == (JobStatus.DONE, 1, holder.worker_id)


@pytest.fixture
def rig(database_url: str, tmp_path: Path) -> Iterator[CrashRig]:
    with crash_environment(database_url, tmp_path) as crash_rig:
        yield crash_rig


@pytest.mark.crash
def test_a_killed_workers_job_is_taken_up_by_another_worker_within_a_lease(
    rig: CrashRig, tmp_path: Path
) -> None:
    """Two ``portal worker`` processes; the one sending an email (held at the SMTP server's DATA)
    is killed with SIGKILL. The other sends it once the dead worker's lease has run out, with
    nothing in the database touched by the test."""
    second_logs = tmp_path / "second"
    second_logs.mkdir()
    second = WorkerProcess(rig.env.settings, second_logs)
    try:
        _run_and_kill_the_holder(rig, second)
    finally:
        second.stop()


def _run_and_kill_the_holder(rig: CrashRig, second: WorkerProcess) -> None:
    database_url = rig.env.settings.database_url
    workers = {rig.worker.start(): rig.worker, second.start(): second}
    rig.smtp.hold_next("notice")
    email = OutgoingEmail(
        to="jane@example.com", subject="Hello", text="Hi", html=None, kind="notice"
    )

    async def queue_notice(db: AsyncSession) -> int:
        async with db.begin():
            await queue_email(db, email)
            return int(await db.scalar(select(Job.id).where(Job.kind == SEND_EMAIL)) or 0)

    job_id = in_database(rig.env, queue_notice)
    assert rig.smtp.held.wait(20), "the email never reached DATA\n" + rig.worker.log()
    [held] = [j for j in jobs(database_url) if j.id == job_id]
    assert held.status == JobStatus.RUNNING and held.worker_id is not None
    holder_pid = int(held.worker_id.split(":")[1])
    [survivor_pid] = set(workers) - {holder_pid}
    workers[holder_pid].kill()
    killed_at = time.monotonic()
    rig.smtp.release()  # the dead worker's SMTP session ends, its message refused

    def taken_over() -> Job | None:
        [job] = [j for j in jobs(database_url) if j.id == job_id]
        return job if job.worker_id and f":{survivor_pid}:" in job.worker_id else None

    wait_for(
        taken_over, timeout=RESUMED_WITHIN, what="another worker to take the job", interval=0.1
    )
    resumed_after = time.monotonic() - killed_at
    sent = wait_for(
        lambda: [m for m in rig.env.mailbox.to(email.to) if m.kind == "notice"],
        timeout=20,
        what="the email",
    )
    [done] = [j for j in jobs(database_url) if j.id == job_id]
    assert (done.status, done.attempts) == (JobStatus.DONE, 2)
    assert len(sent) == 1
    # the dead worker had renewed its lease at most a third of a lease before it died
    assert LEASE_SECONDS / 3 < resumed_after < RESUMED_WITHIN, resumed_after
    print(f"job taken up {resumed_after:.1f} s after its worker was killed")
    workers[survivor_pid].assert_alive()
