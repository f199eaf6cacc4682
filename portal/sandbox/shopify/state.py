"""The sandbox Shopify's state: shops, products, orders and refunds as plain dataclasses.

Seeding API (every method takes the shop domain first and is safe to call from any thread)::

    world = ShopifyWorld(mailbox=None, now=None, monotonic=None)
    shop = world.add_shop("maple-and-moss.myshopify.com", access_token="shpat_...",
                          name="Maple & Moss", currency="USD", iana_timezone="America/New_York",
                          bucket_size=1000, restore_rate=100, locations=("Main warehouse",))
    world.add_location(domain, "Overflow") -> Location
    product = world.add_product(domain, title="Linen shirt", vendor="Maple & Moss",
                                handle=None, product_type="", image_url=None,
                                variants=[VariantSeed(title="M", sku="LS-M", price="49.00",
                                                      inventory=12, inventory_policy="DENY",
                                                      tracked=True, options=(("Size", "M"),))])
    order = world.add_order(domain, created_at=datetime(...), email="jane@example.com",
                            line_items=[LineItemSeed(variant=product.variants[0], quantity=2,
                                                     price=None, discount="5.00")],
                            customer=CustomerSeed("Jane", "Doe"), shipping_address=Address(...),
                            shipping_price="4.95", financial_status="PAID",
                            gateway="shopify_payments", transactions=None, tags=("protected",),
                            note=None, source_identifier=None, number=None, processed_at=None,
                            test=False, decrement_inventory=False)
    world.add_fulfillment(domain, order.id, tracking_company="UPS", tracking_number="1Z...",
                          tracking_url=None, display_status="IN_TRANSIT", created_at=None,
                          delivered_at=None, line_items=None)  # None: everything unfulfilled
    world.add_refund(domain, order.id, line_items=[(line_item_id, quantity)], shipping="0.00",
                     note=None, notify=False, restock_type="NO_RESTOCK", created_at=None)
    world.cancel_order(domain, order.id, reason="CUSTOMER", at=None)

Lookups: ``world.shop(domain)`` (KeyError if unknown), ``world.find_shop(domain)``,
``world.shops()``, ``world.order(domain, id)``, ``world.orders(domain)``,
``world.order_by_name(domain, "#1001")``, ``world.product(domain, id)``,
``world.variant(domain, id)``; ids are the numbers inside gids (``gid://shopify/Order/5001``).

Behaviour switches: ``world.faults(domain)`` (see ``faults.py``), ``world.bucket(domain)``.
Observers: ``unsubscribe = world.subscribe(callback)``; ``callback(shop_domain, topic, payload)`` is
called after each change with topics ``orders/create``, ``orders/cancelled``, ``refunds/create``
and a REST-shaped (snake_case) payload.

Money is ``Decimal`` inside, accepted as ``str`` or ``Decimal`` (never ``float``).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from portal.sandbox.mailbox import Mailbox
from portal.sandbox.shopify.bucket import LeakyBucket
from portal.sandbox.shopify.faults import Faults
from portal.sandbox.shopify.ids import gid

MoneyInput = Decimal | str | int
Listener = Callable[[str, str, dict[str, Any]], None]
CENT = Decimal("0.01")
ZERO = Decimal("0.00")

FIRST_IDS: dict[str, int] = {
    "Location": 70001,
    "Customer": 3001,
    "ProductVariant": 4001,
    "Order": 5001,
    "InventoryItem": 6001,
    "Product": 8001,
    "LineItem": 9001,
    "Fulfillment": 2001,
    "FulfillmentLineItem": 12001,
    "OrderTransaction": 15001,
    "Refund": 17001,
    "RefundLineItem": 19001,
}


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
        return not self.tracked or self.inventory_policy == "CONTINUE" or (
            self.inventory_quantity > 0
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
class Fulfillment:
    id: int
    name: str
    created_at: datetime
    status: str = "SUCCESS"  # FulfillmentStatus
    display_status: str = "FULFILLED"  # FulfillmentDisplayStatus
    delivered_at: datetime | None = None
    tracking: list[TrackingInfo] = field(default_factory=list)
    line_items: list[FulfillmentLineItem] = field(default_factory=list)

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
    locations: list[Location] = field(default_factory=list)
    products: dict[int, Product] = field(default_factory=dict)
    variants: dict[int, Variant] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)  # by casefolded email
    idempotency: dict[str, IdempotentResult] = field(default_factory=dict)
    next_order_number: int = 1001

    @property
    def gid(self) -> str:
        return gid("Shop", 1)


class UnknownRecord(LookupError):
    """A seeding call named a shop, order, variant or line item that does not exist."""


class ShopifyWorld:
    """Every sandbox shop, the mail Shopify sent, and the observers of changes."""

    def __init__(
        self,
        *,
        mailbox: Mailbox | None = None,
        now: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self.mailbox = mailbox or Mailbox()
        self.lock = threading.RLock()
        self._now = now or (lambda: datetime.now(UTC))
        self._monotonic = monotonic or time.monotonic
        self._shops: dict[str, Shop] = {}
        self._faults: dict[str, Faults] = {}
        self._buckets: dict[str, LeakyBucket] = {}
        self._listeners: list[Listener] = []
        self._counters = {kind: itertools.count(first) for kind, first in FIRST_IDS.items()}
        self._pending: list[tuple[str, str, dict[str, Any]]] = []
        self._depth = threading.local()

    # clocks and ids

    def now(self) -> datetime:
        return self._now().replace(microsecond=0)

    def monotonic(self) -> float:
        return self._monotonic()

    def new_id(self, kind: str) -> int:
        with self.lock:
            return next(self._counters[kind])

    # observers

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(shop_domain, topic, payload)`` after every change; returns an
        unsubscribe function."""
        with self.lock:
            self._listeners.append(listener)
        return lambda: self._unsubscribe(listener)

    def _unsubscribe(self, listener: Listener) -> None:
        with self.lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def publish(self, domain: str, topic: str, payload: dict[str, Any]) -> None:
        """Queue an event; it is delivered when the outermost ``changing()`` block ends."""
        with self.lock:
            self._pending.append((domain, topic, payload))

    @contextmanager
    def changing(self) -> Iterator[None]:
        """Hold the world lock for a change; deliver its events after releasing it."""
        with self.lock:
            outermost = not getattr(self._depth, "value", 0)
            self._depth.value = getattr(self._depth, "value", 0) + 1
            try:
                yield
            finally:
                self._depth.value -= 1
                events = self._take_pending() if outermost else []
        for domain, topic, payload in events:
            for listener in list(self._listeners):
                listener(domain, topic, payload)

    def _take_pending(self) -> list[tuple[str, str, dict[str, Any]]]:
        events, self._pending = self._pending, []
        return events

    # shops

    def add_shop(
        self,
        domain: str,
        *,
        access_token: str,
        name: str | None = None,
        currency: str = "USD",
        iana_timezone: str = "America/New_York",
        bucket_size: float = 1000.0,
        restore_rate: float = 100.0,
        email: str | None = None,
        locations: Sequence[str] = ("Main warehouse",),
    ) -> Shop:
        shop = Shop(
            domain=domain,
            access_token=access_token,
            name=name or domain.split(".", 1)[0].replace("-", " ").title(),
            currency=currency,
            iana_timezone=iana_timezone,
            bucket_size=bucket_size,
            restore_rate=restore_rate,
            email=email,
        )
        with self.changing():
            if domain in self._shops:
                raise ValueError(f"shop {domain} already exists")
            self._shops[domain] = shop
            for location_name in locations:
                self.add_location(domain, location_name)
        return shop

    def shop(self, domain: str) -> Shop:
        found = self.find_shop(domain)
        if found is None:
            raise UnknownRecord(f"no shop {domain}")
        return found

    def find_shop(self, domain: str) -> Shop | None:
        with self.lock:
            return self._shops.get(domain)

    def shops(self) -> list[Shop]:
        with self.lock:
            return list(self._shops.values())

    def faults(self, domain: str) -> Faults:
        with self.lock:
            return self._faults.setdefault(domain, Faults())

    def bucket(self, domain: str) -> LeakyBucket:
        with self.lock:
            if domain not in self._buckets:
                shop = self.shop(domain)
                self._buckets[domain] = LeakyBucket(
                    size=shop.bucket_size, restore_rate=shop.restore_rate, clock=self.monotonic
                )
            return self._buckets[domain]

    def add_location(self, domain: str, name: str) -> Location:
        with self.changing():
            location = Location(self.new_id("Location"), name)
            self.shop(domain).locations.append(location)
            return location

    # catalogue

    def add_product(
        self,
        domain: str,
        *,
        title: str,
        variants: Sequence[VariantSeed] = (VariantSeed(),),
        vendor: str = "",
        handle: str | None = None,
        product_type: str = "",
        image_url: str | None = None,
    ) -> Product:
        with self.changing():
            shop = self.shop(domain)
            product = Product(
                id=self.new_id("Product"),
                title=title,
                handle=handle or _handle(title),
                vendor=vendor or shop.name,
                product_type=product_type,
                image_url=image_url,
                created_at=self.now(),
            )
            for seed in variants:
                product.variants.append(self._new_variant(shop, product, seed))
            shop.products[product.id] = product
            for variant in product.variants:
                shop.variants[variant.id] = variant
            return product

    def _new_variant(self, shop: Shop, product: Product, seed: VariantSeed) -> Variant:
        return Variant(
            id=self.new_id("ProductVariant"),
            product_id=product.id,
            inventory_item_id=self.new_id("InventoryItem"),
            title=seed.title,
            sku=seed.sku,
            price=money(seed.price),
            inventory_policy=seed.inventory_policy,
            tracked=seed.tracked,
            levels=_levels(shop, seed),
            selected_options=list(seed.options) or [("Title", seed.title)],
            image_url=seed.image_url or product.image_url,
            requires_shipping=seed.requires_shipping,
            created_at=product.created_at,
        )

    def product(self, domain: str, product_id: int) -> Product | None:
        with self.lock:
            return self.shop(domain).products.get(product_id)

    def variant(self, domain: str, variant_id: int) -> Variant | None:
        with self.lock:
            return self.shop(domain).variants.get(variant_id)

    # orders

    def add_order(
        self,
        domain: str,
        *,
        created_at: datetime,
        line_items: Sequence[LineItemSeed],
        email: str | None = None,
        customer: CustomerSeed | None = None,
        shipping_address: Address | None = None,
        billing_address: Address | None = None,
        shipping_price: MoneyInput = "0.00",
        financial_status: str = "PAID",
        gateway: str = "shopify_payments",
        transactions: Sequence[TransactionSeed] | None = None,
        tags: Sequence[str] = (),
        note: str | None = None,
        source_identifier: str | None = None,
        source_name: str = "web",
        number: int | None = None,
        processed_at: datetime | None = None,
        currency: str | None = None,
        test: bool = False,
        decrement_inventory: bool = False,
    ) -> Order:
        """Create an order as if it had been placed at ``created_at`` (which may be long ago)."""
        with self.changing():
            shop = self.shop(domain)
            order = Order(
                id=self.new_id("Order"),
                number=self.claim_order_number(shop, number),
                email=email,
                created_at=created_at,
                updated_at=created_at,
                processed_at=processed_at or created_at,
                currency=currency or shop.currency,
                financial_status=financial_status,
                customer=self._customer(shop, customer, email),
                shipping_address=shipping_address,
                billing_address=billing_address or shipping_address,
                shipping_price=money(shipping_price),
                tags=list(tags),
                note=note,
                source_identifier=source_identifier,
                source_name=source_name,
                test=test,
            )
            order.line_items = [self._line_item(shop, seed) for seed in line_items]
            order.transactions = self._payments(order, transactions, gateway)
            if decrement_inventory:
                for line in order.line_items:
                    self.take_stock(shop, line.variant_id, line.quantity)
            shop.orders[order.id] = order
            self.publish(domain, "orders/create", order_payload(order))
            return order

    def claim_order_number(self, shop: Shop, number: int | None = None) -> int:
        """The next order number of ``shop`` (or ``number``, if it is still free)."""
        chosen = shop.next_order_number if number is None else number
        if any(o.number == chosen for o in shop.orders.values()):
            raise ValueError(f"order #{chosen} already exists in {shop.domain}")
        shop.next_order_number = max(shop.next_order_number, chosen + 1)
        return chosen

    def _customer(
        self, shop: Shop, seed: CustomerSeed | None, order_email: str | None
    ) -> Customer | None:
        if seed is None:
            return None
        email = seed.email or order_email
        key = (email or f"anonymous-{len(shop.customers)}").casefold()
        if key not in shop.customers:
            shop.customers[key] = Customer(
                self.new_id("Customer"), seed.first_name, seed.last_name, email, seed.phone
            )
        return shop.customers[key]

    def _line_item(self, shop: Shop, seed: LineItemSeed) -> LineItem:
        variant = self._seed_variant(shop, seed.variant)
        product = shop.products[variant.product_id] if variant else None
        return LineItem(
            id=self.new_id("LineItem"),
            title=seed.title or (product.title if product else "Custom item"),
            quantity=seed.quantity,
            unit_price=_seed_price(seed, variant),
            discount=money(seed.discount),
            variant_id=variant.id if variant else None,
            product_id=product.id if product else None,
            variant_title=variant.title if variant else None,
            sku=seed.sku if seed.sku is not None else (variant.sku if variant else None),
            requires_shipping=variant.requires_shipping if variant else True,
            image_url=variant.image_url if variant else None,
        )

    def _seed_variant(self, shop: Shop, ref: Variant | int | None) -> Variant | None:
        if ref is None:
            return None
        variant_id = ref.id if isinstance(ref, Variant) else ref
        if variant_id not in shop.variants:
            raise UnknownRecord(f"no variant {variant_id} in {shop.domain}")
        return shop.variants[variant_id]

    def _payments(
        self, order: Order, seeds: Sequence[TransactionSeed] | None, gateway: str
    ) -> list[Transaction]:
        if seeds is None:
            seeds = _default_payments(order.financial_status, gateway)
        return [self.new_transaction(order, seed) for seed in seeds]

    def new_transaction(
        self, order: Order, seed: TransactionSeed, *, parent_id: int | None = None
    ) -> Transaction:
        at = seed.created_at or order.created_at
        amount = order.total_price if seed.amount is None else money(seed.amount)
        return Transaction(
            id=self.new_id("OrderTransaction"),
            kind=seed.kind,
            status=seed.status,
            gateway=seed.gateway,
            amount=amount,
            created_at=at,
            processed_at=at,
            test=seed.test or order.test,
            parent_id=parent_id,
        )

    def take_stock(self, shop: Shop, variant_id: int | None, quantity: int) -> None:
        """Decrement a tracked variant's stock, location by location (may go negative)."""
        variant = shop.variants.get(variant_id) if variant_id is not None else None
        if variant is None or not variant.tracked or not variant.levels:
            return
        remaining = quantity
        for location_id, available in variant.levels.items():
            taken = min(max(available, 0), remaining)
            variant.levels[location_id] = available - taken
            remaining -= taken
        first = next(iter(variant.levels))
        variant.levels[first] -= remaining

    def order(self, domain: str, order_id: int) -> Order | None:
        with self.lock:
            return self.shop(domain).orders.get(order_id)

    def orders(self, domain: str) -> list[Order]:
        with self.lock:
            return sorted(self.shop(domain).orders.values(), key=lambda o: o.id)

    def order_by_name(self, domain: str, name: str) -> Order | None:
        wanted = name.strip().lstrip("#")
        return next((o for o in self.orders(domain) if str(o.number) == wanted), None)

    def _order(self, domain: str, order_id: int) -> Order:
        found = self.order(domain, order_id)
        if found is None:
            raise UnknownRecord(f"no order {order_id} in {domain}")
        return found

    def add_fulfillment(
        self,
        domain: str,
        order_id: int,
        *,
        tracking_company: str | None = None,
        tracking_number: str | None = None,
        tracking_url: str | None = None,
        display_status: str = "IN_TRANSIT",
        status: str = "SUCCESS",
        created_at: datetime | None = None,
        delivered_at: datetime | None = None,
        line_items: Sequence[tuple[int, int]] | None = None,
    ) -> Fulfillment:
        """Ship ``(line item id, quantity)`` pairs; ``None`` ships everything unfulfilled."""
        with self.changing():
            order = self._order(domain, order_id)
            fulfillment = Fulfillment(
                id=self.new_id("Fulfillment"),
                name=f"{order.name}-F{len(order.fulfillments) + 1}",
                created_at=created_at or order.created_at,
                status=status,
                display_status=display_status,
                delivered_at=delivered_at,
            )
            if tracking_company or tracking_number or tracking_url:
                fulfillment.tracking.append(
                    TrackingInfo(tracking_company, tracking_number, tracking_url)
                )
            for line_item_id, quantity in self._shipped(order, line_items):
                line = order.line_item(line_item_id)
                assert line is not None
                line.fulfilled_quantity += quantity
                fulfillment.line_items.append(
                    FulfillmentLineItem(self.new_id("FulfillmentLineItem"), line.id, quantity)
                )
            order.fulfillments.append(fulfillment)
            order.touch(fulfillment.created_at)
            return fulfillment

    def _shipped(
        self, order: Order, wanted: Sequence[tuple[int, int]] | None
    ) -> list[tuple[int, int]]:
        if wanted is None:
            return [(li.id, li.fulfillable_quantity) for li in order.line_items
                    if li.fulfillable_quantity > 0]
        for line_item_id, _ in wanted:
            if order.line_item(line_item_id) is None:
                raise UnknownRecord(f"no line item {line_item_id} on order {order.id}")
        return list(wanted)

    def cancel_order(
        self,
        domain: str,
        order_id: int,
        *,
        reason: str = "CUSTOMER",
        at: datetime | None = None,
    ) -> Order:
        with self.changing():
            order = self._order(domain, order_id)
            order.cancelled_at = at or self.now()
            order.cancel_reason = reason
            order.closed_at = order.cancelled_at
            order.touch(order.cancelled_at)
            self.publish(domain, "orders/cancelled", order_payload(order))
            return order

    def add_refund(
        self,
        domain: str,
        order_id: int,
        *,
        line_items: Sequence[tuple[int, int]] = (),
        shipping: MoneyInput = "0.00",
        note: str | None = None,
        notify: bool = False,
        restock_type: str = "NO_RESTOCK",
        created_at: datetime | None = None,
    ) -> Refund:
        """Refund ``(line item id, quantity)`` pairs (and shipping) to the original payment,
        with the amounts Shopify would suggest. Raises ValueError when Shopify would refuse."""
        from portal.sandbox.shopify import refunds

        lines = [(line_item_id, quantity, restock_type) for line_item_id, quantity in line_items]
        with self.changing():
            order = self._order(domain, order_id)
            try:
                request = refunds.suggested_request(order, lines, shipping=money(shipping))
            except LookupError as error:
                raise ValueError(str(error)) from error
            request = replace(request, note=note, notify=notify)
            outcome = refunds.create_refund(self, self.shop(domain), order, request, created_at)
            if isinstance(outcome, list):
                raise ValueError("; ".join(error.message for error in outcome))
            return outcome


def _seed_price(seed: LineItemSeed, variant: Variant | None) -> Decimal:
    if seed.price is not None:
        return money(seed.price)
    if variant is None:
        raise ValueError("a line item without a variant needs a price")
    return variant.price


def _handle(title: str) -> str:
    kept = "".join(c if c.isalnum() else "-" for c in title.casefold())
    return "-".join(part for part in kept.split("-") if part)


def _levels(shop: Shop, seed: VariantSeed) -> dict[int, int]:
    if seed.inventory_by_location is None:
        return {shop.locations[0].id: seed.inventory} if shop.locations else {}
    by_name = {location.name: location.id for location in shop.locations}
    return {by_name[name]: quantity for name, quantity in seed.inventory_by_location.items()}


def _default_payments(financial_status: str, gateway: str) -> list[TransactionSeed]:
    kinds = {"PAID": "SALE", "AUTHORIZED": "AUTHORIZATION", "PARTIALLY_REFUNDED": "SALE",
             "REFUNDED": "SALE"}
    kind = kinds.get(financial_status)
    return [TransactionSeed(kind=kind, gateway=gateway)] if kind else []


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
        "line_items": [
            {
                "id": li.id,
                "admin_graphql_api_id": li.gid,
                "variant_id": li.variant_id,
                "product_id": li.product_id,
                "title": li.title,
                "sku": li.sku,
                "quantity": li.quantity,
                "price": money_str(li.unit_price),
            }
            for li in order.line_items
        ],
    }


def refund_payload(refund: Refund) -> dict[str, Any]:
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
