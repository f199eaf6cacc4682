"""``portal sync-orders`` and ``portal invoices close``: each returns the line to print."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from portal.billing.invoices import close_invoice
from portal.billing.months import parse_month
from portal.billing.sync import sync_orders
from portal.clock import utcnow
from portal.errors import UnknownStore
from portal.runtime import open_runtime
from portal.settings import Settings
from portal.stores import service as stores
from portal.stores.models import Store


async def sync_orders_command(settings: Settings, *, store_slug: str, month: str) -> str:
    parse_month(month)
    async with open_runtime(settings) as runtime:
        async with runtime.sessions() as session:
            store = await _store(session, store_slug)
        report = await sync_orders(runtime.sessions, runtime.shopify(store), store, month)
    return f"portal: synced {report}"


async def close_invoice_command(
    settings: Settings, *, store_slug: str, month: str, closed_by: str
) -> str:
    parse_month(month)
    async with open_runtime(settings) as runtime, runtime.sessions() as session:
        store = await _store(session, store_slug)
        invoice = await close_invoice(session, store, month, closed_by=closed_by, now=utcnow())
        await session.commit()
    return (
        f"portal: {store_slug} {month} is closed: premiums {invoice.premiums_total}, deductions "
        f"{invoice.deductions_total}, amount due {invoice.amount_due} {invoice.currency}"
    )


async def _store(session: AsyncSession, slug: str) -> Store:
    store = await stores.get_by_slug(session, slug)
    if store is None:
        raise UnknownStore(f"no store {slug!r}")
    return store
