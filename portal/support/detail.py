"""Everything an agent sees about one request, gathered at once: the request itself, the live
Shopify order with the stock of each requested variant, the customer's Corso claims, earlier
requests by the same email, resolutions and jobs. Each outside panel fails on its own: when
Shopify or Corso is down, the page still renders and that panel says what happened."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from portal.errors import IntegrationError
from portal.integrations.corso import Claim, LineItemHistory, issued_for_line_item
from portal.integrations.shopify.models import Order, Variant
from portal.jobs.models import Job, JobStatus
from portal.reorders.models import ReorderRequest
from portal.runtime import Runtime
from portal.stores.models import Store
from portal.support.models import Resolution

T = TypeVar("T")
MAX_CLAIMS = 500
EARLIER_LIMIT = 20


@dataclass(frozen=True)
class Panel(Generic[T]):
    """A panel's content, or what went wrong fetching it."""

    value: T | None = None
    problem: str | None = None


@dataclass
class RequestDetail:
    request: ReorderRequest
    store: Store
    order: Panel[Order]
    stock: Panel[dict[str, Variant]]
    claims: Panel[list[Claim]]
    earlier: list[ReorderRequest]
    resolutions: list[Resolution]
    jobs: list[Job]
    assignee_email: str | None = None
    history: dict[str, LineItemHistory] = field(default_factory=dict)

    @property
    def in_stock(self) -> bool:
        """Whether every requested variant can be supplied now (the primary reorder's rule)."""
        stock = self.stock.value
        if stock is None:
            return False
        return all(
            item.variant_id in stock and stock[item.variant_id].can_supply(item.quantity)
            for item in self.request.items
        )

    @property
    def live_resolution(self) -> Resolution | None:
        return next((r for r in self.resolutions if r.status != "failed"), None)


async def _panel(work: Awaitable[T]) -> Panel[T]:
    try:
        return Panel(value=await work)
    except IntegrationError as exc:
        return Panel(
            problem=f"{exc.service} could not be reached or refused: {exc}. "
            "Reload to try again; nothing was changed."
        )


async def load_request(session: AsyncSession, reference: str) -> ReorderRequest | None:
    return await session.scalar(
        select(ReorderRequest)
        .where(ReorderRequest.reference == reference)
        .options(
            selectinload(ReorderRequest.items),
            selectinload(ReorderRequest.photos),
            selectinload(ReorderRequest.events),
        )
    )


async def gather(
    runtime: Runtime,
    session: AsyncSession,
    request: ReorderRequest,
    store: Store,
    *,
    store_scope: int | None,
) -> RequestDetail:
    resolutions = await _resolutions(session, request)  # read close to the request row
    jobs = await _unfinished_jobs(session, resolutions)
    earlier = await _earlier(session, request, store_scope)
    order, stock, claims = await asyncio.gather(
        _panel(_order(runtime, store, request)),
        _panel(_stock(runtime, store, request)),
        _panel(_claims(runtime, store, request)),
    )
    detail = RequestDetail(
        request=request,
        store=store,
        order=order,
        stock=stock,
        claims=claims,
        earlier=earlier,
        resolutions=resolutions,
        jobs=jobs,
    )
    detail.history = _history(request, claims.value or [])
    return detail


async def _order(runtime: Runtime, store: Store, request: ReorderRequest) -> Order:
    order = await runtime.shopify(store).get_order(order_id=request.shopify_order_id)
    if order is None:
        raise IntegrationError(f"order {request.order_name} is no longer in Shopify")
    return order


async def _stock(runtime: Runtime, store: Store, request: ReorderRequest) -> dict[str, Variant]:
    ids = [i.variant_id for i in request.items if i.variant_id]
    variants = await runtime.shopify(store).get_variants(variant_ids=ids) if ids else []
    return {v.id: v for v in variants}


async def _claims(runtime: Runtime, store: Store, request: ReorderRequest) -> list[Claim]:
    if store.corso_store_id is None:
        return []
    claims: list[Claim] = []
    async for claim in runtime.corso.iter_claims(
        store_id=store.corso_store_id, customer_email=request.email
    ):
        claims.append(claim)
        if len(claims) >= MAX_CLAIMS:
            break
    return claims


def _history(request: ReorderRequest, claims: list[Claim]) -> dict[str, LineItemHistory]:
    """For each requested line item, what earlier claims already refunded or replaced."""
    return {
        item.line_item_id: issued_for_line_item(claims, item.line_item_id.rsplit("/", 1)[-1])
        for item in request.items
    }


async def _earlier(
    session: AsyncSession, request: ReorderRequest, store_scope: int | None
) -> list[ReorderRequest]:
    query = (
        select(ReorderRequest)
        .where(ReorderRequest.email == request.email, ReorderRequest.id != request.id)
        .order_by(ReorderRequest.created_at.desc(), ReorderRequest.id.desc())
        .limit(EARLIER_LIMIT)
    )
    if store_scope is not None:
        query = query.where(ReorderRequest.store_id == store_scope)
    return list(await session.scalars(query))


async def _resolutions(session: AsyncSession, request: ReorderRequest) -> list[Resolution]:
    rows = await session.scalars(
        select(Resolution).where(Resolution.request_id == request.id).order_by(Resolution.id)
    )
    return list(rows)


async def _unfinished_jobs(session: AsyncSession, resolutions: list[Resolution]) -> list[Job]:
    """Jobs of pending resolutions: retrying (with their last error) or parked as failed."""
    ids = [r.job_id for r in resolutions if r.job_id is not None and r.status == "pending"]
    if not ids:
        return []
    rows = await session.scalars(select(Job).where(Job.id.in_(ids), Job.status != JobStatus.DONE))
    return list(rows)
