"""The shopper's job the worker runs: tonight's clean-up (``portal.shopper.housekeeping``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from portal.jobs.worker import JobContext
from portal.shopper.housekeeping import purge, schedule_purge


async def purge_job(ctx: JobContext) -> dict[str, Any]:
    """Job ``shopper.purge``: clean up, then queue tomorrow's run."""
    now = datetime.now(UTC)
    async with ctx.sessions() as session:
        done = await purge(session, upload_dir=ctx.services.settings.upload_dir, now=now)
        await schedule_purge(session, now=now)
        await session.commit()
    return done
