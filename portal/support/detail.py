"""Everything an agent sees about one request, gathered at once: the request itself, the live
Shopify order with the stock of each requested variant, the customer's Corso claims, earlier
requests by the same email, resolutions and jobs. Each outside panel fails on its own: when
Shopify or Corso is down, the page still renders and that panel says what happened.

The outside reads are kept for a minute (``portal.recent_reads``) under a key that changes with
the request's status and its resolutions, so views in between cost no Shopify points, and the
page reads again as soon as the portal's own action changed the order; the page shows when each
panel was read and offers a Refresh that reads now."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from portal.accounts.models import User
from portal.errors import IntegrationError, StoreInactive
from portal.integrations.shopify.models import Order, Variant
from portal.jobs.models import Job, JobStatus
from portal.reorders.models import ReorderRequest, RequestItem
from portal.runtime import Runtime
from portal.stores.models import Store
from portal.support.claims import (
    CustomerClaims,
    LineItemHistory,
    customer_claims,
    issued_for_line_item,
)
from portal.support.models import Resolution, ResolutionStatus

T = TypeVar("T")
EARLIER_LIMIT = 20


@dataclass(frozen=True)
class Panel(Generic[T]):
    """A panel's content, or what went wrong fetching it."""

    value: T | None = None
    problem: str | None = None
    read_at: datetime | None = None
    """When the value was read from the outside service (it may be up to a minute old)."""


def can_supply_all(items: Iterable[RequestItem], stock: dict[str, Variant]) -> bool:
    """Whether every requested variant can be supplied now (the primary reorder's rule)."""
    return all(
        item.variant_id in stock and stock[item.variant_id].can_supply(item.quantity)
        for item in items
    )


@dataclass
class RequestDetail:
    request: ReorderRequest
    store: Store
    earlier: list[ReorderRequest]
    resolutions: list[Resolution]
    jobs: list[Job]
    assignee_email: str | None = None
    order: Panel[Order] = field(default_factory=Panel)
    stock: Panel[dict[str, Variant]] = field(default_factory=Panel)
    claims: Panel[CustomerClaims] = field(default_factory=Panel)
    history: dict[str, LineItemHistory] = field(default_factory=dict)

    @property
    def in_stock(self) -> bool:
        stock = self.stock.value
        return stock is not None and can_supply_all(self.request.items, stock)

    @property
    def live_resolution(self) -> Resolution | None:
        return next((r for r in self.resolutions if r.status != ResolutionStatus.FAILED), None)

    @property
    def parked(self) -> Resolution | None:
        """The pending resolution whose job stopped (parked) for an agent, if any."""
        live = self.live_resolution
        if live is None or live.status != ResolutionStatus.PENDING:
            return None
        stopped = any(j.id == live.job_id and j.status == JobStatus.FAILED for j in self.jobs)
        return live if stopped else None

    @property
    def stopped(self) -> Resolution | None:
        """What needs an agent on an open request: the parked resolution, or the last one
        Shopify refused while nothing else is under way."""
        if not self.request.is_open:
            return None
        if (parked := self.parked) is not None:
            return parked
        last = self.resolutions[-1] if self.resolutions else None
        if self.live_resolution is None and last is not None:
            return last if last.status == ResolutionStatus.FAILED else None
        return None

    @property
    def stopped_reason(self) -> str:
        stopped = self.stopped
        if stopped is None:
            return ""
        job = next((j for j in self.jobs if j.id == stopped.job_id), None)
        return (job.last_error if job and stopped is self.parked else stopped.error) or ""

    @property
    def address_refused(self) -> bool:
        """Whether what stopped the resolution was its shipping address."""
        reason = self.stopped_reason.casefold()
        return self.request.shipping_address is not None and (
            "address" in reason or "countrycode" in reason or "zip" in reason
        )

    @property
    def may_take_a_path(self) -> bool:
        """Whether an agent may start a resolution (or deny): nothing under way, or only a
        parked resolution, which is set aside first."""
        return self.request.is_open and (self.live_resolution is None or self.parked is not None)

    @property
    def settling(self) -> bool:
        """Whether the page should look again shortly: a resolution is with the worker (and not
        parked), or it settled after the request row was read."""
        live = self.live_resolution
        if live is None:
            return False
        if live.status == ResolutionStatus.PENDING:
            return not any(job.status == JobStatus.FAILED for job in self.jobs)
        return self.request.is_open


async def _panel(work: Awaitable[tuple[T, datetime]]) -> Panel[T]:
    try:
        value, read_at = await work
        return Panel(value=value, read_at=read_at)
    except IntegrationError as exc:
        return Panel(
            problem=f"{exc.service} could not be reached or refused: {exc}. "
            "Reload to try again; nothing was changed."
        )
    except StoreInactive:
        return Panel(problem="The store uninstalled the app: its Shopify is not asked.")


async def load_request(
    session: AsyncSession, reference: str, *, for_update: bool = False
) -> ReorderRequest | None:
    """The request with its items, photos and timeline; ``for_update`` locks its row (on
    PostgreSQL) so that concurrent actions on one request take turns."""
    query = (
        select(ReorderRequest)
        .where(ReorderRequest.reference == reference)
        .options(
            selectinload(ReorderRequest.items),
            selectinload(ReorderRequest.photos),
            selectinload(ReorderRequest.events),
        )
    )
    if for_update:
        query = query.with_for_update(of=ReorderRequest)
    return await session.scalar(query)


async def read(
    session: AsyncSession, request: ReorderRequest, store: Store, *, store_scope: int | None
) -> RequestDetail:
    """The portal's own part of the page, read together so it agrees with itself.

    Each read sees what was committed when it ran, so a worker can park a job between reading
    the request and reading its jobs. The worker marks the request before it parks the job, so
    when a parked job is seen the request is read again: the page then never shows a parked
    resolution beside a status from before it (and stops polling on that stale status)."""
    resolutions = await _resolutions(session, request)
    jobs = await _unfinished_jobs(session, resolutions)
    if any(job.status == JobStatus.FAILED for job in jobs):
        await session.refresh(request, ["status", "updated_at", "events"])
    assignee = await session.get(User, request.assigned_to_id) if request.assigned_to_id else None
    return RequestDetail(
        request=request,
        store=store,
        earlier=await _earlier(session, request, store_scope),
        resolutions=resolutions,
        jobs=jobs,
        assignee_email=assignee.email if assignee else None,
    )


async def look_outside(runtime: Runtime, detail: RequestDetail, *, fresh: bool = False) -> None:
    """Fill the Shopify and Corso panels (call with no database session open), from reads kept
    for a minute unless ``fresh``."""
    request, store = detail.request, detail.store
    reads, state = runtime.recent_reads, _state(detail)

    def kept(what: str, fetch: Callable[[], Awaitable[T]]) -> Awaitable[tuple[T, datetime]]:
        return reads.read((what, store.id, request.id, state), fetch, fresh=fresh)

    detail.order, detail.stock, detail.claims = await asyncio.gather(
        _panel(kept("order", lambda: _order(runtime, store, request))),
        _panel(kept("stock", lambda: stock_of(runtime, store, request))),
        _panel(kept("claims", lambda: customer_claims(runtime.corso(store), request.email))),
    )
    detail.history = _history(request, detail.claims.value or CustomerClaims())


def _state(detail: RequestDetail) -> Hashable:
    """What the portal's own actions change: the request's status and each resolution's."""
    resolutions = tuple((r.id, r.status) for r in detail.resolutions)
    return (detail.request.status, detail.request.email, resolutions)


async def _order(runtime: Runtime, store: Store, request: ReorderRequest) -> Order:
    order = await runtime.shopify(store).get_order(order_id=request.shopify_order_id)
    if order is None:
        raise IntegrationError(f"order {request.order_name} is no longer in Shopify")
    return order


async def stock_of(runtime: Runtime, store: Store, request: ReorderRequest) -> dict[str, Variant]:
    ids = [i.variant_id for i in request.items if i.variant_id]
    variants = await runtime.shopify(store).get_variants(variant_ids=ids) if ids else []
    return {v.id: v for v in variants}


def _history(request: ReorderRequest, found: CustomerClaims) -> dict[str, LineItemHistory]:
    """For each requested line item, what earlier claims already refunded or replaced."""
    return {
        item.line_item_id: issued_for_line_item(found.claims, item.line_item_id.rsplit("/", 1)[-1])
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
    ids = [
        r.job_id
        for r in resolutions
        if r.job_id is not None and r.status == ResolutionStatus.PENDING
    ]
    if not ids:
        return []
    rows = await session.scalars(select(Job).where(Job.id.in_(ids), Job.status != JobStatus.DONE))
    return list(rows)
