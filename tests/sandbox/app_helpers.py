"""A sandbox Shopify with a registered app, a clock tests move, and the steps of an install."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from sandbox.shopify import ShopifyWorld, create_shopify_sandbox
from tests.helpers.servers import serve
from tests.sandbox.shopify_helpers import NOW, OTHER_DOMAIN, Catalogue, seeded_world

APP_ID = "portal-app"
APP_SECRET = "portal-app-secret"
REDIRECT = "https://portal.example/shopify/callback"
COMPLIANCE = "https://portal.example/webhooks/shopify"
SCOPES = "read_orders,write_orders,read_products,read_inventory,read_customers"


class WorldClock:
    """The world's wall clock, moved by hand."""

    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def app_world(
    *, compliance_url: str | None = COMPLIANCE
) -> tuple[ShopifyWorld, Catalogue, WorldClock]:
    """The seeded shops, with the portal's app registered and Fern & Finch in its organisation."""
    clock = WorldClock()
    world, catalogue = seeded_world(now=clock)
    world.register_app(
        APP_ID,
        APP_SECRET,
        redirect_urls=[REDIRECT],
        compliance_url=compliance_url,
        organisation_shops=[OTHER_DOMAIN],
        scopes=["read_orders", "read_products"],
    )
    return world, catalogue, clock


@contextmanager
def admin(world: ShopifyWorld) -> Iterator[httpx.Client]:
    """An HTTP client to the sandbox served on loopback; redirects are not followed."""
    with (
        serve(create_shopify_sandbox(world)) as base_url,
        httpx.Client(base_url=base_url, timeout=5) as client,
    ):
        yield client


def expected_hmac(params: dict[str, str], secret: str) -> str:
    """Shopify's documented check: every other parameter, sorted, joined ``k=v&k=v``."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "hmac")
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def webhook_hmac(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def query_of(location: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(location).query))


@dataclass
class Install:
    """The steps of an install, each a real HTTP request."""

    client: httpx.Client
    domain: str

    def authorize(self, **params: str) -> httpx.Response:
        asked = {"client_id": APP_ID, "scope": SCOPES, "redirect_uri": REDIRECT, "state": "n-1"}
        asked.update(params)
        return self.client.get(f"/{self.domain}/admin/oauth/authorize", params=asked)

    def decide(self, decision: str, scope: str = SCOPES, state: str = "n-1") -> httpx.Response:
        form = {
            "client_id": APP_ID,
            "scope": scope,
            "redirect_uri": REDIRECT,
            "state": state,
            "decision": decision,
        }
        return self.client.post(f"/{self.domain}/admin/oauth/authorize", data=form)

    def code(self, scope: str = SCOPES) -> str:
        return query_of(self.decide("approve", scope).headers["location"])["code"]

    def token_request(self, **fields: str) -> httpx.Response:
        body = {"client_id": APP_ID, "client_secret": APP_SECRET, **fields}
        return self.client.post(f"/{self.domain}/admin/oauth/access_token", data=body)

    def grant(self, scope: str = SCOPES, *, expiring: bool = False) -> dict[str, Any]:
        extra = {"expiring": "1"} if expiring else {}
        response = self.token_request(code=self.code(scope), **extra)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def graphql(
        self,
        token: str,
        query: str = "{ shop { name } }",
        version: str = "2026-01",
        **variables: Any,
    ) -> httpx.Response:
        path = f"/{self.domain}/admin/api/{version}/graphql.json"
        body = {"query": query, "variables": variables}
        return self.client.post(path, json=body, headers={"X-Shopify-Access-Token": token})
