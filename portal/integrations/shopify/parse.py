"""Shopify's JSON, as selected by ``documents/``, turned into the portal's dataclasses.

Every function here trusts the shape its document asked for; ``guarded`` turns any surprise into
``ShopifyMalformed``, a ``ShopifyResponseError``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from portal.errors import ShopifyMalformed
from portal.integrations.shopify.models import (
    Address,
    Customer,
    Fulfillment,
    FulfillmentEvent,
    FulfillmentLine,
    Image,
    InventoryLevel,
    LineItem,
    Money,
    Order,
    ProductMatch,
    ProductVariantRef,
    Refund,
    RefundLineItem,
    RefundSummary,
    ShopInfo,
    SuggestedRefund,
    SuggestedRefundLine,
    SuggestedTransaction,
    TrackingInfo,
    Transaction,
    Variant,
)

T = TypeVar("T")


def guarded(parse: Callable[[Any], T], value: Any) -> T:
    """``parse(value)``, with any shape error raised as ``ShopifyMalformed``."""
    try:
        return parse(value)
    except ShopifyMalformed:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation) as exc:
        raise ShopifyMalformed(f"unexpected answer shape: {exc!r}") from exc


# --- scalars ---------------------------------------------------------------------------------


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise ShopifyMalformed(f"expected a string, got {type(value).__name__}")
    return value


def optional_text(value: Any) -> str | None:
    return None if value is None else text(value)


def integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ShopifyMalformed(f"expected an integer, got {value!r}")
    return int(value)


def optional_integer(value: Any) -> int | None:
    return None if value is None else integer(value)


def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ShopifyMalformed(f"expected a boolean, got {value!r}")
    return value


def decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ShopifyMalformed(f"expected a decimal string, got {value!r}")
    parsed = Decimal(str(value))
    if not parsed.is_finite():
        raise ShopifyMalformed(f"expected a finite amount, got {value!r}")
    return parsed


def timestamp(value: Any) -> datetime:
    parsed = datetime.fromisoformat(text(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def optional_timestamp(value: Any) -> datetime | None:
    return None if value is None else timestamp(value)


def money(bag: Any) -> Money:
    shop_money = bag["shopMoney"]
    return Money(decimal(shop_money["amount"]), text(shop_money["currencyCode"]))


def optional_money(bag: Any) -> Money | None:
    return None if bag is None else money(bag)


def node_id(value: Any) -> str | None:
    return None if value is None else text(value["id"])


def objects(value: Any) -> list[Any]:
    """A plain list, or a connection's ``nodes``."""
    if isinstance(value, dict):
        value = value["nodes"]
    if not isinstance(value, list):
        raise ShopifyMalformed(f"expected a list, got {type(value).__name__}")
    return value


# --- orders ----------------------------------------------------------------------------------


def order(d: Any) -> Order:
    items, _, _ = line_item_page(d["lineItems"])
    return Order(
        id=text(d["id"]),
        legacy_id=integer(d["legacyResourceId"]),
        name=text(d["name"]),
        email=optional_text(d.get("email")),
        created_at=timestamp(d["createdAt"]),
        updated_at=optional_timestamp(d.get("updatedAt")),
        processed_at=optional_timestamp(d.get("processedAt")),
        cancelled_at=optional_timestamp(d.get("cancelledAt")),
        cancel_reason=optional_text(d.get("cancelReason")),
        closed=flag(d["closed"]),
        test=flag(d["test"]),
        financial_status=optional_text(d.get("displayFinancialStatus")),
        fulfillment_status=text(d["displayFulfillmentStatus"]),
        currency=text(d["currencyCode"]),
        source_identifier=optional_text(d.get("sourceIdentifier")),
        note=optional_text(d.get("note")),
        tags=tuple(text(t) for t in objects(d["tags"])),
        customer=customer(d.get("customer")),
        shipping_address=address(d.get("shippingAddress")),
        subtotal=optional_money(d.get("subtotalPriceSet")),
        total=money(d["totalPriceSet"]),
        shipping=money(d["totalShippingPriceSet"]),
        total_refunded=money(d["totalRefundedSet"]),
        total_discounts=optional_money(d.get("totalDiscountsSet")),
        current_total=money(d["currentTotalPriceSet"]),
        line_items=tuple(items),
        fulfillments=tuple(fulfillment(f) for f in objects(d["fulfillments"])),
        refunds=tuple(refund_summary(r) for r in objects(d["refunds"])),
    )


def line_item_page(connection: Any) -> tuple[list[LineItem], bool, str | None]:
    page_info = connection["pageInfo"]
    has_next = flag(page_info["hasNextPage"])
    cursor = optional_text(page_info.get("endCursor"))
    if has_next and cursor is None:
        raise ShopifyMalformed("a next page without a cursor")
    return [line_item(n) for n in objects(connection)], has_next, cursor


def line_item(d: Any) -> LineItem:
    return LineItem(
        id=text(d["id"]),
        name=text(d["name"]),
        title=text(d["title"]),
        variant_title=optional_text(d.get("variantTitle")),
        sku=optional_text(d.get("sku")),
        quantity=integer(d["quantity"]),
        current_quantity=integer(d["currentQuantity"]),
        refundable_quantity=integer(d["refundableQuantity"]),
        requires_shipping=flag(d["requiresShipping"]),
        unit_price=money(d["discountedUnitPriceAfterAllDiscountsSet"]),
        image=image(d.get("image")),
        variant_id=node_id(d.get("variant")),
        product_id=node_id(d.get("product")),
    )


def image(d: Any) -> Image | None:
    if d is None:
        return None
    return Image(url=text(d["url"]), alt_text=optional_text(d.get("altText")))


def customer(d: Any) -> Customer | None:
    if d is None:
        return None
    return Customer(
        id=text(d["id"]),
        first_name=optional_text(d.get("firstName")),
        last_name=optional_text(d.get("lastName")),
        display_name=optional_text(d.get("displayName")),
        email=customer_email(d),
    )


def customer_email(d: Any) -> str | None:
    """``defaultEmailAddress.emailAddress`` (2025-04 on), or the deprecated ``email``."""
    default = d.get("defaultEmailAddress")
    if isinstance(default, dict):
        return optional_text(default.get("emailAddress"))
    return optional_text(d.get("email"))


def address(d: Any) -> Address | None:
    if d is None:
        return None
    return Address(
        first_name=optional_text(d.get("firstName")),
        last_name=optional_text(d.get("lastName")),
        name=optional_text(d.get("name")),
        company=optional_text(d.get("company")),
        address1=optional_text(d.get("address1")),
        address2=optional_text(d.get("address2")),
        city=optional_text(d.get("city")),
        province=optional_text(d.get("province")),
        province_code=optional_text(d.get("provinceCode")),
        zip=optional_text(d.get("zip")),
        country=optional_text(d.get("country")),
        country_code=optional_text(d.get("countryCodeV2")),
        phone=optional_text(d.get("phone")),
    )


def fulfillment(d: Any) -> Fulfillment:
    events = [fulfillment_event(e) for e in objects(d["events"])] if "events" in d else []
    lines = d.get("fulfillmentLineItems")
    return Fulfillment(
        id=text(d["id"]),
        name=text(d["name"]),
        status=text(d["status"]),
        display_status=optional_text(d.get("displayStatus")),
        created_at=timestamp(d["createdAt"]),
        delivered_at=optional_timestamp(d.get("deliveredAt")),
        tracking=tuple(
            TrackingInfo(
                company=optional_text(t.get("company")),
                number=optional_text(t.get("number")),
                url=optional_text(t.get("url")),
            )
            for t in objects(d["trackingInfo"])
        ),
        in_transit_at=optional_timestamp(d.get("inTransitAt")),
        estimated_delivery_at=optional_timestamp(d.get("estimatedDeliveryAt")),
        latest_event=max(events, key=lambda e: e.happened_at, default=None),
        line_items=tuple(fulfillment_line_page(lines)[0]) if lines is not None else (),
    )


def fulfillment_event(d: Any) -> FulfillmentEvent:
    return FulfillmentEvent(
        status=text(d["status"]),
        happened_at=timestamp(d["happenedAt"]),
        estimated_delivery_at=optional_timestamp(d.get("estimatedDeliveryAt")),
    )


def fulfillment_line_page(connection: Any) -> tuple[list[FulfillmentLine], str | None]:
    """One page of a parcel's lines and the cursor of the next (None: it was the last)."""
    lines = [
        FulfillmentLine(line_item_id=text(n["lineItem"]["id"]), quantity=integer(n["quantity"]))
        for n in objects(connection)
    ]
    page_info = connection["pageInfo"]
    if not flag(page_info["hasNextPage"]):
        return lines, None
    return lines, text(page_info["endCursor"])


def transaction(d: Any) -> Transaction:
    return Transaction(
        id=text(d["id"]),
        kind=text(d["kind"]),
        status=text(d["status"]),
        gateway=optional_text(d.get("gateway")),
        amount=money(d["amountSet"]),
        parent_id=node_id(d.get("parentTransaction")),
        created_at=optional_timestamp(d.get("createdAt")),
        processed_at=optional_timestamp(d.get("processedAt")),
        test=bool(d.get("test", False)),
    )


def refund_summary(d: Any) -> RefundSummary:
    return RefundSummary(
        id=text(d["id"]),
        created_at=optional_timestamp(d.get("createdAt")),
        note=optional_text(d.get("note")),
        total=money(d["totalRefundedSet"]),
    )


def refund(d: Any) -> Refund:
    return Refund(
        id=text(d["id"]),
        created_at=optional_timestamp(d.get("createdAt")),
        note=optional_text(d.get("note")),
        total=money(d["totalRefundedSet"]),
        line_items=tuple(
            RefundLineItem(
                id=optional_text(n.get("id")),
                line_item_id=text(n["lineItem"]["id"]),
                quantity=integer(n["quantity"]),
                restock_type=text(n["restockType"]),
                subtotal=money(n["subtotalSet"]),
            )
            for n in (objects(d["refundLineItems"]) if "refundLineItems" in d else [])
        ),
        transactions=tuple(transaction(t) for t in objects(d["transactions"])),
    )


def suggested_refund(d: Any) -> SuggestedRefund:
    return SuggestedRefund(
        amount=money(d["amountSet"]),
        subtotal=money(d["subtotalSet"]),
        tax=money(d["totalTaxSet"]),
        max_refundable=money(d["maximumRefundableSet"]),
        shipping=money(d["shipping"]["amountSet"]),
        line_items=tuple(
            SuggestedRefundLine(
                line_item_id=text(n["lineItem"]["id"]),
                quantity=integer(n["quantity"]),
                restock_type=text(n["restockType"]),
                price=money(n["priceSet"]),
                subtotal=money(n["subtotalSet"]),
            )
            for n in (objects(d["refundLineItems"]) if "refundLineItems" in d else [])
        ),
        transactions=suggested_transactions(d),
    )


def suggested_transactions(d: Any) -> tuple[SuggestedTransaction, ...]:
    """A suggested refund's ``suggestedTransactions``: the payments the money goes back to."""
    return tuple(
        SuggestedTransaction(
            parent_id=node_id(t.get("parentTransaction")),
            gateway=optional_text(t.get("gateway")),
            kind=text(t["kind"]),
            amount=money(t["amountSet"]),
            max_refundable=optional_money(t.get("maximumRefundableSet")),
        )
        for t in objects(d["suggestedTransactions"])
    )


# --- catalogue and shop ----------------------------------------------------------------------


def variant(d: Any) -> Variant:
    item = d["inventoryItem"]
    product = d["product"]
    return Variant(
        id=text(d["id"]),
        title=text(d["title"]),
        display_name=text(d["displayName"]),
        sku=optional_text(d.get("sku")),
        price=decimal(d["price"]),
        available_for_sale=flag(d["availableForSale"]),
        inventory_quantity=optional_integer(d.get("inventoryQuantity")),
        inventory_policy=text(d["inventoryPolicy"]),
        tracked=flag(item["tracked"]),
        product_id=text(product["id"]),
        product_title=text(product["title"]),
        product_handle=optional_text(product.get("handle")),
        vendor=optional_text(product.get("vendor")),
        image=image(d.get("image")),
        selected_options=tuple(
            (text(o["name"]), text(o["value"])) for o in objects(d["selectedOptions"])
        ),
        inventory_item_id=text(item["id"]),
        levels=tuple(inventory_level(n) for n in objects(item["inventoryLevels"])),
    )


def inventory_level(d: Any) -> InventoryLevel:
    available = sum(
        integer(q["quantity"]) for q in objects(d["quantities"]) if q.get("name") == "available"
    )
    return InventoryLevel(
        location_id=text(d["location"]["id"]),
        location_name=text(d["location"]["name"]),
        available=available,
    )


def shop(d: Any) -> ShopInfo:
    return ShopInfo(
        name=text(d["name"]),
        domain=text(d["myshopifyDomain"]),
        currency=text(d["currencyCode"]),
        iana_timezone=text(d["ianaTimezone"]),
        contact_email=text(d["contactEmail"]),
    )


def variant_ref(d: Any) -> ProductVariantRef:
    return ProductVariantRef(id=text(d["id"]), title=text(d["title"]))


def product_match(d: Any) -> ProductMatch:
    return ProductMatch(
        id=text(d["id"]),
        title=text(d["title"]),
        status=text(d["status"]),
        variants=tuple(variant_ref(v) for v in objects(d["variants"])),
    )
