"""Demo-only pages: orders to try and each shop's app controls (/sandbox), mail sent
(/sandbox/mailbox), and the same as JSON.

The app controls act on sandbox Shopify as a merchant or Shopify would: uninstall the portal app
(``POST /sandbox/shops/{shop}/uninstall``) and send a compliance webhook for a customer
(``POST /sandbox/shops/{shop}/compliance``, ``topic`` and ``email``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from portal.csrf import token_is_valid
from portal.paths import TEMPLATES_DIR
from portal.stores.service import StoreSpec
from portal.web import is_htmx
from portal.web import templates as portal_templates
from sandbox.shopify.state import Order, Shop
from sandbox.shopify.subscriptions import COMPLIANCE_TOPICS
from sandbox.world import NewStore, SandboxWorld

TRY_PER_KIND = 4


@dataclass(frozen=True)
class TryableOrder:
    store_slug: str
    name: str
    email: str
    created_at: datetime
    protected: bool
    fulfilled: bool
    cancelled: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "store": self.store_slug,
            "number": self.name,
            "email": self.email,
            "created_at": self.created_at.isoformat(),
            "protected": self.protected,
            "fulfilled": self.fulfilled,
            "cancelled": self.cancelled,
        }


def tryable_orders(world: SandboxWorld, store: StoreSpec | NewStore) -> list[TryableOrder]:
    """Every order of a demo store, newest first, with what matters to a visitor."""
    protection = set(store.protection_variant_ids)
    orders = world.shopify.orders(store.shop_domain)
    return [_tryable(store.slug, order, protection) for order in reversed(orders)]


def _tryable(slug: str, order: Order, protection: set[str]) -> TryableOrder:
    variant_gids = {f"gid://shopify/ProductVariant/{li.variant_id}" for li in order.line_items}
    return TryableOrder(
        store_slug=slug,
        name=order.name,
        email=order.email or "",
        created_at=order.created_at,
        protected=bool(variant_gids & protection),
        fulfilled=order.display_fulfillment_status == "FULFILLED",
        cancelled=order.cancelled_at is not None,
    )


def suggestions(orders: list[TryableOrder]) -> list[TryableOrder]:
    """A few orders of each kind a visitor may want to try, newest first."""
    kinds: tuple[Callable[[TryableOrder], bool], ...] = (
        lambda o: o.protected and o.fulfilled and not o.cancelled,
        lambda o: o.protected and not o.fulfilled and not o.cancelled,
        lambda o: not o.protected and not o.cancelled,
    )
    picked: list[TryableOrder] = []
    for kind in kinds:
        picked.extend([o for o in orders if kind(o)][:TRY_PER_KIND])
    return picked


SANDBOX_TEMPLATES = jinja2.FileSystemLoader(Path(__file__).parent / "templates")
PORTAL_TEMPLATES = jinja2.FileSystemLoader(TEMPLATES_DIR)
TEMPLATES = Jinja2Templates(
    env=portal_templates.env.overlay(
        loader=jinja2.ChoiceLoader([SANDBOX_TEMPLATES, PORTAL_TEMPLATES])
    )
)


def render(request: Request, name: str, context: dict[str, Any]) -> Response:
    return TEMPLATES.TemplateResponse(request, name, context)


@dataclass(frozen=True)
class ShopPanel:
    """One sandbox shop's app controls on /sandbox."""

    domain: str
    name: str
    installed: bool
    install_url: str
    customer_emails: list[str]


def shop_panels(world: SandboxWorld) -> list[ShopPanel]:
    client_id = world.app_client_id
    return [
        ShopPanel(
            domain=shop.domain,
            name=shop.name,
            installed=bool(client_id) and world.shopify.installed(shop.domain, client_id or ""),
            install_url=world.install_url(shop.domain),
            customer_emails=_customer_emails(shop),
        )
        for shop in world.shopify.shops()
    ]


def _customer_emails(shop: Shop) -> list[str]:
    return sorted({c.email for c in shop.customers.values() if c.email})


NOTICES = {
    "uninstalled": "The portal app was uninstalled from {shop}: its tokens no longer work.",
    "customers/data_request": "customers/data_request sent for {shop}.",
    "customers/redact": "customers/redact sent for {shop}.",
    "shop/redact": "shop/redact sent for {shop}.",
}


@dataclass(frozen=True)
class SandboxPages:
    """The /sandbox pages of one sandbox world."""

    world: SandboxWorld

    async def home(self, request: Request) -> Response:
        world = self.world
        stores = [(spec, suggestions(tryable_orders(world, spec))) for spec in world.stores]
        new_stores = [(new, tryable_orders(world, new)) for new in world.new_stores]
        context = {
            "stores": stores,
            "new_stores": new_stores,
            "world": world,
            "shops": shop_panels(world),
            "compliance_topics": COMPLIANCE_TOPICS,
            "notice": self._notice(request),
        }
        return render(request, "pages/sandbox.html", context)

    def _notice(self, request: Request) -> str | None:
        shop = self.world.shopify.find_shop(request.query_params.get("shop", ""))
        template = NOTICES.get(request.query_params.get("done", ""))
        return template.format(shop=shop.name) if shop and template else None

    async def uninstall(self, request: Request) -> Response:
        """The merchant removes the portal app from a shop."""
        shop, refused = await self._checked(request)
        if refused is not None:
            return refused
        assert shop is not None and self.world.app_client_id is not None
        self.world.shopify.uninstall(shop.domain, self.world.app_client_id)
        return self._done(request, "uninstalled", shop)

    async def compliance(self, request: Request) -> Response:
        """Shopify sends a compliance webhook (a customer's data request or a redaction)."""
        shop, refused = await self._checked(request)
        if refused is not None:
            return refused
        assert shop is not None and self.world.app_client_id is not None
        form = await request.form()
        topic, email = str(form.get("topic", "")), str(form.get("email", "")).strip()
        client_id = self.world.app_client_id
        if topic == "shop/redact":
            self.world.shopify.redact_shop(shop.domain, client_id)
        elif topic in COMPLIANCE_TOPICS and "@" in email:
            send = {
                "customers/data_request": self.world.shopify.request_customer_data,
                "customers/redact": self.world.shopify.redact_customer,
            }[topic]
            send(shop.domain, client_id, email)
        else:
            return PlainTextResponse("Pick a compliance topic and a customer email.", 400)
        return self._done(request, topic, shop)

    async def _checked(self, request: Request) -> tuple[Shop | None, Response | None]:
        form = await request.form()
        token = form.get("csrf_token")
        if not token_is_valid(request, token if isinstance(token, str) else None):
            return None, PlainTextResponse("The form expired: reload the page.", 403)
        shop = self.world.shopify.find_shop(request.path_params["shop"])
        if shop is None or self.world.app_client_id is None:
            return None, PlainTextResponse("No such shop.", 404)
        return shop, None

    def _done(self, request: Request, done: str, shop: Shop) -> Response:
        url = request.url_for("sandbox:home").include_query_params(done=done, shop=shop.domain)
        return RedirectResponse(str(url), status_code=303)

    async def mailbox(self, request: Request) -> Response:
        emails = list(reversed(self.world.mailbox.all()))
        template = "partials/mailbox.html" if is_htmx(request) else "pages/mailbox.html"
        return render(request, template, {"emails": emails})

    async def orders_json(self, request: Request) -> Response:
        world = self.world
        orders = [o.as_json() for spec in world.stores for o in tryable_orders(world, spec)]
        return JSONResponse({"orders": orders})

    async def mailbox_json(self, request: Request) -> Response:
        return JSONResponse({"emails": [e.as_json() for e in self.world.mailbox.all()]})

    async def services_json(self, request: Request) -> Response:
        world = self.world
        return JSONResponse(
            {
                "stores": [_store_services(world, spec) for spec in world.stores],
                "corso": {
                    "api_url": world.corso_api_url,
                    "auth_url": world.corso_auth_url,
                    "audience": world.corso.audience,
                },
            }
        )


def _store_services(world: SandboxWorld, spec: StoreSpec) -> dict[str, Any]:
    return {
        "slug": spec.slug,
        "name": spec.name,
        "shop_domain": spec.shop_domain,
        "api_version": spec.api_version,
        "graphql_endpoint": world.shopify_endpoint(spec.shop_domain, spec.api_version),
        "access_token": spec.access_token,
        "protection_variant_ids": spec.protection_variant_ids,
        "corso_store_id": spec.corso_store_id,
        "corso_client_id": spec.corso_client_id,
        "corso_client_secret": spec.corso_client_secret,
    }
