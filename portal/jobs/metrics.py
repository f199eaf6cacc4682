"""The queue seen from Prometheus: read from the database when it is scraped.

One grouped query over the due-jobs index per scrape, bounded by a timeout; the labels are job
kinds, which only the code defines. The collector is called from prometheus-client's scrape
thread (or a thread the ``/metrics`` view hands it to) and runs its query on the process's
event loop, where the database engine lives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from portal.clock import utcnow
from portal.jobs.models import Job, JobStatus
from portal.metrics import REGISTRY

log = logging.getLogger(__name__)

SCRAPE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class KindCounts:
    due: int = 0
    oldest_due_seconds: float = 0.0
    running: int = 0
    parked: int = 0


async def queue_counts(session: AsyncSession, now: datetime) -> dict[str, KindCounts]:
    """Due, running and parked jobs by kind, and how long the oldest due one has waited."""
    statement = (
        select(Job.kind, Job.status, func.count(), func.min(Job.run_after))
        .where(
            ((Job.status == JobStatus.QUEUED) & (Job.run_after <= now))
            | Job.status.in_([JobStatus.RUNNING, JobStatus.FAILED])
        )
        .group_by(Job.kind, Job.status)
    )
    found: dict[str, dict[str, float]] = {}
    for kind, status, count, oldest in (await session.execute(statement)).all():
        counts = found.setdefault(kind, {})
        counts[str(status)] = count
        if status == JobStatus.QUEUED and oldest is not None:
            counts["age"] = max(0.0, (now - _aware(oldest, now)).total_seconds())
    return {
        kind: KindCounts(
            due=int(c.get(JobStatus.QUEUED, 0)),
            oldest_due_seconds=c.get("age", 0.0),
            running=int(c.get(JobStatus.RUNNING, 0)),
            parked=int(c.get(JobStatus.FAILED, 0)),
        )
        for kind, c in found.items()
    }


def _aware(moment: datetime, now: datetime) -> datetime:
    """SQLite hands back naive datetimes; they are UTC like ``now``."""
    return moment.replace(tzinfo=now.tzinfo) if moment.tzinfo is None else moment


class QueueCollector(Collector):
    """Gauges of the queue by job kind, read at scrape time (every known kind, zero when none)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        loop: asyncio.AbstractEventLoop,
        kinds: Iterable[str],
    ) -> None:
        self._sessions = sessions
        self._loop = loop
        self._kinds = sorted(kinds)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The names, for the registry to check at registration, without a query."""
        yield from _families().values()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self._read()
        if counts is None:
            return
        families = _families()
        for kind in sorted({*self._kinds, *counts}):
            found = counts.get(kind, KindCounts())
            for field, family in families.items():
                family.add_metric([kind], getattr(found, field))
        yield from families.values()

    def _read(self) -> dict[str, KindCounts] | None:
        if self._loop.is_closed() or _on_loop(self._loop):  # never block the loop on itself
            return None
        future = asyncio.run_coroutine_threadsafe(self._query(), self._loop)
        try:
            return future.result(timeout=SCRAPE_TIMEOUT_SECONDS)
        except Exception:
            future.cancel()
            log.warning("metrics: the job queue could not be read", exc_info=True)
            return None

    async def _query(self) -> dict[str, KindCounts]:
        async with self._sessions() as session:
            return await queue_counts(session, utcnow())


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _families() -> dict[str, GaugeMetricFamily]:
    return {
        "due": GaugeMetricFamily(
            "portal_job_queue_depth",
            "Jobs due now and waiting for a worker, by kind.",
            labels=["kind"],
        ),
        "oldest_due_seconds": GaugeMetricFamily(
            "portal_job_queue_oldest_due_age_seconds",
            "How long the oldest due job of each kind has been waiting (0 when none).",
            labels=["kind"],
        ),
        "running": GaugeMetricFamily(
            "portal_jobs_running", "Jobs held by a worker now, by kind.", labels=["kind"]
        ),
        "parked": GaugeMetricFamily(
            "portal_jobs_parked",
            "Jobs parked for an agent (attempts spent or a failure that will not pass).",
            labels=["kind"],
        ),
    }


_watching: list[QueueCollector] = []


def watch_queue(sessions: async_sessionmaker[AsyncSession], kinds: Iterable[str]) -> QueueCollector:
    """Report the queue in this process's metrics, read through ``sessions`` on the running
    loop; replaces the collector an earlier app of this process registered."""
    collector = QueueCollector(sessions, asyncio.get_running_loop(), kinds)
    stop_watching_queue()
    REGISTRY.register(collector)
    _watching.append(collector)
    return collector


def stop_watching_queue(collector: QueueCollector | None = None) -> None:
    for registered in list(_watching):
        if collector is None or registered is collector:
            REGISTRY.unregister(registered)
            _watching.remove(registered)
