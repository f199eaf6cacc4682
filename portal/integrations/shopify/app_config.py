"""What the portal's Shopify app asks for, in one place: access scopes, the webhook topics it
subscribes to and the compliance topics it answers.

Scopes (https://shopify.dev/docs/api/usage/access-scopes): orders are read, and written for
replacement orders and refunds; products and inventory are read for the items, their stock and the
protection product; customers for the buyer's name and email on an order. ``read_all_orders``
is asked for but not required: without it Shopify shows only the last 60 days of orders.
"""

from __future__ import annotations

REQUIRED_SCOPES = frozenset(
    {"read_orders", "write_orders", "read_products", "read_inventory", "read_customers"}
)
OPTIONAL_SCOPES = frozenset({"read_all_orders"})
REQUESTED_SCOPES = REQUIRED_SCOPES | OPTIONAL_SCOPES
ALL_ORDERS_SCOPE = "read_all_orders"
RECENT_ORDERS_DAYS = 60
"""Without ``read_all_orders``, Shopify returns only orders created in the last 60 days."""

# Topics subscribed with webhookSubscriptionCreate after install (GraphQL enum spelling).
WEBHOOK_TOPICS = (
    "ORDERS_CREATE",
    "ORDERS_UPDATED",
    "ORDERS_CANCELLED",
    "REFUNDS_CREATE",
    "APP_UNINSTALLED",
)
# Mandatory compliance topics: set in the app's configuration (not subscribable through the
# API), delivered to the same endpoint.
COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")
WEBHOOK_PATH = "/webhooks/shopify"
INSTALL_PATH = "/shopify/install"
CALLBACK_PATH = "/shopify/callback"


def scope_list(scopes: frozenset[str] | set[str]) -> str:
    """Scopes as Shopify writes them: comma-separated."""
    return ",".join(sorted(scopes))


def parse_scopes(text: str) -> frozenset[str]:
    """Scopes from Shopify's comma-separated answer; ``write_x`` implies ``read_x``."""
    granted = {s.strip() for s in text.split(",") if s.strip()}
    implied = {"read_" + s.removeprefix("write_") for s in granted if s.startswith("write_")}
    return frozenset(granted | implied)
