"""Shopper entry: find the store, look the order up, prove the email with a code, or arrive
already verified through a signed link from an order email."""

from __future__ import annotations

import asyncio
import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal import links
from portal.errors import IntegrationError
from portal.i18n import gettext as _
from portal.jobs.email import queue_email
from portal.mail.messages import render_email
from portal.shopper import session as shopper_session
from portal.shopper import verification
from portal.shopper.common import (
    now,
    runtime,
    service_unavailable,
    store_from_path,
)
from portal.shopper.forms import CodeForm, ContinueForm, LookupForm
from portal.signing import InvalidToken
from portal.stores import service as stores
from portal.stores.models import Store
from portal.web import is_htmx, render, session, settings_of

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


async def theme(request: Request) -> Response:
    """The store's colours as a stylesheet (the CSP allows no inline styles)."""
    store = await store_from_path(request)
    css = f":root {{ --accent: {store.brand_color}; }}\n"
    return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=300"})


async def lookup(request: Request) -> Response:
    store = await store_from_path(request)
    form = await LookupForm.from_request(request)
    if request.method == "GET" or not form.validate():
        status = 200 if request.method == "GET" else 400
        return _lookup_page(request, store, form, status)
    started = time.monotonic()
    try:
        verification_id = await _start_verification(request, store, form)
    except verification.TooManyLookups as exc:
        return _lookup_page(request, store, form, 429, message=_(exc.message))
    except IntegrationError as exc:
        return service_unavailable(request, store, exc)
    floor = settings_of(request).lookup_min_seconds
    await asyncio.sleep(max(0.0, floor - (time.monotonic() - started)))
    url = request.url_for("shopper:verify", store=store.slug).include_query_params(
        v=verification_id
    )
    return RedirectResponse(str(url), status_code=303)


def _lookup_page(
    request: Request, store: Store, form: LookupForm, status: int, message: str | None = None
) -> Response:
    context = {"store": store, "form": form, "message": message}
    return render(request, "pages/shopper/lookup.html", context, status_code=status)


async def _start_verification(request: Request, store: Store, form: LookupForm) -> str:
    rt = runtime(request)
    email = form.email.data.strip()
    client_address = request.client.host if request.client else ""
    async with session(request) as db:
        await verification.check_limits(
            db,
            secret=str(rt.settings.secret_key),
            email=email,
            client_address=client_address,
            now=now(),
        )
    order = await rt.shopify(store).find_order(name=form.order_number.data, email=email)
    async with session(request) as db, db.begin():
        started = await verification.start(
            db,
            secret=str(rt.settings.secret_key),
            store_id=store.id,
            order_id=order.id if order else None,
            email=email,
            client_address=client_address,
            now=now(),
        )
        if started.code is not None and order is not None and order.email:
            context = {
                "code": started.code,
                "order_name": order.name,
                "store_name": store.name,
                "support_email": store.support_email,
                "minutes": int(verification.CODE_TTL.total_seconds() // 60),
            }
            email_message = render_email("verification_code", context, to=order.email)
            await queue_email(db, email_message)
        return started.verification.public_id


async def verify(request: Request) -> Response:
    store = await store_from_path(request)
    form = await CodeForm.from_request(request)
    if request.method == "GET":
        form.verification.data = request.query_params.get("v", "")[:64]
        return _verify_page(request, store, form, 200)
    if not form.validate():
        return _verify_page(request, store, form, 400)
    rt = runtime(request)
    try:
        async with session(request) as db:
            confirmed = await verification.confirm(
                db,
                secret=str(rt.settings.secret_key),
                store_id=store.id,
                public_id=form.verification.data,
                code=form.code.data,
                now=now(),
            )
    except verification.VerificationError as exc:
        form.code.errors = [_(exc.message)]
        return _verify_page(request, store, form, 400)
    assert confirmed.shopify_order_id is not None  # a code is only ever sent for an order
    return _enter_order(request, store, confirmed.shopify_order_id)


def _verify_page(request: Request, store: Store, form: CodeForm, status: int) -> Response:
    return render(
        request, "pages/shopper/verify.html", {"store": store, "form": form}, status_code=status
    )


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
        shopper_session.clear(response)
    return response
