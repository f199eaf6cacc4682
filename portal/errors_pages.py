"""Friendly pages for HTTP errors and unexpected failures: a short explanation and a way on,
never a stack trace. Redirect-carrying exceptions (sign-in required) pass through."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

from portal import db, i18n
from portal.errors import StorageUnavailable, StoreInactive
from portal.i18n import N_, gettext
from portal.security import add_missing, security_headers
from portal.telemetry import note_unavailable
from portal.web import render, sent_fields, waiting_page

logger = logging.getLogger(__name__)

TITLES = {
    400: N_("This request could not be understood"),
    403: N_("You may not do that"),
    404: N_("Page not found"),
    405: N_("That is not allowed here"),
    413: N_("This request is too large"),
    429: N_("Too many requests"),
    503: N_("This is unavailable for a moment"),
}
ERROR = N_("Error")
SERVER_ERROR = N_("Something went wrong on our side")
STORAGE_RETRY_SECONDS = "30"


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code < 400:
        return Response(status_code=exc.status_code, headers=exc.headers)
    if not request.headers.get("accept", "").startswith("text/html"):
        return PlainTextResponse(
            gettext(TITLES.get(exc.status_code, ERROR)), exc.status_code, headers=exc.headers
        )
    context = {"status": exc.status_code, "title": TITLES.get(exc.status_code, ERROR)}
    return render(request, "pages/errors/error.html", context, status_code=exc.status_code)


async def server_error(request: Request, exc: Exception) -> Response:
    """The 500 page. The failure is logged once, with its traceback and the request's id, by
    ``portal.telemetry.RequestTelemetry``, which Starlette raises it to after this answer."""
    context = {"status": 500, "title": SERVER_ERROR}
    # Starlette answers this outside every middleware, the language's too: chosen again here.
    with i18n.using(i18n.choose(request.scope)[0].locale):
        response = render(request, "pages/errors/error.html", context, status_code=500)
    # Starlette answers this outside every middleware: the headers are added here.
    add_missing(response.raw_headers, security_headers(request.scope))
    return response


async def database_busy(request: Request, exc: Exception) -> Response:
    """503 when the database was too busy to take the request (``portal.db.database_busy``:
    every pooled connection stayed taken, see ``PORTAL_DATABASE_POOL_*``, or SQLite's writer
    lock was held too long): nothing was written, and the page asks again by itself in a few
    seconds, a form with the fields it was sent with. Any other database error goes on up."""
    if not db.database_busy(exc):
        raise exc
    logger.warning("database pool exhausted: %s %s answered busy", request.method, request.url.path)
    fields: list[tuple[str, str]] | None = None
    dropped_files = False
    if request.method == "POST":
        try:
            fields, dropped_files = await sent_fields(request)
        except (ClientDisconnect, MultiPartException, RuntimeError):
            fields = None  # the body cannot be read again: the page offers the address
    return waiting_page(
        request,
        "pages/errors/busy.html",
        {},
        fields=fields,
        dropped_files=dropped_files,
        status_code=503,
    )


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
