"""``/shopify/install`` and ``/shopify/callback``: installing the portal's app on a store.

Install starts the authorization code grant for a shop named in the query. It is open to a
merchant arriving from Shopify (the query is then signed by Shopify: checked) and to a signed-in
admin (the "Connect a Shopify store" form on the same page); anyone else is told to sign in.
A random cookie (``portal_install``, 10 minutes, only sent to /shopify) binds the ``state`` to
the browser that started; the callback checks both (``portal.shopify_app.install``).
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal.accounts.guard import signed_in_staff
from portal.clock import utcnow
from portal.errors import InstallRefused
from portal.runtime import Runtime
from portal.shopify_app import install as installs
from portal.web import render, session, settings_of

COOKIE = "portal_install"
COOKIE_PATH = "/shopify"
MAX_QUERY_PAIRS = 20
SETTINGS_PATH = "/support/stores/{slug}/settings"


async def install(request: Request) -> Response:
    runtime: Runtime = request.state.runtime
    if not settings_of(request).has_shopify_app:
        return _page(request, message=_NO_APP, status_code=503)
    pairs = request.query_params.multi_items()[:MAX_QUERY_PAIRS]
    signed = any(k == "hmac" for k, _ in pairs)
    shopify_oauth = runtime.shopify_oauth
    if signed and (shopify_oauth is None or not shopify_oauth.is_signed_by_shopify(pairs)):
        return _page(request, message=_NOT_SIGNED, status_code=400)
    staff = None if signed else await signed_in_staff(request)
    if not signed and (staff is None or not staff.is_admin):
        return _page(request, message=_ADMINS_ONLY, status_code=403, sign_in=staff is None)
    raw_shop = request.query_params.get("shop", "")
    if not raw_shop:
        return _page(request, staff=staff)
    try:
        shop = installs.normalise_shop(raw_shop[:255])
    except InstallRefused as refused:
        return _page(
            request, staff=staff, message=refused.message, shop=raw_shop[:255], status_code=400
        )
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
        secure=settings_of(request).base_url.startswith("https://"),
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
_ADMINS_ONLY = "Only an admin of this portal can connect a Shopify store. Sign in as an admin."


def _page(
    request: Request,
    *,
    staff: object = None,
    message: str | None = None,
    shop: str = "",
    sign_in: bool = False,
    status_code: int = 200,
) -> Response:
    context = {"staff": staff, "message": message, "shop": shop, "sign_in": sign_in}
    return render(request, "pages/shopify_app/install.html", context, status_code=status_code)


def _refused(request: Request, message: str, *, status_code: int = 400) -> Response:
    context = {"message": message}
    return render(request, "pages/shopify_app/refused.html", context, status_code=status_code)
