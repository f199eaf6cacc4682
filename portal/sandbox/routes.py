"""The demo's /sandbox routes, and the sandbox Shopify and Corso mounted beside them."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from portal.sandbox import views
from portal.sandbox.corso import create_corso_sandbox
from portal.sandbox.shopify import create_shopify_sandbox
from portal.sandbox.world import SandboxWorld


def sandbox_routes(world: SandboxWorld) -> list[BaseRoute]:
    return [
        Route("/", views.home, name="home"),
        Route("/mailbox", views.mailbox, name="mailbox"),
        Route("/orders.json", views.orders_json, name="orders_json"),
        Route("/mailbox.json", views.mailbox_json, name="mailbox_json"),
        Route("/services.json", views.services_json, name="services_json"),
        Mount("/shopify", app=create_shopify_sandbox(world.shopify), name="shopify"),
        Mount("/corso", app=create_corso_sandbox(world.corso), name="corso"),
    ]
