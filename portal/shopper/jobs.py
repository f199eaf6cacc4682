"""The nightly clean-up the worker runs: the shopper's abandoned drafts, photos and old
verifications (``portal.shopper.housekeeping``), and sign-in failures no brake looks at."""

from __future__ import annotations

from typing import Any

from portal.accounts import service as accounts
from portal.clock import utcnow
from portal.jobs.worker import JobContext
from portal.shopper.housekeeping import purge, schedule_purge


async def purge_job(ctx: JobContext) -> dict[str, Any]:
    """Job ``shopper.purge``: clean up, then queue tomorrow's run."""
    now = utcnow()
    async with ctx.sessions() as session:
        done = await purge(session, upload_dir=ctx.services.settings.upload_dir, now=now)
        before = now - accounts.UNKNOWN_EMAIL_MEMORY
        done["sign_in_failures"] = await accounts.purge_sign_in_failures(session, before=before)
        await schedule_purge(session, now=now)
        await session.commit()
    return done
