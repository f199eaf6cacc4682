"""The durable queue: leases, fencing, backoff, parking and several workers side by side."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from portal import metrics
from portal.clock import utcnow
from portal.db import create_engine, session_factory
from portal.errors import RetryLater, ShopifyAuthError, ShopifyUnavailable
from portal.jobs import queue
from portal.jobs.models import Job, JobStatus
from portal.jobs.worker import JobContext, Worker

pytestmark = pytest.mark.anyio


async def _job(db: AsyncSession, job_id: int) -> Job:
    db.expire_all()
    job = await db.get(Job, job_id)
    assert job is not None
    return job


async def test_enqueue_joins_the_callers_transaction(db: AsyncSession) -> None:
    async with db.begin():
        await queue.enqueue(db, "email.send", {"to": "a@example.com"})
        await db.rollback()
    assert (await db.scalars(select(Job))).all() == []


async def test_dedupe_key_enqueues_once(db: AsyncSession) -> None:
    first = await queue.enqueue(db, "refund", {"n": 1}, dedupe_key="refund:RR-1")
    second = await queue.enqueue(db, "refund", {"n": 2}, dedupe_key="refund:RR-1")
    await db.commit()
    assert first.id == second.id
    assert len((await db.scalars(select(Job))).all()) == 1


async def test_a_claimed_job_is_not_claimed_again_until_its_lease_runs_out(
    db: AsyncSession,
) -> None:
    job = await queue.enqueue(db, "k", {})
    await db.commit()
    taken = await queue.claim(db, worker_id="w1", lease_seconds=60)
    assert taken is not None and taken.id == job.id and taken.attempt == 1
    assert await queue.claim(db, worker_id="w2", lease_seconds=60) is None
    # the first worker dies: its lease runs out
    await db.execute(update(Job).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    await db.commit()
    again = await queue.claim(db, worker_id="w2", lease_seconds=60)
    assert again is not None and again.id == job.id and again.attempt == 2
    # the old holder can no longer record an outcome
    assert await queue.complete(db, taken) is False
    assert await queue.complete(db, again) is True
    assert (await _job(db, job.id)).status == JobStatus.DONE


async def test_retry_backs_off_and_parks_when_attempts_are_spent(db: AsyncSession) -> None:
    job = await queue.enqueue(db, "k", {}, max_attempts=2)
    await db.commit()
    first = await queue.claim(db, worker_id="w", lease_seconds=60)
    assert first is not None
    await queue.retry_later(db, first, "503")
    stored = await _job(db, job.id)
    assert stored.status == JobStatus.QUEUED and stored.run_after > utcnow()
    assert await queue.claim(db, worker_id="w", lease_seconds=60) is None  # not due yet
    await db.execute(update(Job).values(run_after=utcnow()))
    await db.commit()
    second = await queue.claim(db, worker_id="w", lease_seconds=60)
    assert second is not None
    await queue.retry_later(db, second, "503 again")
    stored = await _job(db, job.id)
    assert stored.status == JobStatus.FAILED and stored.last_error == "503 again"
    assert await queue.requeue(db, job.id)
    await db.commit()
    assert (await _job(db, job.id)).status == JobStatus.QUEUED


async def test_worker_outcomes_by_kind_of_failure(db: AsyncSession, engine: AsyncEngine) -> None:
    for kind in ("ok", "transient", "final", "wait"):
        await queue.enqueue(db, kind, {})
    await db.commit()

    async def ok(ctx: JobContext) -> dict[str, str]:
        return {"done": ctx.job.kind}

    async def transient(ctx: JobContext) -> None:
        raise ShopifyUnavailable("503 from Shopify")

    async def final(ctx: JobContext) -> None:
        raise ShopifyAuthError("token revoked")

    async def wait(ctx: JobContext) -> None:
        raise RetryLater("throttled", delay=30)

    handlers = {"ok": ok, "transient": transient, "final": final, "wait": wait}
    worker = Worker(session_factory(engine), handlers, services=None)
    assert await worker.run_until_idle() == 4
    jobs = {j.kind: j for j in (await db.scalars(select(Job))).all()}
    assert jobs["ok"].status == JobStatus.DONE and jobs["ok"].result == {"done": "ok"}
    assert jobs["transient"].status == JobStatus.QUEUED
    assert "ShopifyUnavailable" in (jobs["transient"].last_error or "")
    assert jobs["final"].status == JobStatus.FAILED
    wait_for = jobs["wait"].run_after - utcnow()
    assert timedelta(seconds=25) < wait_for <= timedelta(seconds=30)


async def test_several_workers_side_by_side_run_each_job_exactly_once(
    database_url: str, db: AsyncSession
) -> None:
    total = 60
    for n in range(total):
        await queue.enqueue(db, "count", {"n": n})
    await db.commit()
    runs: Counter[int] = Counter()

    async def count(ctx: JobContext) -> None:
        runs[ctx.job.payload["n"]] += 1
        await asyncio.sleep(0)

    engines = [create_engine(database_url) for _ in range(4)]
    try:
        workers = [Worker(session_factory(e), {"count": count}, services=None) for e in engines]
        done = await asyncio.gather(*(w.run_until_idle() for w in workers))
    finally:
        for e in engines:
            await e.dispose()
    assert sum(done) == total
    assert runs == Counter(range(total))
    statuses = (await db.scalars(select(Job.status))).all()
    assert set(statuses) == {JobStatus.DONE}


async def test_each_outcome_is_one_line_at_its_level_and_counted(
    db: AsyncSession, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="portal.jobs.worker")
    for kind in ("obs.ok", "obs.transient", "obs.final", "obs.wait", "obs.bug"):
        await queue.enqueue(db, kind, {"request_id": f"req-{kind}"})
    await db.commit()

    async def ok(ctx: JobContext) -> None:
        assert "request_id" not in ctx.job.payload  # the worker's, not the handler's

    async def transient(ctx: JobContext) -> None:
        raise ShopifyUnavailable("503 from Shopify")

    async def final(ctx: JobContext) -> None:
        raise ShopifyAuthError("token revoked")

    async def wait(ctx: JobContext) -> None:
        raise RetryLater("throttled", delay=30)

    async def bug(ctx: JobContext) -> None:
        raise KeyError("order_id")

    handlers = {
        "obs.ok": ok,
        "obs.transient": transient,
        "obs.final": final,
        "obs.wait": wait,
        "obs.bug": bug,
    }
    outcomes = (("obs.ok", "done"), ("obs.final", "parked"), ("obs.wait", "retried"))
    before = {(kind, outcome): _counted(kind, outcome) for kind, outcome in outcomes}
    worker = Worker(session_factory(engine), handlers, services=None)
    assert await worker.run_until_idle() == 5
    lines = {r.job_kind: r for r in caplog.records if hasattr(r, "job_kind")}  # type: ignore[attr-defined]
    assert {kind: (r.levelname, r.outcome) for kind, r in lines.items()} == {  # type: ignore[attr-defined]
        "obs.ok": ("INFO", "done"),
        "obs.transient": ("WARNING", "retried"),
        "obs.final": ("ERROR", "parked"),
        "obs.wait": ("INFO", "retried"),
        "obs.bug": ("WARNING", "retried"),
    }
    assert len([r for r in caplog.records if hasattr(r, "job_kind")]) == 5  # one line each
    assert all(r.request_id == f"req-{k}" for k, r in lines.items())  # type: ignore[attr-defined]
    assert lines["obs.bug"].exc_info and not lines["obs.transient"].exc_info

    for kind, outcome in outcomes:
        assert _counted(kind, outcome) - before[kind, outcome] == 1


def _counted(kind: str, outcome: str) -> float:
    labels = {"kind": kind, "outcome": outcome}
    return metrics.REGISTRY.get_sample_value("portal_job_outcomes_total", labels) or 0.0
