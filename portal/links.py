"""Signed links shoppers receive by email: open the flow for an order, or see a request."""

from __future__ import annotations

from dataclasses import dataclass

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
