"""Installing a sandbox shop on the portal over HTTP, as an admin's browser and the shop's
owner would: the portal's install page, Shopify's consent page, the callback."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from sqlalchemy import select
from starlette.datastructures import Secret

from portal.db import create_engine, session_factory
from portal.integrations.shopify.oauth import query_signature
from portal.stores.models import Store
from tests.helpers.environment import PortalEnvironment
from tests.helpers.staff import StaffBrowser, create_user

APP_ID = "portal-test-app"
APP_SECRET = "portal-test-app-secret-" + "z" * 16  # a test value, not a secret
NEW_SHOP = "juniper-and-jay.myshopify.com"
ADMIN = "admin@example.com"


def app_settings() -> dict[str, Any]:
    return {"shopify_client_id": APP_ID, "shopify_client_secret": Secret(APP_SECRET)}


def register_app(env: PortalEnvironment) -> None:
    """The portal's app, as the sandbox Shopify knows it, and a shop not yet installed."""
    world = env.shop.world
    if world.app(APP_ID) is None:
        world.register_app(
            APP_ID,
            APP_SECRET,
            redirect_urls=(f"{env.base_url}/shopify/callback",),
            compliance_url=f"{env.base_url}/webhooks/shopify",
        )
    if world.find_shop(NEW_SHOP) is None:
        world.add_shop(
            NEW_SHOP,
            access_token="",
            name="Juniper & Jay",
            currency="EUR",
            iana_timezone="Europe/Paris",
            contact_email="hello@juniper.example",
        )


def signed_in_admin(env: PortalEnvironment) -> StaffBrowser:
    create_user(env.settings.database_url, ADMIN, "admin")
    browser = StaffBrowser(env.base_url)
    assert browser.sign_in(ADMIN).status_code == 303
    return browser


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def owners_browser() -> httpx.Client:
    """The shop owner's browser on the sandbox Shopify (its consent page)."""
    return httpx.Client(follow_redirects=False, timeout=30)


class Installation:
    """One run through the install: each step's answer kept for the test to read."""

    def __init__(self, env: PortalEnvironment, browser: StaffBrowser, shop: str = NEW_SHOP):
        self.env = env
        self.browser = browser
        self.shop = shop
        self.authorize_url = ""
        self.callback_url = ""

    def start(self) -> httpx.Response:
        """The admin's Connect a Shopify store form."""
        form = {"csrf_token": self.browser.csrf(), "shop": self.shop}
        answer = self.browser.client.post("/support/stores/connect", data=form)
        if answer.status_code == 303:
            self.authorize_url = answer.headers["location"]
        return answer

    def consent(self, decision: str = "approve", *, scope: str | None = None) -> str:
        """The owner decides on Shopify's page; the address Shopify sends them back to."""
        asked = query_of(self.authorize_url)
        page_url = self.authorize_url.split("?")[0]
        with owners_browser() as owner:
            page = owner.get(self.authorize_url)
            assert page.status_code == 200, page.text
            form = {
                "client_id": asked["client_id"],
                "scope": scope if scope is not None else asked["scope"],
                "redirect_uri": asked["redirect_uri"],
                "state": asked["state"],
                "decision": decision,
            }
            answer = owner.post(page_url, data=form)
        assert answer.status_code == 302, answer.text
        self.callback_url = answer.headers["location"]
        return self.callback_url

    def finish(self, url: str | None = None) -> httpx.Response:
        target = urlsplit(url or self.callback_url)
        return self.browser.client.get(f"{target.path}?{target.query}")

    def run(self) -> httpx.Response:
        assert self.start().status_code == 303
        self.consent()
        return self.finish()


def signed_query(params: dict[str, str], secret: str = APP_SECRET) -> str:
    """A query string signed the way Shopify signs its redirects."""
    return urlencode({**params, "hmac": query_signature(list(params.items()), secret)})


def stores(env: PortalEnvironment) -> list[Store]:
    async def read() -> list[Store]:
        engine = create_engine(env.settings.database_url)
        try:
            async with session_factory(engine)() as db:
                return list((await db.scalars(select(Store).order_by(Store.id))).all())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def store_of(env: PortalEnvironment, shop: str = NEW_SHOP) -> Store | None:
    return next((s for s in stores(env) if s.shop_domain == shop), None)
