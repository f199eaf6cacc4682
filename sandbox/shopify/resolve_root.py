"""Resolvers of the query root and the mutations."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from graphql import GraphQLError, get_directive_values

from sandbox.shopify import orders as order_creation
from sandbox.shopify import refunds
from sandbox.shopify.access import check_node_kind
from sandbox.shopify.connections import SortKey, paginate
from sandbox.shopify.context import RequestContext
from sandbox.shopify.fields import Info, context, field
from sandbox.shopify.ids import number_of, parse_gid
from sandbox.shopify.product_search import parse_product_search
from sandbox.shopify.scalars import format_datetime
from sandbox.shopify.search import parse_order_search
from sandbox.shopify.state import (
    Fulfillment,
    IdempotentResult,
    LineItem,
    Order,
    Product,
    Refund,
    Shop,
    Variant,
    money,
)

IDEMPOTENT_FROM = "2026-01"
IDEMPOTENCY_REQUIRED_FROM = "2026-04"


def _moment(value: Any) -> str:
    return format_datetime(value) if value is not None else ""


ORDER_SORT_KEYS: dict[str, Callable[[Order], SortKey]] = {
    "ID": lambda o: (o.id,),
    "RELEVANCE": lambda o: (o.id,),
    "ORDER_NUMBER": lambda o: (o.number, o.id),
    "CREATED_AT": lambda o: (_moment(o.created_at), o.id),
    "PROCESSED_AT": lambda o: (_moment(o.processed_at or o.created_at), o.id),
    "UPDATED_AT": lambda o: (_moment(o.updated_at or o.created_at), o.id),
    "TOTAL_PRICE": lambda o: (int(o.total_price * 100), o.id),
    "CUSTOMER_NAME": lambda o: ((o.customer.display_name if o.customer else "").casefold(), o.id),
    "FINANCIAL_STATUS": lambda o: (o.financial_status, o.id),
    "FULFILLMENT_STATUS": lambda o: (o.display_fulfillment_status, o.id),
}


# --- queries -----------------------------------------------------------------------------------


@field("QueryRoot", "shop")
def shop(root: Any, info: Info) -> Shop:
    return context(info).shop


@field("QueryRoot", "orders")
def orders(
    root: Any,
    info: Info,
    query: str | None = None,
    sortKey: str = "PROCESSED_AT",
    reverse: bool = False,
    **page: Any,
) -> dict[str, Any]:
    ctx = context(info)
    search = parse_order_search(query, ctx.shop.iana_timezone)
    if search.warnings:
        path = list(info.path.as_list())
        ctx.search_reports.append({"path": path, "query": query, "warnings": search.warnings})
    found = [o for o in ctx.shop.orders.values() if ctx.visible(o) and search.matches(o)]
    return paginate(found, ORDER_SORT_KEYS[sortKey], reverse=reverse, **page).as_connection()


PRODUCT_SORT_KEYS: dict[str, Callable[[Product], SortKey]] = {
    "ID": lambda p: (p.id,),
    "RELEVANCE": lambda p: (p.id,),
    "TITLE": lambda p: (p.title.casefold(), p.id),
    "CREATED_AT": lambda p: (_moment(p.created_at), p.id),
    "UPDATED_AT": lambda p: (_moment(p.created_at), p.id),
}


@field("QueryRoot", "products")
def products(
    root: Any,
    info: Info,
    query: str | None = None,
    sortKey: str = "ID",
    reverse: bool = False,
    **page: Any,
) -> dict[str, Any]:
    matches = parse_product_search(query)
    found = [p for p in context(info).shop.products.values() if matches(p)]
    return paginate(found, PRODUCT_SORT_KEYS[sortKey], reverse=reverse, **page).as_connection()


@field("QueryRoot", "currentAppInstallation")
def current_app_installation(root: Any, info: Info) -> dict[str, Any]:
    ctx = context(info)
    token = ctx.token
    scopes = token.scopes if token is not None and token.scopes is not None else ALL_SCOPES
    handles = [{"handle": s, "description": SCOPE_DESCRIPTIONS.get(s, s)} for s in scopes]
    installation = f"gid://shopify/AppInstallation/{ctx.shop.id}"
    return {"id": installation, "accessScopes": handles}


SCOPE_DESCRIPTIONS = {
    "read_orders": "Read orders, transactions, and fulfillments",
    "write_orders": "Modify orders, transactions, and fulfillments",
    "read_all_orders": "Read all orders (not just the last 60 days)",
    "read_products": "Read products, variants, and collections",
    "read_inventory": "Read inventory",
    "read_customers": "Read customer details and customer groups",
}
ALL_SCOPES = tuple(SCOPE_DESCRIPTIONS)


@field("QueryRoot", "order")
def order(root: Any, info: Info, id: str) -> Order | None:
    found = node(root, info, id)
    return found if isinstance(found, Order) else None


@field("QueryRoot", "fulfillment")
def fulfillment(root: Any, info: Info, id: str) -> Fulfillment | None:
    found = node(root, info, id)
    return found if isinstance(found, Fulfillment) else None


@field("QueryRoot", "product")
def product(root: Any, info: Info, id: str) -> Product | None:
    found = node(root, info, id)
    return found if isinstance(found, Product) else None


@field("QueryRoot", "productVariant")
def product_variant(root: Any, info: Info, id: str) -> Variant | None:
    found = node(root, info, id)
    return found if isinstance(found, Variant) else None


@field("QueryRoot", "node")
def node(root: Any, info: Info, id: str) -> Any:
    parsed = parse_gid(id)
    if parsed is None:
        raise GraphQLError(
            f"Invalid global id '{id}'",
            extensions={"code": "argumentLiteralsIncompatible", "typeName": "CoercionError"},
        )
    kind, number = parsed
    ctx = context(info)
    check_node_kind(ctx, kind, info.field_name)
    lookup = NODE_LOOKUPS.get(kind)
    found = lookup(ctx.shop, number) if lookup else None
    return found if _visible(ctx, found) else None


def _visible(ctx: RequestContext, found: Any) -> bool:
    """Orders, and their line items and refunds, outside the token's window are not there."""
    if isinstance(found, Order):
        return ctx.visible(found)
    if isinstance(found, Refund):
        return ctx.visible_order(found.order_id) is not None
    if isinstance(found, LineItem):
        return ctx.visible(ctx.order_of_line(found.id))
    if isinstance(found, Fulfillment):
        return any(found in o.fulfillments and ctx.visible(o) for o in ctx.shop.orders.values())
    return True


@field("QueryRoot", "nodes")
def nodes(root: Any, info: Info, ids: list[str]) -> list[Any]:
    return [node(root, info, each) for each in ids]


def _location(shop: Shop, number: int) -> Any:
    return next((loc for loc in shop.locations if loc.id == number), None)


def _customer(shop: Shop, number: int) -> Any:
    return next((c for c in shop.customers.values() if c.id == number), None)


def _refund(shop: Shop, number: int) -> Any:
    every = (r for o in shop.orders.values() for r in o.refunds)
    return next((r for r in every if r.id == number), None)


def _fulfillment(shop: Shop, number: int) -> Any:
    every = (f for o in shop.orders.values() for f in o.fulfillments)
    return next((f for f in every if f.id == number), None)


def _line_item(shop: Shop, number: int) -> Any:
    every = (li for o in shop.orders.values() for li in o.line_items)
    return next((li for li in every if li.id == number), None)


NODE_LOOKUPS: dict[str, Callable[[Shop, int], Any]] = {
    "Order": lambda shop, number: shop.orders.get(number),
    "Product": lambda shop, number: shop.products.get(number),
    "ProductVariant": lambda shop, number: shop.variants.get(number),
    "Location": _location,
    "Customer": _customer,
    "Refund": _refund,
    "Fulfillment": _fulfillment,
    "LineItem": _line_item,
}


# --- orderCreate -------------------------------------------------------------------------------


@field("Mutation", "orderCreate")
def order_create(
    root: Any, info: Info, order: dict[str, Any], options: dict[str, Any] | None = None
) -> dict[str, Any]:
    ctx = context(info)
    outcome = order_creation.create_order(ctx.world, ctx.shop, order, options)
    if isinstance(outcome, list):
        return {"order": None, "userErrors": [e.as_json() for e in outcome]}
    return {"order": outcome, "userErrors": []}


# --- refundCreate ------------------------------------------------------------------------------


@field("Mutation", "refundCreate")
def refund_create(root: Any, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    ctx = context(info)
    key = idempotency_key(info)
    if key is None and ctx.api_at_least(IDEMPOTENCY_REQUIRED_FROM):
        raise GraphQLError(
            "The @idempotent directive is required for refundCreate.",
            extensions={"code": "BAD_REQUEST"},
        )
    if key is None:
        return _payload(ctx, _refund_outcome(ctx, input))
    return _payload(ctx, _idempotent_refund(ctx, f"refundCreate:{key}", input))


def idempotency_key(info: Info) -> str | None:
    directive = info.schema.get_directive("idempotent")
    if directive is None:
        return None
    values = get_directive_values(directive, info.field_nodes[0], info.variable_values)
    return values["key"] if values else None


def _idempotent_refund(ctx: RequestContext, key: str, data: dict[str, Any]) -> dict[str, Any]:
    fingerprint = _fingerprint(data)
    previous = ctx.shop.idempotency.get(key)
    if previous is None:
        outcome = _refund_outcome(ctx, data)
        ctx.shop.idempotency[key] = IdempotentResult(fingerprint, outcome)
        return outcome
    if previous.fingerprint != fingerprint:
        raise GraphQLError(
            "The idempotency key was already used with different parameters.",
            extensions={"code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"},
        )
    replayed: dict[str, Any] = previous.data
    return replayed


def _fingerprint(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _refund_outcome(ctx: RequestContext, data: dict[str, Any]) -> dict[str, Any]:
    """``{"order_id", "refund_id", "errors"}``: what happened, kept for idempotent replays."""
    found = ctx.visible_order(number_of(data["orderId"], "Order"))
    if found is None:
        error = refunds.UserError(("orderId",), "Order does not exist.")
        return {"order_id": None, "refund_id": None, "errors": [error]}
    request = _refund_request(found, data)
    outcome = refunds.create_refund(ctx.world, ctx.shop, found, request)
    if isinstance(outcome, list):
        return {"order_id": found.id, "refund_id": None, "errors": outcome}
    return {"order_id": found.id, "refund_id": outcome.id, "errors": []}


def _payload(ctx: RequestContext, outcome: dict[str, Any]) -> dict[str, Any]:
    found = ctx.shop.orders.get(outcome["order_id"]) if outcome["order_id"] else None
    refund = None
    if found is not None and outcome["refund_id"] is not None:
        refund = next(r for r in found.refunds if r.id == outcome["refund_id"])
    return {
        "refund": refund,
        "order": found,
        "userErrors": [error.as_json() for error in outcome["errors"]],
    }


def _refund_request(order: Order, data: dict[str, Any]) -> refunds.RefundRequest:
    return refunds.RefundRequest(
        order_id=order.id,
        line_items=tuple(
            refunds.RefundLineRequest(
                number_of(line["lineItemId"], "LineItem"),
                line["quantity"],
                line.get("restockType") or "NO_RESTOCK",
            )
            for line in data.get("refundLineItems") or []
        ),
        transactions=tuple(_refund_transaction(t) for t in data.get("transactions") or []),
        shipping=_shipping(order, data.get("shipping")),
        note=data.get("note"),
        notify=bool(data.get("notify")),
    )


def _refund_transaction(data: dict[str, Any]) -> refunds.RefundTransactionRequest:
    parent = data.get("parentId")
    return refunds.RefundTransactionRequest(
        amount=money(data["amount"]),
        gateway=data["gateway"],
        kind=data["kind"],
        parent_id=(number_of(parent, "OrderTransaction") or 0) if parent else None,
        order_id=number_of(data["orderId"], "Order"),
    )


def _shipping(order: Order, data: dict[str, Any] | None) -> Decimal:
    if not data:
        return Decimal("0.00")
    if data.get("fullRefund"):
        return refunds.remaining_shipping(order)
    return money(data.get("amount") or "0")
