"""Access scopes: which scope a field needs, and Shopify's error when the token lacks it
(https://shopify.dev/docs/api/usage/access-scopes). A field is denied when its own entry, or
the type it returns, needs a scope the token was not granted; ``write_x`` grants ``read_x``.
The field resolves to null with an ``ACCESS_DENIED`` error, as on Shopify.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, get_named_type

from sandbox.shopify.context import RequestContext
from sandbox.shopify.fields import Info

DOCUMENTATION = "https://shopify.dev/api/usage/access-scopes"

FIELD_SCOPES: dict[tuple[str, str], str] = {
    ("QueryRoot", "order"): "read_orders",
    ("QueryRoot", "orders"): "read_orders",
    ("QueryRoot", "fulfillment"): "read_orders",
    ("QueryRoot", "product"): "read_products",
    ("QueryRoot", "products"): "read_products",
    ("QueryRoot", "productVariant"): "read_products",
    ("Mutation", "orderCreate"): "write_orders",
    ("Mutation", "refundCreate"): "write_orders",
    ("ProductVariant", "inventoryQuantity"): "read_inventory",
    ("ProductVariant", "inventoryItem"): "read_inventory",
    ("Product", "totalInventory"): "read_inventory",
}
TYPE_SCOPES: dict[str, str] = {
    "Customer": "read_customers",
    "InventoryItem": "read_inventory",
    "InventoryLevel": "read_inventory",
}
NODE_SCOPES: dict[str, str] = {
    "Order": "read_orders",
    "LineItem": "read_orders",
    "Fulfillment": "read_orders",
    "Refund": "read_orders",
    "Product": "read_products",
    "ProductVariant": "read_products",
    "Customer": "read_customers",
}


def required_scope(info: Info) -> str | None:
    own = FIELD_SCOPES.get((info.parent_type.name, info.field_name))
    return own or TYPE_SCOPES.get(get_named_type(info.return_type).name)


def access_denied(field_name: str, scope: str) -> GraphQLError:
    required = f"`{scope}` access scope."
    return GraphQLError(
        f"Access denied for {field_name} field. Required access: {required}",
        extensions={
            "code": "ACCESS_DENIED",
            "documentation": DOCUMENTATION,
            "requiredAccess": required,
        },
    )


def check_node_kind(context: RequestContext, kind: str, field_name: str) -> None:
    """Raise ``ACCESS_DENIED`` when a node lookup reaches a kind the token may not read."""
    scope = NODE_SCOPES.get(kind)
    if scope is not None and not context.allows(scope):
        raise access_denied(field_name, scope)


def enforce_scopes(resolve: Any, root: Any, info: Info, **args: Any) -> Any:
    """Field middleware: refuse a field whose scope the request's token lacks."""
    scope = required_scope(info)
    if scope is not None and not info.context.allows(scope):
        raise access_denied(info.field_name, scope)
    return resolve(root, info, **args)
