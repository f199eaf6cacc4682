"""The demo's /sandbox routes, and the sandbox Shopify and Corso mounted beside them."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from portal.app import create_app
from portal.settings import Settings
from sandbox.corso import create_corso_sandbox
from sandbox.shopify import create_shopify_sandbox
from sandbox.views import SandboxPages
from sandbox.world import SandboxWorld


def sandbox_routes(world: SandboxWorld) -> list[BaseRoute]:
    views = SandboxPages(world)
    return [
        Route("/", views.home, name="home"),
        Route("/mailbox", views.mailbox, name="mailbox"),
        Route("/orders.json", views.orders_json, name="orders_json"),
        Route("/mailbox.json", views.mailbox_json, name="mailbox_json"),
        Route("/calls.json", views.calls_json, name="calls_json"),
        Route("/services.json", views.services_json, name="services_json"),
        Route("/shops/{shop}/uninstall", views.uninstall, methods=["POST"], name="uninstall"),
        Route("/shops/{shop}/plan", views.plan, methods=["POST"], name="plan"),
        Route("/shops/{shop}/compliance", views.compliance, methods=["POST"], name="compliance"),
        Route(
            "/shops/{shop}/orders/{order}/parcel",
            views.move_parcel,
            methods=["POST"],
            name="move_parcel",
        ),
        Mount("/shopify", app=create_shopify_sandbox(world.shopify), name="shopify"),
        Mount("/corso", app=create_corso_sandbox(world.corso), name="corso"),
    ]


# Posted by the portal's clients, not by browsers: no CSRF token to check.
MACHINE_PREFIXES = ("/sandbox/shopify/", "/sandbox/corso/")


def create_demo_app(settings: Settings, world: SandboxWorld) -> Starlette:
    """The portal with this sandbox world mounted at /sandbox."""
    sandbox = Mount("/sandbox", routes=sandbox_routes(world), name="sandbox")
    return create_app(
        settings,
        extra_routes=[sandbox],
        machine_prefixes=MACHINE_PREFIXES,
        quiet_prefixes=MACHINE_PREFIXES,
    )
