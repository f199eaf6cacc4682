"""Personal data is not kept for ever: a nightly job erases it from requests closed more than
``PORTAL_RETENTION_DAYS`` ago (90 by default, Corso's own policy) and deletes jobs finished or
parked that long ago, and emails never sent in that time (their payloads hold the emails).
What invoices are made of stays: amounts, items, statuses, dates, order numbers and ids. The
job reports what it removed. Drafts and order lookups go sooner (``shopper.housekeeping``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from portal.compliance.customers import (
    REDACTED_EMAIL,
    erase_notes,
    erase_photos,
    erase_request_details,
    resolutions_of,
)
from portal.jobs import queue
from portal.jobs.email import SEND_EMAIL
from portal.jobs.models import Job, JobStatus
from portal.reorders.models import OPEN_STATUSES, ReorderRequest
from portal.storage import Storage

RETENTION = "compliance.retention"
RETENTION_HOUR_UTC = 4
EXPIRED = "[removed after the retention period]"
BATCH = 200


async def purge_expired(
    db: AsyncSession, *, retention: timedelta, storage: Storage, now: datetime
) -> dict[str, int]:
    """Erase what the retention period no longer allows; commits batch by batch."""
    cutoff = now - retention
    counts = {"requests": 0, "timeline_lines": 0, "photos": 0, "resolutions": 0, "jobs": 0}
    while True:
        requests = list(
            await db.scalars(
                select(ReorderRequest)
                .where(
                    ReorderRequest.closed_at < cutoff,
                    ReorderRequest.status.not_in([s.value for s in OPEN_STATUSES]),
                    ReorderRequest.email != REDACTED_EMAIL,
                )
                .options(selectinload(ReorderRequest.events), selectinload(ReorderRequest.photos))
                .order_by(ReorderRequest.id)
                .limit(BATCH)
            )
        )
        if not requests:
            break
        for request in requests:
            counts["timeline_lines"] += erase_request_details(request, EXPIRED)
            counts["photos"] += await erase_photos(db, request, storage)
        counts["resolutions"] += erase_notes(await resolutions_of(db, requests), EXPIRED)
        counts["requests"] += len(requests)
        await db.commit()
    finished = await db.execute(
        delete(Job).where(
            or_(
                and_(Job.status.in_([JobStatus.DONE, JobStatus.FAILED]), Job.finished_at < cutoff),
                # an email still unsent after the whole period is not worth sending
                and_(
                    Job.status == JobStatus.QUEUED,
                    Job.kind == SEND_EMAIL,
                    Job.run_after < cutoff,
                ),
            )
        )
    )
    counts["jobs"] = int(finished.rowcount or 0)  # type: ignore[attr-defined]
    await db.commit()
    return counts


async def schedule_retention(session: AsyncSession, *, now: datetime) -> None:
    """Queue tonight's run unless it is queued already (safe at every worker start)."""
    await queue.enqueue_nightly(
        session, RETENTION, key="retention", now=now, hour=RETENTION_HOUR_UTC, minute=30
    )
