"""The verified shopper's session: a signed cookie bound to one order of one store, with an
id of its own. It ends after 30 minutes without a request (every page of the order signs it
again, so use keeps it alive), four hours after the shopper verified whatever happens, and at
once on sign-out: the id is then recorded as signed out, so a copied cookie opens nothing."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from portal.clock import utcnow
from portal.errors import InvalidToken
from portal.links import is_row_id
from portal.security import is_https
from portal.shopper.models import SESSION_LIFETIME, ShopperSignOut
from portal.signing import MAX_AGE_SECONDS, Purpose, Signer
from portal.web import session as database

COOKIE = "portal_shopper"
ORDER_GID = re.compile(r"gid://shopify/Order/[0-9]{1,20}")
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{16,32}")
IDLE_SECONDS = MAX_AGE_SECONDS[Purpose.SHOPPER_SESSION]


@dataclass(frozen=True)
class ShopperSession:
    store_id: int
    order_id: str  # Shopify order gid
    id: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    started: int = field(default_factory=lambda: int(time.time()))  # epoch seconds

    def as_payload(self) -> dict[str, object]:
        return {"s": self.store_id, "o": self.order_id, "i": self.id, "t": self.started}

    def opens(self, store_id: int, order_id: str) -> bool:
        """Whether this session is for this very order of this store."""
        return self.store_id == store_id and self.order_id == order_id

    def is_over(self) -> bool:
        return time.time() - self.started > SESSION_LIFETIME.total_seconds()


def _signer(request: Request) -> Signer:
    signer: Signer = request.state.signer
    return signer


def _parse(data: object) -> ShopperSession | None:
    if not isinstance(data, dict) or not is_row_id(data.get("s")):
        return None
    order_id, session_id, started = data.get("o"), data.get("i"), data.get("t")
    if not isinstance(order_id, str) or not ORDER_GID.fullmatch(order_id):
        return None
    if not isinstance(session_id, str) or not SESSION_ID.fullmatch(session_id):
        return None
    if type(started) is not int or not 0 < started < 2**40:
        return None
    return ShopperSession(store_id=data["s"], order_id=order_id, id=session_id, started=started)


def _from_cookie(request: Request) -> ShopperSession | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        found = _parse(_signer(request).unsign(Purpose.SHOPPER_SESSION, token))
    except InvalidToken:
        return None
    return None if found is None or found.is_over() else found


async def read(request: Request) -> ShopperSession | None:
    """This browser's live session, if any; pages then offer to sign out."""
    found = _from_cookie(request)
    if found is None:
        return None
    async with database(request) as db:
        if await db.get(ShopperSignOut, found.id) is not None:
            return None
    request.state.shopper_session = found
    return found


def write(request: Request, response: Response, session: ShopperSession) -> None:
    token = _signer(request).sign(Purpose.SHOPPER_SESSION, session.as_payload())
    response.set_cookie(
        COOKIE,
        token,
        max_age=IDLE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=is_https(request.scope),
    )


async def end(request: Request, response: Response) -> None:
    """Sign out: the session ends on the server, and the browser forgets the cookie."""
    found = _from_cookie(request)
    if found is not None:
        async with database(request) as db:
            await record_sign_out(db, found.id)
            await db.commit()
    response.delete_cookie(COOKIE)


async def record_sign_out(db: AsyncSession, session_id: str) -> None:
    """Idempotent: signing out twice (two tabs at once) records the one sign-out."""
    if await db.get(ShopperSignOut, session_id) is not None:
        return
    db.add(ShopperSignOut(session_id=session_id, signed_out_at=utcnow()))
    try:
        await db.flush()
    except IntegrityError:
        await db.rollback()
