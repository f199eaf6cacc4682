"""Queued emails: ``queue_email`` in the caller's transaction, ``send_email_job`` in the worker.

An email about a store carries the store's id in its payload: it is not sent once the store has
uninstalled the app (the job is parked with that reason), and the compliance webhooks find the
emails to a customer of that store by it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal.errors import StoreInactive
from portal.jobs import queue
from portal.jobs.models import Priority
from portal.jobs.worker import JobContext
from portal.mail.messages import OutgoingEmail
from portal.stores.models import Store

SEND_EMAIL = "email.send"
STORE_KEY = "store_id"
ERASED_KEY = "erased"
"""Set in the payload of an email whose content was erased at the customer's request."""


async def queue_email(
    session: AsyncSession,
    email: OutgoingEmail,
    *,
    store_id: int | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Queue ``email`` in the caller's transaction; ``store_id`` names the store it is about."""
    payload = email.as_payload()
    if store_id is not None:
        payload[STORE_KEY] = store_id
    await queue.enqueue(
        session, SEND_EMAIL, payload, dedupe_key=dedupe_key, priority=Priority.URGENT
    )


async def send_email_job(ctx: JobContext) -> dict[str, Any]:
    payload = dict(ctx.job.payload)
    if payload.get(ERASED_KEY):
        return {"skipped": "erased at the customer's request"}
    store_id = payload.pop(STORE_KEY, None)
    if store_id is not None:
        async with ctx.sessions() as session:
            store = await session.get(Store, int(store_id))
        if store is None:
            return {"skipped": "the store's data was removed"}
        if not store.is_active:
            raise StoreInactive(store.name, store.support_email)
    email = OutgoingEmail(**payload)
    await ctx.services.mailer.send(email, message_key=f"job-{ctx.job.id}")
    return {"sent_to": email.to}
