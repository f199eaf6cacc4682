"""What every shopper view needs: the store from the URL, the runtime, the verified order."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.errors import IntegrationError, ShopifyThrottled, StoreInactive
from portal.i18n import gettext as _
from portal.i18n import prefer_store_default
from portal.integrations.shopify.models import Order
from portal.runtime import Runtime
from portal.shopper import session as shopper_session
from portal.shopper import verification
from portal.stores.models import Store
from portal.telemetry import note_unavailable
from portal.web import render, sent_fields, waiting_page


def runtime(request: Request) -> Runtime:
    value: Runtime = request.state.runtime
    return value


async def store_from_path(request: Request, *, even_uninstalled: bool = False) -> Store:
    """The store named in the URL: 404 when there is none, and ``StoreInactive`` (answered
    with the 410 "no longer here" page) when it uninstalled the app, for every shopper page."""
    slug = str(request.path_params["store"])[:64]
    rt = runtime(request)
    store = await rt.stores.by_slug(rt.sessions, slug)
    if store is None:
        raise HTTPException(404)
    prefer_store_default(store.default_locale)
    if not (store.is_active or even_uninstalled):
        raise StoreInactive(store.name, store.support_email)
    return store


async def verified_order(request: Request, store: Store) -> Order | None:
    """The order this browser verified for this store (Shopify's answer of a moment ago while
    it cannot have changed: ``portal.reorders.snapshots``)."""
    current = await shopper_session.read(request)
    if current is None or current.store_id != store.id:
        return None
    return await verification.verified_order(runtime(request), store, current.order_id)


def service_unavailable(request: Request, store: Store, error: IntegrationError) -> Response:
    """The store's Shopify points are spoken for: the waiting page, which asks for this page
    again by itself. Anything else (an outage): a page that says what happened (503)."""
    if isinstance(error, ShopifyThrottled):
        return store_busy(request, store)
    note_unavailable(request, error.service, error)
    message = _(
        "We could not reach %(service)s just now. Nothing was lost: please try again in a few "
        "minutes.",
        service=_("the store") if error.service == "Shopify" else error.service,
    )
    return render(
        request,
        "pages/shopper/unavailable.html",
        {"store": store, "message": message},
        status_code=503,
    )


def keep_session_alive(request: Request, response: Response, store: Store, order: Order) -> None:
    """Sign the session again (same id, same start): using a page keeps it alive."""
    current = getattr(request.state, "shopper_session", None)
    if not isinstance(current, shopper_session.ShopperSession) or current.order_id != order.id:
        current = shopper_session.ShopperSession(store_id=store.id, order_id=order.id)
    shopper_session.write(request, response, current)


async def unavailable_for_form(request: Request, store: Store, error: IntegrationError) -> Response:
    """``service_unavailable`` for a form that was sent: when the store is busy, the waiting
    page sends the very same form again (its fields carried as they were, but files)."""
    if not isinstance(error, ShopifyThrottled):
        return service_unavailable(request, store, error)
    fields, dropped_files = await sent_fields(request)
    return store_busy(request, store, fields=fields, dropped_files=dropped_files)


def store_busy(
    request: Request,
    store: Store,
    *,
    url: str | None = None,
    fields: list[tuple[str, str]] | None = None,
    dropped_files: bool = False,
) -> Response:
    """The waiting page (``portal.web.waiting_page``): the shopper's place is kept and its
    Continue goes on to ``url`` (this page, by default), asked for again or with ``fields``
    sent again as a form. A 200: nothing failed, and nothing was lost."""
    return waiting_page(
        request,
        "pages/shopper/waiting.html",
        {"store": store},
        url=url,
        fields=fields,
        dropped_files=dropped_files,
    )
