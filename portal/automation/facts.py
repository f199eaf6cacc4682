"""What the rules are told about a request: its own columns, and what Shopify (the order, its
parcel, the stock) and Corso (the customer's claims) say, with the risk signals judged on
them. Shopify and Corso are asked at once, with no database connection held; a service that
cannot be reached leaves its facts unknown, and a rule that needs them does not act."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import TypeVar

from portal.automation.conditions import Facts
from portal.errors import IntegrationError, StoreInactive
from portal.integrations.shopify.models import Order
from portal.reorders.models import ReorderRequest
from portal.reorders.tracking import days_since_delivery, order_tracking
from portal.runtime import Runtime
from portal.stores.models import Store
from portal.support import signals
from portal.support.claims import CustomerClaims
from portal.support.detail import can_supply_all, stock_of

YEAR = timedelta(days=365)
UNREACHABLE = (IntegrationError, StoreInactive)
T = TypeVar("T")


async def gather(runtime: Runtime, request: ReorderRequest, store: Store, now: datetime) -> Facts:
    """The facts of ``request`` (loaded with its items and photos) as of ``now``."""
    (order, claims), stock = await asyncio.gather(
        signals.outside_for_signals(runtime, request, store, background=True),
        _quietly(stock_of(runtime, store, request)),
    )
    async with runtime.sessions() as session:
        findings, reviews = await signals.portal_part(session, request, now)
    report = signals.judge(request, findings, reviews, order=order, claims=claims, now=now)
    tracking = order_tracking(order, store, now) if order is not None else None
    unknown = [name for name, got in (("Shopify", order), ("Corso", claims)) if got is None]
    return Facts(
        issue_type=request.issue_type,
        resolution=request.resolution,
        value=request.items_total,
        currency=request.currency,
        item_count=sum(item.quantity for item in request.items),
        has_address=bool(request.shipping_address),
        product_ids=_products(order, request),
        order_tags=order.tags if order is not None else (),
        in_stock=can_supply_all(request.items, stock) if stock is not None else None,
        tracking_state=tracking.state.value if tracking is not None else None,
        days_since_delivery=days_since_delivery(tracking, now) if tracking else None,
        earlier_claims=_earlier_claims(findings.request_dates, claims, request, now),
        risk_signals=report.unreviewed if order is not None and claims is not None else None,
        unknown=tuple(unknown),
    )


async def _quietly(work: Awaitable[T]) -> T | None:
    try:
        return await work
    except UNREACHABLE:
        return None


def _products(order: Order | None, request: ReorderRequest) -> tuple[str, ...]:
    if order is None:
        return ()
    wanted = {item.line_item_id for item in request.items}
    return tuple(
        dict.fromkeys(li.product_id for li in order.line_items if li.id in wanted and li.product_id)
    )


def _earlier_claims(
    request_dates: list[datetime],
    claims: CustomerClaims | None,
    request: ReorderRequest,
    now: datetime,
) -> int | None:
    """The customer's other requests at this store and Corso claims in the year before ``now``;
    None when Corso could not be asked."""
    if claims is None:
        return None
    since = now - YEAR
    others = [d for d in request_dates if since <= d <= now and d != request.created_at]
    corso = [c.created_on for c in claims.claims if c.created_on and since <= c.created_on <= now]
    return len(others) + len(corso)
