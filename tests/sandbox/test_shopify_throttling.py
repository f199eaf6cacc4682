"""Calculated query cost and the leaky bucket: the exact THROTTLED answer, recovery as points
restore, and the single-query ceiling."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.shopify import ShopifyWorld
from tests.sandbox.shopify_helpers import (
    DOMAIN,
    OTHER_DOMAIN,
    OTHER_TOKEN,
    FakeClock,
    add_jane_order,
    admin_client,
    post_graphql,
    seeded_world,
)

pytestmark = pytest.mark.anyio

SHOP = "{ shop { name } }"
TEN_ORDERS = "{ orders(first: 10) { edges { node { id name } } } }"
ORDERS_WITH_LINES = """
{ orders(first: 10) { nodes { id lineItems(first: 5) { nodes { id title } } } } }
"""
HUGE = "{ orders(first: 250) { nodes { lineItems(first: 250) { nodes { id } } } } }"


async def answer(world: ShopifyWorld, query: str, **kw: Any) -> dict[str, Any]:
    async with admin_client(world) as client:
        response = await post_graphql(client, query, **kw)
    assert response.status_code == 200
    payload: dict[str, Any] = response.json()
    return payload


@pytest.mark.parametrize(
    ("query", "requested"),
    [
        (SHOP, 1),
        ("{ shop { name currencyCode } }", 1),
        (TEN_ORDERS, 12),
        (ORDERS_WITH_LINES, 2 + 10 * (1 + 2 + 5 * 1)),
        (
            "{ o: orders(first: 3) { pageInfo { hasNextPage } nodes { customer { id } } } }",
            2 + 3 * 2,
        ),
    ],
)
async def test_requested_cost_follows_the_document(query: str, requested: int) -> None:
    world, _ = seeded_world()
    cost = (await answer(world, query))["extensions"]["cost"]
    assert cost["requestedQueryCost"] == requested


async def test_actual_cost_counts_what_came_back_and_the_difference_is_refunded() -> None:
    clock = FakeClock()
    world, catalogue = seeded_world(clock=clock)
    add_jane_order(world, catalogue)
    cost = (await answer(world, TEN_ORDERS))["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (12, 3)
    assert cost["throttleStatus"] == {
        "maximumAvailable": 1000.0,
        "currentlyAvailable": 997,
        "restoreRate": 100.0,
    }


async def test_mutations_cost_ten() -> None:
    world, _ = seeded_world()
    query = "mutation { orderCreate(order: {lineItems: []}) { userErrors { message } } }"
    cost = (await answer(world, query))["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (10, 10)


async def test_throttled_answer_has_shopifys_exact_shape() -> None:
    clock = FakeClock()
    world, _ = seeded_world(clock=clock, bucket_size=20, restore_rate=5)
    assert "errors" not in await answer(world, TEN_ORDERS)  # 12 taken, 10 given back: 18 left
    world.bucket(DOMAIN).drain(10)  # 8 left: not enough for 12
    payload = await answer(world, TEN_ORDERS)
    assert payload == {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
        ],
        "extensions": {
            "cost": {
                "requestedQueryCost": 12,
                "actualQueryCost": None,
                "throttleStatus": {
                    "maximumAvailable": 20.0,
                    "currentlyAvailable": 8,
                    "restoreRate": 5.0,
                },
            }
        },
    }


async def test_a_throttled_request_is_not_executed() -> None:
    world, catalogue = seeded_world(bucket_size=20, restore_rate=5)
    world.bucket(DOMAIN).drain()
    variables = {
        "order": {"lineItems": [{"variantId": catalogue.mug.variants[0].gid, "quantity": 1}]}
    }
    query = (
        "mutation($order: OrderCreateOrderInput!) { orderCreate(order: $order) { order { id } } }"
    )
    payload = await answer(world, query, variables=variables)
    assert payload["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert world.orders(DOMAIN) == []


async def test_points_restore_over_time() -> None:
    clock = FakeClock()
    world, _ = seeded_world(clock=clock, bucket_size=20, restore_rate=5)
    world.bucket(DOMAIN).drain()
    assert (await answer(world, TEN_ORDERS))["errors"][0]["message"] == "Throttled"
    clock.advance(2)  # 10 points back: still short of 12
    assert (await answer(world, TEN_ORDERS))["errors"][0]["message"] == "Throttled"
    clock.advance(0.5)  # 12.5 points
    recovered = await answer(world, TEN_ORDERS)
    assert "errors" not in recovered
    assert recovered["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 10


async def test_each_shop_has_its_own_bucket() -> None:
    world, _ = seeded_world(bucket_size=20, restore_rate=5)
    world.bucket(DOMAIN).drain()
    payload = await answer(world, TEN_ORDERS, domain=OTHER_DOMAIN, token=OTHER_TOKEN)
    assert "errors" not in payload


async def test_a_query_over_1000_points_is_refused_outright() -> None:
    world, _ = seeded_world()
    payload = await answer(world, HUGE)
    [error] = payload["errors"]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["extensions"]["cost"] == 2 + 250 * (1 + 2 + 250)
    assert error["extensions"]["maxCost"] == 1000
    assert "data" not in payload
    assert payload["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 1000
