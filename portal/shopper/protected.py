"""The "your order is protected" email: when a store has it switched on, a new order carrying
its protection product gets an email with a signed link that opens the order, already verified,
until the order's claim window closes.

The orders/create webhook (``portal.webhooks.deliveries``) queues ``ORDER_PROTECTED`` with
``queue_order_protected``; the worker's handler (``portal.shopper.jobs``) calls
``email_if_protected``. The email is queued with a key per order, so however often the job
runs, the buyer hears once.

The link's end is the window's end as the rules count it when the email goes out: from each
parcel's delivery (or shipping, while the carrier has not delivered it), or from the order while
nothing has shipped (``claim_window_end``). A parcel that ships or arrives later opens a later
window than the link knows; the shopper then finds the order from the lookup page, which the
email and the expired link's page both point to.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal import links
from portal.clock import utcnow
from portal.errors import MalformedDelivery
from portal.integrations.shopify.models import Order
from portal.jobs import queue
from portal.jobs.email import queue_email
from portal.mail.messages import render_email
from portal.reorders import service as reorders
from portal.runtime import Runtime
from portal.stores.models import Store

ORDER_PROTECTED = "shopper.order_protected"
_ORDER_GID = re.compile(r"gid://shopify/Order/([0-9]{1,20})")


async def queue_order_protected(session: AsyncSession, *, store_id: int, order_id: str) -> None:
    """Queue the job in the caller's transaction (once per order)."""
    number = _order_number(order_id)
    await queue.enqueue(
        session,
        ORDER_PROTECTED,
        {"store_id": store_id, "order_id": f"gid://shopify/Order/{number}"},
        dedupe_key=f"{ORDER_PROTECTED}:{store_id}:{number}",
    )


async def email_if_protected(runtime: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """Read the order, and email its buyer when it is protected, the store active with the
    email on, and the claim window still open; returns what was done, for the job's result."""
    store_id, order_id = _payload(payload)
    async with runtime.sessions() as session:
        store = await session.get(Store, store_id)
    if store is None or not store.is_active or not store.protected_order_email:
        return {"sent": False, "why": "store gone, inactive or email off"}
    order = await runtime.shopify(store).in_background().get_order(order_id=order_id)
    if order is None or order.is_cancelled or not reorders.is_protected(order, store):
        return {"sent": False, "why": "no such order, cancelled, or not protected"}
    to = order.email or (order.customer.email if order.customer else None)
    closes = reorders.claim_window_end(order, store)
    if not to or closes <= utcnow():
        return {"sent": False, "why": "no email address, or the claim window has closed"}
    link = links.order_link(
        runtime.signer,
        base_url=runtime.settings.base_url,
        store_slug=store.slug,
        store_id=store.id,
        order_id=order.id,
        expires_at=closes,
    )
    async with runtime.sessions() as session:
        lookup = f"{runtime.settings.base_url.rstrip('/')}/{store.slug}/"
        context = {**_context(store, order, link, closes), "lookup_url": lookup}
        email = render_email("order_protected", context, to=to, locale=store.default_locale)
        key = f"order-protected:{store.id}:{_order_number(order.id)}"
        await queue_email(session, email, dedupe_key=key)
        await session.commit()
    return {"sent": True, "order": order.name}


def _context(store: Store, order: Order, link: str, closes: datetime) -> dict[str, Any]:
    return {
        "store": store,
        "order_name": order.name,
        "customer_name": order.customer_name,
        "link": link,
        "closes": closes,
    }


def _payload(payload: dict[str, Any]) -> tuple[int, str]:
    store_id = payload.get("store_id")
    if not links.is_row_id(store_id):
        raise MalformedDelivery("shopper.order_protected needs a store id")
    return int(str(store_id)), f"gid://shopify/Order/{_order_number(payload.get('order_id'))}"


def _order_number(order_id: object) -> str:
    found = _ORDER_GID.fullmatch(str(order_id)) if isinstance(order_id, str) else None
    if found is None:
        raise MalformedDelivery("not a Shopify order id")
    return found.group(1)
