"""Demo-only pages: orders to try (/sandbox), mail sent (/sandbox/mailbox), and the same as JSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.templating import Jinja2Templates

from portal.paths import TEMPLATES_DIR
from portal.stores.service import StoreSpec
from portal.web import is_htmx
from portal.web import templates as portal_templates
from sandbox.shopify.state import Order
from sandbox.world import SandboxWorld

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


def tryable_orders(world: SandboxWorld, store: StoreSpec) -> list[TryableOrder]:
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
class SandboxPages:
    """The /sandbox pages of one sandbox world."""

    world: SandboxWorld

    async def home(self, request: Request) -> Response:
        world = self.world
        stores = [(spec, suggestions(tryable_orders(world, spec))) for spec in world.stores]
        return render(request, "pages/sandbox.html", {"stores": stores, "world": world})

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
