"""Rows and orders for billing tests: stores, protected orders, requests and resolutions."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from portal.integrations.shopify.client import BillableLine, BillableOrder
from portal.integrations.shopify.models import Money
from portal.stores.models import Store
from portal.support.models import Resolution, ResolutionKind, ResolutionStatus
from tests.helpers.factories import add_store, reorder_request

PROTECTION = "gid://shopify/ProductVariant/1"
MUG = "gid://shopify/ProductVariant/2"
_ids = itertools.count(5001)


def at(text: str) -> datetime:
    """An aware UTC datetime from ``2026-10-03T12:00``."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def line(
    variant: str,
    price: str,
    quantity: int = 1,
    *,
    refunded: int = 0,
    currency: str = "USD",
    charged: str | None = None,
) -> BillableLine:
    """A line of ``quantity`` at unit ``price`` (or ``charged`` in all, after discounts)."""
    total = Decimal(charged) if charged is not None else Decimal(price) * quantity
    return BillableLine(
        id=f"gid://shopify/LineItem/{next(_ids)}",
        variant_id=variant,
        quantity=quantity,
        current_quantity=quantity - refunded,
        charged=Money(total, currency),
    )


def order(
    *lines: BillableLine,
    created: str = "2026-10-10T12:00",
    cancelled: str | None = None,
    updated: str | None = None,
    number: int | None = None,
) -> BillableOrder:
    order_id = number or next(_ids)
    return BillableOrder(
        id=f"gid://shopify/Order/{order_id}",
        name=f"#{order_id}",
        created_at=at(created),
        updated_at=at(updated) if updated else None,
        cancelled_at=at(cancelled) if cancelled else None,
        currency="USD",
        line_items=lines,
    )


async def make_store(db: AsyncSession, slug: str = "maple", **changes: object) -> Store:
    values: dict[str, object] = {
        "time_zone": "America/New_York",
        "protection_variant_ids": [PROTECTION],
    }
    values.update(changes)
    return await add_store(db, slug.title(), slug, **values)


async def resolve(
    db: AsyncSession,
    store: Store,
    *,
    kind: ResolutionKind,
    amount: str,
    resolved: str,
    status: ResolutionStatus = ResolutionStatus.SUCCEEDED,
) -> Resolution:
    """A request on a made-up order, resolved as ``kind`` at ``resolved`` (UTC)."""
    request = reorder_request(
        store.id,
        reference=f"R-{next(_ids)}",
        currency=store.currency,
        items_total=Decimal(amount),
    )
    db.add(request)
    await db.flush()
    resolution = Resolution(
        request_id=request.id,
        store_id=store.id,
        kind=kind.value,
        status=status.value,
        amount=Decimal(amount),
        currency=store.currency,
        deducted=kind.deducted,
        agent_email="agent@example.com",
        description="",
        resolved_at=at(resolved),
    )
    db.add(resolution)
    await db.commit()
    return resolution
