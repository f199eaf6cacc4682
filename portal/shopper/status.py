"""A request's status page, by signed link or for the verified order, refreshing itself with
htmx while the request is open; where more information is asked for, the shopper answers here."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal import links
from portal.errors import InvalidToken
from portal.reorders import service as reorders
from portal.reorders.models import ReorderRequest, RequestStatus
from portal.shopper import session as shopper_session
from portal.shopper.common import runtime, store_from_path
from portal.shopper.forms import AnswerForm
from portal.stores.models import Store
from portal.support import actions
from portal.web import is_htmx, render, session


async def by_link(request: Request) -> Response:
    store = await store_from_path(request)
    token = str(request.path_params["token"])
    try:
        reorder_id = links.read_status_token(runtime(request).signer, token)
    except InvalidToken:
        return render(request, "pages/shopper/link_invalid.html", {"store": store}, status_code=400)
    async with session(request) as db:
        found = await reorders.get_reorder(db, store_id=store.id, reorder_id=reorder_id)
    if found is None:
        raise HTTPException(404)
    here = str(request.url_for("shopper:status_link", store=store.slug, token=token))
    return await _status(request, store, found, here)


async def by_reference(request: Request) -> Response:
    """For the browser that verified the request's order."""
    store = await store_from_path(request)
    current = await shopper_session.read(request)
    if current is None:
        raise HTTPException(404)
    reference = str(request.path_params["reference"])[:16]
    async with session(request) as db:
        found = await reorders.get_reorder_by_reference(db, store_id=store.id, reference=reference)
    if found is None or not current.opens(store.id, found.shopify_order_id):
        raise HTTPException(404)
    here = str(request.url_for("shopper:request_status", store=store.slug, reference=reference))
    response = await _status(request, store, found, here)
    shopper_session.write(request, response, current)  # using the page keeps the session alive
    return response


async def _status(request: Request, store: Store, found: ReorderRequest, here: str) -> Response:
    form = await AnswerForm.from_request(request)
    if request.method == "POST" and found.status != RequestStatus.NEEDS_INFO:
        return RedirectResponse(here, status_code=303)  # no question is waiting for an answer
    if request.method == "POST" and form.validate():
        async with session(request) as db, db.begin():
            await actions.answer_question(db, found.id, form.answer.data.strip())
        return RedirectResponse(here, status_code=303)
    return _status_page(request, store, found, here, form)


def _status_page(
    request: Request, store: Store, found: ReorderRequest, here: str, form: AnswerForm
) -> Response:
    context = {
        "store": store,
        "reorder": found,
        "events": [e for e in found.events if e.public],
        "here": here,
        "form": form,
        "submitted": request.query_params.get("submitted") == "1",
    }
    template = "partials/shopper/status.html" if is_htmx(request) else "pages/shopper/status.html"
    status = 400 if request.method == "POST" else 200
    return render(request, template, context, status_code=status)
