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
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from portal.errors import PortalError
from portal.jobs import queue
from portal.jobs.queue import ClaimedJob

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """Raised by a handler that must wait (e.g. for rate-limit points) before trying again."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


@dataclass(frozen=True)
class JobContext:
    job: ClaimedJob
    sessions: async_sessionmaker[AsyncSession]
    services: Any  # portal.runtime.Runtime; typed loosely to keep this module free of it


Handler = Callable[[JobContext], Awaitable[dict[str, Any] | None]]


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        handlers: Mapping[str, Handler],
        *,
        services: Any = None,
        worker_id: str | None = None,
        lease_seconds: float = 60.0,
        poll_interval: float = 0.5,
        max_priority: int | None = None,
    ) -> None:
        self.sessions = sessions
        self.handlers = handlers
        self.services = services
        self.worker_id = worker_id or new_worker_id()
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.max_priority = max_priority  # e.g. Priority.HIGH: keep this worker for urgent work

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set, sleeping briefly when nothing is due."""
        log.info("worker %s started", self.worker_id)
        while not stop.is_set():
            worked = await self.run_once()
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_interval)
        log.info("worker %s stopped", self.worker_id)

    async def run_until_idle(self, max_jobs: int = 1000) -> int:
        """Run due jobs until none is left (or ``max_jobs``); returns how many ran."""
        count = 0
        while count < max_jobs and await self.run_once():
            count += 1
        return count

    async def run_once(self) -> bool:
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
        await self._execute(job)
        return True

    async def _execute(self, job: ClaimedJob) -> None:
        handler = self.handlers[job.kind]
        heartbeat = asyncio.create_task(self._keep_lease(job))
        try:
            result = await handler(JobContext(job, self.sessions, self.services))
        except RetryLater as exc:
            await self._record(queue.retry_later, job, str(exc), delay=exc.delay)
        except PortalError as exc:
            outcome = queue.retry_later if exc.retryable else queue.park
            await self._record(outcome, job, _describe(exc))
        except Exception as exc:
            log.exception("job %s (%s) failed unexpectedly", job.id, job.kind)
            await self._record(queue.retry_later, job, _describe(exc))
        else:
            await self._record(queue.complete, job, result)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _record(
        self, outcome: Callable[..., Awaitable[bool]], job: ClaimedJob, *args: Any, **kwargs: Any
    ) -> None:
        async with self.sessions() as session:
            if not await outcome(session, job, *args, **kwargs):
                log.warning("job %s: lease lost before its outcome was recorded", job.id)

    async def _keep_lease(self, job: ClaimedJob) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            async with self.sessions() as session:
                if not await queue.extend_lease(session, job, self.lease_seconds):
                    return


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:2000]
