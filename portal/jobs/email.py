"""Queued emails: ``queue_email`` in the caller's transaction, ``send_email_job`` in the worker."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal.jobs import queue
from portal.jobs.models import Priority
from portal.jobs.worker import JobContext
from portal.mail.messages import OutgoingEmail

SEND_EMAIL = "email.send"


async def queue_email(
    session: AsyncSession, email: OutgoingEmail, *, dedupe_key: str | None = None
) -> None:
    """Queue ``email`` in the caller's transaction."""
    await queue.enqueue(
        session, SEND_EMAIL, email.as_payload(), dedupe_key=dedupe_key, priority=Priority.URGENT
    )


async def send_email_job(ctx: JobContext) -> dict[str, Any]:
    email = OutgoingEmail(**ctx.job.payload)
    await ctx.services.mailer.send(email, message_key=f"job-{ctx.job.id}")
    return {"sent_to": email.to}
