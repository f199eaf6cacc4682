"""Putting jobs on the queue and moving them through their states.

``enqueue`` joins the caller's transaction, so a resolution row and its job commit together.
``claim`` takes one due job under a lease: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so several
workers run side by side; a single atomic UPDATE on SQLite, which serialises writers anyway.
A job whose lease ran out (its worker died) is due again. ``claim`` and every transition commit
the session they are given. Every later transition is fenced by
(worker id, attempt number), so a worker that lost its lease cannot overwrite the new holder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, event, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from portal import logs
from portal.backoff import JOB_RETRY
from portal.clock import utcnow
from portal.jobs.models import Job, JobStatus, Priority
from portal.jobs.wakeup import CHANNEL, wake_here

ANNOUNCED = "portal.jobs.announced"
"""Set in a session's ``info`` while its transaction holds a job to announce at commit."""


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    worker_id: str


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    run_after: datetime | None = None,
    max_attempts: int = 8,
    priority: int = Priority.NORMAL,
) -> Job:
    """Add a job in the caller's transaction; with a ``dedupe_key`` an existing job is returned,
    also when another process adds the same job at the same moment (two workers starting at
    once both schedule tonight's sync)."""
    if dedupe_key is not None:
        existing = await session.scalar(select(Job).where(Job.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    job = Job(
        kind=kind,
        payload=_with_request_id(payload),
        dedupe_key=dedupe_key,
        status=JobStatus.QUEUED,
        priority=priority,
        attempts=0,
        max_attempts=max_attempts,
        run_after=run_after or utcnow(),
    )
    if dedupe_key is None:
        session.add(job)
        await session.flush()
    else:
        try:
            async with session.begin_nested():
                session.add(job)
                await session.flush()
        except IntegrityError:
            existing = await session.scalar(select(Job).where(Job.dedupe_key == dedupe_key))
            if existing is None:
                raise
            return existing
    await announce(session)  # one due later too: the workers then sleep until it is due
    return job


async def announce(session: AsyncSession) -> None:
    """Tell the workers that a job is due, when the caller's transaction commits: this
    process's own at once, other processes' by PostgreSQL's NOTIFY (several in one transaction
    arrive as one). On SQLite other processes see the database file change."""
    session.info[ANNOUNCED] = True
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


@event.listens_for(Session, "after_commit")
def _wake_workers_here(session: Session) -> None:
    if session.info.pop(ANNOUNCED, False):
        wake_here()


@event.listens_for(Session, "after_rollback")
def _nothing_to_announce(session: Session) -> None:
    session.info.pop(ANNOUNCED, None)


def _with_request_id(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload, carrying the id of the HTTP request that queued the job (if one did), so
    the worker's log lines for the job can be found beside the request's."""
    request_id = logs.current_request_id()
    if request_id is None or logs.REQUEST_ID_KEY in payload:
        return payload
    return {**payload, logs.REQUEST_ID_KEY: request_id}


def will_park(job: ClaimedJob) -> bool:
    """Whether ``retry_later`` parks this job: its attempts are spent."""
    return job.attempt >= job.max_attempts


async def enqueue_nightly(
    session: AsyncSession,
    kind: str,
    *,
    key: str,
    now: datetime,
    hour: int,
    minute: int = 0,
    payload: dict[str, Any] | None = None,
) -> datetime:
    """Queue the next run of a nightly job at ``hour:minute`` UTC (today's if still ahead, else
    tomorrow's), once per night under ``key:<date>``: safe at every worker start and from the
    job itself. Returns the night chosen."""
    night = now.astimezone(UTC).replace(hour=hour, minute=minute, second=0, microsecond=0)
    if night <= now:
        night += timedelta(days=1)
    await enqueue(
        session,
        kind,
        payload if payload is not None else {},
        dedupe_key=f"{key}:{night.date().isoformat()}",
        run_after=night,
        priority=Priority.BACKGROUND,
    )
    return night


def _due(now: datetime) -> Any:
    return or_(
        and_(Job.status == JobStatus.QUEUED, Job.run_after <= now),
        and_(Job.status == JobStatus.RUNNING, Job.lease_expires_at < now),
    )


async def next_due(
    session: AsyncSession, *, kinds: list[str] | None = None, max_priority: int | None = None
) -> datetime | None:
    """When the next job this worker could take falls due (a queued job's ``run_after``, or a
    running one's lease running out); None when there is none."""
    queued = select(func.min(Job.run_after)).where(Job.status == JobStatus.QUEUED)
    leased = select(func.min(Job.lease_expires_at)).where(Job.status == JobStatus.RUNNING)
    found = []
    for query in (queued, leased):
        if kinds:
            query = query.where(Job.kind.in_(kinds))
        if max_priority is not None:
            query = query.where(Job.priority <= max_priority)
        when = await session.scalar(query)
        if when is not None:
            found.append(when)
    await session.commit()
    return min(found, default=None)


async def claim(
    session: AsyncSession,
    *,
    worker_id: str,
    lease_seconds: float,
    kinds: list[str] | None = None,
    max_priority: int | None = None,
) -> ClaimedJob | None:
    """Take the oldest due job under a lease; commits the session's transaction."""
    now = utcnow()
    pick = select(Job.id).where(_due(now)).order_by(Job.priority, Job.run_after, Job.id).limit(1)
    if kinds:
        pick = pick.where(Job.kind.in_(kinds))
    if max_priority is not None:
        pick = pick.where(Job.priority <= max_priority)
    if await session.scalar(pick) is None:  # a plain read when idle: no write lock taken
        await session.commit()
        return None
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    statement = (
        update(Job)
        .where(Job.id == pick.scalar_subquery())
        .values(
            status=JobStatus.RUNNING,
            attempts=Job.attempts + 1,
            worker_id=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            updated_at=now,
        )
        .returning(Job.id, Job.kind, Job.payload, Job.attempts, Job.max_attempts)
        .execution_options(synchronize_session=False)
    )
    row = (await session.execute(statement)).first()
    await session.commit()
    if row is None:
        return None
    return ClaimedJob(row.id, row.kind, row.payload, row.attempts, row.max_attempts, worker_id)


async def _fenced_update(session: AsyncSession, job: ClaimedJob, **values: Any) -> bool:
    statement = (
        update(Job)
        .where(
            Job.id == job.id,
            Job.worker_id == job.worker_id,
            Job.attempts == job.attempt,
            Job.status == JobStatus.RUNNING,
        )
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    await session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def extend_lease(session: AsyncSession, job: ClaimedJob, lease_seconds: float) -> bool:
    """Keep holding a running job; False means the lease was lost to another worker."""
    return await _fenced_update(
        session, job, lease_expires_at=utcnow() + timedelta(seconds=lease_seconds)
    )


async def complete(
    session: AsyncSession, job: ClaimedJob, result: dict[str, Any] | None = None
) -> bool:
    now = utcnow()
    return await _fenced_update(
        session,
        job,
        status=JobStatus.DONE,
        finished_at=now,
        lease_expires_at=None,
        result=result,
        last_error=None,
    )


async def retry_later(
    session: AsyncSession, job: ClaimedJob, error: str, *, delay: float | None = None
) -> bool:
    """Back off and try again, or park the job when its attempts are spent."""
    if will_park(job):
        return await park(session, job, error)
    wait = JOB_RETRY.delay(job.attempt - 1) if delay is None else delay
    await announce(session)  # other processes' workers sleep until it is due again
    return await _fenced_update(
        session,
        job,
        status=JobStatus.QUEUED,
        lease_expires_at=None,
        last_error=error,
        run_after=utcnow() + timedelta(seconds=wait),
    )


async def park(session: AsyncSession, job: ClaimedJob, error: str) -> bool:
    return await _fenced_update(
        session,
        job,
        status=JobStatus.FAILED,
        lease_expires_at=None,
        last_error=error,
        finished_at=utcnow(),
    )


async def requeue(session: AsyncSession, job_id: int) -> bool:
    """Give a parked job a fresh set of attempts (an agent pressed Retry); the workers hear of
    it when the caller commits."""
    statement = (
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.FAILED)
        .values(
            status=JobStatus.QUEUED,
            attempts=0,
            run_after=utcnow(),
            finished_at=None,
            last_error=None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    if result.rowcount:  # type: ignore[attr-defined]
        await announce(session)
    return bool(result.rowcount)  # type: ignore[attr-defined]
