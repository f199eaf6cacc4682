"""Resolvers of orders and what hangs off them: line items, fulfillments, transactions, refunds,
suggested refunds, customers and addresses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from graphql import GraphQLError

from sandbox.shopify import refunds
from sandbox.shopify.connections import SortKey, first_n, paginate
from sandbox.shopify.fields import Info, bag, context, field, image, money_v2
from sandbox.shopify.ids import number_of
from sandbox.shopify.state import (
    ZERO,
    Address,
    Fulfillment,
    FulfillmentEvent,
    FulfillmentLineItem,
    LineItem,
    Order,
    Product,
    Refund,
    RefundLineItem,
    Transaction,
    Variant,
)

ORDER_MONEY = {
    "currentSubtotalPriceSet": "current_subtotal",
    "currentTotalPriceSet": "current_total",
    "netPaymentSet": "net_payment",
    "originalTotalPriceSet": "total_price",
    "subtotalPriceSet": "subtotal",
    "totalDiscountsSet": "total_discounts",
    "totalPriceSet": "total_price",
    "totalReceivedSet": "total_received",
    "totalRefundedSet": "total_refunded",
    "totalRefundedShippingSet": "refunded_shipping",
    "totalShippingPriceSet": "shipping_price",
}
LINE_MONEY = {
    "discountedTotalSet": "discounted_total",
    "discountedUnitPriceAfterAllDiscountsSet": "discounted_unit_price",
    "discountedUnitPriceSet": "discounted_unit_price",
    "originalTotalSet": "original_total",
    "originalUnitPriceSet": "unit_price",
    "totalDiscountSet": "discount",
}


def by_id(node: Any) -> SortKey:
    return (node.id,)


# --- orders ------------------------------------------------------------------------------------


@field("Order", *ORDER_MONEY)
def order_money(order: Order, info: Info) -> dict[str, Any]:
    return bag(getattr(order, ORDER_MONEY[info.field_name]), order.currency)


@field("Order", "totalTaxSet")
def order_tax(order: Order, info: Info) -> dict[str, Any]:
    return bag(ZERO, order.currency)


@field("Order", "totalOutstandingSet")
def order_outstanding(order: Order, info: Info) -> dict[str, Any]:
    return bag(max(ZERO, order.total_price - order.total_received), order.currency)


@field("Order", "currencyCode", "presentmentCurrencyCode")
def order_currency(order: Order, info: Info) -> str:
    return order.currency


@field("Order", "displayFinancialStatus")
def order_financial_status(order: Order, info: Info) -> str:
    return order.financial_status


@field("Order", "closed")
def order_closed(order: Order, info: Info) -> bool:
    return order.closed_at is not None


@field("Order", "confirmed")
def order_confirmed(order: Order, info: Info) -> bool:
    return True


@field("Order", "fullyPaid")
def order_fully_paid(order: Order, info: Info) -> bool:
    return order.total_received >= order.total_price


@field("Order", "unpaid")
def order_unpaid(order: Order, info: Info) -> bool:
    return order.total_received == ZERO


@field("Order", "refundable")
def order_refundable(order: Order, info: Info) -> bool:
    return order.net_payment > ZERO


@field("Order", "requiresShipping")
def order_requires_shipping(order: Order, info: Info) -> bool:
    return any(li.requires_shipping and li.current_quantity for li in order.line_items)


@field("Order", "subtotalLineItemsQuantity")
def order_quantity(order: Order, info: Info) -> int:
    return sum(li.quantity for li in order.line_items)


@field("Order", "currentSubtotalLineItemsQuantity")
def order_current_quantity(order: Order, info: Info) -> int:
    return sum(li.current_quantity for li in order.line_items)


@field("Order", "paymentGatewayNames")
def order_gateways(order: Order, info: Info) -> list[str]:
    return list(dict.fromkeys(t.gateway for t in order.transactions))


@field("Order", "processedAt", "updatedAt")
def order_timestamp(order: Order, info: Info) -> Any:
    return getattr(order, "processed_at" if info.field_name == "processedAt" else "updated_at") or (
        order.created_at
    )


@field("Order", "shippingAddress", "billingAddress")
def order_address(order: Order, info: Info) -> dict[str, Any] | None:
    billing = info.field_name == "billingAddress"
    address = order.billing_address if billing else order.shipping_address
    suffix = 2 if billing else 1
    return mailing_address(address, f"gid://shopify/MailingAddress/{order.id}{suffix}")


def mailing_address(address: Address | None, address_id: str) -> dict[str, Any] | None:
    if address is None:
        return None
    return {
        "id": f"{address_id}?model_name=Address",
        "address1": address.address1,
        "address2": address.address2,
        "city": address.city,
        "company": address.company,
        "country": address.country,
        "countryCodeV2": address.country_code,
        "firstName": address.first_name,
        "lastName": address.last_name,
        "name": address.name or None,
        "phone": address.phone,
        "province": address.province,
        "provinceCode": address.province_code,
        "zip": address.zip,
    }


@field("Order", "lineItems")
def order_line_items(order: Order, info: Info, **page: Any) -> dict[str, Any]:
    return paginate(order.line_items, by_id, **page).as_connection()


@field("Order", "fulfillments")
def order_fulfillments(order: Order, info: Info, first: int | None = None) -> list[Fulfillment]:
    return first_n(order.fulfillments, first)


@field("Order", "fulfillmentsCount")
def order_fulfillments_count(order: Order, info: Info) -> dict[str, Any]:
    return {"count": len(order.fulfillments), "precision": "EXACT"}


@field("Order", "transactions")
def order_transactions(order: Order, info: Info, first: int | None = None) -> list[Transaction]:
    every = [*order.transactions, *(t for r in order.refunds for t in r.transactions)]
    return first_n(sorted(every, key=lambda t: t.id), first)


@field("Order", "refunds")
def order_refunds(order: Order, info: Info, first: int | None = None) -> list[Refund]:
    return first_n(order.refunds, first)


@field("Order", "suggestedRefund")
def order_suggested_refund(
    order: Order,
    info: Info,
    refundLineItems: list[dict[str, Any]] | None = None,
    refundShipping: bool | None = None,
    shippingAmount: Decimal | None = None,
    suggestFullRefund: bool = False,
) -> dict[str, Any]:
    lines = [_suggested_line_request(order, line) for line in refundLineItems or []]
    try:
        suggestion = refunds.suggest(
            order,
            lines,
            shipping=shippingAmount,
            refund_shipping=bool(refundShipping),
            full=suggestFullRefund,
        )
    except LookupError as error:
        raise GraphQLError(str(error)) from error
    return suggestion_view(suggestion, order.currency)


def _suggested_line_request(order: Order, line: dict[str, Any]) -> tuple[int, int, str]:
    number = number_of(line["lineItemId"], "LineItem")
    if number is None:
        raise GraphQLError(f"Invalid global id '{line['lineItemId']}'")
    return number, line["quantity"], line.get("restockType") or "NO_RESTOCK"


def suggestion_view(suggestion: refunds.Suggestion, currency: str) -> dict[str, Any]:
    return {
        "amountSet": bag(suggestion.amount, currency),
        "subtotalSet": bag(suggestion.subtotal, currency),
        "discountedSubtotalSet": bag(suggestion.subtotal, currency),
        "totalCartDiscountAmountSet": bag(ZERO, currency),
        "totalTaxSet": bag(suggestion.total_tax, currency),
        "maximumRefundableSet": bag(suggestion.maximum_refundable, currency),
        "refundLineItems": [_suggested_line_view(line, currency) for line in suggestion.lines],
        "suggestedTransactions": [
            {
                "amountSet": bag(t.amount, currency),
                "gateway": t.gateway,
                "kind": "SUGGESTED_REFUND",
                "maximumRefundableSet": bag(t.maximum_refundable, currency),
                "parentTransaction": t.parent,
            }
            for t in suggestion.transactions
        ],
        "shipping": {
            "amountSet": bag(suggestion.shipping, currency),
            "maximumRefundableSet": bag(suggestion.shipping_maximum, currency),
            "taxSet": bag(ZERO, currency),
        },
    }


def _suggested_line_view(line: refunds.SuggestedLine, currency: str) -> dict[str, Any]:
    return {
        "id": None,
        "lineItem": line.line_item,
        "location": None,
        "priceSet": bag(line.price, currency),
        "quantity": line.quantity,
        "restockType": line.restock_type,
        "restocked": line.restock_type in refunds.RESTOCKING,
        "subtotalSet": bag(line.subtotal, currency),
        "totalTaxSet": bag(ZERO, currency),
    }


# --- line items --------------------------------------------------------------------------------


@field("LineItem", *LINE_MONEY)
def line_money(line: LineItem, info: Info) -> dict[str, Any]:
    currency = context(info).order_of_line(line.id).currency
    return bag(getattr(line, LINE_MONEY[info.field_name]), currency)


@field("Customer", "defaultEmailAddress")
def customer_email_address(customer: Any, info: Info) -> dict[str, str] | None:
    return None if customer.email is None else {"emailAddress": customer.email}


@field("LineItem", "image")
def line_image(line: LineItem, info: Info) -> dict[str, Any] | None:
    return image(line.image_url, line.title)


@field("LineItem", "nonFulfillableQuantity")
def line_non_fulfillable(line: LineItem, info: Info) -> int:
    return line.refunded_quantity


@field("LineItem", "unfulfilledQuantity")
def line_unfulfilled(line: LineItem, info: Info) -> int:
    return line.fulfillable_quantity


@field("LineItem", "restockable")
def line_restockable(line: LineItem, info: Info) -> bool:
    return line.refundable_quantity > 0 and line.variant_id is not None


@field("LineItem", "product")
def line_product(line: LineItem, info: Info) -> Product | None:
    products = context(info).shop.products
    return products.get(line.product_id) if line.product_id is not None else None


@field("LineItem", "variant")
def line_variant(line: LineItem, info: Info) -> Variant | None:
    variants = context(info).shop.variants
    return variants.get(line.variant_id) if line.variant_id is not None else None


@field("LineItem", "vendor")
def line_vendor(line: LineItem, info: Info) -> str | None:
    product = line_product(line, info)
    return product.vendor if product else None


# --- fulfillments ------------------------------------------------------------------------------


@field("Fulfillment", "fulfillmentLineItems")
def fulfillment_line_items(fulfillment: Fulfillment, info: Info, **page: Any) -> dict[str, Any]:
    return paginate(fulfillment.line_items, by_id, **page).as_connection()


@field("Fulfillment", "events")
def fulfillment_events(
    fulfillment: Fulfillment, info: Info, sortKey: str = "HAPPENED_AT", **page: Any
) -> dict[str, Any]:
    key = by_id if sortKey == "ID" else _by_happened_at
    return paginate(fulfillment.events, key, **page).as_connection()


def _by_happened_at(event: FulfillmentEvent) -> SortKey:
    return (event.happened_at.isoformat(), event.id)


@field("Fulfillment", "trackingInfo")
def tracking_info(
    fulfillment: Fulfillment, info: Info, first: int | None = None
) -> list[dict[str, Any]]:
    return [vars(t) for t in first_n(fulfillment.tracking, first)]


@field("Fulfillment", "totalQuantity")
def fulfillment_quantity(fulfillment: Fulfillment, info: Info) -> int:
    return sum(fli.quantity for fli in fulfillment.line_items)


@field("Fulfillment", "updatedAt")
def fulfillment_updated(fulfillment: Fulfillment, info: Info) -> Any:
    return fulfillment.delivered_at or fulfillment.created_at


@field("FulfillmentLineItem", "lineItem")
def fulfilled_line(fli: FulfillmentLineItem, info: Info) -> LineItem:
    return context(info).line_item(fli.line_item_id)


# --- transactions ------------------------------------------------------------------------------


@field("OrderTransaction", "amountSet")
def transaction_amount(transaction: Transaction, info: Info) -> dict[str, Any]:
    order = context(info).order_of_transaction(transaction.id)
    return bag(transaction.amount, order.currency)


@field("OrderTransaction", "order")
def transaction_order(transaction: Transaction, info: Info) -> Order:
    return context(info).order_of_transaction(transaction.id)


@field("OrderTransaction", "parentTransaction")
def parent_transaction(transaction: Transaction, info: Info) -> Transaction | None:
    if transaction.parent_id is None:
        return None
    return context(info).transaction(transaction.parent_id)


@field("OrderTransaction", "maximumRefundableV2")
def transaction_refundable(transaction: Transaction, info: Info) -> dict[str, str] | None:
    if not transaction.is_payment:
        return None
    order = context(info).order_of_transaction(transaction.id)
    return money_v2(refunds.refundable_from(order, transaction), order.currency)


# --- refunds -----------------------------------------------------------------------------------


@field("Refund", "order")
def refund_order(refund: Refund, info: Info) -> Order:
    return context(info).shop.orders[refund.order_id]


@field("Refund", "totalRefundedSet")
def refund_total(refund: Refund, info: Info) -> dict[str, Any]:
    return bag(refund.total_refunded, refund_order(refund, info).currency)


@field("Refund", "updatedAt")
def refund_updated(refund: Refund, info: Info) -> Any:
    return refund.created_at


@field("Refund", "refundLineItems")
def refund_line_items(refund: Refund, info: Info, **page: Any) -> dict[str, Any]:
    currency = refund_order(refund, info).currency
    return paginate(refund.line_items, by_id, **page).as_connection(
        lambda rli: _refund_line_view(rli, info, currency)
    )


def _refund_line_view(rli: RefundLineItem, info: Info, currency: str) -> dict[str, Any]:
    return {
        "id": rli.gid,
        "lineItem": context(info).line_item(rli.line_item_id),
        "location": None,
        "priceSet": bag(rli.price, currency),
        "quantity": rli.quantity,
        "restockType": rli.restock_type,
        "restocked": rli.restock_type in refunds.RESTOCKING,
        "subtotalSet": bag(rli.subtotal, currency),
        "totalTaxSet": bag(ZERO, currency),
    }


@field("Refund", "transactions")
def refund_transactions(refund: Refund, info: Info, **page: Any) -> dict[str, Any]:
    return paginate(refund.transactions, by_id, **page).as_connection()
