"""A resolution whose job was parked: what it may have left in Shopify, and setting it aside so
the agent can take another path.

A parked job runs again only when an agent presses Retry, so while it stays parked nothing
writes to Shopify for it. Before another path starts, Shopify is asked whether the parked
attempt went through after all (the replacement order by its ``sourceIdentifier``, the refund
by its idempotency key); only when it did not is the resolution set aside, in the transaction
that starts the other path and only if the job is still parked as it was when Shopify was
asked. So a switch of path never makes a second order, or a reorder and a refund.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from portal.clock import utcnow
from portal.errors import ActionRefused
from portal.jobs.models import Job, JobStatus
from portal.reorders.models import ReorderRequest
from portal.runtime import Runtime
from portal.stores.models import Store
from portal.support.actions import Agent, record
from portal.support.models import Resolution, ResolutionKind, ResolutionStatus


@dataclass(frozen=True)
class Parked:
    """A pending resolution and its parked job, as they stood when read."""

    resolution_id: int
    kind: ResolutionKind
    job_id: int
    job_updated_at: datetime | None
    source_identifier: str
    idempotency_key: str


async def find(db: AsyncSession, request_id: int) -> Parked | None:
    row = (
        await db.execute(
            select(Resolution, Job.updated_at)
            .join(Job, Job.id == Resolution.job_id)
            .where(
                Resolution.request_id == request_id,
                Resolution.status == ResolutionStatus.PENDING,
                Job.status == JobStatus.FAILED,
            )
        )
    ).first()
    if row is None:
        return None
    resolution, job_updated_at = row
    assert resolution.job_id is not None
    return Parked(
        resolution.id,
        ResolutionKind(resolution.kind),
        resolution.job_id,
        job_updated_at,
        resolution.source_identifier,
        resolution.idempotency_key,
    )


async def nothing_in_shopify(
    runtime: Runtime, store: Store, request: ReorderRequest, parked: Parked
) -> None:
    """Refuse to go on when the parked attempt is in Shopify after all (Retry records it)."""
    shopify = runtime.shopify(store)
    if parked.kind is ResolutionKind.PRIMARY_REORDER:
        order = await shopify.find_order_by_source_identifier(
            source_identifier=parked.source_identifier
        )
        if order is not None:
            raise ActionRefused(
                f"Shopify already holds {order.name}, the replacement order of the stopped "
                "reorder, so nothing else was started. Press Retry to record it."
            )
    elif parked.kind is ResolutionKind.REFUND:
        refund = await shopify.find_refund(
            order_id=request.shopify_order_id, idempotency_key=parked.idempotency_key
        )
        if refund is not None:
            raise ActionRefused(
                "Shopify already holds the stopped refund, so nothing else was started. "
                "Press Retry to record it."
            )


async def set_aside(
    db: AsyncSession, request: ReorderRequest, parked: Parked, by: Agent, because: str
) -> None:
    """Fail the parked resolution (in the caller's transaction), if its job is still parked
    exactly as it was when Shopify was asked; otherwise refuse."""
    job = await db.get(Job, parked.job_id, populate_existing=True)
    if job is None or job.status != JobStatus.FAILED or job.updated_at != parked.job_updated_at:
        raise ActionRefused(
            "The stopped resolution changed meanwhile (it was retried), so nothing was done. "
            "Look at the request again."
        )
    reason = f"Set aside by {by.email}: {because}"
    moved = await db.execute(
        update(Resolution)
        .where(
            Resolution.id == parked.resolution_id,
            Resolution.status == ResolutionStatus.PENDING,
        )
        .values(status=ResolutionStatus.FAILED, error=reason)
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        raise ActionRefused("The stopped resolution settled meanwhile: look at the request again.")
    job.last_error = f"{job.last_error or ''} (set aside)".strip()
    job.updated_at = utcnow()
    data = {"resolution": parked.resolution_id, "kind": parked.kind.value}
    record(db, request, "resolution_set_aside", by.email, message=because, data=data)
