"""Where the job workers are assembled: every handler, the recurring jobs, and how many
workers a process runs. ``portal worker`` runs them alone; the web app's lifespan runs them
beside the pages when ``PORTAL_RUN_WORKER`` is on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from portal.automation import EVALUATE_JOB
from portal.automation.jobs import evaluate_job
from portal.billing.jobs import nightly_sync_job, refresh_order_job, sync_month_job
from portal.billing.sync import NIGHTLY_SYNC, REFRESH_ORDER, SYNC_MONTH, schedule_nightly_sync
from portal.clock import utcnow
from portal.compliance.jobs import (
    customer_redact_job,
    data_request_job,
    retention_job,
    shop_redact_job,
)
from portal.compliance.retention import RETENTION, schedule_retention
from portal.compliance.service import CUSTOMER_REDACT_JOB, DATA_REQUEST_JOB, SHOP_REDACT_JOB
from portal.jobs.email import SEND_EMAIL, send_email_job
from portal.jobs.models import Priority
from portal.jobs.wakeup import FileWatch, Wakeup
from portal.jobs.worker import Handler, Worker, new_worker_id
from portal.models import import_all_models
from portal.reorders.risk import ASSESS_JOB
from portal.runtime import Runtime
from portal.shopify_app.install import SYNC_WEBHOOKS
from portal.shopify_app.subscriptions import sync_webhooks_job
from portal.shopper.housekeeping import PURGE, schedule_purge
from portal.shopper.jobs import order_protected_job, purge_job
from portal.shopper.protected import ORDER_PROTECTED
from portal.support.actions import PRIMARY_REORDER_JOB, REFUND_JOB
from portal.support.execution import execute_primary_reorder, execute_refund
from portal.support.risk_job import assess_job

SHUTDOWN_GRACE_SECONDS = 5.0


def job_handlers() -> dict[str, Handler]:
    """Every job kind a worker takes. A kind missing here is never claimed: such jobs wait,
    queued, for a worker that knows them (``shopper.order_protected`` until its handler is
    added)."""
    return {
        SEND_EMAIL: send_email_job,
        REFRESH_ORDER: refresh_order_job,
        SYNC_MONTH: sync_month_job,
        NIGHTLY_SYNC: nightly_sync_job,
        PRIMARY_REORDER_JOB: execute_primary_reorder,
        REFUND_JOB: execute_refund,
        PURGE: purge_job,
        SYNC_WEBHOOKS: sync_webhooks_job,
        DATA_REQUEST_JOB: data_request_job,
        CUSTOMER_REDACT_JOB: customer_redact_job,
        SHOP_REDACT_JOB: shop_redact_job,
        ORDER_PROTECTED: order_protected_job,
        RETENTION: retention_job,
        ASSESS_JOB: assess_job,
        EVALUATE_JOB: evaluate_job,
    }


RECURRING = frozenset({NIGHTLY_SYNC, PURGE, RETENTION})
"""The jobs every worker start queues for tonight (each run queues the next)."""


async def schedule_recurring(sessions: async_sessionmaker[AsyncSession]) -> None:
    """At every worker start: make sure tonight's order sync and clean-up are queued (each
    job queues its next night; a dedupe key per night keeps this idempotent)."""
    now = utcnow()
    async with sessions() as session:
        await schedule_nightly_sync(session, now=now)
        await schedule_purge(session, now=now)
        await schedule_retention(session, now=now)
        await session.commit()


async def run_workers(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run ``PORTAL_WORKER_CONCURRENCY`` job workers until ``stop`` is set. The first only takes
    urgent and high-priority jobs, so a month's order sync never holds up an emailed code or an
    agent's refund. Leases keep the workers from sharing a job."""
    import_all_models()  # every table known, so any job's flush can order its writes
    await schedule_recurring(runtime.sessions)
    handlers = job_handlers()
    concurrency = max(1, runtime.settings.worker_concurrency)
    postgres = runtime.engine.dialect.name == "postgresql"
    wakeup = Wakeup(runtime.engine.url) if postgres else FileWatch.of(runtime.engine.url)
    workers = [
        Worker(
            runtime.sessions,
            handlers,
            services=runtime,
            worker_id=new_worker_id(),
            max_priority=Priority.HIGH if n == 0 and concurrency > 1 else None,
            poll_interval=0.2 if n == 0 else 1.0,
            wakeup=wakeup,
        )
        for n in range(concurrency)
    ]
    listener = asyncio.create_task(wakeup.listen()) if wakeup is not None else None
    try:
        await asyncio.gather(*(worker.run(stop) for worker in workers))
    finally:
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener


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
