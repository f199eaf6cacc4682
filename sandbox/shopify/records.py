"""The sandbox Shopify's records: plain dataclasses for the catalogue, customers, orders and
refunds, and the seeds the seeding API accepts. ``state.py`` re-exports all of them."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.shopify.ids import gid

MoneyInput = Decimal | str | int
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value: MoneyInput) -> Decimal:
    """A two-place Decimal from a string, int or Decimal; floats are refused."""
    if isinstance(value, float | bool):
        raise TypeError("money must be a str or Decimal, not float")
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def money_str(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


# --- catalogue -------------------------------------------------------------------------------


@dataclass
class Location:
    id: int
    name: str

    @property
    def gid(self) -> str:
        return gid("Location", self.id)


@dataclass
class Variant:
    id: int
    product_id: int
    inventory_item_id: int
    title: str
    sku: str
    price: Decimal
    inventory_policy: str = "DENY"  # DENY | CONTINUE
    tracked: bool = True
    levels: dict[int, int] = field(default_factory=dict)  # location id -> available
    selected_options: list[tuple[str, str]] = field(default_factory=list)
    image_url: str | None = None
    requires_shipping: bool = True
    created_at: datetime | None = None

    @property
    def gid(self) -> str:
        return gid("ProductVariant", self.id)

    @property
    def inventory_quantity(self) -> int:
        return sum(self.levels.values())

    @property
    def available_for_sale(self) -> bool:
        return (
            not self.tracked or self.inventory_policy == "CONTINUE" or (self.inventory_quantity > 0)
        )


@dataclass
class Product:
    id: int
    title: str
    handle: str
    vendor: str = ""
    product_type: str = ""
    image_url: str | None = None
    status: str = "ACTIVE"
    variants: list[Variant] = field(default_factory=list)
    created_at: datetime | None = None

    @property
    def gid(self) -> str:
        return gid("Product", self.id)


@dataclass(frozen=True)
class VariantSeed:
    """A variant to create with ``add_product``; ``inventory`` goes to the first location
    unless ``inventory_by_location`` (location name -> quantity) is given."""

    title: str = "Default Title"
    sku: str = ""
    price: MoneyInput = "0.00"
    inventory: int = 0
    inventory_policy: str = "DENY"
    tracked: bool = True
    options: tuple[tuple[str, str], ...] = ()
    inventory_by_location: Mapping[str, int] | None = None
    image_url: str | None = None
    requires_shipping: bool = True


# --- people and places -----------------------------------------------------------------------


@dataclass
class Customer:
    id: int
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None

    @property
    def gid(self) -> str:
        return gid("Customer", self.id)

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or (self.email or "")


@dataclass(frozen=True)
class CustomerSeed:
    first_name: str
    last_name: str
    email: str | None = None  # defaults to the order's email
    phone: str | None = None


@dataclass(frozen=True)
class Address:
    first_name: str | None = None
    last_name: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province: str | None = None
    province_code: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    company: str | None = None
    phone: str | None = None

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


# --- orders ----------------------------------------------------------------------------------


@dataclass
class LineItem:
    id: int
    title: str
    quantity: int
    unit_price: Decimal
    discount: Decimal = ZERO  # line-level discount, for the whole line
    variant_id: int | None = None
    product_id: int | None = None
    variant_title: str | None = None
    sku: str | None = None
    requires_shipping: bool = True
    image_url: str | None = None
    refunded_quantity: int = 0
    fulfilled_quantity: int = 0

    @property
    def gid(self) -> str:
        return gid("LineItem", self.id)

    @property
    def name(self) -> str:
        if self.variant_title and self.variant_title != "Default Title":
            return f"{self.title} - {self.variant_title}"
        return self.title

    @property
    def original_total(self) -> Decimal:
        return self.unit_price * self.quantity

    @property
    def discounted_total(self) -> Decimal:
        return self.original_total - self.discount

    @property
    def discounted_unit_price(self) -> Decimal:
        if self.quantity == 0:
            return self.unit_price
        return (self.discounted_total / self.quantity).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def refundable_quantity(self) -> int:
        return self.quantity - self.refunded_quantity

    @property
    def current_quantity(self) -> int:
        return self.quantity - self.refunded_quantity

    @property
    def fulfillable_quantity(self) -> int:
        return max(0, self.current_quantity - self.fulfilled_quantity)

    def refund_subtotal(self, quantity: int) -> Decimal:
        """What refunding ``quantity`` of this line returns (the discounted price)."""
        if quantity >= self.quantity:
            return self.discounted_total
        return (self.discounted_unit_price * quantity).quantize(CENT)


@dataclass
class TrackingInfo:
    company: str | None = None
    number: str | None = None
    url: str | None = None


@dataclass
class FulfillmentLineItem:
    id: int
    line_item_id: int
    quantity: int

    @property
    def gid(self) -> str:
        return gid("FulfillmentLineItem", self.id)


@dataclass
class FulfillmentEvent:
    """A carrier's update on a parcel (``FulfillmentEventStatus``)."""

    id: int
    status: str
    happened_at: datetime
    created_at: datetime
    message: str | None = None
    city: str | None = None
    province: str | None = None
    country: str | None = None
    zip: str | None = None
    estimated_delivery_at: datetime | None = None

    @property
    def gid(self) -> str:
        return gid("FulfillmentEvent", self.id)


@dataclass
class Fulfillment:
    """A parcel. Its display status, transit and delivery times follow its events, as on
    Shopify: a fulfillment nobody has tracked yet shows FULFILLED."""

    id: int
    name: str
    created_at: datetime
    status: str = "SUCCESS"  # FulfillmentStatus
    display_status: str = "FULFILLED"  # FulfillmentDisplayStatus
    delivered_at: datetime | None = None
    in_transit_at: datetime | None = None
    estimated_delivery_at: datetime | None = None
    tracking: list[TrackingInfo] = field(default_factory=list)
    line_items: list[FulfillmentLineItem] = field(default_factory=list)
    events: list[FulfillmentEvent] = field(default_factory=list)

    @property
    def gid(self) -> str:
        return gid("Fulfillment", self.id)


@dataclass
class Transaction:
    id: int
    kind: str  # SALE | CAPTURE | AUTHORIZATION | REFUND | VOID ...
    status: str  # SUCCESS | PENDING | FAILURE ...
    gateway: str
    amount: Decimal
    created_at: datetime
    processed_at: datetime | None = None
    test: bool = False
    parent_id: int | None = None

    @property
    def gid(self) -> str:
        return gid("OrderTransaction", self.id)

    @property
    def is_payment(self) -> bool:
        return self.kind in ("SALE", "CAPTURE") and self.status == "SUCCESS"


@dataclass(frozen=True)
class TransactionSeed:
    kind: str = "SALE"
    status: str = "SUCCESS"
    gateway: str = "shopify_payments"
    amount: MoneyInput | None = None  # defaults to the order total
    created_at: datetime | None = None
    test: bool = False


@dataclass
class RefundLineItem:
    id: int
    line_item_id: int
    quantity: int
    restock_type: str
    price: Decimal  # unit price refunded
    subtotal: Decimal

    @property
    def gid(self) -> str:
        return gid("RefundLineItem", self.id)


@dataclass
class Refund:
    id: int
    order_id: int
    created_at: datetime
    note: str | None = None
    line_items: list[RefundLineItem] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    shipping: Decimal = ZERO

    @property
    def gid(self) -> str:
        return gid("Refund", self.id)

    @property
    def total_refunded(self) -> Decimal:
        return sum((t.amount for t in self.transactions if t.status == "SUCCESS"), ZERO)


@dataclass
class Order:
    id: int
    number: int
    email: str | None
    created_at: datetime
    currency: str
    line_items: list[LineItem] = field(default_factory=list)
    financial_status: str = "PAID"  # OrderDisplayFinancialStatus
    customer: Customer | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    shipping_price: Decimal = ZERO
    tags: list[str] = field(default_factory=list)
    note: str | None = None
    source_identifier: str | None = None
    source_name: str = "web"
    updated_at: datetime | None = None
    processed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    closed_at: datetime | None = None
    test: bool = False
    fulfillments: list[Fulfillment] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)

    @property
    def gid(self) -> str:
        return gid("Order", self.id)

    @property
    def name(self) -> str:
        return f"#{self.number}"

    @property
    def subtotal(self) -> Decimal:
        return sum((li.discounted_total for li in self.line_items), ZERO)

    @property
    def total_discounts(self) -> Decimal:
        return sum((li.discount for li in self.line_items), ZERO)

    @property
    def total_price(self) -> Decimal:
        return self.subtotal + self.shipping_price

    @property
    def total_received(self) -> Decimal:
        return sum((t.amount for t in self.transactions if t.is_payment), ZERO)

    @property
    def total_refunded(self) -> Decimal:
        return sum((r.total_refunded for r in self.refunds), ZERO)

    @property
    def refunded_shipping(self) -> Decimal:
        return sum((r.shipping for r in self.refunds), ZERO)

    @property
    def current_subtotal(self) -> Decimal:
        return sum((li.refund_subtotal(li.current_quantity) for li in self.line_items), ZERO)

    @property
    def current_total(self) -> Decimal:
        return self.current_subtotal + self.shipping_price - self.refunded_shipping

    @property
    def net_payment(self) -> Decimal:
        return self.total_received - self.total_refunded

    @property
    def display_fulfillment_status(self) -> str:
        shippable = [li for li in self.line_items if li.current_quantity > 0]
        fulfilled = sum(li.fulfilled_quantity for li in shippable)
        if shippable and all(li.fulfillable_quantity == 0 for li in shippable):
            return "FULFILLED"
        return "PARTIALLY_FULFILLED" if fulfilled else "UNFULFILLED"

    def line_item(self, line_item_id: int) -> LineItem | None:
        return next((li for li in self.line_items if li.id == line_item_id), None)

    def transaction(self, transaction_id: int) -> Transaction | None:
        every = itertools.chain(self.transactions, *(r.transactions for r in self.refunds))
        return next((t for t in every if t.id == transaction_id), None)

    def touch(self, at: datetime) -> None:
        self.updated_at = at


@dataclass(frozen=True)
class LineItemSeed:
    """A line of a seeded order; ``price`` defaults to the variant's price."""

    variant: Variant | int | None = None
    quantity: int = 1
    price: MoneyInput | None = None
    discount: MoneyInput = "0.00"
    title: str | None = None
    sku: str | None = None


@dataclass
class IdempotentResult:
    """What a mutation answered the first time a key was used."""

    fingerprint: str
    data: Any


# --- shops -----------------------------------------------------------------------------------


@dataclass
class Shop:
    domain: str
    access_token: str
    name: str
    currency: str = "USD"
    iana_timezone: str = "America/New_York"
    bucket_size: float = 1000.0
    restore_rate: float = 100.0
    email: str | None = None
    contact_email: str | None = None
    seeded_token_app: str | None = None  # the app whose install the seeded token stands for
    locations: list[Location] = field(default_factory=list)
    products: dict[int, Product] = field(default_factory=dict)
    variants: dict[int, Variant] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)  # by casefolded email
    idempotency: dict[str, IdempotentResult] = field(default_factory=dict)
    next_order_number: int = 1001
    id: int = 0

    @property
    def gid(self) -> str:
        return gid("Shop", self.id)
