"""The worker's side of a resolution: talk to Shopify, then record the outcome, exactly once.

Each handler starts by reading its resolution; a succeeded one is done and is left alone. A
replacement order carries a ``sourceIdentifier`` derived from the resolution, and the client
looks it up before creating, so a job re-run after a lost response or a dead worker finds the
order instead of creating a second. A refund carries an idempotency key derived from the
resolution (``@idempotent`` where the API version takes it, otherwise a marker in the refund's
note that the client checks), for the same effect. The outcome, the request's new status, its
public timeline line and the shopper's email commit in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from portal.errors import InventoryClaimFailed, ShopifyUserError
from portal.integrations.shopify import ShopifyClient
from portal.integrations.shopify.models import (
    Address,
    NewOrder,
    NewOrderLine,
    Order,
    RefundLine,
    RefundTransaction,
)
from portal.jobs.worker import JobContext
from portal.mail import queue_email, render_email
from portal.reorders.models import ReorderRequest, RequestStatus
from portal.runtime import Runtime
from portal.shopper.links import status_link
from portal.stores.models import Store
from portal.support.actions import close_request, record
from portal.support.models import Resolution, ResolutionStatus

PROTECTION_SERVICE = "Corso Shipping Protection"


@dataclass
class Loaded:
    resolution: Resolution
    request: ReorderRequest
    store: Store


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
    shopify = runtime.shopify(loaded.store)
    try:
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
    async with ctx.sessions() as db, db.begin():
        current = await _load(db, loaded.resolution.id)
        assert current is not None
        if current.resolution.status != ResolutionStatus.PENDING:
            return
        resolution = current.resolution
        resolution.status = ResolutionStatus.SUCCEEDED
        resolution.shopify_order_id = order.id
        resolution.shopify_order_name = order.name
        resolution.amount = order.total.amount
        resolution.resolved_at = datetime.now(UTC)
        close_request(db, current.request, RequestStatus.REORDERED)
        record(
            db,
            current.request,
            "reorder_created",
            "system",
            public=True,
            data={"order_name": order.name, "order_id": order.id},
        )
        await _tell_shopper(ctx, db, current, "reorder_created", order_name=order.name)


# --- refund ------------------------------------------------------------------------------------


async def execute_refund(ctx: JobContext) -> dict[str, Any] | None:
    loaded = await _pending(ctx)
    if loaded is None:
        return None
    runtime: Runtime = ctx.services
    shopify = runtime.shopify(loaded.store)
    lines = [RefundLine(i.line_item_id, i.quantity) for i in loaded.request.items]
    try:
        refund = await _refund(shopify, loaded, lines)
    except ShopifyUserError as exc:
        await _fail(ctx, loaded, "Shopify refused the refund: " + str(exc))
        return {"failed": "user_error"}
    await _refunded(ctx, loaded, refund.id, refund.total.amount)
    return {"refund": refund.id, "amount": str(refund.total.amount)}


async def _refund(shopify: ShopifyClient, loaded: Loaded, lines: list[RefundLine]) -> Any:
    order_id = loaded.request.shopify_order_id
    suggestion = await shopify.suggest_refund(order_id=order_id, lines=lines)
    transactions = [
        RefundTransaction.from_suggestion(t) for t in suggestion.transactions if t.amount.amount
    ]
    return await shopify.create_refund(
        order_id=order_id,
        lines=lines,
        transactions=transactions,
        note=f"{PROTECTION_SERVICE}: refund for reorder request {loaded.request.reference}",
        notify=True,
        idempotency_key=loaded.resolution.idempotency_key,
    )


async def _refunded(ctx: JobContext, loaded: Loaded, refund_id: str, amount: Decimal) -> None:
    async with ctx.sessions() as db, db.begin():
        current = await _load(db, loaded.resolution.id)
        assert current is not None
        if current.resolution.status != ResolutionStatus.PENDING:
            return
        resolution = current.resolution
        resolution.status = ResolutionStatus.SUCCEEDED
        resolution.shopify_order_id = current.request.shopify_order_id
        resolution.shopify_refund_id = refund_id
        resolution.amount = amount
        resolution.resolved_at = datetime.now(UTC)
        close_request(db, current.request, RequestStatus.REFUNDED)
        data = {"amount": str(amount), "currency": resolution.currency, "refund_id": refund_id}
        record(db, current.request, "refunded", "system", public=True, data=data)
        await _tell_shopper(ctx, db, current, "refund_issued", amount=amount)


# --- shared ------------------------------------------------------------------------------------


async def _fail(ctx: JobContext, loaded: Loaded, reason: str) -> None:
    """Shopify said no: the resolution fails, the request stays open for another path."""
    async with ctx.sessions() as db, db.begin():
        current = await _load(db, loaded.resolution.id)
        assert current is not None
        if current.resolution.status != ResolutionStatus.PENDING:
            return
        current.resolution.status = ResolutionStatus.FAILED
        current.resolution.error = reason
        record(
            db,
            current.request,
            "resolution_failed",
            "system",
            message=reason,
            data={"resolution": current.resolution.id, "kind": current.resolution.kind},
        )


async def _tell_shopper(
    ctx: JobContext, db: AsyncSession, loaded: Loaded, template: str, **context: Any
) -> None:
    runtime: Runtime = ctx.services
    link = status_link(
        runtime.signer,
        base_url=runtime.settings.base_url,
        store_slug=loaded.store.slug,
        request_id=loaded.request.id,
    )
    email = render_email(
        template,
        {"store": loaded.store, "reorder": loaded.request, "status_link": link, **context},
        to=loaded.request.email,
    )
    await queue_email(db, email, dedupe_key=f"{template}:{loaded.resolution.id}")
