"""Shopify admits a query only while the cost it asks for is available, so each read asks for
about what it uses: on the demo's orders, every document's requested cost stays within twice
its actual cost (read from the sandbox Shopify, which prices queries as Shopify does), and an
order that outgrows the first lists is still read whole."""

from __future__ import annotations

import json
import statistics
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from portal.clock import utcnow
from portal.integrations.shopify import ShopifyClient
from portal.integrations.shopify.loader import load, operation_files
from portal.integrations.shopify.models import NewOrder, NewOrderLine, RefundLine
from portal.stores.service import StoreSpec
from sandbox.demo import build_demo_world
from sandbox.shopify import create_shopify_sandbox
from sandbox.shopify.records import LineItemSeed
from sandbox.shopify.records import Order as SandboxOrder
from sandbox.shopify.state import ShopifyWorld

pytestmark = pytest.mark.anyio
RATIO = 2.0


@dataclass
class Costs:
    """(requested, actual) of each answered query, by operation name."""

    by_operation: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    by_document: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    """The same, by the file the document came from (two files may name one operation)."""

    async def record(self, response: httpx.Response) -> None:
        await response.aread()
        cost = json.loads(response.content).get("extensions", {}).get("cost")
        query = json.loads(response.request.content)["query"]
        operation = query.split("(")[0].split("{")[0].split()[-1]
        if cost:
            pair = (cost["requestedQueryCost"], cost["actualQueryCost"])
            self.by_operation.setdefault(operation, []).append(pair)
            self.by_document.setdefault(_stem_of(query), []).append(pair)

    def median_ratio(self, operation: str) -> float:
        pairs = self.by_operation[operation]
        return statistics.median(requested / actual for requested, actual in pairs)


def _stem_of(query: str) -> str:
    """The file a document sent was loaded from, whatever API version it was loaded for."""
    for path in operation_files():
        for version in (None, "2025-01", "2025-04", "2026-01"):
            if load(path.stem, version).text == query:
                return path.stem
    raise AssertionError(f"a document that is not in documents/: {query[:80]}")


@dataclass
class Demo:
    world: ShopifyWorld
    store: StoreSpec
    client: ShopifyClient
    costs: Costs
    keyed_store: StoreSpec
    keyed: ShopifyClient
    """The second demo store's client: its API version takes ``@idempotent`` on refunds."""


@pytest.fixture
async def demo() -> AsyncIterator[Demo]:
    world, specs = build_demo_world(now=utcnow(), base_url="http://portal")
    store, keyed_store = specs[0], specs[1]
    for spec in specs:
        world.shopify.set_plan(spec.shop_domain, "enterprise")  # prices, not throttle waits
    costs = Costs()
    transport = httpx.ASGITransport(app=create_shopify_sandbox(world.shopify))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sandbox", event_hooks={"response": [costs.record]}
    ) as http:

        def client(spec: StoreSpec) -> ShopifyClient:
            return ShopifyClient(
                http,
                shop_domain=spec.shop_domain,
                access_token=spec.access_token,
                api_version=spec.api_version,
                endpoint="http://sandbox/{shop}/admin/api/{version}/graphql.json",
            )

        yield Demo(world.shopify, store, client(store), costs, keyed_store, client(keyed_store))


async def test_an_order_asks_for_at_most_twice_what_it_costs(demo: Demo) -> None:
    for order in demo.world.orders(demo.store.shop_domain):
        assert await demo.client.get_order(order_id=f"gid://shopify/Order/{order.id}")
    assert demo.costs.median_ratio("Order") <= RATIO, demo.costs.by_operation["Order"][:5]
    assert max(requested for requested, _ in demo.costs.by_operation["Order"]) <= 100


async def test_an_order_with_more_shipments_and_refunds_than_the_first_lists_is_read_whole(
    demo: Demo,
) -> None:
    domain = demo.store.shop_domain
    placed = next(o for o in demo.world.orders(domain) if len(o.line_items) >= 3)
    for line in placed.line_items[:3]:
        demo.world.add_fulfillment(domain, placed.id, line_items=[(line.id, line.quantity)])
    for line in placed.line_items[:3]:
        demo.world.add_refund(domain, placed.id, line_items=[(line.id, 1)], note=f"r{line.id}")
    order = await demo.client.get_order(order_id=f"gid://shopify/Order/{placed.id}")
    assert order is not None
    assert len(order.fulfillments) == len(placed.fulfillments) >= 3
    assert [r.note for r in order.refunds] == [f"r{line.id}" for line in placed.line_items[:3]]
    assert list(demo.costs.by_operation) == ["Order", "OrderShipmentsAndRefunds"]


async def test_every_document_asks_for_at_most_twice_what_it_costs(demo: Demo) -> None:
    """Every document in documents/ is sent on the demo's data the way the portal sends it; a
    document added without a line here fails the coverage check."""
    await _read_the_shop(demo)
    await _read_orders(demo)
    await _resolve(demo)
    assert demo.keyed.idempotent_refunds and not demo.client.idempotent_refunds
    placed = demo.world.orders(demo.keyed_store.shop_domain)[0]
    lines = [RefundLine(f"gid://shopify/LineItem/{placed.line_items[0].id}", 1)]
    await demo.keyed.refund_as_suggested(
        order_id=_gid(placed.id), lines=lines, idempotency_key="cost-keyed"
    )
    ratios = {
        stem: statistics.median(requested / max(actual, 1) for requested, actual in pairs)
        for stem, pairs in demo.costs.by_document.items()
    }
    assert {p.stem for p in operation_files()} - set(ratios) == set()  # each one measured
    over = {stem: ratio for stem, ratio in ratios.items() if ratio > RATIO}
    assert not over, {stem: demo.costs.by_document[stem][:3] for stem in over}


async def _read_the_shop(demo: Demo) -> None:
    client = demo.client
    assert (await client.shop()).domain == demo.store.shop_domain
    assert await client.access_scopes()
    created = [
        await client.subscribe_webhook(topic=topic, callback_url=f"https://portal/hooks/{topic}")
        for topic in ("ORDERS_CREATE", "ORDERS_UPDATED", "REFUNDS_CREATE", "APP_UNINSTALLED")
    ]
    assert {s.id for s in await client.webhook_subscriptions()} >= set(created)
    await client.unsubscribe_webhook(subscription_id=created[-1])
    products = await client.search_products(query="a", first=5)
    assert products
    for product in products:
        found = await client.get_product_variants(product_id=product.id)
        assert found is not None and len(found.variants) >= len(product.variants)


async def _read_orders(demo: Demo) -> None:
    client, domain = demo.client, demo.store.shop_domain
    month = [o async for o in client.iter_billable_orders(query="created_at:>2000-01-01")]
    assert len(month) == len(demo.world.orders(domain))
    for placed in demo.world.orders(domain)[:30]:
        found = await client.find_order(name=placed.name, email=placed.email)
        assert found is not None and found.id == _gid(placed.id)
        billable = await client.get_billable_order(order_id=str(placed.id))
        assert billable is not None and len(billable.line_items) == len(placed.line_items)
        variants = [f"gid://shopify/ProductVariant/{li.variant_id}" for li in placed.line_items]
        assert len(await client.get_variants(variant_ids=variants)) == len(set(variants))
    shipped = demo.world.orders(domain)[-1]
    while len(shipped.fulfillments) < 3:  # more than the order's first two: read by their count
        demo.world.add_fulfillment(domain, shipped.id, tracking_number="1Z999", line_items=None)
    order = await client.get_order(order_id=str(shipped.id))
    assert order is not None and len(order.fulfillments) == len(shipped.fulfillments) >= 3
    big = _order_with_lines(demo, 9)
    demo.world.add_fulfillment(domain, big.id, tracking_number="1Z998", line_items=None)
    order = await client.get_order(order_id=str(big.id))
    assert order is not None and len(order.line_items) == 9
    assert len(order.fulfillments[0].line_items) == 9  # the parcel's later lines paged too
    billable = await client.get_billable_order(order_id=str(big.id))
    assert billable is not None and len(billable.line_items) == 9


async def _resolve(demo: Demo) -> None:
    """A primary reorder and refunds, as the worker makes them, and the parked-job check."""
    client, domain = demo.client, demo.store.shop_domain
    placed = demo.world.orders(domain)[0]
    line = placed.line_items[0]
    new = NewOrder(
        source_identifier="cost-reorder-1",
        email=placed.email,
        currency=placed.currency,
        lines=[NewOrderLine(f"gid://shopify/ProductVariant/{line.variant_id}", 1, line.unit_price)],
    )
    created = await client.create_order(order=new)
    assert (await client.create_order(order=new)).id == created.id  # found by its identifier
    for placed in demo.world.orders(domain)[1:11]:
        lines = [RefundLine(f"gid://shopify/LineItem/{placed.line_items[0].id}", 1)]
        suggestion = await client.suggest_refund(order_id=_gid(placed.id), lines=lines)
        assert suggestion.transactions
        key = f"cost-refund-{placed.id}"
        refund = await client.refund_as_suggested(
            order_id=_gid(placed.id), lines=lines, idempotency_key=key
        )
        found = await client.find_refund(order_id=_gid(placed.id), idempotency_key=key)
        assert found is not None and found.id == refund.id


def _order_with_lines(demo: Demo, count: int) -> SandboxOrder:
    domain = demo.store.shop_domain
    variants = [li.variant_id for o in demo.world.orders(domain) for li in o.line_items]
    distinct = list(dict.fromkeys(v for v in variants if v is not None))[:count]
    seeds = [LineItemSeed(variant=v, quantity=1) for v in distinct]
    return demo.world.add_order(domain, created_at=utcnow(), line_items=seeds, email="big@x.com")


def _gid(order_id: int) -> str:
    return f"gid://shopify/Order/{order_id}"
