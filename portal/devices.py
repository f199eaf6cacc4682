"""A long-lived, first-party device cookie on the shopper's pages: a random id that tells the
portal the same browser filed several requests (see ``portal.reorders.fingerprints``). It says
nothing by itself and is never shown; requests keep only its SHA-256.

The cookie (``portal_device``) is HttpOnly, SameSite=Lax, Secure over https and kept for two
years; a browser without one (or with a malformed one) gets a new one on its next page.
"""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from portal.reorders.fingerprints import device_key
from portal.security import add_response_header, is_https

COOKIE = "portal_device"
MAX_AGE = 2 * 365 * 24 * 3600
_STATE = "device_id"


class DeviceCookieMiddleware:
    """Gives every browser on the shopper's pages a device id (other prefixes are skipped)."""

    def __init__(self, app: ASGIApp, *, skip_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.skip_prefixes = skip_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.skip_prefixes):
            await self.app(scope, receive, send)
            return
        known = _cookie(Headers(scope=scope))
        device_id = known or secrets.token_urlsafe(18)
        scope.setdefault("state", {})[_STATE] = device_id
        if known is None:
            header = _cookie_header(device_id, secure=is_https(scope))
            add_response_header(scope, (b"set-cookie", header))
        await self.app(scope, receive, send)


def _cookie_header(device_id: str, *, secure: bool) -> bytes:
    cookie = f"{COOKIE}={device_id}; Path=/; Max-Age={MAX_AGE}; HttpOnly; SameSite=Lax"
    return (cookie + "; Secure" if secure else cookie).encode()


def _cookie(headers: Headers) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is treated as no cookie
        return None
    morsel = jar.get(COOKIE)
    if morsel is None or not 16 <= len(morsel.value) <= 64 or not morsel.value.isascii():
        return None
    return morsel.value


def device_key_of(request: Request) -> str | None:
    """The stored form of this browser's device id (None outside the shopper's pages)."""
    device_id = getattr(request.state, _STATE, None)
    return device_key(device_id) if isinstance(device_id, str) else None
