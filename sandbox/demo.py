"""Deterministic demo data: the same seed and day give the same stores, orders and claims.

``build_demo_world(now=..., base_url=...)`` seeds sandbox Shopify (products with stock, orders over
the last 90 days with fulfillments and tracking, most carrying the protection item) and sandbox
Corso (claims across customers, one customer with several pages of them), and returns the store
rows the portal needs. It registers the demo's Shopify app (its seeded stores' tokens stand for
installs of it) and seeds one more shop the portal does not know yet, to install the app on.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from portal.stores.service import StoreSpec
from sandbox import parcels
from sandbox.catalog import (
    ADDRESSES,
    CARRIERS,
    FIRST_NAMES,
    LAST_NAMES,
    NEW_STORE,
    PROTECTION_TIERS,
    STORES,
    DemoProduct,
    DemoStore,
)
from sandbox.corso import CorsoWorld
from sandbox.corso.demo import ClaimSourceLineItem, ClaimSourceOrder, build_demo_claims
from sandbox.mailbox import Mailbox
from sandbox.shopify.state import (
    Address,
    CustomerSeed,
    Fulfillment,
    LineItemSeed,
    Order,
    ShopifyWorld,
    Variant,
    VariantSeed,
)
from sandbox.world import DemoAccount, NewStore, SandboxWorld

DEFAULT_SEED = 20261124
DAYS_OF_HISTORY = 90
PROTECTED_SHARE = 0.85
CUSTOMERS_PER_STORE = 45
HEAVY_CLAIMS_CUSTOMER = "olivia.martinez@example.com"
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed on /sandbox for visitors
# The demo's Shopify app, as the sandbox Shopify knows it; its secret signs webhooks.
DEMO_CLIENT_ID = "demo-portal-app"
DEMO_CLIENT_SECRET = "demo-client-secret"  # noqa: S105 - the sandbox's published demo secret


@dataclass(frozen=True)
class Shopper:
    first_name: str
    last_name: str
    email: str
    address: Address


@dataclass
class DemoCatalog:
    """The sandbox shop's variants for one demo store, by role."""

    protection: list[Variant]
    goods: list[tuple[DemoProduct, Variant]]


def build_demo_world(
    *, now: datetime, base_url: str, seed: int = DEFAULT_SEED, sandbox_url: str | None = None
) -> tuple[SandboxWorld, list[StoreSpec]]:
    """``base_url`` is the portal's address; ``sandbox_url`` the sandbox's own, when it is not
    mounted in the portal at /sandbox."""
    mailbox = Mailbox()
    shopify = ShopifyWorld(mailbox=mailbox)
    corso = CorsoWorld()
    rng = random.Random(seed)
    specs: list[StoreSpec] = []
    claim_sources: list[ClaimSourceOrder] = []
    for store in STORES:
        token = _token(seed, store.slug)
        shopify.add_shop(
            store.shop_domain,
            access_token=token,
            name=store.name,
            currency=store.currency,
            iana_timezone=store.time_zone,
            email=store.support_email,
        )
        catalog = _seed_catalog(shopify, store, base_url)
        shoppers = _shoppers(rng, store)
        orders = _seed_orders(shopify, store, catalog, shoppers, rng, now)
        claim_sources.extend(_claim_sources(store, orders, catalog))
        if store is STORES[0]:
            _first_claim_order(shopify, store, catalog, now)  # no claims: left out of Corso
        corso_client = (f"demo-{store.slug}", _corso_secret(seed, store.slug))
        corso.add_client(*corso_client, store_id=store.corso_store_id)  # each store its own
        specs.append(_store_spec(store, token, catalog, corso_client))
    for claim in build_demo_claims(
        claim_sources, seed=seed, now=now, heavy_customer_email=HEAVY_CLAIMS_CUSTOMER
    ):
        corso.add_claim(claim)
    client_id = _register_demo_app(shopify, base_url, [s.shop_domain for s in specs])
    world = SandboxWorld(
        shopify=shopify,
        corso=corso,
        mailbox=mailbox,
        base_url=base_url,
        stores=specs,
        accounts=demo_accounts(),
        new_stores=[_seed_new_store(shopify, NEW_STORE, base_url, random.Random(seed + 1), now)],
        app_client_id=client_id,
        sandbox_url=sandbox_url,
    )
    return world, specs


def _register_demo_app(shopify: ShopifyWorld, base_url: str, installed_on: list[str]) -> str:
    """The demo portal's Shopify app; the seeded stores' tokens stand for installs of it."""
    shopify.register_app(
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        redirect_urls=[f"{base_url}/shopify/callback"],
        compliance_url=f"{base_url}/webhooks/shopify",
    )
    for domain in installed_on:
        shopify.adopt_seeded_token(domain, DEMO_CLIENT_ID)
    return DEMO_CLIENT_ID


def _seed_new_store(
    shopify: ShopifyWorld, store: DemoStore, base_url: str, rng: random.Random, now: datetime
) -> NewStore:
    """A shop with its own products, protection included, and a few orders, most protected;
    its seeded token is no app's, so only an install gives the portal access."""
    shopify.add_shop(
        store.shop_domain,
        access_token=_token(rng.randint(0, 10**9), store.slug),
        name=store.name,
        currency=store.currency,
        iana_timezone=store.time_zone,
        email=store.support_email,
    )
    catalog = _seed_catalog(shopify, store, base_url)
    _seed_orders(shopify, store, catalog, _shoppers(rng, store)[:6], rng, now)
    protection = [v.gid for v in catalog.protection]
    return NewStore(store.name, store.slug, store.shop_domain, protection)


def demo_accounts() -> list[DemoAccount]:
    """An agent, an admin and a merchant user per store, all with the demo's password."""
    staff = [
        DemoAccount("agent@demo.example", "agent", None, DEMO_PASSWORD),
        DemoAccount("admin@demo.example", "admin", None, DEMO_PASSWORD),
    ]
    merchants = [
        DemoAccount(f"owner@{store.slug}.example", "merchant", store.slug, DEMO_PASSWORD)
        for store in STORES
    ]
    return staff + merchants


def _token(seed: int, slug: str) -> str:
    return "shpat_" + hashlib.sha256(f"{seed}:{slug}".encode()).hexdigest()[:32]


def _corso_secret(seed: int, slug: str) -> str:
    return hashlib.sha256(f"{seed}:corso:{slug}".encode()).hexdigest()[:32]


def _store_spec(
    store: DemoStore, token: str, catalog: DemoCatalog, corso_client: tuple[str, str]
) -> StoreSpec:
    return StoreSpec(
        name=store.name,
        slug=store.slug,
        shop_domain=store.shop_domain,
        access_token=token,
        api_version=store.api_version,
        protection_variant_ids=[v.gid for v in catalog.protection],
        support_email=store.support_email,
        time_zone=store.time_zone,
        currency=store.currency,
        corso_store_id=store.corso_store_id,
        corso_client_id=corso_client[0],
        corso_client_secret=corso_client[1],
        brand_color=store.brand_color,
        protection_product_id=f"gid://shopify/Product/{catalog.protection[0].product_id}",
    )


# --- catalogue -------------------------------------------------------------------------------


def _seed_catalog(world: ShopifyWorld, store: DemoStore, base_url: str) -> DemoCatalog:
    protection = world.add_product(
        store.shop_domain,
        title="Shipping Protection",
        vendor="Corso",
        product_type="Insurance",
        image_url=f"{base_url}/static/demo/protection.svg",
        variants=[
            VariantSeed(
                title=f"Up to {limit}" if limit != "1000000.00" else "Over 200.00",
                sku=f"CORSO-GSP-{i + 1}",
                price=price,
                tracked=False,
                requires_shipping=False,
            )
            for i, (limit, price) in enumerate(PROTECTION_TIERS)
        ],
    )
    goods: list[tuple[DemoProduct, Variant]] = []
    for product in store.products:
        created = world.add_product(
            store.shop_domain,
            title=product.title,
            image_url=f"{base_url}/static/demo/{product.image}",
            variants=[_variant_seed(product, title) for title in product.variants],
        )
        goods.extend((product, variant) for variant in created.variants)
    return DemoCatalog(protection=list(protection.variants), goods=goods)


def _variant_seed(product: DemoProduct, title: str) -> VariantSeed:
    suffix = "".join(c for c in title.upper() if c.isalnum())[:4] or "STD"
    in_stock = title not in product.out_of_stock
    return VariantSeed(
        title=title,
        sku=f"{product.sku}-{suffix}",
        price=product.price,
        inventory=40 if in_stock else 0,
        options=((product.option, title),),
    )


# --- shoppers and orders ---------------------------------------------------------------------


def _shoppers(rng: random.Random, store: DemoStore) -> list[Shopper]:
    shoppers = [_heavy_claims_shopper()]
    seen = {HEAVY_CLAIMS_CUSTOMER}
    while len(shoppers) < CUSTOMERS_PER_STORE:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}@example.com".lower()
        if email in seen:
            continue
        seen.add(email)
        shoppers.append(Shopper(first, last, email, _address(rng, first, last)))
    return shoppers


def _heavy_claims_shopper() -> Shopper:
    address = Address(
        first_name="Olivia",
        last_name="Martinez",
        address1="1201 Congress Ave",
        city="Austin",
        province="Texas",
        province_code="TX",
        zip="78701",
        country="United States",
        country_code="US",
    )
    return Shopper("Olivia", "Martinez", HEAVY_CLAIMS_CUSTOMER, address)


def _address(rng: random.Random, first: str, last: str) -> Address:
    street, city, province, code, postal = rng.choice(ADDRESSES)
    return Address(
        first_name=first,
        last_name=last,
        address1=street,
        address2=rng.choice((None, None, "Apt 2B", "Suite 300")),
        city=city,
        province=province,
        province_code=code,
        zip=postal,
        country="United States",
        country_code="US",
        phone=f"+1 555 01{rng.randint(0, 99):02d}",
    )


def _seed_orders(
    world: ShopifyWorld,
    store: DemoStore,
    catalog: DemoCatalog,
    shoppers: list[Shopper],
    rng: random.Random,
    now: datetime,
) -> list[Order]:
    moments = sorted(
        now - timedelta(seconds=rng.randint(3600, DAYS_OF_HISTORY * 86400))
        for _ in range(store.order_count)
    )
    orders = []
    for number, created_at in enumerate(moments, start=store.first_order_number):
        shopper = rng.choice(shoppers)
        order = _seed_order(world, store, catalog, shopper, rng, created_at, number)
        _ship(world, store, order, rng, created_at, now)
        orders.append(order)
    _cancel_a_few(world, store, orders, rng)
    return orders


def _seed_order(
    world: ShopifyWorld,
    store: DemoStore,
    catalog: DemoCatalog,
    shopper: Shopper,
    rng: random.Random,
    created_at: datetime,
    number: int,
) -> Order:
    picks = rng.sample(catalog.goods, k=rng.choice((1, 1, 2, 2, 3, 4)))
    lines = [_line(rng, variant) for _, variant in picks]
    subtotal = sum(
        (Decimal(str(v.price)) * line.quantity for (_, v), line in zip(picks, lines, strict=True)),
        Decimal(0),
    )
    protected = rng.random() < PROTECTED_SHARE
    if protected:
        lines.append(LineItemSeed(variant=_protection_tier(catalog, subtotal), quantity=1))
    shipping_price = rng.choice(("0.00", "5.95", "9.95"))
    return _place_order(world, store, shopper, created_at, lines, shipping_price, protected, number)


def _place_order(
    world: ShopifyWorld,
    store: DemoStore,
    shopper: Shopper,
    created_at: datetime,
    lines: list[LineItemSeed],
    shipping_price: str,
    protected: bool,
    number: int | None = None,
) -> Order:
    """The shopper's order of ``lines``, tagged as protected when one of them is the
    protection item (``protected``)."""
    return world.add_order(
        store.shop_domain,
        created_at=created_at,
        number=number,
        email=shopper.email,
        customer=CustomerSeed(shopper.first_name, shopper.last_name),
        shipping_address=shopper.address,
        shipping_price=shipping_price,
        line_items=lines,
        tags=("shipping-protection",) if protected else (),
    )


FIRST_CLAIM_CUSTOMER = "sam.okafor@example.com"


def _first_claim_order(
    world: ShopifyWorld, store: DemoStore, catalog: DemoCatalog, now: datetime
) -> Order:
    """The ready automation rule's example (lost, under 50, in stock, first claim in a year): a
    customer with no claims anywhere, whose protected parcel stopped moving in the carrier's
    network eleven days ago, so it may be reported lost."""
    rng = random.Random(store.corso_store_id)
    domain = store.shop_domain
    in_stock = [
        v
        for _, v in catalog.goods
        if Decimal(str(v.price)) < 50 and (world.variant(domain, v.id) or v).inventory_quantity > 0
    ]
    variant = min(in_stock, key=lambda v: Decimal(str(v.price)))
    tier = _protection_tier(catalog, Decimal(str(variant.price)))
    lines = [LineItemSeed(variant=variant, quantity=1), LineItemSeed(variant=tier, quantity=1)]
    shopper = Shopper("Sam", "Okafor", FIRST_CLAIM_CUSTOMER, _address(rng, "Sam", "Okafor"))
    created_at = now - timedelta(days=12)
    order = _place_order(world, store, shopper, created_at, lines, "5.95", protected=True)
    company, _, url = next(c for c in CARRIERS if c[0] == "UPS")
    shipped_at = created_at + timedelta(hours=20)
    parcel = _hand_over(world, store, order, (company, "1Z999AA10123456784", url), shipped_at)
    estimate = parcel.created_at + timedelta(days=parcels.ESTIMATED_DAYS)
    first_scan = parcel.created_at + timedelta(hours=5)
    parcels.scan(world, domain, order, parcel, "IN_TRANSIT", first_scan, estimate, rng)
    return order


def _line(rng: random.Random, variant: Variant) -> LineItemSeed:
    quantity = rng.choice((1, 1, 1, 2, 3))
    discounted = rng.random() < 0.15
    discount = (variant.price * quantity * Decimal("0.10")).quantize(Decimal("0.01"))
    return LineItemSeed(
        variant=variant, quantity=quantity, discount=discount if discounted else "0.00"
    )


def _protection_tier(catalog: DemoCatalog, subtotal: Decimal) -> Variant:
    for variant, (limit, _) in zip(catalog.protection, PROTECTION_TIERS, strict=True):
        if subtotal <= Decimal(limit):
            return variant
    return catalog.protection[-1]


def _ship(
    world: ShopifyWorld,
    store: DemoStore,
    order: Order,
    rng: random.Random,
    created_at: datetime,
    now: datetime,
) -> None:
    age = now - created_at
    if age < timedelta(days=2) or rng.random() < 0.08:
        return  # not shipped yet
    shipped_at = created_at + timedelta(hours=rng.randint(6, 40))
    delivered_at = shipped_at + timedelta(days=rng.randint(2, 6))
    company, pattern, url = rng.choice(CARRIERS)
    carrier = (company, _tracking_number(rng, pattern), url)
    parcel = _hand_over(world, store, order, carrier, shipped_at)
    parcels.track(world, store.shop_domain, order, parcel, delivered_at, now)


def _hand_over(
    world: ShopifyWorld,
    store: DemoStore,
    order: Order,
    carrier: tuple[str, str, str],
    shipped_at: datetime,
) -> Fulfillment:
    """The order's parcel, given to ``carrier`` (company, tracking number, and its tracking
    page with a ``{number}`` in it) at ``shipped_at``."""
    company, tracking, url = carrier
    return world.add_fulfillment(
        store.shop_domain,
        order.id,
        tracking_company=company,
        tracking_number=tracking,
        tracking_url=url.format(number=tracking),
        created_at=shipped_at,
    )


def _tracking_number(rng: random.Random, pattern: str) -> str:
    prefix, _, rest = pattern.partition("{digits:")
    digits = int(rest.rstrip("}"))
    return prefix + "".join(str(rng.randint(0, 9)) for _ in range(digits))


def _cancel_a_few(
    world: ShopifyWorld, store: DemoStore, orders: list[Order], rng: random.Random
) -> None:
    unshipped = [o for o in orders if not o.fulfillments]
    for order in rng.sample(unshipped, k=min(3, len(unshipped))):
        world.cancel_order(store.shop_domain, order.id, at=order.created_at + timedelta(hours=3))


# --- claims ----------------------------------------------------------------------------------


def _claim_sources(
    store: DemoStore, orders: list[Order], catalog: DemoCatalog
) -> Iterator[ClaimSourceOrder]:
    protection_ids = {v.id for v in catalog.protection}
    for order in orders:
        address = order.shipping_address or Address()
        yield ClaimSourceOrder(
            corso_store_id=store.corso_store_id,
            currency=store.currency,
            customer_email=order.email or "",
            customer_name=order.customer.display_name if order.customer else "",
            order_name=order.name,
            source_order_id=str(order.id),
            created_at=order.created_at,
            address_line1=address.address1 or "",
            address_line2=address.address2,
            city=address.city or "",
            state_or_province_code=address.province_code or "",
            postal_code=address.zip or "",
            country_code=address.country_code or "US",
            first_name=address.first_name,
            last_name=address.last_name,
            line_items=tuple(
                ClaimSourceLineItem(
                    source_line_item_id=str(line.id),
                    product_id=str(line.product_id or ""),
                    variant_id=str(line.variant_id or ""),
                    sku=line.sku or "",
                    name=line.name,
                    quantity=line.quantity,
                    price=line.discounted_unit_price,
                    img_url=line.image_url,
                )
                for line in order.line_items
                if line.variant_id not in protection_ids
            ),
        )
