"""Signed links shoppers receive by email: open the flow for an order, or see a request."""

from __future__ import annotations

import re
from dataclasses import dataclass

from portal.db import MAX_ROW_ID
from portal.errors import InvalidToken
from portal.signing import Purpose, Signer


@dataclass(frozen=True)
class OrderLink:
    store_id: int
    order_id: str  # Shopify order gid


def order_link_token(signer: Signer, *, store_id: int, order_id: str) -> str:
    return signer.sign(Purpose.ORDER_LINK, {"s": store_id, "o": order_id.rsplit("/", 1)[-1]})


def read_order_link(signer: Signer, token: str) -> OrderLink:
    data = signer.unsign(Purpose.ORDER_LINK, token)
    if not isinstance(data, dict) or not is_row_id(data.get("s")):
        raise InvalidToken("malformed order link")
    if not re.fullmatch(r"[0-9]{1,20}", str(data.get("o", ""))):
        raise InvalidToken("malformed order link")
    return OrderLink(store_id=data["s"], order_id=f"gid://shopify/Order/{data.get('o')}")


def is_row_id(value: object) -> bool:
    """An int that can be a row's id (a signed token could still carry any JSON number)."""
    return type(value) is int and 0 < value <= MAX_ROW_ID


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
    if not isinstance(data, dict) or not is_row_id(data.get("r")):
        raise InvalidToken("malformed status link")
    return int(data["r"])


def status_link(signer: Signer, *, base_url: str, store_slug: str, request_id: int) -> str:
    return f"{base_url.rstrip('/')}/{store_slug}/s/{status_token(signer, request_id=request_id)}"
