"""The sandbox's executable schema: ``schema.graphql`` with scalars, resolvers and type
resolution attached, one per API version family."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
)

from sandbox.shopify import resolve_catalog, resolve_orders, resolve_root, resolve_webhooks
from sandbox.shopify.fields import RESOLVERS
from sandbox.shopify.scalars import install_scalars
from sandbox.shopify.state import (
    Customer,
    Fulfillment,
    FulfillmentEvent,
    FulfillmentLineItem,
    LineItem,
    Location,
    Order,
    Product,
    Refund,
    Shop,
    Transaction,
    Variant,
)
from sandbox.shopify.subscriptions import WebhookSubscription

SDL_PATH = Path(__file__).with_name("schema.graphql")
# The versions whose differences the schema models (which version serves a request is the
# world's calendar's call: versions.py).
SUPPORTED_VERSIONS = ("2025-01", "2025-04", "2025-07", "2025-10", "2026-01", "2026-04")
NODE_TYPES: dict[type, str] = {
    Order: "Order",
    LineItem: "LineItem",
    Product: "Product",
    Variant: "ProductVariant",
    Customer: "Customer",
    Fulfillment: "Fulfillment",
    FulfillmentEvent: "FulfillmentEvent",
    FulfillmentLineItem: "FulfillmentLineItem",
    Transaction: "OrderTransaction",
    Refund: "Refund",
    Location: "Location",
    Shop: "Shop",
    WebhookSubscription: "WebhookSubscription",
    resolve_catalog.InventoryItemView: "InventoryItem",
    resolve_catalog.InventoryLevelView: "InventoryLevel",
}
assert resolve_orders and resolve_root and resolve_webhooks  # imported for their resolvers


def sdl() -> str:
    return SDL_PATH.read_text(encoding="utf-8")


def schema_for_version(version: str) -> GraphQLSchema:
    """The schema a version serves; ``@idempotent`` exists from 2026-01."""
    return _schema(idempotent=version >= resolve_root.IDEMPOTENT_FROM)


@cache
def _schema(*, idempotent: bool) -> GraphQLSchema:
    schema = build_schema(sdl())
    install_scalars(schema)
    _attach_resolvers(schema)
    _attach_type_resolvers(schema)
    if idempotent:
        return schema
    kwargs = schema.to_kwargs()
    kwargs["directives"] = tuple(d for d in schema.directives if d.name != "idempotent")
    return GraphQLSchema(**kwargs)


def _attach_resolvers(schema: GraphQLSchema) -> None:
    for (type_name, field_name), resolver in RESOLVERS.items():
        owner = schema.type_map.get(type_name)
        if not isinstance(owner, GraphQLObjectType) or field_name not in owner.fields:
            raise LookupError(f"resolver for {type_name}.{field_name}, which the SDL lacks")
        owner.fields[field_name].resolve = resolver


def _attach_type_resolvers(schema: GraphQLSchema) -> None:
    node = schema.type_map["Node"]
    assert isinstance(node, GraphQLInterfaceType)
    node.resolve_type = node_type
    endpoint = schema.type_map["WebhookSubscriptionEndpoint"]
    assert isinstance(endpoint, GraphQLUnionType)
    endpoint.resolve_type = lambda value, *_: value["__typename"]


def node_type(value: Any, *_: Any) -> str | None:
    return NODE_TYPES.get(type(value))
