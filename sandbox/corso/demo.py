"""Believable Corso claims for the demo's Shopify orders, the same every time for one seed.

Claims are returns and warranty claims in every documented state: open ones carry a
``requestSummary``, completed ones a ``resolutionSummary`` with the refunds, gift cards and
replacement orders they issued. One customer can be given enough claims to fill several pages.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

Json = dict[str, Any]

CENT = Decimal("0.01")
WAREHOUSE: Json = {
    "name": "Returns Department",
    "line1": "4750 Longley Ln",
    "line2": "Dock 3",
    "city": "Reno",
    "stateOrProvinceCode": "NV",
    "postalCode": "89502",
    "countryCode": "US",
    "latitude": 39.4740,
    "longitude": -119.7655,
}
RETURN_REASONS: dict[str, tuple[str, ...]] = {
    "Wrong Size": ("Too Small", "Too Large"),
    "Changed Mind": (),
    "Not As Described": ("Color Differs", "Material Differs"),
    "Arrived Damaged": ("Packaging Damaged", "Item Damaged"),
}
WARRANTY_REASONS: dict[str, tuple[str, ...]] = {
    "Defective": ("Stopped Working", "Broken Part"),
    "Missing Parts": (),
    "Quality Issue": ("Stitching", "Finish"),
}
RETURN_METHODS = {"Refund": 9, "Gift_Card": 4, "Variant_Exchange": 5, "Replacement_Order": 2}
WARRANTY_METHODS = {"Replacement_Order": 5, "Repair": 2, "Refund": 3}
ISSUED_DETAIL = {
    "Refund": "Refunded",
    "Gift_Card": "Gift_Card_Issued",
    "Variant_Exchange": "Variant_Exchange",
    "Replacement_Order": "Replacement_Order",
    "Repair": "Repaired",
}
OPEN_RETURN_STEPS = (
    ("Awaiting_Return", "Awaiting_Customer_Dropoff_Label_Provided"),
    ("Awaiting_Return", "Awaiting_Customer_Dropoff_Packing_Slip_Provided"),
    ("In_Transit", "In_Transit"),
    ("Open", "Pending_Review"),
)
OPEN_WARRANTY_STEPS = (("Open", "Pending_Review"), ("Open", "Pending_Additional_Info"))
TAGS = ("VIP", "Repeat Customer", "Damaged In Transit", "Influencer", "Wholesale")
CARRIERS = (("USPS", "USPS Ground Advantage"), ("UPS", "UPS Ground"), ("FedEx", "FedEx Home"))
NOTES_FROM_CUSTOMER = (
    "Fits smaller than the size chart says.",
    "The box was crushed when it arrived.",
    "Stopped working after two weeks.",
    "Colour is much darker than the photos.",
)
NOTES_TO_CUSTOMER = (
    "Thanks for your patience, your refund is on its way.",
    "Please drop the parcel off within 14 days.",
    "We sent a replacement with express shipping.",
)


@dataclass(frozen=True)
class ClaimSourceLineItem:
    source_line_item_id: str
    product_id: str
    variant_id: str
    sku: str
    name: str
    quantity: int
    price: Decimal
    img_url: str | None = None


@dataclass(frozen=True)
class ClaimSourceOrder:
    """A Shopify order as the claims generator needs it."""

    corso_store_id: int
    currency: str
    customer_email: str
    customer_name: str
    order_name: str  # e.g. "#1042"
    source_order_id: str  # Shopify's numeric order id
    created_at: datetime
    address_line1: str
    city: str
    state_or_province_code: str
    postal_code: str
    country_code: str
    line_items: tuple[ClaimSourceLineItem, ...]
    address_line2: str | None = None
    first_name: str | None = None
    last_name: str | None = None


def build_demo_claims(
    orders: Sequence[ClaimSourceOrder],
    *,
    seed: int,
    now: datetime,
    heavy_customer_email: str | None = None,
    heavy_claim_count: int = 120,
) -> list[Json]:
    """Claims for about a third of ``orders``, and ``heavy_claim_count`` for the heavy customer.

    The heavy customer's claims all go to one store (where they have the most orders), so that
    store's list of their claims runs to several pages.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    rng = random.Random(seed)
    claimable = [o for o in orders if o.line_items and o.created_at < now - timedelta(hours=2)]
    heavy = _heavy_orders(claimable, heavy_customer_email)
    plans = [
        (order, n)
        for order in claimable
        if order not in heavy
        for n in range(1, _claims_on_an_order(rng) + 1)
    ]
    plans += _heavy_plans(heavy, heavy_claim_count)
    ids = _Ids()
    return [_ClaimBuilder(order, sequence, rng, ids, now).build() for order, sequence in plans]


def _heavy_orders(
    claimable: Sequence[ClaimSourceOrder], email: str | None
) -> list[ClaimSourceOrder]:
    """The heavy customer's orders in the store where they ordered most."""
    if email is None:
        return []
    theirs = [o for o in claimable if o.customer_email.casefold() == email.casefold()]
    if not theirs:
        raise ValueError(f"no claimable order of {email} to build its claims on")
    stores = Counter(o.corso_store_id for o in theirs)
    busiest = stores.most_common(1)[0][0]
    return [o for o in theirs if o.corso_store_id == busiest]


def _heavy_plans(heavy: list[ClaimSourceOrder], count: int) -> list[tuple[ClaimSourceOrder, int]]:
    """(order, claim number within the order), spreading ``count`` claims over the orders."""
    if not heavy:
        return []
    return [(heavy[n % len(heavy)], n // len(heavy) + 1) for n in range(count)]


def _claims_on_an_order(rng: random.Random) -> int:
    return rng.choices((0, 1, 2), weights=(62, 33, 5))[0]


class _Ids:
    """Corso-side numbers, increasing from believable starting points."""

    def __init__(self) -> None:
        self.claim = itertools.count(450_001)
        self.claim_line_item = itertools.count(910_001)
        self.line_item = itertools.count(18_300_001)
        self.shipment = itertools.count(70_001)
        self.refund = itertools.count(30_001)
        self.gift_card = itertools.count(20_001)
        self.replacement_order = itertools.count(6_100_000_000_001)
        self.replacement_line = itertools.count(16_100_000_000_001)
        self.corso_order = itertools.count(18_372_001)
        self._orders: dict[str, int] = {}

    def order(self, source_order_id: str) -> int:
        """One Corso order id per Shopify order, however many claims it has."""
        if source_order_id not in self._orders:
            self._orders[source_order_id] = next(self.corso_order)
        return self._orders[source_order_id]


@dataclass
class _Item:
    """A claim line item while it is being built, with the facts the summaries need."""

    json: Json
    method: str
    issued: bool
    amount: Decimal


class _ClaimBuilder:
    def __init__(
        self,
        order: ClaimSourceOrder,
        sequence: int,
        rng: random.Random,
        ids: _Ids,
        now: datetime,
    ) -> None:
        self.order, self.sequence, self.rng, self.ids = order, sequence, rng, ids
        self.created = _moment_between(rng, order.created_at + timedelta(hours=1), now)
        self.updated = _moment_between(rng, self.created, now)
        self.kind = rng.choices(("Return", "Warranty"), weights=(3, 1))[0]
        self.status = rng.choices(
            ("Completed", "In_Progress", "Ready_For_Review"), weights=(5, 3, 2)
        )[0]

    def build(self) -> Json:
        picks = self.rng.sample(self.order.line_items, k=self.rng.randint(1, min(2, self._lines())))
        items = [self._line_item(source) for source in picks]
        claim = self._essentials(items) | self._optional_details()
        if self.status == "Completed":
            claim |= {"finalizedOn": _iso(self.updated)}
            claim["resolutionSummary"] = self._resolution_summary(items)
        else:
            claim["requestSummary"] = self._request_summary(items)
        if self.kind == "Return" and self.rng.random() < 0.7:
            claim["shipments"] = [self._return_shipment()]
        return claim

    def _lines(self) -> int:
        return len(self.order.line_items)

    # --- the claim

    def _essentials(self, items: list[_Item]) -> Json:
        order, rng = self.order, self.rng
        fee = Decimal("2.00") if self.kind == "Return" and rng.random() < 0.3 else Decimal(0)
        address = _customer_address(order)
        exchanged = any(i.method == "Variant_Exchange" for i in items)
        return {
            "storeId": order.corso_store_id,
            "claimId": next(self.ids.claim),
            "externalId": f"{order.order_name.lstrip('#')}-{self.sequence}",
            "wasCreatedFromRegistration": self.kind == "Warranty" and rng.random() < 0.3,
            "shippingAddress": address,
            "billingAddress": dict(address),
            "currencyCode": order.currency,
            "order": self._order_reference(),
            "isInstantExchange": exchanged and rng.random() < 0.4,
            "claimType": self.kind,
            "status": self.status,
            "feeAmountApplied": _money(fee),
            "exchangeOrderShippingAmountApplied": _money(Decimal("4.95") if exchanged else 0),
            "returnShippingAmountApplied": _money(rng.choice((Decimal(0), Decimal("5.95")))),
            "shopNowIncentiveAmountApplied": _money(0),
            "customerEmail": order.customer_email,
            "tags": rng.sample(TAGS, k=rng.choice((0, 0, 1, 1, 2))),
            "claimLineItems": [item.json for item in items],
            "createdOn": _iso(self.created),
            "updatedOn": _iso(self.updated),
        } | ({"feeName": "Restocking Fee"} if fee else {})

    def _optional_details(self) -> Json:
        details: Json = {}
        if self.order.customer_name and self.rng.random() < 0.9:
            details["customerName"] = self.order.customer_name
        if self.rng.random() < 0.3:
            details["noteToCustomer"] = self.rng.choice(NOTES_TO_CUSTOMER)
        return details

    def _order_reference(self) -> Json:
        order = self.order
        return {
            "orderId": self.ids.order(order.source_order_id),
            "sourceOrderId": order.source_order_id,
            "orderNumber": order.order_name.lstrip("#"),
            "createdOn": _iso(order.created_at),
            "orderName": order.order_name,
        }

    # --- line items

    def _line_item(self, source: ClaimSourceLineItem) -> _Item:
        rng = self.rng
        methods = RETURN_METHODS if self.kind == "Return" else WARRANTY_METHODS
        method = rng.choices(list(methods), weights=list(methods.values()))[0]
        quantity = rng.randint(1, source.quantity)
        value = (source.price * quantity).quantize(CENT)
        item = _Item(self._line_item_json(source, method, quantity, value), method, False, value)
        self._settle(item)
        return item

    def _line_item_json(
        self, source: ClaimSourceLineItem, method: str, quantity: int, value: Decimal
    ) -> Json:
        reason, detail = self._reason()
        item: Json = {
            "sourceLineItem": self._source_line_item(source),
            "claimLineItemId": next(self.ids.claim_line_item),
            "customFields": self._custom_fields(),
            "quantity": quantity,
            "isShopNow": method == "Variant_Exchange" and self.rng.random() < 0.2,
            "amount": _money(value),
            "requestedAmount": _money(value),
            "reason": reason,
            "requestedResolutionMethod": method,
        }
        if detail:
            item["reasonDetail"] = detail
        return item | self._exchange(source, method, quantity) | self._evidence(reason)

    def _source_line_item(self, source: ClaimSourceLineItem) -> Json:
        line = {
            "lineItemId": next(self.ids.line_item),
            "sourceLineItemId": source.source_line_item_id,
            "productId": source.product_id or None,
            "variantId": source.variant_id or None,
            "sku": source.sku,
            "name": source.name,
            "quantity": source.quantity,
            "imgUrl": source.img_url,
        }
        return {key: value for key, value in line.items() if value is not None}

    def _reason(self) -> tuple[str, str | None]:
        reasons = RETURN_REASONS if self.kind == "Return" else WARRANTY_REASONS
        reason = self.rng.choice(list(reasons))
        details = reasons[reason]
        return reason, (self.rng.choice(details) if details and self.rng.random() < 0.8 else None)

    def _custom_fields(self) -> list[Json]:
        if self.kind != "Warranty":
            return []
        return [{"name": "Serial Number", "value": f"SN-{self.rng.randrange(10**7, 10**8)}"}]

    def _exchange(self, source: ClaimSourceLineItem, method: str, quantity: int) -> Json:
        if method == "Variant_Exchange":
            size = self.rng.choice(("XS", "S", "M", "L", "XL"))
            item = _exchange_item(source, _sibling_variant(source.variant_id), quantity)
            item["title"] = f"{source.name} ({size})"
            item["options"] = [{"name": "Size", "value": size}]
            return {"variantExchangeLineItem": item}
        if method == "Replacement_Order":
            return {"replacementItems": [_exchange_item(source, source.variant_id, quantity)]}
        return {}

    def _evidence(self, reason: str) -> Json:
        evidence: Json = {}
        if reason in ("Arrived Damaged", "Defective", "Quality Issue"):
            photos = self.rng.randint(1, 2)
            evidence["imageUrls"] = [
                f"https://cdn.corso.com/claims/{self.rng.getrandbits(40):x}.jpg"
                for _ in range(photos)
            ]
        if self.rng.random() < 0.4:
            evidence["noteFromCustomer"] = self.rng.choice(NOTES_FROM_CUSTOMER)
        return evidence

    def _settle(self, item: _Item) -> None:
        """Move the line item to where a claim of this status would have it."""
        if self.status != "Completed":
            item.json |= self._open_step()
        elif self.rng.random() < 0.12:
            item.json |= self._denial()
            item.json["amount"] = _money(0)
        elif self.rng.random() < 0.05:
            item.json |= {"status": "Closed", "statusDetail": "No_Action_Taken"}
            item.json |= {"canceledOn": _iso(self.updated)}
            item.json["amount"] = _money(0)
        else:
            item.issued = True
            item.json |= {"status": "Closed", "statusDetail": ISSUED_DETAIL[item.method]}
            item.json["resolutionMethod"] = item.method

    def _open_step(self) -> Json:
        if self.status == "Ready_For_Review":
            step = ("At_Return_Location", "Pending_Inspection")
            if self.kind == "Warranty":
                step = ("Open", "Pending_Approval")
        else:
            steps = OPEN_RETURN_STEPS if self.kind == "Return" else OPEN_WARRANTY_STEPS
            step = self.rng.choice(steps)
        return {"status": step[0], "statusDetail": step[1]}

    def _denial(self) -> Json:
        details: tuple[str, ...] = ("Item_Not_Returned", "Noncompliant_Return", "Wrong_Item")
        if self.kind == "Warranty":
            details = ("Not_Covered_Under_Warranty",)
        detail = self.rng.choice(details)
        return {"status": "Denied", "statusDetail": detail, "deniedOn": _iso(self.updated)}

    # --- summaries

    def _resolution_summary(self, items: list[_Item]) -> Json:
        issued = [item for item in items if item.issued]
        return {
            "giftCards": [self._gift_card(i.amount) for i in issued if i.method == "Gift_Card"],
            "refunds": [self._refund(i.amount) for i in issued if i.method == "Refund"],
            "replacementOrders": self._replacement_orders(issued),
        }

    def _gift_card(self, amount: Decimal) -> Json:
        gift_card = {"giftCardId": next(self.ids.gift_card), "amount": _money(amount)}
        return gift_card | {"createdOn": _iso(self.updated)}

    def _refund(self, amount: Decimal) -> Json:
        refund = {"refundId": next(self.ids.refund), "amount": _money(amount)}
        return refund | {"createdOn": _iso(self.updated)}

    def _replacement_orders(self, issued: list[_Item]) -> list[Json]:
        sent = [i for i in issued if i.method in ("Replacement_Order", "Variant_Exchange")]
        if not sent:
            return []
        source_order_id = str(next(self.ids.replacement_order))
        return [
            {
                "orderId": next(self.ids.corso_order),
                "sourceOrderId": source_order_id,
                "orderNumber": source_order_id,
                "createdOn": _iso(self.updated),
                "orderName": f"{self.order.order_name}-R{self.sequence}",
                "lineItems": [self._replacement_line(item.json) for item in sent],
            }
        ]

    def _replacement_line(self, claim_line_item: Json) -> Json:
        claimed = claim_line_item["sourceLineItem"]
        exchange = claim_line_item.get("variantExchangeLineItem")
        line = dict(claimed) | {
            "lineItemId": next(self.ids.line_item),
            "sourceLineItemId": str(next(self.ids.replacement_line)),
            "quantity": claim_line_item["quantity"],
        }
        if exchange:
            line |= {"variantId": exchange["variantId"], "name": exchange["title"]}
        return line

    def _request_summary(self, items: list[_Item]) -> Json:
        approved = items if self.status == "Ready_For_Review" else []
        return {
            "monetaryTotals": {
                "giftCard": _money(_total(approved, "Gift_Card")),
                "refund": _money(_total(approved, "Refund")),
            },
            "approvedLineItems": [_approved_line_item(item) for item in approved],
        }

    # --- shipments

    def _return_shipment(self) -> Json:
        carrier, service = self.rng.choice(CARRIERS)
        tracking = f"9400{self.rng.randrange(10**17, 10**18)}"
        method = self.rng.choice(("Label", "Packing_Slip"))
        document = "labelUrl" if method == "Label" else "packingSlipUrl"
        shipment: Json = {
            "shipmentId": next(self.ids.shipment),
            "toAddress": dict(WAREHOUSE),
            "fromAddress": _customer_address(self.order),
            "expiresOn": _iso(self.created + timedelta(days=30)),
            "isReturnShipment": True,
            "createdOn": _iso(self.created),
            document: f"https://cdn.corso.com/shipments/{tracking}.pdf",
            "method": method,
            "carrier": carrier,
            "carrierTrackingUrl": f"https://track.corso.com/{carrier.lower()}/{tracking}",
            "carrierTrackingStatus": self.rng.choice(("Pre Transit", "In Transit", "Delivered")),
            "carrierServiceName": service,
        }
        if self.rng.random() < 0.5:
            shipment["qrCodeUrl"] = f"https://cdn.corso.com/shipments/{tracking}-qr.png"
        if self.status != "In_Progress":
            shipment["inTransitOn"] = _iso(self.created + timedelta(days=2))
        return shipment


def _customer_address(order: ClaimSourceOrder) -> Json:
    address = {
        "name": order.customer_name or None,
        "firstName": order.first_name,
        "lastName": order.last_name,
        "line1": order.address_line1,
        "line2": order.address_line2,
        "city": order.city,
        "stateOrProvinceCode": order.state_or_province_code,
        "postalCode": order.postal_code,
        "countryCode": order.country_code,
    }
    return {key: value for key, value in address.items() if value is not None}


def _exchange_item(source: ClaimSourceLineItem, variant_id: str, quantity: int) -> Json:
    item = {
        "variantId": variant_id,
        "quantity": quantity,
        "price": _money(source.price),
        "sku": source.sku,
        "title": source.name,
        "imgUrl": source.img_url,
    }
    return {key: value for key, value in item.items() if value is not None}


def _approved_line_item(item: _Item) -> Json:
    return {
        "claimLineItemId": item.json["claimLineItemId"],
        "quantity": item.json["quantity"],
        "amount": _money(item.amount),
        "resolutionMethod": item.method,
        "estimatedAmount": _money(item.amount),
        "wasZeroedThroughDeduction": False,
    }


def _total(items: list[_Item], method: str) -> Decimal:
    return sum((item.amount for item in items if item.method == method), Decimal(0))


def _sibling_variant(variant_id: str) -> str:
    """Another variant of the same product, for an exchange."""
    return str(int(variant_id) + 1) if variant_id.isdigit() else f"{variant_id}-exchange"


def _moment_between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    span = max(0.0, (end - start).total_seconds())
    return (start + timedelta(seconds=rng.uniform(0, span))).replace(microsecond=0)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _money(amount: Decimal | int) -> float:
    """Money as the JSON number Corso sends; two decimals survive float's shortest repr."""
    return float(Decimal(amount).quantize(CENT))
