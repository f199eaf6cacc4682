"""Every kind of job the worker knows, and the function that carries it out."""

from __future__ import annotations

from portal.billing.sync import NIGHTLY_SYNC, SYNC_MONTH, nightly_sync_job, sync_month_job
from portal.billing.webhooks import REFRESH_ORDER, refresh_order_job
from portal.jobs.worker import Handler
from portal.mail import SEND_EMAIL, send_email_job
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
    }
