"""Store settings under /support/stores/: every staff member may look (a merchant user only at
its own store; another store answers 404, as if it did not exist), only admins change anything
(403 for the others).

The settings page holds the settings form, the protection product with a search of the store's
products in Shopify (a GET form: with JavaScript, htmx swaps in only the results; without, the
page comes back with them), and the snippet merchants paste into Shopify's order confirmation.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal.accounts.guard import StaffUser, require_admin, require_staff, require_store_visible
from portal.clock import utcnow
from portal.errors import IntegrationError, StoreRefused
from portal.i18n import gettext as _
from portal.integrations.shopify import ProductMatch, versions
from portal.runtime import Runtime
from portal.stores import logos
from portal.stores import service as stores
from portal.stores.models import Store
from portal.support import store_settings
from portal.support.settings_forms import (
    ProtectionProductForm,
    StoreSettingsForm,
    data_from_store,
)
from portal.support.views import staff_page
from portal.telemetry import note_unavailable
from portal.web import is_htmx, render, session

MAX_QUERY = store_settings.MAX_SEARCH
MAX_FORM_FIELDS = 40


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.state.runtime
    return runtime


async def store_list(request: Request) -> Response:
    staff = await require_staff(request)
    async with session(request) as db:
        every = await stores.list_stores(db)
    visible = [s for s in every if staff.can_see_store(s.id)]
    return staff_page(request, staff, "pages/support/stores.html", {"stores": visible})


async def _visible_store(request: Request, staff: StaffUser) -> Store:
    async with session(request) as db:
        store = await stores.get_by_slug(db, str(request.path_params["store"])[:64])
    if store is None:
        raise HTTPException(404)
    require_store_visible(staff, store.id)
    return store


async def settings_page(request: Request) -> Response:
    staff = await require_staff(request)
    store = await _visible_store(request, staff)
    if request.method == "POST":
        require_admin(staff)
        return await _save(request, staff, store)
    form = StoreSettingsForm(data=data_from_store(store), meta={"csrf_context": request})
    notice = _notice(request)
    if staff.is_admin and "q" in request.query_params:
        return await _with_search(request, staff, store, form, notice)
    return _page(request, staff, store, form, notice=notice)


def _notice(request: Request) -> str | None:
    done = request.query_params.get("done", "")
    return {
        "saved": _("The settings are saved."),
        "product": _("The protection product is saved, with every one of its variants."),
    }.get(done)


async def _with_search(
    request: Request, staff: StaffUser, store: Store, form: StoreSettingsForm, notice: str | None
) -> Response:
    query = request.query_params.get("q", "")[:MAX_QUERY].strip()
    results: list[ProductMatch] = []
    problem = None
    try:
        results = await store_settings.search_products(_runtime(request), store, query)
    except IntegrationError as exc:
        problem = _(
            "%(service)s could not be reached: try the search again shortly.", service=exc.service
        )
    search = {"query": query, "results": results, "problem": problem, "searched": bool(query)}
    if is_htmx(request):
        context = {"store": store, "search": search}
        return render(request, "partials/support/product_results.html", context)
    return _page(request, staff, store, form, notice=notice, search=search)


async def _save(request: Request, staff: StaffUser, store: Store) -> Response:
    async with request.form(max_files=1, max_fields=MAX_FORM_FIELDS) as data:
        form = StoreSettingsForm(formdata=data, meta={"csrf_context": request})
        if not form.validate():
            return _page(request, staff, store, form, status=400)
        upload = data.get("logo")
        logo = await _logo_bytes(upload)
    try:
        await store_settings.save_settings(_runtime(request), store.id, form.changes(), logo)
    except StoreRefused as exc:
        form.show_refusal(exc)
        return _page(request, staff, store, form, status=400)
    return _back(request, store, "saved")


async def _logo_bytes(upload: Any) -> bytes | None:
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    return await upload.read(logos.MAX_BYTES + 1)


async def protection_product(request: Request) -> Response:
    staff = await require_staff(request)
    store = await _visible_store(request, staff)
    require_admin(staff)
    form = await ProtectionProductForm.from_request(request)
    settings_form = StoreSettingsForm(data=data_from_store(store), meta={"csrf_context": request})
    if not form.validate():
        message = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return _page(request, staff, store, settings_form, status=400, problem=message)
    try:
        await store_settings.choose_protection_product(
            _runtime(request), store.id, form.product_id.data
        )
    except StoreRefused as exc:
        return _page(request, staff, store, settings_form, status=400, problem=exc.message)
    except IntegrationError as exc:
        note_unavailable(request, exc.service, exc)
        message = _(
            "%(service)s could not be reached: nothing was changed. Try again shortly.",
            service=exc.service,
        )
        return _page(request, staff, store, settings_form, status=503, problem=message)
    return _back(request, store, "product")


def _back(request: Request, store: Store, done: str) -> Response:
    url = request.url_for("support:store_settings", store=store.slug).include_query_params(
        done=done
    )
    return RedirectResponse(str(url), status_code=303)


def order_email_snippet(base_url: str, store: Store) -> str:
    """The link merchants paste into Shopify's order confirmation (Liquid fills it in)."""
    return (
        f"{base_url.rstrip('/')}/{store.slug}/"
        "?order={{ order.name | url_encode }}&email={{ order.email | url_encode }}"
    )


def _page(
    request: Request,
    staff: StaffUser,
    store: Store,
    form: StoreSettingsForm,
    *,
    status: int = 200,
    notice: str | None = None,
    problem: str | None = None,
    search: dict[str, Any] | None = None,
) -> Response:
    link = order_email_snippet(_runtime(request).settings.base_url, store)
    context = {
        "store": store,
        "form": form,
        "notice": notice,
        "problem": problem,
        "search": search or {"query": "", "results": [], "problem": None, "searched": False},
        "snippet_link": link,
        "snippet_html": f'<a href="{link}">Report a lost, stolen or damaged parcel</a>',
        "corso_secret_set": store.sealed_corso_client_secret is not None,
        "can_edit": staff.is_admin,
        "version_warning": versions.support_warning(
            store.api_version, store.api_version_served, utcnow().date()
        ),
        "readable_from": store.orders_readable_from(utcnow()),
    }
    return staff_page(request, staff, "pages/support/store_settings.html", context, status)
