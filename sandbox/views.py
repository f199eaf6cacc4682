"""Demo-only pages: orders to try and each shop's app controls (/sandbox), mail sent
(/sandbox/mailbox), and the same as JSON.

The app controls act on sandbox Shopify as a merchant or Shopify would: uninstall the portal app
(``POST /sandbox/shops/{shop}/uninstall``) and send a compliance webhook for a customer
(``POST /sandbox/shops/{shop}/compliance``, ``topic`` and ``email``). A carrier moves an order's
parcel along (``POST /sandbox/shops/{shop}/orders/{order}/parcel``, ``step``: one of
``sandbox.parcels.STEPS``)."""

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
from sandbox import parcels
from sandbox.shopify.state import PLANS, Order, Shop
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
    order_id: int = 0
    shop_domain: str = ""
    parcel: str = "unfulfilled"  # sandbox.parcels.parcel_state
    last_scan: datetime | None = None
    delivered_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "store": self.store_slug,
            "number": self.name,
            "email": self.email,
            "created_at": self.created_at.isoformat(),
            "protected": self.protected,
            "fulfilled": self.fulfilled,
            "cancelled": self.cancelled,
            "parcel": self.parcel,
            "last_scan": self.last_scan.isoformat() if self.last_scan else None,
            "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None,
        }


def tryable_orders(world: SandboxWorld, store: StoreSpec | NewStore) -> list[TryableOrder]:
    """Every order of a demo store, newest first, with what matters to a visitor."""
    protection = set(store.protection_variant_ids)
    orders = world.shopify.orders(store.shop_domain)
    quiet = getattr(store, "lost_after_quiet_days", parcels.STUCK_DAYS - 1)
    now = world.shopify.now()
    return [
        _tryable(store.slug, store.shop_domain, order, protection, quiet, now)
        for order in reversed(orders)
    ]


def _tryable(
    slug: str, domain: str, order: Order, protection: set[str], quiet: int, now: datetime
) -> TryableOrder:
    variant_gids = {f"gid://shopify/ProductVariant/{li.variant_id}" for li in order.line_items}
    parcel = order.fulfillments[-1] if order.fulfillments else None
    scans = [e.happened_at for e in parcel.events] if parcel else []
    return TryableOrder(
        store_slug=slug,
        name=order.name,
        email=order.email or "",
        created_at=order.created_at,
        protected=bool(variant_gids & protection),
        fulfilled=order.display_fulfillment_status == "FULFILLED",
        cancelled=order.cancelled_at is not None,
        order_id=order.id,
        shop_domain=domain,
        parcel=parcels.parcel_state(order, quiet, now),
        last_scan=max(scans, default=None),
        delivered_at=parcel.delivered_at if parcel else None,
    )


def suggestions(orders: list[TryableOrder]) -> list[TryableOrder]:
    """A few orders of each kind a visitor may want to try, newest first: protected parcels
    delivered, on their way, stuck, with a failed delivery, not shipped; unprotected orders."""
    live = [o for o in orders if not o.cancelled]
    kinds: tuple[tuple[Callable[[TryableOrder], bool], int], ...] = (
        (lambda o: o.protected and o.parcel == "delivered", TRY_PER_KIND),
        (lambda o: o.protected and o.parcel in MOVING, TRY_PER_KIND),
        (lambda o: o.protected and o.parcel == "no_movement", 2),
        (lambda o: o.protected and o.parcel == "problem", 1),
        (lambda o: o.protected and not o.fulfilled, 2),
        (lambda o: not o.protected, 2),
    )
    picked: list[TryableOrder] = []
    for kind, count in kinds:
        picked.extend([o for o in live if kind(o) and o not in picked][:count])
    return picked


MOVING = ("label_created", "in_transit", "out_for_delivery")
PARCEL_WORDS = {
    "unfulfilled": "Not shipped",
    "label_created": "Label created",
    "in_transit": "In transit",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered",
    "no_movement": "No movement",
    "problem": "Delivery failed",
}


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
    "parcel": "The parcel moved along at {shop}: open the order's page again to see the change.",
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
            "steps": parcels.STEPS,
            "parcel_words": PARCEL_WORDS,
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

    async def plan(self, request: Request) -> Response:
        """The shop moves to another Shopify plan, which sets its GraphQL rate limit (a benchmark
        prepares on a large plan and measures on the standard one). A script's call, not a
        page's form: it carries no CSRF token."""
        form = await request.form()
        shop = self.world.shopify.find_shop(request.path_params["shop"])
        chosen = str(form.get("plan", ""))
        if shop is None or chosen not in PLANS:
            return PlainTextResponse("No such shop or plan.", 404)
        self.world.shopify.set_plan(shop.domain, chosen)
        return self._done(request, "plan", shop)

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

    async def move_parcel(self, request: Request) -> Response:
        """The carrier moves an order's parcel along one step (or it goes quiet)."""
        shop, refused = await self._checked(request)
        if refused is not None:
            return refused
        assert shop is not None
        form = await request.form()
        refused = self.parcel_moved(shop, request.path_params["order"], form.get("step"))
        return refused or self._done(request, "parcel", shop)

    def parcel_moved(self, shop: Shop, number: object, step_name: object) -> Response | None:
        """Move the parcel of order ``number`` one ``step`` along; None when it moved, else the
        refusal to answer."""
        step = parcels.STEP_NAMES.get(str(step_name or ""))
        wanted = str(number).lstrip("#")
        order = self.world.shopify.order_by_name(shop.domain, wanted) if wanted.isdigit() else None
        if step is None or order is None:
            return PlainTextResponse("Pick an order of this shop and a step.", 400)
        try:
            parcels.move_along(self.world.shopify, shop.domain, order.id, step)
        except ValueError as exc:
            return PlainTextResponse(str(exc), 409)
        return None

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

    async def calls_json(self, request: Request) -> Response:
        """Per shop, the GraphQL queries its bucket admitted and the ones it answered THROTTLED."""
        shopify = self.world.shopify
        counts = {shop.domain: shopify.bucket(shop.domain).counts() for shop in shopify.shops()}
        return JSONResponse({"shops": counts})

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
