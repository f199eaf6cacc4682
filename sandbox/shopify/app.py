"""The sandbox Shopify Admin API as an ASGI app.

    app = create_shopify_sandbox(world)
    POST /{shop}/admin/api/{version}/graphql.json   (X-Shopify-Access-Token: <a live token>)
    GET|POST /{shop}/admin/oauth/authorize, POST /{shop}/admin/oauth/access_token  (oauth.py)

An unknown shop or a never-released API version answers 404, a missing, wrong, expired or
revoked token 401, exactly as Shopify does; a retired version is served by the oldest supported
one, and every answer names the version that served it in ``X-Shopify-API-Version``. Faults
switched on through ``world.faults(shop)`` are applied before anything else.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from sandbox.shopify.execution import GraphQLRequest, Outcome, run
from sandbox.shopify.faults import Faults
from sandbox.shopify.grants import AccessToken
from sandbox.shopify.oauth import oauth_routes
from sandbox.shopify.state import Shop, ShopifyWorld
from sandbox.shopify.versions import HEADER as VERSION_HEADER

UNAUTHORISED = "[API] Invalid API key or access token (unrecognized login or wrong password)"
ACCESS_HEADER = "x-shopify-access-token"
GRAPHQL_PATH = "/{shop}/admin/api/{version}/graphql.json"


class ResponseLost(httpx.RemoteProtocolError):
    """Raised after the response headers went out, so the server drops the connection.

    Over a socket the client sees the connection close mid-response; through
    ``httpx.ASGITransport`` this exception reaches the client itself, so it is the same httpx
    error in both cases."""


class DroppedResponse(Response):
    """Starts the response, then fails: the mutation happened but the client never hears so."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": self.status_code,
                "headers": self.raw_headers,
            }
        )
        raise ResponseLost("sandbox fault: response dropped after the mutation was applied")


def create_shopify_sandbox(world: ShopifyWorld) -> Starlette:
    async def graphql(request: Request) -> Response:
        return await _answer(world, request)

    graphql_route = Route(GRAPHQL_PATH, graphql, methods=["POST"])
    return Starlette(routes=[graphql_route, *oauth_routes(world)])


async def _answer(world: ShopifyWorld, request: Request) -> Response:
    shop = world.find_shop(request.path_params["shop"])
    version = world.api_versions.served(request.path_params["version"], world.now())
    if shop is None or version is None:
        return JSONResponse({"errors": "Not Found"}, status_code=404)
    response = await _served(world, shop, version, request)
    response.headers[VERSION_HEADER] = version
    return response


async def _served(world: ShopifyWorld, shop: Shop, version: str, request: Request) -> Response:
    faults = world.faults(shop.domain)
    if faults.latency > 0:
        await anyio.sleep(faults.latency)
    failure = faults.take_failure()
    if failure is not None:
        return JSONResponse(failure.body, status_code=failure.status, headers=failure.headers)
    token = _token(world, shop, request)
    if token is None:
        return JSONResponse({"errors": UNAUTHORISED}, status_code=401)
    return await _execute(world, shop, version, token, request, faults)


def _token(world: ShopifyWorld, shop: Shop, request: Request) -> AccessToken | None:
    """The live token the request carries, marked used (which ends its refresh token's grace)."""
    with world.lock:
        token = world.access_token(shop.domain, request.headers.get(ACCESS_HEADER, ""))
        if token is not None:
            token.used = True
        return token


async def _execute(
    world: ShopifyWorld,
    shop: Shop,
    version: str,
    token: AccessToken,
    request: Request,
    faults: Faults,
) -> Response:
    graphql_request = _graphql_request(await request.body())
    if graphql_request is None:
        body = {"errors": {"query": "Required parameter missing or invalid"}}
        return JSONResponse(body, status_code=400)
    outcome = run(world, shop, version, graphql_request, token=token)
    if outcome.mutation_applied and faults.take_drop():
        return _dropped(outcome)
    return JSONResponse(outcome.payload, status_code=outcome.status)


def _graphql_request(raw: bytes) -> GraphQLRequest | None:
    try:
        body: Any = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return None
    variables = body.get("variables") or {}
    operation_name = body.get("operationName")
    if not isinstance(variables, dict):
        return None
    return GraphQLRequest(body["query"], variables, operation_name or None)


def _dropped(outcome: Outcome) -> Response:
    content = JSONResponse(outcome.payload).body
    return DroppedResponse(content, status_code=outcome.status, media_type="application/json")
