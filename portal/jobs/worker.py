"""The worker: claims due jobs, runs their handler while renewing the lease, and records the
outcome. ``portal worker`` runs it alone; ``portal serve`` and ``portal demo`` can run one
in-process.

Outcomes: the handler returns → done. ``RetryLater`` or a retryable ``PortalError`` → back off
(parked once attempts are spent). Any other ``PortalError`` → parked at once: it will not get
better by itself. An unexpected exception is treated as retryable and logged with its traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from portal import logs, metrics
from portal.clock import utcnow
from portal.db import lost_connection
from portal.errors import PortalError, RetryLater
from portal.jobs import queue
from portal.jobs.queue import ClaimedJob
from portal.jobs.wakeup import IDLE_SECONDS, Watch, woken_here
from portal.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobContext:
    job: ClaimedJob
    sessions: async_sessionmaker[AsyncSession]
    services: Runtime


Handler = Callable[[JobContext], Awaitable[dict[str, Any] | None]]
Outcome = Callable[..., Awaitable[bool]]

LEASE_SECONDS = 15.0
"""How long a claimed job is a worker's without news from it. The running worker renews it
every third of that, however long the handler takes; a worker that died (SIGKILL, a lost host)
stops renewing, and its job is due again for another worker within this time."""


async def _first_of(*events: asyncio.Event, seconds: float) -> None:
    """Return when any of ``events`` is set, or after ``seconds``."""
    waits = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        handlers: Mapping[str, Handler],
        *,
        services: Runtime,
        worker_id: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
        poll_interval: float = 0.5,
        max_priority: int | None = None,
        wakeup: Watch | None = None,
    ) -> None:
        self.sessions = sessions
        self.handlers = handlers
        self.services = services
        self.worker_id = worker_id or new_worker_id()
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.max_priority = max_priority  # e.g. Priority.HIGH: keep this worker for urgent work
        self.wakeup = wakeup
        self.woken = wakeup.waiter() if wakeup is not None else asyncio.Event()
        logs.install_context()  # its lines carry the job's (and its request's) fields

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set. When nothing is due: with a watch on the queue
        (``wakeup`` listening), sleep until woken or until the next job falls due; without,
        poll every ``poll_interval``. Either way a job queued by this process wakes it at once.
        A failure of the queue itself (the database away) is logged and waited out, never the
        end of the loop."""
        log.info("worker %s started", self.worker_id)
        with woken_here(self.woken):
            await self._work(stop)
        log.info("worker %s stopped", self.worker_id)

    async def _work(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            self.woken.clear()  # a job queued from here on wakes the sleep below
            try:
                worked = await self.run_once()
                wait = 0.0 if worked else await self._idle_wait()
                failures = 0
            except Exception:
                failures += 1
                log.exception("worker %s: the queue failed; trying again", self.worker_id)
                wait = self.poll_interval * 2 ** min(failures, 6)
            if wait > 0:
                await _first_of(stop, self.woken, seconds=wait)

    async def _idle_wait(self) -> float:
        """How long to sleep with nothing due: the poll interval, or, while the watch is on
        (notifications arrive, the file is watched), until the next job this worker could take
        falls due (at most IDLE_SECONDS)."""
        if self.wakeup is None or not self.wakeup.listening:
            return self.poll_interval
        async with self.sessions() as session:
            due = await queue.next_due(
                session, kinds=list(self.handlers), max_priority=self.max_priority
            )
        if due is None:
            return IDLE_SECONDS
        return min(IDLE_SECONDS, max(0.01, (due - utcnow()).total_seconds()))

    async def run_until_idle(self, max_jobs: int = 1000) -> int:
        """Run due jobs until none is left (or ``max_jobs``); returns how many ran."""
        count = 0
        while count < max_jobs and await self.run_once():
            count += 1
        return count

    async def run_once(self) -> bool:
        leased_at = asyncio.get_running_loop().time()  # no later than the lease's start
        async with self.sessions() as session:
            job = await queue.claim(
                session,
                worker_id=self.worker_id,
                lease_seconds=self.lease_seconds,
                kinds=list(self.handlers),
                max_priority=self.max_priority,
            )
        if job is None:
            return False
        await self._execute(job, leased_at)
        return True

    async def _execute(self, job: ClaimedJob, leased_at: float) -> None:
        """Run the handler with the job's log context (and the id of the request that queued
        it), then write one line for its outcome."""
        payload = dict(job.payload)
        request_id = payload.pop(logs.REQUEST_ID_KEY, None)  # the worker's, not the handler's
        job = dataclasses.replace(job, payload=payload)
        with logs.bound(job_id=job.id, job_kind=job.kind, request_id=request_id):
            await self._execute_in_context(job, leased_at)

    async def _execute_in_context(self, job: ClaimedJob, leased_at: float) -> None:
        """Run the handler while renewing the lease; a lost lease (another worker took the job
        after this one stalled) cancels the handler and records nothing."""
        started = time.monotonic()
        handler = asyncio.create_task(self._outcome_of(job))
        lease = asyncio.create_task(self._keep_lease(job, leased_at))
        try:
            await asyncio.wait({handler, lease}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # shutting down: the lease will run out, nothing kept
            handler.cancel()
            lease.cancel()
            raise
        if not handler.done():
            handler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await handler
            log.warning("job %s: lease lost; stopped without recording an outcome", job.id)
            return
        lease.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await lease
        ran = handler.result()
        seconds = time.monotonic() - started
        if not await self._record(job, ran):
            lost = "job %s: lease lost before its outcome (%s) was recorded"
            bug = None if ran.expected else ran.error
            log.warning(lost, job.id, ran.name(job), exc_info=bug)
            return
        _report(job, ran, seconds)

    async def _record(self, job: ClaimedJob, ran: Ran) -> bool:
        """Record the outcome; while the database is away (a restart), try again until it
        answers or the lease would have run out, so work that was done (an email sent) is not
        done a second time by the worker that takes the job after the lease."""
        deadline = time.monotonic() + self.lease_seconds
        wait = 0.1
        while True:
            try:
                async with self.sessions() as session:
                    return await ran.outcome(session, job, *ran.args, **ran.kwargs)
            except Exception as exc:
                if not lost_connection(exc) or time.monotonic() + wait > deadline:
                    raise
                log.info("job %s: database away; recording its outcome again", job.id)
            await asyncio.sleep(wait)
            wait = min(wait * 2, 2.0)

    async def _outcome_of(self, job: ClaimedJob) -> Ran:
        """Run the handler; say which queue transition records what happened."""
        handler = self.handlers[job.kind]
        try:
            result = await handler(JobContext(job, self.sessions, self.services))
        except RetryLater as exc:
            return Ran(queue.retry_later, (str(exc),), {"delay": exc.delay}, exc, expected=True)
        except PortalError as exc:
            outcome = queue.retry_later if exc.retryable else queue.park
            return Ran(outcome, (_describe(exc),), {}, exc, expected=True)
        except Exception as exc:
            return Ran(queue.retry_later, (_describe(exc),), {}, exc, expected=False)
        return Ran(queue.complete, (result,), {})

    async def _keep_lease(self, job: ClaimedJob, leased_at: float) -> None:
        """Renew the lease every third of its length; return only when it was lost: another
        worker holds the job, or no renewal got through before the lease ran out (the database
        away), after which another worker may take the job at any moment."""
        loop = asyncio.get_running_loop()
        while (left := leased_at + self.lease_seconds - loop.time()) > 0:
            await asyncio.sleep(min(self.lease_seconds / 3, left))
            attempt_at = loop.time()
            try:
                async with asyncio.timeout_at(leased_at + self.lease_seconds):
                    async with self.sessions() as session:
                        if not await queue.extend_lease(session, job, self.lease_seconds):
                            return
                leased_at = attempt_at
            except TimeoutError:
                return
            except Exception:
                log.exception("job %s: could not renew its lease; trying again", job.id)


@dataclass(frozen=True)
class Ran:
    """What a handler's run came to: the queue transition that records it, and the error."""

    outcome: Outcome
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    error: BaseException | None = None
    expected: bool = True  # a PortalError or RetryLater; otherwise a bug, logged with traceback

    def name(self, job: ClaimedJob) -> str:
        if self.outcome is queue.complete:
            return "done"
        if self.outcome is queue.park or queue.will_park(job):
            return "parked"
        return "retried"


def _report(job: ClaimedJob, ran: Ran, seconds: float) -> None:
    """One line and the metrics for a job's recorded outcome: done at INFO, a retry at INFO
    when the job only waits (RetryLater) and WARNING otherwise, parked at ERROR; an unexpected
    exception carries its traceback."""
    outcome = ran.name(job)
    metrics.JOB_OUTCOMES.labels(kind=job.kind, outcome=outcome).inc()
    metrics.JOB_SECONDS.labels(kind=job.kind).observe(seconds)
    fields = {"outcome": outcome, "attempt": job.attempt, "duration_ms": round(seconds * 1000)}
    if ran.error is None:
        log.info("job %s (%s) done", job.id, job.kind, extra=fields)
        return
    level = logging.ERROR if outcome == "parked" else logging.WARNING
    if isinstance(ran.error, RetryLater) and outcome == "retried":
        level = logging.INFO
    exc_info = None if ran.expected else ran.error
    log.log(
        level,
        "job %s (%s) %s: %s",
        *(job.id, job.kind, outcome, _describe(ran.error)),
        exc_info=exc_info,
        extra=fields,
    )


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:2000]
