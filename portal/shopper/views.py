"""Shopper entry: find the store, look the order up, prove the email with a code, or arrive
already verified through a signed link from an order email."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal import links
from portal.clock import utcnow
from portal.errors import IntegrationError, InvalidToken, TooManyLookups, VerificationError
from portal.shopper import session as shopper_session
from portal.shopper import verification
from portal.shopper.common import runtime, service_unavailable, store_busy, store_from_path
from portal.shopper.forms import CodeForm, ContinueForm, LookupForm
from portal.stores import logos
from portal.stores import service as stores
from portal.stores.models import Store
from portal.web import is_htmx, render, session

MAX_QUERY_LENGTH = 100
MAX_PREFILLED_ORDER = 40
MAX_PREFILLED_EMAIL = 254


async def landing(request: Request) -> Response:
    """The front door: find your store by name."""
    query = request.query_params.get("q", "")[:MAX_QUERY_LENGTH].strip()
    async with session(request) as db:
        found = await stores.search_stores(db, query) if query else await stores.list_stores(db)
    context = {"query": query, "stores": found}
    if is_htmx(request):
        return render(request, "partials/store_results.html", context)
    return render(request, "pages/landing.html", context)


async def theme(request: Request) -> Response:
    """The store's colours as a stylesheet (the CSP allows no inline styles)."""
    store = await store_from_path(request, even_uninstalled=True)
    css = f":root {{ --accent: {store.brand_color}; }}\n"
    return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=300"})


async def logo(request: Request) -> Response:
    """The store's logo, as the settings page stored it (re-encoded PNG)."""
    store = await store_from_path(request)
    png = await logos.load_logo(runtime(request).storage, store.logo_path)
    if png is None:
        raise HTTPException(404)
    return Response(
        png, media_type=logos.CONTENT_TYPE, headers={"Cache-Control": "public, max-age=300"}
    )


async def lookup(request: Request) -> Response:
    store = await store_from_path(request)
    form = await LookupForm.from_request(request)
    if request.method == "GET":
        _prefill(request, form)
    if request.method == "GET" or not form.validate():
        status = 200 if request.method == "GET" else 400
        return _lookup_page(request, store, form, status)
    try:
        found = await verification.look_up(
            runtime(request),
            store,
            order_number=form.order_number.data,
            email=form.email.data.strip(),
            client_address=request.client.host if request.client else "",
        )
    except TooManyLookups as exc:
        return _lookup_page(request, store, form, 429, message=exc.text())
    except IntegrationError as exc:
        return service_unavailable(request, store, exc)
    url = request.url_for("shopper:verify", store=store.slug).include_query_params(
        v=found.public_id
    )
    if found.waiting:  # the code page's address goes on with the lookup
        return store_busy(request, store, url=str(url))
    return RedirectResponse(str(url), status_code=303)


def _prefill(request: Request, form: LookupForm) -> None:
    """The order number and email from a link in the order confirmation (``?order=#1001&
    email=...``), cut to size; nothing is looked up until the shopper presses the button."""
    order = " ".join(request.query_params.get("order", "")[:MAX_PREFILLED_ORDER].split())
    email = request.query_params.get("email", "")[:MAX_PREFILLED_EMAIL].strip()
    form.order_number.data = order.replace("\x00", "") or None
    form.email.data = email.replace("\x00", "") or None


def _lookup_page(
    request: Request, store: Store, form: LookupForm, status: int, message: str | None = None
) -> Response:
    context = {"store": store, "form": form, "message": message}
    return render(request, "pages/shopper/lookup.html", context, status_code=status)


async def verify(request: Request) -> Response:
    store = await store_from_path(request)
    form = await CodeForm.from_request(request)
    if request.method == "GET":
        form.verification.data = public_id = request.query_params.get("v", "")[:64]
        try:
            waiting = await verification.continue_lookup(
                runtime(request), store, public_id=public_id
            )
        except IntegrationError as exc:
            return service_unavailable(request, store, exc)
        if waiting:
            return store_busy(request, store)
        return _verify_page(request, store, form, 200)
    if not form.validate():
        return _verify_page(request, store, form, 400)
    try:
        order_id = await verification.enter_code(
            runtime(request), store, public_id=form.verification.data, code=form.code.data
        )
    except VerificationError as exc:
        form.code.errors = [exc.text()]
        return _verify_page(request, store, form, 400)
    return _enter_order(request, store, order_id)


def _verify_page(request: Request, store: Store, form: CodeForm, status: int) -> Response:
    context = {"store": store, "form": form, "readable_from": store.orders_readable_from(utcnow())}
    return render(request, "pages/shopper/verify.html", context, status_code=status)


def _enter_order(request: Request, store: Store, order_id: str) -> Response:
    response = RedirectResponse(
        str(request.url_for("shopper:request", store=store.slug)), status_code=303
    )
    shopper_session.write(
        request, response, shopper_session.ShopperSession(store_id=store.id, order_id=order_id)
    )
    return response


async def order_link(request: Request) -> Response:
    """GET only shows a Continue button, so mail scanners opening the link change nothing."""
    store = await store_from_path(request)
    form = await ContinueForm.from_request(request)
    try:
        link = links.read_order_link(runtime(request).signer, str(request.path_params["token"]))
    except InvalidToken:
        return render(request, "pages/shopper/link_invalid.html", {"store": store}, status_code=400)
    if link.store_id != store.id:
        return render(request, "pages/shopper/link_invalid.html", {"store": store}, status_code=400)
    if request.method == "POST" and form.validate():
        return _enter_order(request, store, link.order_id)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "pages/shopper/link.html", {"store": store, "form": form}, status_code=status
    )


async def sign_out(request: Request) -> Response:
    store = await store_from_path(request)
    form = await ContinueForm.from_request(request)
    response = RedirectResponse(
        str(request.url_for("shopper:lookup", store=store.slug)), status_code=303
    )
    if form.validate():
        await shopper_session.end(request, response)
    return response
