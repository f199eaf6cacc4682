"""The billing jobs the worker runs: book an order a webhook told us about, sync a store's
month, and the nightly run that queues those syncs."""

from __future__ import annotations

from typing import Any

from portal.billing.ledger import book_order, booked_as
from portal.billing.seen import SeenPremium
from portal.billing.sync import queue_month_syncs, schedule_nightly_sync, sync_orders
from portal.clock import utcnow
from portal.jobs.worker import JobContext
from portal.stores.models import Store


async def refresh_order_job(ctx: JobContext) -> dict[str, Any]:
    """Job ``billing.refresh_order``: read the order from Shopify as it is now and book it,
    unless the webhook that queued it showed the premium as the ledger holds it (``seen``)."""
    payload = ctx.job.payload
    store = await _store(ctx, payload["store_id"])
    if store is None:
        return {"skipped": "store no longer exists"}
    if "seen" in payload:
        async with ctx.sessions() as session:
            seen = SeenPremium.from_json(payload["seen"])
            if await booked_as(session, store.id, payload["order_id"], seen):
                return {"skipped": "the webhook shows the premium as booked"}
    order = (
        await ctx.services.shopify(store)
        .in_background()
        .get_billable_order(order_id=payload["order_id"])
    )
    if order is None:
        return {"skipped": "order not found in Shopify"}
    async with ctx.sessions() as session:
        change = await book_order(session, store, order, now=utcnow())
        await session.commit()
    return {"change": None if change is None else str(change)}


async def sync_month_job(ctx: JobContext) -> dict[str, Any]:
    """Job ``billing.sync_month``: payload ``{"store_id", "month"}``."""
    payload = ctx.job.payload
    store = await _store(ctx, payload["store_id"])
    if store is None:
        return {"skipped": "store no longer exists"}
    client = ctx.services.shopify(store).in_background()
    report = await sync_orders(ctx.sessions, client, store, payload["month"])
    return {
        "orders": report.orders,
        "protected": report.protected,
        "change": str(report.change),
        "unread": report.unreadable,
    }


async def nightly_sync_job(ctx: JobContext) -> dict[str, Any]:
    """Job ``billing.nightly_sync``: queue a sync of this month and the last for every store,
    then the run of the next night."""
    now = utcnow()
    async with ctx.sessions() as session:
        stores = await queue_month_syncs(session, run=ctx.job.payload["night"], now=now)
        await schedule_nightly_sync(session, now=now)
        await session.commit()
    return {"stores": stores}


async def _store(ctx: JobContext, store_id: int) -> Store | None:
    async with ctx.sessions() as session:
        return await session.get(Store, store_id)
