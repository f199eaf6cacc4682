"""The job that judges a newly filed request's risk signals with Shopify and Corso as well, so
the queue's "Risk" column and filter show a duplicate Corso claim before anyone opens the
request. Payload ``{"reorder_id"}``; a store that is gone or inactive is skipped."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.clock import utcnow
from portal.jobs.worker import JobContext
from portal.reorders import risk
from portal.reorders.models import ReorderRequest
from portal.stores.models import Store
from portal.support import signals


async def assess_job(ctx: JobContext) -> dict[str, Any]:
    """Job ``risk.assess``: count the request's unreviewed signals and keep the count."""
    request_id = int(ctx.job.payload["reorder_id"])
    async with ctx.sessions() as session:
        found = await session.scalar(
            select(ReorderRequest)
            .where(ReorderRequest.id == request_id)
            .options(selectinload(ReorderRequest.items), selectinload(ReorderRequest.photos))
        )
        store = await session.get(Store, found.store_id) if found is not None else None
    if found is None or store is None or not store.is_active:
        return {"assessed": False}
    order, claims = await signals.outside_for_signals(ctx.services, found, store, background=True)
    async with ctx.sessions() as session, session.begin():
        report = await signals.assess(session, found, order=order, claims=claims, now=utcnow())
        await risk.store_risk_count(session, found.id, report.unreviewed)
    return {"assessed": True, "signals": report.unreviewed}
