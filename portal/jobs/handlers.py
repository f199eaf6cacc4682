"""Every kind of job the worker knows, and the function that carries it out."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from portal.billing.jobs import nightly_sync_job, refresh_order_job, sync_month_job
from portal.billing.sync import NIGHTLY_SYNC, SYNC_MONTH, schedule_nightly_sync
from portal.billing.webhooks import REFRESH_ORDER
from portal.jobs.worker import Handler
from portal.mail.jobs import SEND_EMAIL, send_email_job
from portal.shopper.housekeeping import PURGE, schedule_purge
from portal.shopper.jobs import purge_job
from portal.support.actions import PRIMARY_REORDER_JOB, REFUND_JOB
from portal.support.execution import execute_primary_reorder, execute_refund


def job_handlers() -> dict[str, Handler]:
    return {
        SEND_EMAIL: send_email_job,
        REFRESH_ORDER: refresh_order_job,
        SYNC_MONTH: sync_month_job,
        NIGHTLY_SYNC: nightly_sync_job,
        PRIMARY_REORDER_JOB: execute_primary_reorder,
        REFUND_JOB: execute_refund,
        PURGE: purge_job,
    }


async def schedule_recurring(sessions: async_sessionmaker[AsyncSession]) -> None:
    """At every worker start: make sure tonight's order sync and clean-up are queued (each
    job queues its next night; a dedupe key per night keeps this idempotent)."""
    now = datetime.now(UTC)
    async with sessions() as session:
        await schedule_nightly_sync(session, now=now)
        await schedule_purge(session, now=now)
        await session.commit()
