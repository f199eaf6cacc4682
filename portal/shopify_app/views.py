"""Installing the portal's app on a store: ``/shopify/install`` (the app's URL, which Shopify
opens with a signed query), ``/support/stores/connect`` (an admin names the shop) and
``/shopify/callback``.

Both begin the authorization code grant. A random
cookie (``portal_install``, 10 minutes, only sent to /shopify) binds the ``state`` to the
browser that started; the callback checks both (``portal.shopify_app.install``).
"""

from __future__ import annotations

import secrets

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal.accounts.forms import SignOutForm
from portal.accounts.guard import StaffUser, require_staff
from portal.clock import utcnow
from portal.errors import InstallRefused
from portal.runtime import Runtime
from portal.security import is_https
from portal.shopify_app import install as installs
from portal.shopify_app.forms import ConnectStoreForm
from portal.web import render, session, settings_of

COOKIE = "portal_install"
COOKIE_PATH = "/shopify"
MAX_QUERY_PAIRS = 20
SETTINGS_PATH = "/support/stores/{slug}/settings"


async def install(request: Request) -> Response:
    """``?shop=`` starts the grant: a merchant arriving from Shopify (the app's URL, whose
    query Shopify signs: a signature that does not verify is refused) or following an install
    link. Starting is harmless on its own: nothing is stored until the shop's owner approves in
    Shopify and the callback passes every check."""
    runtime: Runtime = request.state.runtime
    oauth = runtime.shopify_oauth
    if oauth is None:
        return _page(request, message=_NO_APP, status_code=503)
    pairs = request.query_params.multi_items()[:MAX_QUERY_PAIRS]
    signed = any(k == "hmac" for k, _ in pairs)
    if signed and not oauth.is_signed_by_shopify(pairs):
        return _page(request, message=_NOT_SIGNED, status_code=400)
    if not request.query_params.get("shop"):
        return _page(request, message=_NAME_THE_SHOP, status_code=400, sign_in=True)
    try:
        shop = installs.normalise_shop(request.query_params.get("shop", "")[:255])
    except InstallRefused as refused:
        return _page(request, message=refused.message, status_code=400)
    return await _start(request, runtime, shop)


async def connect(request: Request) -> Response:
    """The admin's "Connect a Shopify store" form: names the shop, then starts the grant."""
    staff = await require_staff(request)
    if not staff.is_admin:
        raise HTTPException(403, "Only admins connect stores.")
    runtime: Runtime = request.state.runtime
    if runtime.shopify_oauth is None:
        return _page(request, staff=staff, message=_NO_APP, status_code=503)
    form = await ConnectStoreForm.from_request(request)
    if request.method == "GET":
        form.shop.data = request.query_params.get("shop", "")[:255]
        return _page(request, staff=staff, form=form)
    if not form.validate():
        return _page(request, staff=staff, form=form, status_code=400)
    try:
        shop = installs.normalise_shop(form.shop.data or "")
    except InstallRefused as refused:
        form.shop.errors = [refused.message]
        return _page(request, staff=staff, form=form, status_code=400)
    return await _start(request, runtime, shop)


async def _start(request: Request, runtime: Runtime, shop: str) -> Response:
    browser = secrets.token_urlsafe(32)
    async with session(request) as db:
        state = await installs.begin(db, shop=shop, browser=browser, now=utcnow())
    response = RedirectResponse(installs.authorize_url(runtime, shop=shop, state=state), 303)
    response.set_cookie(
        COOKIE,
        browser,
        max_age=int(installs.STATE_LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",  # sent on the top-level redirect back from Shopify
        secure=is_https(request.scope),
    )
    return response


async def callback(request: Request) -> Response:
    runtime: Runtime = request.state.runtime
    if not settings_of(request).has_shopify_app:
        return _refused(request, _NO_APP, status_code=503)
    pairs = request.query_params.multi_items()
    if len(pairs) > MAX_QUERY_PAIRS:
        return _refused(request, "The address carries more than Shopify ever sends.")
    browser = request.cookies.get(COOKIE, "")[:128]
    try:
        store = await installs.complete(runtime, installs.Callback(pairs), browser=browser)
    except InstallRefused as refused:
        return _refused(request, refused.message)
    response = RedirectResponse(SETTINGS_PATH.format(slug=store.slug), status_code=303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax")
    return response


_NO_APP = (
    "No Shopify app is configured on this portal: set PORTAL_SHOPIFY_CLIENT_ID and "
    "PORTAL_SHOPIFY_CLIENT_SECRET."
)
_NOT_SIGNED = (
    "This install link was not signed by Shopify. Open the app from the store's Shopify admin, "
    "or ask the portal's admin to connect the store."
)
_NAME_THE_SHOP = (
    "Name the store to install on (?shop=your-store.myshopify.com), open the app from the "
    "store's Shopify admin, or sign in to the portal as an admin and use Connect a Shopify store."
)


def _page(
    request: Request,
    *,
    staff: StaffUser | None = None,
    form: ConnectStoreForm | None = None,
    message: str | None = None,
    sign_in: bool = False,
    status_code: int = 200,
) -> Response:
    context = {
        "staff": staff,
        "form": form,
        "message": message,
        "sign_in": sign_in,
        "sign_out": SignOutForm(meta={"csrf_context": request}),
    }
    return render(request, "pages/shopify_app/install.html", context, status_code=status_code)


def _refused(request: Request, message: str, *, status_code: int = 400) -> Response:
    context = {"message": message}
    return render(request, "pages/shopify_app/refused.html", context, status_code=status_code)
