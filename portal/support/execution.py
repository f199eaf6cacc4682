"""The worker's side of a resolution: talk to Shopify, then record the outcome, exactly once.

Each handler starts by reading its resolution; a succeeded one is done and is left alone. A
replacement order carries a ``sourceIdentifier`` derived from the resolution, and the client
looks it up before creating, so a job re-run after a lost response or a dead worker finds the
order instead of creating a second. A refund carries an idempotency key derived from the
resolution (``@idempotent`` where the API version takes it, otherwise a marker in the refund's
note that the client checks), for the same effect. The outcome, the request's new status, its
public timeline line and the shopper's email commit in one transaction.

When Shopify refuses a resolution, or its job is about to be parked (a failure that will not
get better by itself, or attempts spent), the request is marked ``needs_attention`` for an
agent, with an internal timeline line that says what stopped it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from portal.clock import utcnow
from portal.errors import InventoryClaimFailed, PortalError, ShopifyUserError
from portal.integrations.shopify import ShopifyClient
from portal.integrations.shopify.models import (
    Address,
    NewOrder,
    NewOrderLine,
    Order,
    RefundLine,
)
from portal.jobs import queue
from portal.jobs.worker import JobContext
from portal.reorders import snapshots
from portal.reorders.models import ReorderRequest, RequestStatus
from portal.runtime import Runtime
from portal.stores.models import Store
from portal.support.actions import close_reorder, email_shopper, needs_attention, record
from portal.support.models import Resolution, ResolutionStatus

PROTECTION_SERVICE = "Corso Shipping Protection"


@dataclass
class Loaded:
    resolution: Resolution
    request: ReorderRequest
    store: Store


@dataclass
class Settling(Loaded):
    db: AsyncSession


async def _load(db: AsyncSession, resolution_id: int) -> Loaded | None:
    resolution = await db.get(Resolution, resolution_id)
    if resolution is None:
        return None
    request = await db.scalar(
        select(ReorderRequest)
        .where(ReorderRequest.id == resolution.request_id)
        .options(selectinload(ReorderRequest.items))
    )
    store = await db.get(Store, resolution.store_id)
    assert request is not None and store is not None
    return Loaded(resolution, request, store)


async def _pending(ctx: JobContext) -> Loaded | None:
    async with ctx.sessions() as db:
        loaded = await _load(db, int(ctx.job.payload["resolution_id"]))
    if loaded is None or loaded.resolution.status != ResolutionStatus.PENDING:
        return None
    return loaded


# --- primary reorder ---------------------------------------------------------------------------


async def execute_primary_reorder(ctx: JobContext) -> dict[str, Any] | None:
    loaded = await _pending(ctx)
    if loaded is None:
        return None
    runtime: Runtime = ctx.services
    shopify = runtime.shopify(loaded.store).in_background()
    try:
        async with _parking_noted(ctx, loaded):
            order = await shopify.create_order(order=replacement_order(loaded))
    except InventoryClaimFailed as exc:
        await _fail(ctx, loaded, "Stock ran out before the reorder could be placed: " + str(exc))
        return {"failed": "inventory"}
    except ShopifyUserError as exc:
        await _fail(ctx, loaded, "Shopify refused the reorder: " + str(exc))
        return {"failed": "user_error"}
    await _reordered(ctx, loaded, order)
    return {"order": order.id, "name": order.name}


def replacement_order(loaded: Loaded) -> NewOrder:
    request, resolution = loaded.request, loaded.resolution
    items = request.items
    return NewOrder(
        source_identifier=resolution.source_identifier,
        email=request.email,
        currency=request.currency,
        lines=[NewOrderLine(i.variant_id or "", i.quantity, i.unit_price) for i in items],
        shipping_address=_address(request.shipping_address or {}),
        note=(
            f"Replacement order from {PROTECTION_SERVICE} for reorder request "
            f"{request.reference} (original order {request.order_name}). Paid by shipping "
            "protection."
        ),
        tags=("shipping-protection", "reorder", request.reference),
        inventory_behaviour="DECREMENT_OBEYING_POLICY",
        send_receipt=True,
    )


def _address(values: dict[str, Any]) -> Address:
    return Address(
        first_name=values.get("first_name"),
        last_name=values.get("last_name"),
        company=values.get("company") or None,
        address1=values.get("address1"),
        address2=values.get("address2") or None,
        city=values.get("city"),
        province_code=values.get("province_code") or None,
        zip=values.get("zip"),
        country_code=values.get("country_code"),
        phone=values.get("phone") or None,
    )


async def _reordered(ctx: JobContext, loaded: Loaded, order: Order) -> None:
    async with _settling(ctx, loaded.resolution.id, ResolutionStatus.SUCCEEDED) as current:
        if current is None:
            return
        resolution = current.resolution
        resolution.shopify_order_id = order.id
        resolution.shopify_order_name = order.name
        resolution.amount = order.total.amount
        data = {"order_name": order.name, "order_id": order.id}
        close_reorder(current.db, current.request, RequestStatus.REORDERED)
        record(current.db, current.request, "reorder_created", "system", public=True, data=data)
        await _tell_shopper(ctx, current, "reorder_created", order_name=order.name)


# --- refund ------------------------------------------------------------------------------------


async def execute_refund(ctx: JobContext) -> dict[str, Any] | None:
    loaded = await _pending(ctx)
    if loaded is None:
        return None
    runtime: Runtime = ctx.services
    shopify = runtime.shopify(loaded.store).in_background()
    lines = [RefundLine(i.line_item_id, i.quantity) for i in loaded.request.items]
    try:
        async with _parking_noted(ctx, loaded):
            refund = await _refund(shopify, loaded, lines)
    except ShopifyUserError as exc:
        await _fail(ctx, loaded, "Shopify refused the refund: " + str(exc))
        return {"failed": "user_error"}
    await _refunded(ctx, loaded, refund.id, refund.total.amount)
    return {"refund": refund.id, "amount": str(refund.total.amount)}


async def _refund(shopify: ShopifyClient, loaded: Loaded, lines: list[RefundLine]) -> Any:
    return await shopify.refund_as_suggested(
        order_id=loaded.request.shopify_order_id,
        lines=lines,
        note=f"{PROTECTION_SERVICE}: refund for reorder request {loaded.request.reference}",
        notify=True,
        idempotency_key=loaded.resolution.idempotency_key,
    )


async def _refunded(ctx: JobContext, loaded: Loaded, refund_id: str, amount: Decimal) -> None:
    async with _settling(ctx, loaded.resolution.id, ResolutionStatus.SUCCEEDED) as current:
        if current is None:
            return
        resolution = current.resolution
        resolution.shopify_order_id = current.request.shopify_order_id
        resolution.shopify_refund_id = refund_id
        resolution.amount = amount
        data = {"amount": str(amount), "currency": resolution.currency, "refund_id": refund_id}
        close_reorder(current.db, current.request, RequestStatus.REFUNDED)
        record(current.db, current.request, "refunded", "system", public=True, data=data)
        # the order changed: no page or job goes on with its copy from before the refund
        await snapshots.forget(
            current.db,
            store_id=current.store.id,
            order_id=current.request.shopify_order_id,
            now=utcnow(),
        )
        await _tell_shopper(ctx, current, "refund_issued", amount=amount)


# --- shared ------------------------------------------------------------------------------------


@asynccontextmanager
async def _settling(
    ctx: JobContext, resolution_id: int, status: ResolutionStatus
) -> AsyncIterator[Settling | None]:
    """One transaction that moves a pending resolution to ``status`` and yields it (with its
    request and store) for the rest of the outcome; None when it was no longer pending. The
    status changes by a conditional UPDATE first, so of two runs only one records anything."""
    async with ctx.sessions() as db, db.begin():
        moved = await db.execute(
            update(Resolution)
            .where(Resolution.id == resolution_id, Resolution.status == ResolutionStatus.PENDING)
            .values(status=status, resolved_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if not moved.rowcount:  # type: ignore[attr-defined]
            yield None
            return
        loaded = await _load(db, resolution_id)
        assert loaded is not None
        yield Settling(loaded.resolution, loaded.request, loaded.store, db)


async def _fail(ctx: JobContext, loaded: Loaded, reason: str) -> None:
    """Shopify said no: the resolution fails, the request stays open for another path."""
    async with _settling(ctx, loaded.resolution.id, ResolutionStatus.FAILED) as current:
        if current is None:
            return
        current.resolution.error = reason
        current.resolution.resolved_at = None
        data = {"resolution": current.resolution.id, "kind": current.resolution.kind}
        record(
            current.db, current.request, "resolution_failed", "system", message=reason, data=data
        )
        needs_attention(current.request)


def _parks(job: queue.ClaimedJob, exc: Exception) -> bool:
    """Whether the worker will park ``job`` for this failure (see ``portal.jobs.worker``)."""
    if isinstance(exc, ShopifyUserError):
        return False  # refused: the handler fails the resolution instead
    if isinstance(exc, PortalError) and not exc.retryable:
        return True
    return queue.will_park(job)


@asynccontextmanager
async def _parking_noted(ctx: JobContext, loaded: Loaded) -> AsyncIterator[None]:
    """Let a failure through to the worker; when it will park the job, first mark the request
    as needing an agent (if its resolution is still pending and the request still open)."""
    try:
        yield
    except Exception as exc:
        if _parks(ctx.job, exc):
            await _note_parked(ctx, loaded.resolution.id, str(exc) or type(exc).__name__)
        raise


async def _note_parked(ctx: JobContext, resolution_id: int, reason: str) -> None:
    async with ctx.sessions() as db, db.begin():
        resolution = await db.get(Resolution, resolution_id)
        if resolution is None or resolution.status != ResolutionStatus.PENDING:
            return
        request = await db.get(ReorderRequest, resolution.request_id, with_for_update=True)
        if request is None or not request.is_open:
            return
        data = {"resolution": resolution.id, "kind": resolution.kind}
        record(db, request, "resolution_parked", "system", message=reason, data=data)
        needs_attention(request)


async def _tell_shopper(ctx: JobContext, current: Settling, template: str, **context: Any) -> None:
    runtime: Runtime = ctx.services
    await email_shopper(
        current.db,
        current.request,
        current.store,
        template,
        runtime.status_link(current.store, current.request.id),
        dedupe_key=f"{template}:{current.resolution.id}",
        **context,
    )
