"""Signed links shoppers receive by email: open the flow for an order, or see a request."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from portal.clock import utcnow
from portal.db import MAX_ROW_ID
from portal.errors import ExpiredToken, InvalidToken
from portal.signing import MAX_AGE_SECONDS, Purpose, Signer

LONGEST_ORDER_LINK = timedelta(days=400)
"""The most an order link that names its own end may live (a claim window is at most a year,
counted from a shipment that may come weeks after the order)."""


@dataclass(frozen=True)
class OrderLink:
    store_id: int
    order_id: str  # Shopify order gid


def order_link_token(
    signer: Signer, *, store_id: int, order_id: str, expires_at: datetime | None = None
) -> str:
    """A token for the order link; it stops working at ``expires_at`` when given (e.g. when
    the order's claim window closes), else after the order-link purpose's maximum age."""
    payload: dict[str, object] = {"s": store_id, "o": order_id.rsplit("/", 1)[-1]}
    if expires_at is not None:
        payload["x"] = int(expires_at.timestamp())
    return signer.sign(Purpose.ORDER_LINK, payload)


def read_order_link(signer: Signer, token: str, *, now: datetime | None = None) -> OrderLink:
    longest = int(LONGEST_ORDER_LINK.total_seconds())
    data, signed_at = signer.unsign_timed(Purpose.ORDER_LINK, token, max_age=longest)
    if not isinstance(data, dict) or not is_row_id(data.get("s")):
        raise InvalidToken("malformed order link")
    if not re.fullmatch(r"[0-9]{1,20}", str(data.get("o", ""))):
        raise InvalidToken("malformed order link")
    if (now or utcnow()) >= _order_link_end(data, signed_at):
        raise ExpiredToken("order link expired")
    return OrderLink(store_id=data["s"], order_id=f"gid://shopify/Order/{data.get('o')}")


def _order_link_end(data: dict[str, object], signed_at: datetime) -> datetime:
    if "x" not in data:
        return signed_at + timedelta(seconds=MAX_AGE_SECONDS[Purpose.ORDER_LINK])
    expires = data["x"]
    if type(expires) is not int or not 0 < expires < 2**40:
        raise InvalidToken("malformed order link")
    return datetime.fromtimestamp(expires, UTC)


def is_row_id(value: object) -> bool:
    """An int that can be a row's id (a signed token could still carry any JSON number)."""
    return type(value) is int and 0 < value <= MAX_ROW_ID


def order_link(
    signer: Signer,
    *,
    base_url: str,
    store_slug: str,
    store_id: int,
    order_id: str,
    expires_at: datetime | None = None,
) -> str:
    """The URL to put in an order email: it opens the flow for that order, already verified."""
    token = order_link_token(signer, store_id=store_id, order_id=order_id, expires_at=expires_at)
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
