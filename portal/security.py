"""Security headers on every response: a strict CSP (no inline or eval'd script), no framing,
no MIME sniffing, a private Referrer-Policy, HSTS when served over HTTPS, and ``no-store`` on
every response that does not say how it may be cached (pages carry personal data and CSRF
tokens; static files and the store theme set their own).

"Served over HTTPS" (``is_https``) is true when the request came over HTTPS (or a trusted proxy
says so) or when ``PORTAL_BASE_URL`` is https: behind a proxy that terminates TLS and is not
configured as trusted, cookies still go out Secure and HSTS is still sent."""

from __future__ import annotations

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

BASE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
NO_STORE = (b"cache-control", b"no-store")
CACHEABLE_PREFIXES = ("/static/",)


def is_https(scope: Scope) -> bool:
    """Whether cookies must be Secure and HSTS sent (see the module's docstring)."""
    if scope.get("scheme") == "https":
        return True
    settings = (scope.get("state") or {}).get("settings")
    base_url = getattr(settings, "base_url", "")
    return isinstance(base_url, str) and base_url.startswith("https://")


def security_headers(scope: Scope) -> tuple[tuple[bytes, bytes], ...]:
    """The headers a response to ``scope`` gets unless it set them itself."""
    headers = BASE_HEADERS + ((HSTS,) if is_https(scope) else ())
    if not str(scope.get("path", "")).startswith(CACHEABLE_PREFIXES):
        headers += (NO_STORE,)
    return headers


def add_missing(headers: list[tuple[bytes, bytes]], extra: tuple[tuple[bytes, bytes], ...]) -> None:
    present = {name.lower() for name, _ in headers}
    headers.extend(h for h in extra if h[0] not in present)


def add_response_header(scope: Scope, header: tuple[bytes, bytes]) -> None:
    """Send ``header`` with this request's answer, whichever part of the app gives it: the
    cookies every page may carry (``portal.csrf``, ``portal.devices``) go out this way, added
    by ``SecurityHeadersMiddleware`` (which must be outside whoever calls this) in the one pass
    it makes over the response's headers."""
    scope["state"][_QUEUED].append(header)


_QUEUED = "response_headers"


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope)
        queued: list[tuple[bytes, bytes]] = []
        scope.setdefault("state", {})[_QUEUED] = queued  # afresh for each attempt

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                add_missing(headers, extra)
                headers.extend(queued)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class NulRefusalMiddleware:
    """A NUL character in the path or the query string is refused with 400 before any view
    reads it: no value that reaches the database may carry one (PostgreSQL text cannot)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and has_nul(scope["path"], scope.get("query_string", b"")):
            response = PlainTextResponse("A URL may not contain NUL characters.", status_code=400)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def has_nul(path: str, query_string: bytes) -> bool:
    return "\x00" in path or b"\x00" in query_string or b"%00" in query_string


class AllowedHostsMiddleware(TrustedHostMiddleware):
    """Refuse (400) a request whose Host is not one of the portal's, so no page, link or
    redirect can carry a host a client chose. A load balancer's health and readiness checks and
    Prometheus (which scrapes each process by its address; /metrics wants its token) may use
    any."""

    exempt_paths = frozenset({"/healthz", "/readyz", "/metrics"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
