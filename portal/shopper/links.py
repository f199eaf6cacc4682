"""Signed links shoppers receive by email: open the flow for an order, or see a request."""

from __future__ import annotations

from dataclasses import dataclass

from portal.settings import Settings
from portal.signing import InvalidToken, Purpose, Signer


@dataclass(frozen=True)
class OrderLink:
    store_id: int
    order_id: str  # Shopify order gid


def order_link_token(signer: Signer, *, store_id: int, order_id: str) -> str:
    return signer.sign(Purpose.ORDER_LINK, {"s": store_id, "o": order_id.rsplit("/", 1)[-1]})


def read_order_link(signer: Signer, token: str) -> OrderLink:
    data = signer.unsign(Purpose.ORDER_LINK, token)
    if not isinstance(data, dict) or not isinstance(data.get("s"), int):
        raise InvalidToken("malformed order link")
    if not str(data.get("o", "")).isdigit():
        raise InvalidToken("malformed order link")
    return OrderLink(store_id=data["s"], order_id=f"gid://shopify/Order/{data.get('o')}")


def order_link(
    signer: Signer, *, base_url: str, store_slug: str, store_id: int, order_id: str
) -> str:
    """The URL to put in an order email: it opens the flow for that order, already verified."""
    token = order_link_token(signer, store_id=store_id, order_id=order_id)
    return f"{base_url.rstrip('/')}/{store_slug}/r/{token}"


def status_token(signer: Signer, *, request_id: int) -> str:
    return signer.sign(Purpose.STATUS_LINK, {"r": request_id})


def read_status_token(signer: Signer, token: str) -> int:
    data = signer.unsign(Purpose.STATUS_LINK, token)
    if not isinstance(data, dict) or not isinstance(data.get("r"), int):
        raise InvalidToken("malformed status link")
    return int(data["r"])


def status_link(signer: Signer, *, base_url: str, store_slug: str, request_id: int) -> str:
    return f"{base_url.rstrip('/')}/{store_slug}/s/{status_token(signer, request_id=request_id)}"


async def make_order_link(
    settings: Settings, *, store_slug: str, order: str | None = None, order_id: str | None = None
) -> str:
    """A link for an order named by number (looked up in Shopify) or by id (used as given)."""
    from portal.runtime import open_runtime
    from portal.stores.service import get_by_slug

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
        return order_link(
            runtime.signer,
            base_url=settings.base_url,
            store_slug=store.slug,
            store_id=store.id,
            order_id=order_id,
        )
