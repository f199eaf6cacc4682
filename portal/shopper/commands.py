"""Shopper-side work the ``portal`` command does: ``portal link``."""

from __future__ import annotations

from portal import links
from portal.runtime import open_runtime
from portal.settings import Settings
from portal.stores.service import get_by_slug


async def make_order_link(
    settings: Settings, *, store_slug: str, order: str | None = None, order_id: str | None = None
) -> str:
    """A link for an order named by number (looked up in Shopify) or by id (used as given)."""
    async with open_runtime(settings) as runtime:
        async with runtime.sessions() as db:
            store = await get_by_slug(db, store_slug)
        if store is None:
            raise LookupError(f"no store {store_slug!r}")
        if order_id is None:
            found = await runtime.shopify(store).find_order(name=order or "")
            if found is None:
                raise LookupError(f"no order {order!r} at {store.name}")
            order_id = found.id
        return links.order_link(
            runtime.signer,
            base_url=settings.base_url,
            store_slug=store.slug,
            store_id=store.id,
            order_id=order_id,
        )
