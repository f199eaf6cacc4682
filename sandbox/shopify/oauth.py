"""Shopify's authorization code grant, client credentials and token refresh, under each shop's
admin (https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens):

    GET  /{shop}/admin/oauth/authorize?client_id=&scope=&redirect_uri=&state=&grant_options[]=
         -> the consent page (shop, scopes asked, Approve and Deny as plain forms)
    POST /{shop}/admin/oauth/authorize   (the consent page's forms)
         Approve -> 302 redirect_uri?code=&hmac=&host=&shop=&state=&timestamp=
         Deny    -> 302 redirect_uri?error=access_denied&shop=&state=
    POST /{shop}/admin/oauth/access_token  (form or JSON body)
         client_id, client_secret, code[, expiring=1]       authorization code
         grant_type=refresh_token, ..., refresh_token         a new access and refresh pair
         grant_type=client_credentials, client_id, client_secret

``hmac`` is the hex HMAC-SHA256, keyed with the client secret, of the other parameters sorted by
name and joined as ``k=v&k=v`` (values as they are, not URL-encoded); ``host`` is the base64 of
``{shop}/admin`` without padding. On Shopify a merchant who declines simply stays in the admin;
the sandbox's choice is to send them back to the app with ``error=access_denied`` so an app can
show what happened. ``grant_options[]=per-user`` is accepted and ignored: every token is offline.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from sandbox.shopify.grants import App, Grant, OAuthRefused, normalise_scopes
from sandbox.shopify.state import Shop, ShopifyWorld

AUTHORIZE_PATH = "/{shop}/admin/oauth/authorize"
TOKEN_PATH = "/{shop}/admin/oauth/access_token"  # noqa: S105 - a path, not a secret
SCOPE = re.compile(r"(unauthenticated_)?(read|write)_[a-z_]+")
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent.parent / "templates" / "shopify"),
    autoescape=True,
)


def oauth_routes(world: ShopifyWorld) -> list[Route]:
    async def authorize(request: Request) -> Response:
        return await _authorize(world, request)

    async def access_token(request: Request) -> Response:
        return await _access_token(world, request)

    return [
        Route(AUTHORIZE_PATH, authorize, methods=["GET", "POST"]),
        Route(TOKEN_PATH, access_token, methods=["POST"]),
    ]


# --- signing -----------------------------------------------------------------------------------


def signed_query(params: Mapping[str, str], secret: str) -> dict[str, str]:
    """``params`` with the ``hmac`` Shopify adds to every redirect and app URL."""
    message = "&".join(f"{key}={params[key]}" for key in sorted(params))
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return {**params, "hmac": digest}


def host_of(shop: str) -> str:
    return base64.b64encode(f"{shop}/admin".encode()).decode().rstrip("=")


def _with_query(url: str, params: Mapping[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


# --- the consent page --------------------------------------------------------------------------


async def _authorize(world: ShopifyWorld, request: Request) -> Response:
    shop = world.find_shop(request.path_params["shop"])
    if shop is None:
        return _page("refused.html", {"reason": "There is no such shop."}, 404)
    asked = dict(request.query_params)
    if request.method == "POST":
        asked = {key: str(value) for key, value in (await request.form()).items()}
    app, problem = _check_request(world, asked)
    if app is None:
        return _page("refused.html", {"shop": shop, "reason": problem}, 400)
    scopes = normalise_scopes(asked.get("scope", ""))
    if request.method == "GET":
        return _consent(shop, app, scopes, asked)
    if asked.get("decision") == "approve":
        return _approved(world, shop, app, scopes, asked)
    params = {"error": "access_denied", "shop": shop.domain, "state": asked.get("state", "")}
    return RedirectResponse(_with_query(asked["redirect_uri"], params), status_code=302)


def _check_request(world: ShopifyWorld, asked: Mapping[str, str]) -> tuple[App | None, str]:
    app = world.app(asked.get("client_id", ""))
    if app is None:
        return None, "The app asking for access is not known to this shop (client_id)."
    if asked.get("redirect_uri", "") not in app.redirect_urls:
        return None, "The redirect_uri is not one of the app's allowed redirection URLs."
    bad = [s for s in normalise_scopes(asked.get("scope", "")) if not SCOPE.fullmatch(s)]
    if bad:
        return None, f"Unknown access scopes: {', '.join(bad)}."
    return app, ""


def _consent(shop: Shop, app: App, scopes: tuple[str, ...], asked: Mapping[str, str]) -> Response:
    context = {
        "shop": shop,
        "app": app,
        "scopes": scopes,
        "scope": ",".join(scopes),
        "redirect_uri": asked["redirect_uri"],
        "state": asked.get("state", ""),
    }
    return _page("consent.html", context, 200)


def _approved(
    world: ShopifyWorld, shop: Shop, app: App, scopes: tuple[str, ...], asked: Mapping[str, str]
) -> Response:
    with world.lock:
        code = world.grants.issue_code(shop.domain, app.client_id, scopes)
    params = {
        "code": code,
        "host": host_of(shop.domain),
        "shop": shop.domain,
        "state": asked.get("state", ""),
        "timestamp": str(int(world.now().timestamp())),
    }
    location = _with_query(asked["redirect_uri"], signed_query(params, app.client_secret))
    return RedirectResponse(location, status_code=302)


def _page(name: str, context: dict[str, Any], status: int) -> Response:
    return HTMLResponse(TEMPLATES.get_template(name).render(**context), status_code=status)


# --- the token endpoint ------------------------------------------------------------------------


async def _access_token(world: ShopifyWorld, request: Request) -> Response:
    shop = world.find_shop(request.path_params["shop"])
    if shop is None:
        return JSONResponse({"errors": "Not Found"}, status_code=404)
    body = await _body(request)
    try:
        with world.lock:
            grant = _grant(world, shop.domain, body)
            return JSONResponse(grant.as_json(world.now()))
    except OAuthRefused as refused:
        return JSONResponse(refused.as_json(), status_code=refused.status)


async def _body(request: Request) -> dict[str, str]:
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            raw = json.loads(await request.body() or b"{}")
        except (ValueError, UnicodeDecodeError):
            return {}
        return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    return {key: str(value) for key, value in (await request.form()).items()}


def _grant(world: ShopifyWorld, shop: str, body: Mapping[str, str]) -> Grant:
    app = _client(world, body)
    grant_type = body.get("grant_type", "authorization_code")
    if grant_type == "authorization_code":
        code = _required(body, "code")
        expiring = body.get("expiring", "").lower() in ("1", "true")
        return world.grants.exchange_code(shop, app, code, expiring=expiring)
    if grant_type == "refresh_token":
        return world.grants.refresh(shop, app, _required(body, "refresh_token"))
    if grant_type == "client_credentials":
        return world.grants.client_credentials(shop, app)
    raise OAuthRefused(400, "unsupported_grant_type", f"Unsupported grant_type {grant_type}.")


def _client(world: ShopifyWorld, body: Mapping[str, str]) -> App:
    client_id, secret = _required(body, "client_id"), _required(body, "client_secret")
    app = world.grants.app(client_id)
    if app is None or not hmac.compare_digest(secret.encode(), app.client_secret.encode()):
        raise OAuthRefused(401, "invalid_client", "Client authentication failed.")
    return app


def _required(body: Mapping[str, str], name: str) -> str:
    value = body.get(name, "")
    if not value:
        raise OAuthRefused(400, "invalid_request", f"Missing required parameter: {name}.")
    return value
