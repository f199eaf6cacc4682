"""The shopper area's jobs: the nightly clean-up of abandoned drafts, photos and old
verifications (``portal.shopper.housekeeping``) and of sign-in failures no brake looks at; and
the "your order is protected" email (``portal.shopper.protected``)."""

from __future__ import annotations

from typing import Any

from portal.accounts import service as accounts
from portal.clock import utcnow
from portal.jobs.worker import JobContext
from portal.shopper.housekeeping import purge, schedule_purge
from portal.shopper.protected import email_if_protected


async def purge_job(ctx: JobContext) -> dict[str, Any]:
    """Job ``shopper.purge``: clean up, then queue tomorrow's run."""
    now = utcnow()
    async with ctx.sessions() as session:
        done = await purge(session, storage=ctx.services.storage, now=now)
        before = now - accounts.UNKNOWN_EMAIL_MEMORY
        done["sign_in_failures"] = await accounts.purge_sign_in_failures(session, before=before)
        await schedule_purge(session, now=now)
        await session.commit()
    return done


async def order_protected_job(ctx: JobContext) -> dict[str, Any]:
    """Job ``shopper.order_protected``, payload ``{"store_id", "order_id"}``."""
    return await email_if_protected(ctx.services, ctx.job.payload)
