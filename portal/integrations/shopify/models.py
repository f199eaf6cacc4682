"""What the portal knows about Shopify orders, variants and refunds, in its own terms.

Every value is frozen. Money is a ``Decimal`` with its currency, in the shop's currency (the
``shopMoney`` half of Shopify's ``MoneyBag``); datetimes are timezone-aware; ids are Shopify
GIDs (``gid://shopify/Order/5001``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

# --- values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


@dataclass(frozen=True)
class Image:
    url: str
    alt_text: str | None = None


@dataclass(frozen=True)
class Address:
    """A mailing address; also the shipping address of a new order (``country_code`` and
    ``province_code`` are what Shopify takes on input)."""

    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province: str | None = None
    province_code: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    phone: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Customer:
    id: str
    first_name: str | None
    last_name: str | None
    display_name: str | None
    email: str | None


@dataclass(frozen=True)
class ShopInfo:
    name: str
    domain: str
    currency: str
    iana_timezone: str
    contact_email: str
    """The shop's public contact address (``Shop.contactEmail``): where customers write."""


@dataclass(frozen=True)
class ProductVariantRef:
    id: str
    title: str


@dataclass(frozen=True)
class ProductMatch:
    """A product as a search shows it: its first few variants, not necessarily all."""

    id: str
    title: str
    status: str
    variants: tuple[ProductVariantRef, ...]


@dataclass(frozen=True)
class ProductWithVariants:
    """A product with every one of its variants."""

    id: str
    title: str
    variants: tuple[ProductVariantRef, ...]

    @property
    def variant_ids(self) -> list[str]:
        return [v.id for v in self.variants]


# --- orders ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineItem:
    id: str
    name: str
    title: str
    variant_title: str | None
    sku: str | None
    quantity: int
    current_quantity: int
    refundable_quantity: int
    requires_shipping: bool
    unit_price: Money
    """What one unit cost after every discount (``discountedUnitPriceAfterAllDiscountsSet``)."""
    image: Image | None
    variant_id: str | None
    product_id: str | None


@dataclass(frozen=True)
class TrackingInfo:
    company: str | None
    number: str | None
    url: str | None


@dataclass(frozen=True)
class FulfillmentEvent:
    """A carrier's update on a parcel: a ``FulfillmentEventStatus`` and when it happened."""

    status: str
    happened_at: datetime
    estimated_delivery_at: datetime | None = None


@dataclass(frozen=True)
class FulfillmentLine:
    """How many of one of the order's line items travel in a parcel."""

    line_item_id: str
    quantity: int


@dataclass(frozen=True)
class Fulfillment:
    """A parcel: ``status`` is Shopify's ``FulfillmentStatus`` (SUCCESS, CANCELLED, ...),
    ``display_status`` its ``FulfillmentDisplayStatus`` (IN_TRANSIT, DELIVERED, ...), which
    follows the carrier's events; ``latest_event`` is the newest of them."""

    id: str
    name: str
    status: str
    display_status: str | None
    created_at: datetime
    delivered_at: datetime | None
    tracking: tuple[TrackingInfo, ...]
    in_transit_at: datetime | None = None
    estimated_delivery_at: datetime | None = None
    latest_event: FulfillmentEvent | None = None
    line_items: tuple[FulfillmentLine, ...] = ()

    def carries(self, line_item_id: str) -> bool:
        return any(line.line_item_id == line_item_id for line in self.line_items)


@dataclass(frozen=True)
class Transaction:
    id: str
    kind: str
    status: str
    gateway: str | None
    amount: Money
    parent_id: str | None
    created_at: datetime | None = None
    processed_at: datetime | None = None
    test: bool = False

    @property
    def is_payment(self) -> bool:
        """A successful SALE or CAPTURE: money a refund can go back to."""
        return self.kind in ("SALE", "CAPTURE") and self.status == "SUCCESS"


@dataclass(frozen=True)
class RefundLineItem:
    id: str | None
    line_item_id: str
    quantity: int
    restock_type: str
    subtotal: Money


@dataclass(frozen=True)
class Refund:
    id: str
    created_at: datetime | None
    note: str | None
    total: Money
    line_items: tuple[RefundLineItem, ...]
    """As ``refundCreate`` answered them; empty for a refund looked up by its key afterwards."""
    transactions: tuple[Transaction, ...]

    @property
    def money_returned(self) -> bool:
        """A refund proves nothing by itself: only a successful REFUND transaction moves money."""
        return any(t.kind == "REFUND" and t.status == "SUCCESS" for t in self.transactions)

    @property
    def pending(self) -> bool:
        return any(t.status in ("PENDING", "AWAITING_RESPONSE") for t in self.transactions)


@dataclass(frozen=True)
class RefundSummary:
    """A refund as an order lists it: what the agent's page shows."""

    id: str
    created_at: datetime | None
    note: str | None
    total: Money


@dataclass(frozen=True)
class Order:
    id: str
    legacy_id: int
    name: str
    email: str | None
    created_at: datetime
    updated_at: datetime | None
    processed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    closed: bool
    test: bool
    financial_status: str | None
    fulfillment_status: str
    currency: str
    source_identifier: str | None
    note: str | None
    tags: tuple[str, ...]
    customer: Customer | None
    shipping_address: Address | None
    subtotal: Money | None
    total: Money
    shipping: Money
    total_refunded: Money
    total_discounts: Money | None
    current_total: Money
    line_items: tuple[LineItem, ...]
    fulfillments: tuple[Fulfillment, ...]
    refunds: tuple[RefundSummary, ...]
    parcels_unread: int = 0
    """Fulfillments past the ones read (an order reads at most ``MAX_FULFILLMENTS`` of them
    in one query, under Shopify's 1,000-point limit); their lines look unshipped."""

    @property
    def number(self) -> str:
        """The order name without its leading ``#``: ``"1001"``."""
        return self.name.lstrip("#")

    @property
    def customer_name(self) -> str | None:
        if self.customer and self.customer.display_name:
            return self.customer.display_name
        if self.shipping_address and self.shipping_address.name:
            return self.shipping_address.name
        return None

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    def line_item(self, line_item_id: str) -> LineItem | None:
        return next((li for li in self.line_items if li.id == line_item_id), None)


# --- catalogue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InventoryLevel:
    location_id: str
    location_name: str
    available: int


@dataclass(frozen=True)
class Variant:
    id: str
    title: str
    display_name: str
    sku: str | None
    price: Decimal
    """In the shop's currency (``ProductVariant.price`` carries no currency code)."""
    available_for_sale: bool
    inventory_quantity: int | None
    inventory_policy: str
    tracked: bool
    product_id: str
    product_title: str
    product_handle: str | None
    vendor: str | None
    image: Image | None
    selected_options: tuple[tuple[str, str], ...]
    inventory_item_id: str
    levels: tuple[InventoryLevel, ...]

    def can_supply(self, quantity: int) -> bool:
        """Whether an order for ``quantity`` can claim stock under the variant's own policy."""
        if not self.tracked or self.inventory_policy == "CONTINUE":
            return self.available_for_sale
        return (self.inventory_quantity or 0) >= quantity


# --- refunds ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuggestedRefundLine:
    line_item_id: str
    quantity: int
    restock_type: str
    price: Money
    subtotal: Money


@dataclass(frozen=True)
class SuggestedTransaction:
    parent_id: str | None
    gateway: str | None
    kind: str
    amount: Money
    max_refundable: Money | None


@dataclass(frozen=True)
class SuggestedRefund:
    amount: Money
    subtotal: Money
    tax: Money
    max_refundable: Money
    shipping: Money
    line_items: tuple[SuggestedRefundLine, ...]
    transactions: tuple[SuggestedTransaction, ...]


# --- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewOrderLine:
    variant_id: str
    quantity: int
    price: Decimal
    """Unit price charged on the new order, in the order's currency."""


@dataclass(frozen=True)
class NewOrder:
    """A replacement order, created already paid.

    ``source_identifier`` must be deterministic for the reorder request: it is how a lost
    response is told apart from an order that was never created.
    """

    source_identifier: str
    email: str | None
    currency: str
    lines: Sequence[NewOrderLine]
    shipping_address: Address | None = None
    note: str | None = None
    tags: Sequence[str] = ()
    gateway: str = "manual"
    inventory_behaviour: str = "DECREMENT_OBEYING_POLICY"
    send_receipt: bool = False
    test: bool = False

    @property
    def total(self) -> Decimal:
        return sum((line.price * line.quantity for line in self.lines), Decimal("0"))


@dataclass(frozen=True)
class RefundLine:
    line_item_id: str
    quantity: int
    restock_type: str = "NO_RESTOCK"
    location_id: str | None = None


@dataclass(frozen=True)
class RefundTransaction:
    """Money to send back to one original payment (``parent_id``) through its gateway."""

    parent_id: str
    gateway: str
    amount: Decimal
    kind: str = "REFUND"

    @classmethod
    def from_suggestion(cls, suggested: SuggestedTransaction) -> RefundTransaction:
        if suggested.parent_id is None or suggested.gateway is None:
            raise ValueError("a suggested transaction without a parent payment cannot be refunded")
        return cls(
            parent_id=suggested.parent_id,
            gateway=suggested.gateway,
            amount=suggested.amount.amount,
        )
