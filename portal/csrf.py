"""Cross-site request forgery defence, in two layers.

1. ``CsrfMiddleware`` gives every browser a random id in an HttpOnly cookie and refuses unsafe
   requests whose ``Sec-Fetch-Site`` or ``Origin`` says they come from another site.
2. Every POST form carries a token: the browser id signed for the CSRF purpose
   (``PortalForm`` checks it); htmx requests outside forms send it as ``X-CSRF-Token``.
"""

from __future__ import annotations

import hmac
import secrets
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from portal.errors import InvalidToken
from portal.security import add_response_header, is_https
from portal.signing import Purpose, Signer

COOKIE = "portal_csrf"
HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CROSS_SITE = {"cross-site", "same-site"}


class CsrfMiddleware:
    def __init__(self, app: ASGIApp, *, exempt_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.exempt_prefixes = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if scope["method"] in UNSAFE and _from_another_site(headers, scope):
            response = PlainTextResponse("Cross-site request refused.", status_code=403)
            await response(scope, receive, send)
            return
        known = _cookie(headers)
        browser_id = known or secrets.token_urlsafe(24)
        scope.setdefault("state", {})["csrf_browser_id"] = browser_id
        if known is None:
            cookie = _cookie_header(browser_id, secure=is_https(scope))
            add_response_header(scope, (b"set-cookie", cookie))
        await self.app(scope, receive, send)


def _cookie_header(browser_id: str, *, secure: bool) -> bytes:
    cookie = f"{COOKIE}={browser_id}; Path=/; HttpOnly; SameSite=Lax"
    return (cookie + "; Secure" if secure else cookie).encode()


def rotate_browser_id(request: Request, response: Response) -> None:
    """Give the browser a new id (at sign-in): a token planted before it stops working."""
    cookie = _cookie_header(secrets.token_urlsafe(24), secure=is_https(request.scope))
    response.raw_headers.append((b"set-cookie", cookie))


def _cookie(headers: Headers) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is treated as no cookie
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel and 16 <= len(morsel.value) <= 64 else None


def _from_another_site(headers: Headers, scope: Scope) -> bool:
    """Browsers that send Sec-Fetch-Site are believed; otherwise the Origin must be this host.
    (Under ``Referrer-Policy: no-referrer`` Chrome sends ``Origin: null`` even for same-origin
    posts, so Origin is only a fallback.)"""
    site = headers.get("sec-fetch-site", "").lower()
    if site:
        return site in CROSS_SITE
    origin = headers.get("origin")
    if not origin:
        return False
    if origin == "null":
        return True
    return urlsplit(origin).netloc.lower() != headers.get("host", "").lower()


def csrf_token(request: Request) -> str:
    """The token to put in forms (and htmx headers) for this browser."""
    signer: Signer = request.state.signer
    return signer.sign(Purpose.CSRF, request.state.csrf_browser_id)


def token_is_valid(request: Request, token: str | None) -> bool:
    if not token:
        return False
    signer: Signer = request.state.signer
    try:
        expected = signer.unsign(Purpose.CSRF, token)
    except InvalidToken:
        return False
    return isinstance(expected, str) and hmac.compare_digest(
        expected, request.state.csrf_browser_id
    )
