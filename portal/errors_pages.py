"""Friendly pages for HTTP errors and unexpected failures: a short explanation and a way on,
never a stack trace. Redirect-carrying exceptions (sign-in required) pass through."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from portal.errors import StorageUnavailable, StoreInactive
from portal.security import add_missing, security_headers
from portal.telemetry import note_unavailable
from portal.web import render

TITLES = {
    400: "This request could not be understood",
    403: "You may not do that",
    404: "Page not found",
    405: "That is not allowed here",
    413: "This request is too large",
    429: "Too many requests",
    503: "This is unavailable for a moment",
}
STORAGE_RETRY_SECONDS = "30"


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code < 400:
        return Response(status_code=exc.status_code, headers=exc.headers)
    if not request.headers.get("accept", "").startswith("text/html"):
        return PlainTextResponse(
            TITLES.get(exc.status_code, "Error"), exc.status_code, headers=exc.headers
        )
    context = {"status": exc.status_code, "title": TITLES.get(exc.status_code, "Error")}
    return render(request, "pages/errors/error.html", context, status_code=exc.status_code)


async def server_error(request: Request, exc: Exception) -> Response:
    """The 500 page. The failure is logged once, with its traceback and the request's id, by
    ``portal.telemetry.RequestTelemetry``, which Starlette raises it to after this answer."""
    context = {"status": 500, "title": "Something went wrong on our side"}
    response = render(request, "pages/errors/error.html", context, status_code=500)
    # Starlette answers this outside every middleware: the headers are added here.
    add_missing(response.raw_headers, security_headers(request.scope))
    return response


async def storage_unavailable(request: Request, exc: Exception) -> Response:
    """503 when the upload storage (object storage) fails: the page may be asked again soon."""
    assert isinstance(exc, StorageUnavailable)
    note_unavailable(request, "upload storage", exc)
    retry = HTTPException(503, headers={"Retry-After": STORAGE_RETRY_SECONDS})
    return await http_error(request, retry)


async def store_inactive(request: Request, exc: Exception) -> Response:
    """410 for every page of a store that uninstalled the app (and for an agent's action on
    one that would have called its Shopify): it is gone, and says whom to ask instead."""
    assert isinstance(exc, StoreInactive)
    context = {"store_name": exc.store_name, "support_email": exc.support_email}
    return render(request, "pages/errors/store_inactive.html", context, status_code=410)
