"""REST-shaped (snake_case) bodies for the observer hook, like Shopify's webhook payloads."""

from __future__ import annotations

from typing import Any

from sandbox.shopify.records import Customer, LineItem, Order, Refund, Shop, money_str


def order_payload(order: Order) -> dict[str, Any]:
    """A REST-shaped (snake_case) order, like Shopify's webhook bodies."""
    return {
        "id": order.id,
        "admin_graphql_api_id": order.gid,
        "name": order.name,
        "order_number": order.number,
        "email": order.email,
        "created_at": order.created_at.isoformat(),
        "updated_at": (order.updated_at or order.created_at).isoformat(),
        "cancelled_at": order.cancelled_at.isoformat() if order.cancelled_at else None,
        "cancel_reason": order.cancel_reason.lower() if order.cancel_reason else None,
        "currency": order.currency,
        "financial_status": order.financial_status.lower(),
        "source_identifier": order.source_identifier,
        "note": order.note,
        "tags": ", ".join(order.tags),
        "subtotal_price": money_str(order.subtotal),
        "total_price": money_str(order.total_price),
        "line_items": [_line_item_payload(li) for li in order.line_items],
    }


def _line_item_payload(li: LineItem) -> dict[str, Any]:
    return {
        "id": li.id,
        "admin_graphql_api_id": li.gid,
        "variant_id": li.variant_id,
        "product_id": li.product_id,
        "title": li.title,
        "sku": li.sku,
        "quantity": li.quantity,
        "current_quantity": li.current_quantity,
        "price": money_str(li.unit_price),
        "total_discount": money_str(li.discount),
        "discount_allocations": (
            [{"amount": money_str(li.discount), "discount_application_index": 0}]
            if li.discount
            else []
        ),
    }


def refund_payload(refund: Refund, order: Order) -> dict[str, Any]:
    lines = {li.id: li for li in order.line_items}
    return {
        "id": refund.id,
        "admin_graphql_api_id": refund.gid,
        "order_id": refund.order_id,
        "created_at": refund.created_at.isoformat(),
        "note": refund.note,
        "refund_line_items": [
            {
                "id": rli.id,
                "line_item_id": rli.line_item_id,
                "quantity": rli.quantity,
                "restock_type": rli.restock_type.lower(),
                "subtotal": money_str(rli.subtotal),
                "line_item": _line_item_payload(lines[rli.line_item_id]),
            }
            for rli in refund.line_items
        ],
        "transactions": [
            {
                "id": t.id,
                "kind": t.kind.lower(),
                "status": t.status.lower(),
                "gateway": t.gateway,
                "amount": money_str(t.amount),
                "parent_id": t.parent_id,
            }
            for t in refund.transactions
        ],
    }


def shop_payload(shop: Shop) -> dict[str, Any]:
    """A REST-shaped shop, as in ``app/uninstalled`` and ``shop/update`` bodies."""
    email = shop.email or f"owner@{shop.domain}"
    return {
        "id": shop.id,
        "name": shop.name,
        "email": email,
        "customer_email": shop.contact_email or email,
        "domain": shop.domain,
        "myshopify_domain": shop.domain,
        "currency": shop.currency,
        "iana_timezone": shop.iana_timezone,
    }


def customer_payload(customer: Customer) -> dict[str, Any]:
    """The customer of a compliance webhook: id, email and phone."""
    return {"id": customer.id, "email": customer.email, "phone": customer.phone}
