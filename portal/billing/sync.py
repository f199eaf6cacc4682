"""Reading a month of a store's orders from Shopify into the premiums ledger.

Used by ``portal sync-orders``, by the worker's jobs (``portal.billing.jobs``) and by the demo.
The client pages through ``orders(query: "created_at:...")`` with the light ``BillableOrders``
document, waiting for query points instead of being throttled. Writing is idempotent: running it
twice, or after the webhooks already told us about an order, changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from portal.billing.ledger import ZERO, book_order
from portal.billing.months import month_bounds, month_of, previous_month
from portal.clock import utcnow
from portal.errors import CurrencyMismatch
from portal.integrations.shopify.client import BillableOrder, ShopifyClient
from portal.jobs import queue
from portal.jobs.models import Priority
from portal.stores.models import Store

REFRESH_ORDER = "billing.refresh_order"
"""Read one order from Shopify as it is now and book its premium (queued by webhooks)."""
SYNC_MONTH = "billing.sync_month"
NIGHTLY_SYNC = "billing.nightly_sync"
NIGHTLY_HOUR_UTC = 3


@dataclass
class SyncReport:
    store_slug: str
    month: str
    orders: int = 0
    protected: int = 0
    skipped: int = 0
    change: Decimal = ZERO
    unreadable_before: datetime | None = None
    """Orders created before this could not be read: the store did not grant read_all_orders
    and Shopify shows only the last 60 days."""

    @property
    def unreadable(self) -> str | None:
        if self.unreadable_before is None:
            return None
        return (
            f"orders created in {self.month} before {self.unreadable_before:%Y-%m-%d %H:%M} UTC "
            "could not be read: the store has not granted read_all_orders (Shopify shows only "
            "the last 60 days)"
        )

    def __str__(self) -> str:
        text = (
            f"{self.store_slug} {self.month}: {self.orders} orders read, {self.protected} "
            f"protected, {self.skipped} skipped; premiums changed by {self.change}"
        )
        return text if self.unreadable is None else f"{text}; {self.unreadable}"


def created_in(month: str, time_zone: str) -> str:
    """Shopify's search for the orders created in ``month`` on the store's calendar."""
    start, end = month_bounds(month, time_zone)
    return f"created_at:>='{_iso(start)}' created_at:<'{_iso(end)}'"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def sync_orders(
    sessions: async_sessionmaker[AsyncSession],
    client: ShopifyClient,
    store: Store,
    month: str,
    *,
    now: Callable[[], datetime] = lambda: utcnow(),
) -> SyncReport:
    """Book every order ``store`` received in ``month``; one short transaction per order."""
    report = SyncReport(store.slug, month)
    readable_from = store.orders_readable_from(now())
    if readable_from is not None and month_bounds(month, store.time_zone)[0] < readable_from:
        report.unreadable_before = readable_from
    async for order in client.iter_billable_orders(query=created_in(month, store.time_zone)):
        report.orders += 1
        async with sessions() as session:
            await _book(session, store, order, report, now())
            await session.commit()
    return report


async def _book(
    session: AsyncSession, store: Store, order: BillableOrder, report: SyncReport, now: datetime
) -> None:
    try:
        change = await book_order(session, store, order, now=now)
    except CurrencyMismatch:
        report.skipped += 1
        return
    if change is not None:
        report.protected += 1
        report.change += change


# --- queuing -----------------------------------------------------------------------------------


async def enqueue_month_sync(session: AsyncSession, store: Store, month: str, *, run: str) -> None:
    """Queue a sync of ``store``'s ``month``, once per ``run`` (a night, a demo start...)."""
    await queue.enqueue(
        session,
        SYNC_MONTH,
        {"store_id": store.id, "month": month},
        dedupe_key=f"billing-sync:{store.id}:{month}:{run}",
        priority=Priority.BACKGROUND,
    )


def next_night(now: datetime) -> datetime:
    """The next nightly run: today at NIGHTLY_HOUR_UTC, or tomorrow if that has passed."""
    tonight = now.astimezone(UTC).replace(hour=NIGHTLY_HOUR_UTC, minute=0, second=0, microsecond=0)
    return tonight if tonight > now else tonight + timedelta(days=1)


async def schedule_nightly_sync(session: AsyncSession, *, now: datetime) -> None:
    """Queue the next nightly run unless it is queued already (safe at every worker start)."""
    night = next_night(now)
    await queue.enqueue_nightly(
        session,
        NIGHTLY_SYNC,
        key="billing-nightly",
        now=now,
        hour=NIGHTLY_HOUR_UTC,
        payload={"night": night.date().isoformat()},
    )


async def queue_month_syncs(session: AsyncSession, *, run: str, now: datetime) -> int:
    """Queue a sync of this month and the last for every installed store, once per ``run``;
    returns how many stores."""
    installed = select(Store).where(Store.uninstalled_at.is_(None)).order_by(Store.id)
    stores = (await session.scalars(installed)).all()
    for store in stores:
        current = month_of(now, store.time_zone)
        for month in (previous_month(current), current):
            await enqueue_month_sync(session, store, month, run=run)
    return len(stores)
