"""Every kind of job the worker knows, and the function that carries it out."""

from __future__ import annotations

from portal.jobs.worker import Handler
from portal.mail import SEND_EMAIL, send_email_job


def job_handlers() -> dict[str, Handler]:
    return {
        SEND_EMAIL: send_email_job,
    }
