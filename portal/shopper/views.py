"""Shopper pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from portal.stores import service as stores
from portal.web import is_htmx, render, session

MAX_QUERY_LENGTH = 100


async def landing(request: Request) -> Response:
    """The front door: find your store by name."""
    query = request.query_params.get("q", "")[:MAX_QUERY_LENGTH].strip()
    async with session(request) as db:
        found = await stores.search_stores(db, query) if query else await stores.list_stores(db)
    context = {"query": query, "stores": found}
    if is_htmx(request):
        return render(request, "partials/store_results.html", context)
    return render(request, "pages/landing.html", context)
