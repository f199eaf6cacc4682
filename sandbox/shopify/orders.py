"""``orderCreate`` as Shopify applies it: line items priced from variants or given prices,
inventory claimed by the chosen behaviour, transactions recorded, a receipt mailed on request."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.shopify.ids import number_of
from sandbox.shopify.refunds import UserError
from sandbox.shopify.state import (
    ZERO,
    Address,
    Customer,
    LineItem,
    Order,
    Shop,
    Transaction,
    Variant,
    money,
    money_str,
    order_payload,
)

if TYPE_CHECKING:
    from sandbox.shopify.state import ShopifyWorld

Input = Mapping[str, Any]
COUNTRY_NAMES = {
    "US": "United States",
    "CA": "Canada",
    "GB": "United Kingdom",
    "AU": "Australia",
    "DE": "Germany",
    "FR": "France",
    "NL": "Netherlands",
    "IE": "Ireland",
    "NZ": "New Zealand",
}


def create_order(
    world: ShopifyWorld, shop: Shop, order_input: Input, options: Input | None
) -> Order | list[UserError]:
    """Check and create an order; call inside ``world.changing()``."""
    options = options or {}
    behaviour = options.get("inventoryBehaviour") or "BYPASS"
    lines = order_input.get("lineItems") or []
    errors = _check_lines(shop, lines)
    if not errors and behaviour == "DECREMENT_OBEYING_POLICY":
        errors = _check_stock(shop, lines)
    if errors:
        return errors
    order = _new_order(world, shop, order_input)
    if behaviour != "BYPASS":
        for line in order.line_items:
            world.take_stock(shop, line.variant_id, line.quantity)
    shop.orders[order.id] = order
    if options.get("sendReceipt"):
        _send_receipt(world, shop, order)
    world.publish(shop.domain, "orders/create", order_payload(order))
    return order


# --- checks ------------------------------------------------------------------------------------


def _check_lines(shop: Shop, lines: Sequence[Input]) -> list[UserError]:
    if not lines:
        return [
            UserError(("order", "lineItems"), "Line items must have at least one item.", "INVALID")
        ]
    errors = []
    for index, line in enumerate(lines):
        where = ("order", "lineItems", str(index))
        error = _check_line(shop, line, where)
        if error is not None:
            errors.append(error)
    return errors


def _check_line(shop: Shop, line: Input, where: tuple[str, ...]) -> UserError | None:
    if line["quantity"] <= 0:
        return UserError((*where, "quantity"), "Quantity must be greater than 0.", "INVALID")
    if line.get("variantId") is not None:
        if _variant(shop, line) is None:
            return UserError((*where, "variantId"), "Variant does not exist.", "INVALID")
        return None
    if not line.get("title") or line.get("priceSet") is None:
        return UserError(
            where, "A line item without a variant needs a title and a priceSet.", "INVALID"
        )
    return None


def _check_stock(shop: Shop, lines: Sequence[Input]) -> list[UserError]:
    wanted: Counter[int] = Counter()
    for line in lines:
        variant = _variant(shop, line)
        if variant is not None:
            wanted[variant.id] += line["quantity"]
    errors = []
    for variant_id, quantity in wanted.items():
        variant = shop.variants[variant_id]
        if _short(variant, quantity):
            errors.append(
                UserError(
                    ("options", "inventoryBehaviour"),
                    f"Unable to claim inventory for {_display_name(shop, variant)}: {quantity} "
                    f"requested, {max(variant.inventory_quantity, 0)} available.",
                    "INVENTORY_CLAIM_FAILED",
                )
            )
    return errors


def _short(variant: Variant, quantity: int) -> bool:
    if not variant.tracked or variant.inventory_policy == "CONTINUE":
        return False
    return quantity > variant.inventory_quantity


def _variant(shop: Shop, line: Input) -> Variant | None:
    raw = line.get("variantId")
    number = number_of(raw, "ProductVariant") if raw else None
    return shop.variants.get(number) if number is not None else None


def _display_name(shop: Shop, variant: Variant) -> str:
    product = shop.products[variant.product_id]
    if variant.title == "Default Title":
        return product.title
    return f"{product.title} - {variant.title}"


# --- building ----------------------------------------------------------------------------------


def _new_order(world: ShopifyWorld, shop: Shop, data: Input) -> Order:
    at = data.get("processedAt") or world.now()
    order = Order(
        id=world.new_id("Order"),
        number=world.claim_order_number(shop),
        email=data.get("email"),
        created_at=world.now(),
        updated_at=world.now(),
        processed_at=at,
        currency=data.get("currency") or shop.currency,
        shipping_address=_address(data.get("shippingAddress")),
        billing_address=_address(data.get("billingAddress") or data.get("shippingAddress")),
        shipping_price=sum((_amount(s["priceSet"]) for s in data.get("shippingLines") or []), ZERO),
        tags=_tags(data.get("tags")),
        note=data.get("note"),
        source_identifier=data.get("sourceIdentifier"),
        source_name=data.get("sourceName") or "api",
        test=bool(data.get("test")),
    )
    order.customer = _customer(world, shop, data, order)
    order.line_items = [_line_item(world, shop, line) for line in data["lineItems"]]
    order.transactions = [_transaction(world, order, t) for t in data.get("transactions") or []]
    order.financial_status = data.get("financialStatus") or _derived_status(order)
    if order.financial_status == "PAID" and not any(t.is_payment for t in order.transactions):
        order.transactions.append(_manual_payment(world, order))
    return order


def _line_item(world: ShopifyWorld, shop: Shop, data: Input) -> LineItem:
    variant = _variant(shop, data)
    product = shop.products[variant.product_id] if variant else None
    price = _amount(data["priceSet"]) if data.get("priceSet") else None
    return LineItem(
        id=world.new_id("LineItem"),
        title=data.get("title") or (product.title if product else "Custom item"),
        quantity=data["quantity"],
        unit_price=price if price is not None else variant.price if variant else ZERO,
        variant_id=variant.id if variant else None,
        product_id=product.id if product else None,
        variant_title=data.get("variantTitle") or (variant.title if variant else None),
        sku=data.get("sku") or (variant.sku if variant else None),
        requires_shipping=_requires_shipping(data, variant),
        image_url=variant.image_url if variant else None,
    )


def _requires_shipping(data: Input, variant: Variant | None) -> bool:
    if data.get("requiresShipping") is not None:
        return bool(data["requiresShipping"])
    return variant.requires_shipping if variant else True


def _transaction(world: ShopifyWorld, order: Order, data: Input) -> Transaction:
    at = data.get("processedAt") or order.processed_at or order.created_at
    return Transaction(
        id=world.new_id("OrderTransaction"),
        kind=data.get("kind") or "SALE",
        status=data.get("status") or "SUCCESS",
        gateway=data.get("gateway") or "manual",
        amount=_amount(data["amountSet"]),
        created_at=order.created_at,
        processed_at=at,
        test=bool(data.get("test")) or order.test,
    )


def _manual_payment(world: ShopifyWorld, order: Order) -> Transaction:
    return Transaction(
        id=world.new_id("OrderTransaction"),
        kind="SALE",
        status="SUCCESS",
        gateway="manual",
        amount=order.total_price,
        created_at=order.created_at,
        processed_at=order.processed_at,
        test=order.test,
    )


def _derived_status(order: Order) -> str:
    paid = sum((t.amount for t in order.transactions if t.is_payment), ZERO)
    if paid >= order.total_price and paid > ZERO:
        return "PAID"
    if paid > ZERO:
        return "PARTIALLY_PAID"
    authorized = any(
        t.kind == "AUTHORIZATION" and t.status == "SUCCESS" for t in order.transactions
    )
    return "AUTHORIZED" if authorized else "PENDING"


def _amount(bag: Input) -> Decimal:
    return money(bag["shopMoney"]["amount"])


def _tags(tags: Sequence[str] | None) -> list[str]:
    seen: dict[str, str] = {}
    for tag in tags or []:
        for part in tag.split(","):
            if part.strip():
                seen.setdefault(part.strip().casefold(), part.strip())
    return sorted(seen.values(), key=str.casefold)


def _address(data: Input | None) -> Address | None:
    if not data:
        return None
    code = data.get("countryCode")
    return Address(
        first_name=data.get("firstName"),
        last_name=data.get("lastName"),
        address1=data.get("address1"),
        address2=data.get("address2"),
        city=data.get("city"),
        province=data.get("provinceCode"),
        province_code=data.get("provinceCode"),
        zip=data.get("zip"),
        country=COUNTRY_NAMES.get(code, code) if code else None,
        country_code=code,
        company=data.get("company"),
        phone=data.get("phone"),
    )


def _customer(world: ShopifyWorld, shop: Shop, data: Input, order: Order) -> Customer | None:
    chosen = data.get("customer") or {}
    wanted = chosen.get("toAssociate") or chosen.get("toUpsert") or {}
    by_id = _customer_by_id(shop, wanted.get("id"))
    if by_id is not None:
        return by_id
    email = wanted.get("email") or order.email
    if not email:
        return None
    return _upsert_customer(world, shop, email, chosen.get("toUpsert") or {}, order)


def _customer_by_id(shop: Shop, raw: str | None) -> Customer | None:
    number = number_of(raw, "Customer") if raw else None
    return next((c for c in shop.customers.values() if c.id == number), None)


def _upsert_customer(
    world: ShopifyWorld, shop: Shop, email: str, fields: Input, order: Order
) -> Customer:
    address = order.shipping_address or Address()
    customer = shop.customers.get(email.casefold())
    if customer is None:
        customer = Customer(
            world.new_id("Customer"), address.first_name or "", address.last_name or "", email
        )
        shop.customers[email.casefold()] = customer
    customer.first_name = fields.get("firstName") or customer.first_name
    customer.last_name = fields.get("lastName") or customer.last_name
    customer.phone = fields.get("phone") or customer.phone
    return customer


def _send_receipt(world: ShopifyWorld, shop: Shop, order: Order) -> None:
    if not order.email:
        return
    lines = [
        f"{li.quantity} x {li.name}  {money_str(li.discounted_total)}" for li in order.line_items
    ]
    world.mailbox.record(
        sender=f"shopify:{shop.domain}",
        to=order.email,
        subject=f"Order {order.name} confirmed",
        text="\n".join(
            [
                f"Thank you for your purchase from {shop.name}.",
                f"Order {order.name}",
                *lines,
                f"Total: {money_str(order.total_price)} {order.currency}",
            ]
        ),
        kind="order_receipt",
        sent_at=world.now(),
        meta={
            "shop": shop.domain,
            "order_id": order.gid,
            "order_name": order.name,
            "total": money_str(order.total_price),
        },
    )
