"""The verified shopper's session: a signed cookie bound to one order of one store, ending
after 30 minutes without a request (every page of the order signs it again, so use keeps it
alive)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from portal.errors import InvalidToken
from portal.links import is_row_id
from portal.signing import MAX_AGE_SECONDS, Purpose, Signer

COOKIE = "portal_shopper"
ORDER_GID = re.compile(r"gid://shopify/Order/[0-9]{1,20}")
IDLE_SECONDS = MAX_AGE_SECONDS[Purpose.SHOPPER_SESSION]


@dataclass(frozen=True)
class ShopperSession:
    store_id: int
    order_id: str  # Shopify order gid

    def as_payload(self) -> dict[str, object]:
        return {"s": self.store_id, "o": self.order_id}


def _signer(request: Request) -> Signer:
    signer: Signer = request.state.signer
    return signer


def read(request: Request) -> ShopperSession | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        data = _signer(request).unsign(Purpose.SHOPPER_SESSION, token)
    except InvalidToken:
        return None
    if not isinstance(data, dict) or not is_row_id(data.get("s")):
        return None
    order_id = data.get("o")
    if not isinstance(order_id, str) or not ORDER_GID.fullmatch(order_id):
        return None
    return ShopperSession(store_id=data["s"], order_id=order_id)


def for_order(request: Request, store_id: int, order_id: str) -> ShopperSession | None:
    """The session, only if it is for this very order of this store."""
    session = read(request)
    if session is None or session.store_id != store_id or session.order_id != order_id:
        return None
    return session


def write(request: Request, response: Response, session: ShopperSession) -> None:
    token = _signer(request).sign(Purpose.SHOPPER_SESSION, session.as_payload())
    response.set_cookie(
        COOKIE,
        token,
        max_age=IDLE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear(response: Response) -> None:
    response.delete_cookie(COOKIE)
