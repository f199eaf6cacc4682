"""Webhook subscriptions: which app hears which topic of which shop, at which URL.

Topics are named two ways, as on Shopify: the GraphQL enum (``ORDERS_CREATE``) in the Admin API
and the REST name (``orders/create``) in the ``X-Shopify-Topic`` header of each delivery.
Compliance topics are not subscribable: they go to the app's compliance URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.shopify.ids import gid

TOPICS: dict[str, str] = {
    "ORDERS_CREATE": "orders/create",
    "ORDERS_UPDATED": "orders/updated",
    "ORDERS_CANCELLED": "orders/cancelled",
    "REFUNDS_CREATE": "refunds/create",
    "APP_UNINSTALLED": "app/uninstalled",
}
COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")
TAKEN = "Address for this topic has already been taken"


@dataclass(frozen=True)
class Destination:
    """Where one event goes: a URL, the secret that signs it, the app and its API version."""

    url: str
    secret: str
    client_id: str | None
    api_version: str


@dataclass(frozen=True)
class WorldEvent:
    """A change in the world, and who is to hear of it (fixed when it happened)."""

    shop: str
    topic: str  # the REST name, ``orders/create``
    payload: dict[str, Any]
    destinations: tuple[Destination, ...] = ()


@dataclass
class WebhookSubscription:
    id: int
    shop: str
    client_id: str | None
    topic: str  # the enum name, ``ORDERS_CREATE``
    callback_url: str
    api_version: str
    created_at: datetime
    format: str = "JSON"

    @property
    def gid(self) -> str:
        return gid("WebhookSubscription", self.id)

    @property
    def rest_topic(self) -> str:
        return TOPICS[self.topic]

    @property
    def updated_at(self) -> datetime:
        return self.created_at

    @property
    def endpoint(self) -> dict[str, str]:
        return {"__typename": "WebhookHttpEndpoint", "callbackUrl": self.callback_url}


def topic_enum(rest_topic: str) -> str | None:
    """``orders/create`` -> ``ORDERS_CREATE`` (None for a topic nobody can subscribe to)."""
    return next((enum for enum, rest in TOPICS.items() if rest == rest_topic), None)
