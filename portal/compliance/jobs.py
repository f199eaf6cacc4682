"""The compliance jobs the worker runs, one per topic; each works its ``ComplianceRequest``
and records the outcome on it in the same transaction. None calls Shopify, so they run for a
store that uninstalled the app (as shop/redact always does)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal.clock import utcnow
from portal.compliance.customers import Customer, data_report, erase_customer
from portal.compliance.models import ComplianceRequest
from portal.compliance.retention import purge_expired, schedule_retention
from portal.compliance.service import asked
from portal.compliance.shops import erase_shop
from portal.jobs.worker import JobContext
from portal.stores.models import Store

log = logging.getLogger(__name__)

Work = Callable[[JobContext, AsyncSession, Store, ComplianceRequest], Awaitable[dict[str, Any]]]


async def _work(ctx: JobContext, work: Work) -> dict[str, Any]:
    async with ctx.sessions() as db:
        request = await db.get(ComplianceRequest, int(ctx.job.payload["compliance_request_id"]))
        if request is None or request.completed_at is not None:
            return {"skipped": "already done"}
        store = await db.get(Store, request.store_id) if request.store_id else None
        if store is None:
            request.report = {"nothing_held": True}
        else:
            request.report = await work(ctx, db, store, request)
        request.completed_at = utcnow()
        await db.commit()
        return {"compliance_request": request.id}


async def _report(
    ctx: JobContext, db: AsyncSession, store: Store, request: ComplianceRequest
) -> dict[str, Any]:
    secret = str(ctx.services.settings.secret_key)
    customer = Customer.of(asked(request))
    report = await data_report(db, store, customer, secret=secret, now=utcnow())
    data_request_id = asked(request).get("data_request_id")
    return {**report, "shopify_data_request_id": data_request_id}


async def _erase_customer(
    ctx: JobContext, db: AsyncSession, store: Store, request: ComplianceRequest
) -> dict[str, Any]:
    services = ctx.services
    customer = Customer.of(asked(request))
    counts = await erase_customer(
        db, store, customer, secret=str(services.settings.secret_key), storage=services.storage
    )
    return {"erased": counts, "orders_named": len(customer.orders)}


async def _erase_shop(
    ctx: JobContext, db: AsyncSession, store: Store, request: ComplianceRequest
) -> dict[str, Any]:
    counts = await erase_shop(db, store, storage=ctx.services.storage)
    return {"erased": counts, "store": store.shop_domain}


async def data_request_job(ctx: JobContext) -> dict[str, Any]:
    """Job ``compliance.data_request``: gather the customer's data into the request's report."""
    return await _work(ctx, _report)


async def customer_redact_job(ctx: JobContext) -> dict[str, Any]:
    """Job ``compliance.customer_redact``: erase the customer's data, keep counts."""
    return await _work(ctx, _erase_customer)


async def shop_redact_job(ctx: JobContext) -> dict[str, Any]:
    """Job ``compliance.shop_redact``: delete the store and everything of it."""
    return await _work(ctx, _erase_shop)


async def retention_job(ctx: JobContext) -> dict[str, Any]:
    """Job ``compliance.retention``: erase what has outlived the retention period, then queue
    tomorrow's run; the result says what was removed."""
    now = utcnow()
    settings = ctx.services.settings
    async with ctx.sessions() as db:
        removed = await purge_expired(
            db,
            retention=timedelta(days=settings.retention_days),
            storage=ctx.services.storage,
            now=now,
        )
        await schedule_retention(db, now=now)
        await db.commit()
    log.info("retention: %s", ", ".join(f"{n} {what}" for what, n in removed.items()))
    return removed
