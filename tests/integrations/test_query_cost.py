"""Shopify admits a query only while the cost it asks for is available, so each read asks for
about what it uses: on the demo's orders, the order documents' requested cost stays within
twice their actual cost (read from the sandbox Shopify, which prices queries as Shopify does),
and an order that outgrows the first lists is still read whole."""

from __future__ import annotations

import json
import statistics
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from portal.clock import utcnow
from portal.integrations.shopify import ShopifyClient
from portal.stores.service import StoreSpec
from sandbox.demo import build_demo_world
from sandbox.shopify import create_shopify_sandbox
from sandbox.shopify.state import ShopifyWorld

pytestmark = pytest.mark.anyio
RATIO = 2.0


@dataclass
class Costs:
    """(requested, actual) of each answered query, by operation name."""

    by_operation: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    async def record(self, response: httpx.Response) -> None:
        await response.aread()
        cost = json.loads(response.content).get("extensions", {}).get("cost")
        query = json.loads(response.request.content)["query"]
        operation = query.split("(")[0].split("{")[0].split()[-1]
        if cost:
            pair = (cost["requestedQueryCost"], cost["actualQueryCost"])
            self.by_operation.setdefault(operation, []).append(pair)

    def median_ratio(self, operation: str) -> float:
        pairs = self.by_operation[operation]
        return statistics.median(requested / actual for requested, actual in pairs)


@dataclass
class Demo:
    world: ShopifyWorld
    store: StoreSpec
    client: ShopifyClient
    costs: Costs


@pytest.fixture
async def demo() -> AsyncIterator[Demo]:
    world, specs = build_demo_world(now=utcnow(), base_url="http://portal")
    store = specs[0]
    world.shopify.set_plan(store.shop_domain, "enterprise")  # prices, not throttle waits
    costs = Costs()
    transport = httpx.ASGITransport(app=create_shopify_sandbox(world.shopify))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sandbox", event_hooks={"response": [costs.record]}
    ) as http:
        client = ShopifyClient(
            http,
            shop_domain=store.shop_domain,
            access_token=store.access_token,
            api_version=store.api_version,
            endpoint="http://sandbox/{shop}/admin/api/{version}/graphql.json",
        )
        yield Demo(world.shopify, store, client, costs)


async def test_an_order_asks_for_at_most_twice_what_it_costs(demo: Demo) -> None:
    for order in demo.world.orders(demo.store.shop_domain):
        assert await demo.client.get_order(order_id=f"gid://shopify/Order/{order.id}")
    assert demo.costs.median_ratio("Order") <= RATIO, demo.costs.by_operation["Order"][:5]
    assert max(requested for requested, _ in demo.costs.by_operation["Order"]) <= 100


async def test_listing_orders_reads_many_per_call_within_twice_their_cost(demo: Demo) -> None:
    orders = [o async for o in demo.client.iter_orders(query="created_at:>2000-01-01")]
    assert len(orders) == len(demo.world.orders(demo.store.shop_domain))
    calls = demo.costs.by_operation["Orders"]
    assert len(calls) <= len(orders) / 10  # pages of many orders, not one order per call
    assert demo.costs.median_ratio("Orders") <= RATIO


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
