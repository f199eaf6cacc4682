"""The sandbox Shopify's state: shops, products, orders and refunds as plain dataclasses.

Seeding API (every method takes the shop domain first and is safe to call from any thread)::

    world = ShopifyWorld(mailbox=None, now=None, monotonic=None)  # clocks injectable for tests
    shop = world.add_shop("maple-and-moss.myshopify.com", access_token="shpat_...",
                          name="Maple & Moss", currency="USD", iana_timezone="America/New_York",
                          bucket_size=1000, restore_rate=100, email=None,
                          locations=("Main warehouse",))
    world.add_location(domain, "Overflow") -> Location
    product = world.add_product(domain, title="Linen shirt", vendor="Maple & Moss",
                                handle=None, product_type="", image_url=None,
                                variants=[VariantSeed(title="M", sku="LS-M", price="49.00",
                                                      inventory=12, inventory_policy="DENY",
                                                      tracked=True, options=(("Size", "M"),),
                                                      inventory_by_location=None,
                                                      image_url=None, requires_shipping=True)])
    order = world.add_order(domain, created_at=datetime(...), email="jane@example.com",
                            line_items=[LineItemSeed(variant=product.variants[0], quantity=2,
                                                     price=None, discount="5.00",
                                                     title=None, sku=None)],
                            customer=CustomerSeed("Jane", "Doe"), shipping_address=Address(...),
                            billing_address=None, shipping_price="4.95",
                            financial_status="PAID", gateway="shopify_payments",
                            transactions=None,  # None: one SALE of the total when PAID
                            tags=("protected",), note=None, source_identifier=None,
                            source_name="web", number=None, processed_at=None, currency=None,
                            test=False, decrement_inventory=False)
    world.add_fulfillment(domain, order.id, tracking_company="UPS", tracking_number="1Z...",
                          tracking_url=None, display_status="FULFILLED", status="SUCCESS",
                          created_at=None, delivered_at=None, estimated_delivery_at=None,
                          line_items=None)  # None: everything unfulfilled; else [(id, qty)]
    world.add_fulfillment_event(domain, order.id, fulfillment.id, "IN_TRANSIT",
                                happened_at=None, estimated_delivery_at=None, message=None,
                                city=None)  # the parcel's display status and times follow
    world.wind_back_parcel(domain, order.id, fulfillment.id, timedelta(days=8))  # demo: stuck
    world.add_refund(domain, order.id, line_items=[(line_item_id, quantity)], shipping="0.00",
                     note=None, notify=False, restock_type="NO_RESTOCK", created_at=None)
    world.cancel_order(domain, order.id, reason="CUSTOMER", at=None)

Lookups: ``world.shop(domain)`` (UnknownRecord if unknown), ``world.find_shop(domain)``,
``world.shops()``, ``world.order(domain, id)``, ``world.orders(domain)`` (by id),
``world.order_by_name(domain, "#1001")``, ``world.product(domain, id)``,
``world.variant(domain, id)``; ids are the numbers inside gids (``gid://shopify/Order/5001``),
and every record has a ``.gid``. Ids are deterministic: each kind counts up from its own start.

Behaviour switches: ``world.faults(domain)`` (see ``faults.py``), ``world.bucket(domain)`` (the
leaky bucket, created on first use from the shop's size and restore rate).
Observers: ``unsubscribe = world.subscribe(callback)``; ``callback(shop_domain, topic, payload)`` is
called after each change, outside the lock, with topics ``orders/create``, ``orders/updated`` (any
change to an order: fulfillment, cancel, refund), ``orders/cancelled``, ``refunds/create``,
``app/uninstalled`` and the compliance topics, and a REST-shaped (snake_case) payload.
``world.subscribe_events(callback)`` hears the same as ``WorldEvent``s that also name their
destinations: the webhook subscriptions of the topic when it happened (see below).

Apps (``sandbox/shopify/grants.py`` holds the OAuth rules, ``oauth.py`` the endpoints)::

    world.register_app("client-id", "client-secret", redirect_urls=["https://app/callback"],
                       compliance_url=None, organisation_shops=(), scopes=())  -> App
    world.access_token(domain, value) -> AccessToken | None   # live tokens, seeded one included
    world.installed(domain, client_id) -> bool
    world.adopt_seeded_token(domain, client_id)  # the seeded token is that app's install
    world.uninstall(domain, client_id)      # revokes tokens, drops subscriptions, app/uninstalled
    world.create_subscription(domain, client_id, "ORDERS_CREATE", url, api_version="2025-04")
    world.subscriptions(domain, client_id) / world.delete_subscription(domain, client_id, id)
    world.request_customer_data(domain, client_id, email)   # customers/data_request
    world.redact_customer(domain, client_id, email)         # customers/redact
    world.redact_shop(domain, client_id)                    # shop/redact

Money is ``Decimal`` inside, accepted as ``str`` or ``Decimal`` (never ``float``).
"""

from __future__ import annotations

import hmac
import itertools
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from portal.clock import utcnow
from sandbox.mailbox import Mailbox
from sandbox.shopify.bucket import LeakyBucket
from sandbox.shopify.faults import Faults
from sandbox.shopify.grants import AccessToken, App, Grants
from sandbox.shopify.payloads import (
    customer_payload,
    order_payload,
    refund_payload,
    shop_payload,
)
from sandbox.shopify.records import (
    CENT,
    ZERO,
    Address,
    Customer,
    CustomerSeed,
    Fulfillment,
    FulfillmentEvent,
    FulfillmentLineItem,
    IdempotentResult,
    LineItem,
    LineItemSeed,
    Location,
    MoneyInput,
    Order,
    Product,
    Refund,
    RefundLineItem,
    Shop,
    TrackingInfo,
    Transaction,
    TransactionSeed,
    Variant,
    VariantSeed,
    money,
    money_str,
)
from sandbox.shopify.subscriptions import (
    TAKEN,
    TOPICS,
    Destination,
    WebhookSubscription,
    WorldEvent,
)
from sandbox.shopify.versions import ApiVersions

__all__ = [
    "CENT",
    "EVENT_STATUSES",
    "FIRST_IDS",
    "ZERO",
    "Address",
    "Customer",
    "CustomerSeed",
    "Fulfillment",
    "FulfillmentEvent",
    "FulfillmentLineItem",
    "IdempotentResult",
    "LineItem",
    "LineItemSeed",
    "Listener",
    "Location",
    "MoneyInput",
    "Order",
    "Product",
    "Refund",
    "RefundLineItem",
    "Shop",
    "ShopifyWorld",
    "TrackingInfo",
    "Transaction",
    "TransactionSeed",
    "UnknownRecord",
    "Variant",
    "VariantSeed",
    "money",
    "money_str",
    "order_payload",
    "refund_payload",
]

Listener = Callable[[str, str, dict[str, Any]], None]
EventListener = Callable[[WorldEvent], None]
FIRST_IDS: dict[str, int] = {
    "Shop": 1,
    "Location": 70001,
    "Customer": 3001,
    "ProductVariant": 4001,
    "Order": 5001,
    "InventoryItem": 6001,
    "Product": 8001,
    "LineItem": 9001,
    "Fulfillment": 2001,
    "FulfillmentEvent": 2501,
    "FulfillmentLineItem": 12001,
    "OrderTransaction": 15001,
    "Refund": 17001,
    "RefundLineItem": 19001,
    "WebhookSubscription": 23001,
    "DataRequest": 29001,
}


class UnknownRecord(LookupError):
    """A seeding call named a shop, order, variant or line item that does not exist."""


# Points per second of the GraphQL Admin API by plan (shopify.dev, "GraphQL Admin API rate
# limits"); a bucket holds ten seconds of them (1,000 points on the standard plan).
PLANS = {"standard": 100.0, "advanced": 200.0, "plus": 1000.0, "enterprise": 2000.0}
BUCKET_SECONDS = 10


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
        self._now = now or (lambda: utcnow())
        self._monotonic = monotonic or time.monotonic
        self._shops: dict[str, Shop] = {}
        self._faults: dict[str, Faults] = {}
        self._buckets: dict[str, LeakyBucket] = {}
        self._listeners: list[Listener] = []
        self._event_listeners: list[EventListener] = []
        self._counters = {kind: itertools.count(first) for kind, first in FIRST_IDS.items()}
        self._pending: list[WorldEvent] = []
        self._depth = threading.local()
        self.grants = Grants(now=self.now)
        self.api_versions = ApiVersions()
        self._subscriptions: dict[int, WebhookSubscription] = {}

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

    def subscribe_events(self, listener: EventListener) -> Callable[[], None]:
        """Call ``listener(event)`` after every change, the event naming its destinations."""
        with self.lock:
            self._event_listeners.append(listener)

        def unsubscribe() -> None:
            with self.lock:
                if listener in self._event_listeners:
                    self._event_listeners.remove(listener)

        return unsubscribe

    def publish(
        self,
        domain: str,
        topic: str,
        payload: dict[str, Any],
        *,
        to: Sequence[Destination] | None = None,
    ) -> None:
        """Queue an event for the subscriptions of its topic (or for ``to``); it is delivered
        when the outermost ``changing()`` block ends."""
        with self.lock:
            destinations = tuple(to) if to is not None else self._destinations(domain, topic)
            self._pending.append(WorldEvent(domain, topic, payload, destinations))

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
        for event in events:
            for listener in list(self._listeners):
                listener(event.shop, event.topic, event.payload)
            for event_listener in list(self._event_listeners):
                event_listener(event)

    def _take_pending(self) -> list[WorldEvent]:
        events, self._pending = self._pending, []
        return events

    # apps and their credentials

    def register_app(
        self,
        client_id: str,
        client_secret: str,
        *,
        redirect_urls: Sequence[str],
        compliance_url: str | None = None,
        organisation_shops: Sequence[str] = (),
        scopes: Sequence[str] = (),
    ) -> App:
        """The app a portal is, as registered with Shopify (its Partner Dashboard settings)."""
        app = App(
            client_id,
            client_secret,
            tuple(redirect_urls),
            compliance_url,
            frozenset(organisation_shops),
            tuple(scopes),
        )
        with self.lock:
            return self.grants.register(app)

    def app(self, client_id: str) -> App | None:
        with self.lock:
            return self.grants.app(client_id)

    def access_token(self, domain: str, value: str) -> AccessToken | None:
        """The live token ``value`` of the shop: the seeded one (every scope) or an app's."""
        with self.lock:
            shop = self.find_shop(domain)
            if shop is None or not value:
                return None
            if shop.access_token and hmac.compare_digest(
                value.encode(), shop.access_token.encode()
            ):
                return AccessToken(value, domain, client_id=shop.seeded_token_app, scopes=None)
            return self.grants.token(domain, value)

    def adopt_seeded_token(self, domain: str, client_id: str) -> None:
        """The shop's seeded token stands for an install of ``client_id`` (as if the app had
        been installed before the world began): uninstalling that app revokes it."""
        with self.lock:
            self.shop(domain).seeded_token_app = client_id

    def expire_access_tokens(self, domain: str, client_id: str) -> int:
        """The app's access tokens on the shop run out now (the refresh tokens do not)."""
        with self.lock:
            return self.grants.expire(domain, client_id)

    def installed(self, domain: str, client_id: str) -> bool:
        with self.lock:
            shop = self.shop(domain)
            seeded = shop.seeded_token_app == client_id and bool(shop.access_token)
            return seeded or self.grants.installed(domain, client_id)

    def uninstall(self, domain: str, client_id: str) -> None:
        """The merchant removes the app: its tokens stop working, its subscriptions are
        deleted, and those of them for ``app/uninstalled`` hear about it."""
        with self.changing():
            shop = self.shop(domain)
            told = self._destinations(domain, "app/uninstalled", client_id=client_id)
            self.grants.revoke(domain, client_id)
            if shop.seeded_token_app == client_id:
                shop.access_token = ""
            for subscription in self.subscriptions(domain, client_id):
                del self._subscriptions[subscription.id]
            self.publish(domain, "app/uninstalled", shop_payload(shop), to=told)

    # webhook subscriptions

    def create_subscription(
        self,
        domain: str,
        client_id: str | None,
        topic: str,
        callback_url: str,
        *,
        api_version: str,
        format: str = "JSON",
    ) -> WebhookSubscription:
        """Subscribe an app to a topic (``ORDERS_CREATE``); ValueError if the app already has
        this topic at this URL."""
        with self.lock:
            self.shop(domain)
            if topic not in TOPICS:
                raise ValueError(f"topic {topic} is not served by the sandbox")
            for existing in self.subscriptions(domain, client_id):
                if existing.topic == topic and existing.callback_url == callback_url:
                    raise ValueError(TAKEN)
            subscription = WebhookSubscription(
                self.new_id("WebhookSubscription"),
                domain,
                client_id,
                topic,
                callback_url,
                api_version,
                self.now(),
                format,
            )
            self._subscriptions[subscription.id] = subscription
            return subscription

    def subscriptions(self, domain: str, client_id: str | None) -> list[WebhookSubscription]:
        with self.lock:
            return [
                s
                for s in self._subscriptions.values()
                if s.shop == domain and s.client_id == client_id
            ]

    def delete_subscription(self, domain: str, client_id: str | None, number: int) -> bool:
        with self.lock:
            found = self._subscriptions.get(number)
            if found is None or found.shop != domain or found.client_id != client_id:
                return False
            del self._subscriptions[number]
            return True

    def _destinations(
        self, domain: str, topic: str, *, client_id: str | None = None
    ) -> tuple[Destination, ...]:
        chosen = [
            s
            for s in self._subscriptions.values()
            if s.shop == domain
            and s.rest_topic == topic
            and (client_id is None or s.client_id == client_id)
        ]
        return tuple(self._destination(s) for s in chosen)

    def _destination(self, subscription: WebhookSubscription) -> Destination:
        app = self.grants.app(subscription.client_id) if subscription.client_id else None
        return Destination(
            subscription.callback_url,
            app.client_secret if app else "",
            subscription.client_id,
            subscription.api_version,
        )

    # mandatory compliance webhooks, sent to the app's compliance URL

    def request_customer_data(self, domain: str, client_id: str, email: str) -> dict[str, Any]:
        """A customer asked the merchant for their data: ``customers/data_request``."""
        with self.changing():
            shop = self.shop(domain)
            payload = {
                **self._compliance_base(shop),
                "orders_requested": self._order_ids_of(shop, email),
                "customer": self._compliance_customer(shop, email),
                "data_request": {"id": self.new_id("DataRequest")},
            }
            self.publish(domain, "customers/data_request", payload, to=self._compliance(client_id))
            return payload

    def redact_customer(self, domain: str, client_id: str, email: str) -> dict[str, Any]:
        """The merchant asked to erase a customer's data: ``customers/redact``."""
        with self.changing():
            shop = self.shop(domain)
            payload = {
                **self._compliance_base(shop),
                "customer": self._compliance_customer(shop, email),
                "orders_to_redact": self._order_ids_of(shop, email),
            }
            self.publish(domain, "customers/redact", payload, to=self._compliance(client_id))
            return payload

    def redact_shop(self, domain: str, client_id: str) -> dict[str, Any]:
        """48 hours after an uninstall Shopify asks the app to erase the shop: ``shop/redact``."""
        with self.changing():
            payload = self._compliance_base(self.shop(domain))
            self.publish(domain, "shop/redact", payload, to=self._compliance(client_id))
            return payload

    def _compliance(self, client_id: str) -> tuple[Destination, ...]:
        app = self.grants.app(client_id)
        if app is None or app.compliance_url is None:
            raise UnknownRecord(f"no app {client_id} with a compliance URL")
        version = self.api_versions.latest(self.now())
        return (Destination(app.compliance_url, app.client_secret, client_id, version),)

    @staticmethod
    def _compliance_base(shop: Shop) -> dict[str, Any]:
        return {"shop_id": shop.id, "shop_domain": shop.domain}

    @staticmethod
    def _compliance_customer(shop: Shop, email: str) -> dict[str, Any]:
        found = shop.customers.get(email.casefold())
        if found is None:
            return {"id": None, "email": email, "phone": None}
        return customer_payload(found)

    @staticmethod
    def _order_ids_of(shop: Shop, email: str) -> list[int]:
        wanted = email.casefold()
        return [
            o.id
            for o in sorted(shop.orders.values(), key=lambda o: o.id)
            if (o.email or "").casefold() == wanted
        ]

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
        contact_email: str | None = None,
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
            contact_email=contact_email,
        )
        with self.changing():
            if domain in self._shops:
                raise ValueError(f"shop {domain} already exists")
            shop.id = self.new_id("Shop")
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

    def set_plan(self, domain: str, plan: str) -> None:
        """The shop's GraphQL rate limit, as its Shopify plan sets it (``PLANS``)."""
        restore_rate = PLANS[plan]
        with self.lock:
            shop = self.shop(domain)
            shop.restore_rate = restore_rate
            shop.bucket_size = restore_rate * BUCKET_SECONDS
            self._buckets.pop(domain, None)

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
        display_status: str = "FULFILLED",
        status: str = "SUCCESS",
        created_at: datetime | None = None,
        delivered_at: datetime | None = None,
        estimated_delivery_at: datetime | None = None,
        line_items: Sequence[tuple[int, int]] | None = None,
    ) -> Fulfillment:
        """Ship ``(line item id, quantity)`` pairs; ``None`` ships everything unfulfilled. A new
        parcel shows FULFILLED until a carrier's event says more (``add_fulfillment_event``)."""
        with self.changing():
            order = self._order(domain, order_id)
            fulfillment = Fulfillment(
                id=self.new_id("Fulfillment"),
                name=f"{order.name}-F{len(order.fulfillments) + 1}",
                created_at=created_at or order.created_at,
                status=status,
                display_status=display_status,
                delivered_at=delivered_at,
                estimated_delivery_at=estimated_delivery_at,
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
            self.publish(domain, "orders/updated", order_payload(order))
            return fulfillment

    def add_fulfillment_event(
        self,
        domain: str,
        order_id: int,
        fulfillment_id: int,
        status: str,
        *,
        happened_at: datetime | None = None,
        estimated_delivery_at: datetime | None = None,
        message: str | None = None,
        city: str | None = None,
        province: str | None = None,
        country: str | None = None,
    ) -> FulfillmentEvent:
        """A carrier's update (``FulfillmentEventStatus``): the parcel's display status becomes
        the latest event's, its earliest IN_TRANSIT sets ``inTransitAt``, DELIVERED sets
        ``deliveredAt``, and an estimate given replaces the parcel's."""
        if status not in EVENT_STATUSES:
            raise ValueError(f"{status} is not a FulfillmentEventStatus")
        with self.changing():
            order = self._order(domain, order_id)
            fulfillment = next((f for f in order.fulfillments if f.id == fulfillment_id), None)
            if fulfillment is None:
                raise UnknownRecord(f"no fulfillment {fulfillment_id} on order {order_id}")
            at = happened_at or self.now()
            event = FulfillmentEvent(
                id=self.new_id("FulfillmentEvent"),
                status=status,
                happened_at=at,
                created_at=max(at, self.now()),
                message=message,
                city=city,
                province=province,
                country=country,
                estimated_delivery_at=estimated_delivery_at,
            )
            fulfillment.events.append(event)
            _follow(fulfillment, event)
            order.touch(max(at, order.updated_at or at))
            self.publish(domain, "orders/updated", order_payload(order))
            return event

    def wind_back_parcel(
        self, domain: str, order_id: int, fulfillment_id: int, by: timedelta
    ) -> Fulfillment:
        """Move a parcel's shipping and every scan of it ``by`` into the past (the order too,
        when it would otherwise be placed after it shipped): a demo's way to a parcel that has
        not moved for days."""
        with self.changing():
            order = self._order(domain, order_id)
            parcel = next((f for f in order.fulfillments if f.id == fulfillment_id), None)
            if parcel is None:
                raise UnknownRecord(f"no fulfillment {fulfillment_id} on order {order_id}")
            parcel.created_at -= by
            for event in parcel.events:
                event.happened_at -= by
                event.created_at -= by
            if parcel.in_transit_at is not None:
                parcel.in_transit_at -= by
            if parcel.estimated_delivery_at is not None:
                parcel.estimated_delivery_at -= by
            if order.created_at > parcel.created_at:
                order.created_at = order.processed_at = parcel.created_at - timedelta(hours=6)
            self.publish(domain, "orders/updated", order_payload(order))
            return parcel

    def _shipped(
        self, order: Order, wanted: Sequence[tuple[int, int]] | None
    ) -> list[tuple[int, int]]:
        if wanted is None:
            return [
                (li.id, li.fulfillable_quantity)
                for li in order.line_items
                if li.fulfillable_quantity > 0
            ]
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
            self.publish(domain, "orders/updated", order_payload(order))
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
        from sandbox.shopify import refunds

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


# FulfillmentEventStatus: every value is also a FulfillmentDisplayStatus.
EVENT_STATUSES = frozenset(
    {
        "LABEL_PURCHASED",
        "LABEL_PRINTED",
        "READY_FOR_PICKUP",
        "CONFIRMED",
        "IN_TRANSIT",
        "OUT_FOR_DELIVERY",
        "ATTEMPTED_DELIVERY",
        "DELAYED",
        "DELIVERED",
        "FAILURE",
    }
)


def _follow(fulfillment: Fulfillment, event: FulfillmentEvent) -> None:
    """The parcel as its latest event (by when it happened) shows it."""
    latest = max(fulfillment.events, key=lambda e: (e.happened_at, e.id))
    fulfillment.display_status = latest.status
    if event.status == "IN_TRANSIT":
        moments = [e.happened_at for e in fulfillment.events if e.status == "IN_TRANSIT"]
        fulfillment.in_transit_at = min(moments)
    if event.status == "DELIVERED":
        fulfillment.delivered_at = event.happened_at
    if event.estimated_delivery_at is not None:
        fulfillment.estimated_delivery_at = event.estimated_delivery_at


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
    kinds = {
        "PAID": "SALE",
        "AUTHORIZED": "AUTHORIZATION",
        "PARTIALLY_REFUNDED": "SALE",
        "REFUNDED": "SALE",
    }
    kind = kinds.get(financial_status)
    return [TransactionSeed(kind=kind, gateway=gateway)] if kind else []
