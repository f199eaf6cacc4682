"""Reading orders: the search syntax, cursor pagination, sorting and the node lookups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sandbox.shopify import CustomerSeed, LineItemSeed, ShopifyWorld
from tests.sandbox.shopify_helpers import (
    DOMAIN,
    OTHER_DOMAIN,
    OTHER_TOKEN,
    Catalogue,
    add_jane_order,
    admin_client,
    graphql_data,
    post_graphql,
    seeded_world,
)

pytestmark = pytest.mark.anyio

SEARCH = """
query Search($query: String, $first: Int, $after: String, $last: Int, $before: String,
             $sortKey: OrderSortKeys, $reverse: Boolean) {
  orders(query: $query, first: $first, after: $after, last: $last, before: $before,
         sortKey: $sortKey, reverse: $reverse) {
    edges { cursor node { name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


def seed_orders(world: ShopifyWorld, catalogue: Catalogue) -> None:
    """#1001 jane (Oct 5, tag protected), #1002 sam (Oct 20, wholesale, source r-42),
    #1003 jane again (Nov 2 01:30 UTC = Nov 1 evening in New York)."""
    add_jane_order(world, catalogue)
    world.add_order(
        DOMAIN,
        created_at=datetime(2026, 10, 20, 9, tzinfo=UTC),
        email="Sam@Example.com",
        customer=CustomerSeed("Sam", "Ng"),
        tags=("wholesale", "VIP"),
        source_identifier="r-42",
        line_items=[LineItemSeed(variant=catalogue.mug.variants[0], quantity=3)],
    )
    add_jane_order(world, catalogue, created_at=datetime(2026, 11, 2, 1, 30, tzinfo=UTC), tags=())


async def names(world: ShopifyWorld, query: str, **variables: Any) -> list[str]:
    async with admin_client(world) as client:
        data = await graphql_data(client, SEARCH, {"query": query, "first": 50, **variables})
    return [edge["node"]["name"] for edge in data["orders"]["edges"]]


@pytest.fixture
def world() -> ShopifyWorld:
    world, catalogue = seeded_world()
    seed_orders(world, catalogue)
    return world


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["#1001", "#1002", "#1003"]),
        ("name:#1002", ["#1002"]),
        ("name:1002", ["#1002"]),
        ("name:'#1003'", ["#1003"]),
        ("name:100*", ["#1001", "#1002", "#1003"]),
        ("email:jane@example.com", ["#1001", "#1003"]),
        ("email:sam@example.com", ["#1002"]),
        ("source_identifier:r-42", ["#1002"]),
        ("source_identifier:r-4", []),
        ("tag:protected", ["#1001"]),
        ("tag:vip", ["#1002"]),
        ("-tag:wholesale", ["#1001", "#1003"]),
        ("created_at:>=2026-10-20", ["#1002", "#1003"]),
        ("created_at:>2026-10-20T09:00:00Z", ["#1003"]),
        ("created_at:<2026-10-20", ["#1001"]),
        ("created_at:<=2026-10-20T09:00:00Z", ["#1001", "#1002"]),
        ("created_at:2026-11-01", ["#1003"]),
        ("created_at:2026-11-02", []),
        ("email:jane@example.com created_at:>=2026-11-01", ["#1003"]),
        ("name:#1001 email:sam@example.com", []),
        ("name:#1001 OR name:#1002", ["#1001", "#1002"]),
        ("jane", ["#1001", "#1003"]),
    ],
)
async def test_search_terms(world: ShopifyWorld, query: str, expected: list[str]) -> None:
    assert await names(world, query) == expected


async def test_an_unknown_field_is_ignored_with_a_warning(world: ShopifyWorld) -> None:
    async with admin_client(world) as client:
        response = await post_graphql(client, SEARCH, {"query": "colour:red name:1001", "first": 5})
    payload = response.json()
    assert [e["node"]["name"] for e in payload["data"]["orders"]["edges"]] == ["#1001"]
    warnings = payload["extensions"]["search"][0]["warnings"]
    assert warnings == [{"field": "colour", "message": "Invalid search field for this query."}]


async def test_orders_of_another_shop_are_invisible(world: ShopifyWorld) -> None:
    async with admin_client(world) as client:
        data = await graphql_data(
            client, SEARCH, {"first": 10}, domain=OTHER_DOMAIN, token=OTHER_TOKEN
        )
    assert data["orders"]["edges"] == []


# --- pagination --------------------------------------------------------------------------------


@pytest.fixture
def many_orders() -> ShopifyWorld:
    world, catalogue = seeded_world()
    start = datetime(2026, 9, 1, tzinfo=UTC)
    for day in range(11):
        add_jane_order(world, catalogue, created_at=start + timedelta(days=day))
    return world


async def page(world: ShopifyWorld, **variables: Any) -> dict[str, Any]:
    async with admin_client(world) as client:
        data = await graphql_data(client, SEARCH, variables)
    result: dict[str, Any] = data["orders"]
    return result


def page_names(result: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in result["edges"]]


async def test_paging_forward_through_more_than_two_pages(many_orders: ShopifyWorld) -> None:
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        result = await page(many_orders, first=4, after=after)
        seen += page_names(result)
        pages += 1
        assert result["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert result["pageInfo"]["endCursor"] == result["edges"][-1]["cursor"]
        if not result["pageInfo"]["hasNextPage"]:
            break
        after = result["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == [f"#{n}" for n in range(1001, 1012)]


async def test_paging_backward_with_last_and_before(many_orders: ShopifyWorld) -> None:
    last_page = await page(many_orders, last=4)
    assert page_names(last_page) == ["#1008", "#1009", "#1010", "#1011"]
    assert last_page["pageInfo"]["hasPreviousPage"] is True
    assert last_page["pageInfo"]["hasNextPage"] is False
    before = await page(many_orders, last=4, before=last_page["pageInfo"]["startCursor"])
    assert page_names(before) == ["#1004", "#1005", "#1006", "#1007"]


async def test_sort_key_and_reverse(many_orders: ShopifyWorld) -> None:
    result = await page(many_orders, first=3, sortKey="CREATED_AT", reverse=True)
    assert page_names(result) == ["#1011", "#1010", "#1009"]
    following = await page(
        many_orders,
        first=3,
        sortKey="CREATED_AT",
        reverse=True,
        after=result["pageInfo"]["endCursor"],
    )
    assert page_names(following) == ["#1008", "#1007", "#1006"]


async def test_cursors_are_opaque_strings_not_ids(many_orders: ShopifyWorld) -> None:
    result = await page(many_orders, first=2)
    cursor = result["edges"][0]["cursor"]
    assert "gid://" not in cursor and "5001" not in cursor


async def test_a_connection_needs_first_or_last(many_orders: ShopifyWorld) -> None:
    async with admin_client(many_orders) as client:
        response = await post_graphql(client, SEARCH, {})
    assert response.json()["errors"][0]["message"] == "you must provide one of first or last"


async def test_a_forged_cursor_is_an_error(many_orders: ShopifyWorld) -> None:
    async with admin_client(many_orders) as client:
        response = await post_graphql(client, SEARCH, {"first": 2, "after": "not-a-cursor"})
    assert "Invalid cursor" in response.json()["errors"][0]["message"]


# --- lookups -----------------------------------------------------------------------------------

ORDER = """
query One($id: ID!) {
  order(id: $id) {
    id legacyResourceId name email createdAt updatedAt processedAt cancelledAt cancelReason
    closed test displayFinancialStatus displayFulfillmentStatus currencyCode sourceIdentifier
    note tags
    customer { id firstName lastName displayName email }
    shippingAddress { firstName lastName name address1 city province provinceCode zip country
                      countryCodeV2 }
    subtotalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount } }
    totalPriceSet { shopMoney { amount } }
    totalShippingPriceSet { shopMoney { amount } }
    totalDiscountsSet { shopMoney { amount } }
    totalRefundedSet { shopMoney { amount } }
    currentTotalPriceSet { shopMoney { amount } }
    lineItems(first: 10) {
      nodes {
        id name title variantTitle sku quantity currentQuantity refundableQuantity
        fulfillableQuantity requiresShipping
        originalUnitPriceSet { shopMoney { amount } }
        discountedUnitPriceSet { shopMoney { amount } }
        discountedUnitPriceAfterAllDiscountsSet { shopMoney { amount } }
        originalTotalSet { shopMoney { amount } }
        discountedTotalSet { shopMoney { amount } }
        totalDiscountSet { shopMoney { amount } }
        variant { id sku } product { id title }
      }
      pageInfo { hasNextPage }
    }
    fulfillments(first: 5) {
      id name status displayStatus createdAt deliveredAt
      trackingInfo(first: 3) { company number url }
      fulfillmentLineItems(first: 5) { nodes { id quantity lineItem { id } } }
    }
    transactions(first: 5) {
      id kind status gateway createdAt processedAt test amountSet { shopMoney { amount } }
      parentTransaction { id }
    }
  }
}
"""


async def test_order_by_id_has_the_fields_the_portal_reads() -> None:
    world, catalogue = seeded_world()
    order = add_jane_order(world, catalogue, note="Leave at door", source_identifier="src-1")
    world.add_fulfillment(
        DOMAIN,
        order.id,
        tracking_company="UPS",
        tracking_number="1Z999",
        tracking_url="https://ups.example/1Z999",
        display_status="DELIVERED",
        delivered_at=datetime(2026, 10, 8, tzinfo=UTC),
    )
    async with admin_client(world) as client:
        found = (await graphql_data(client, ORDER, {"id": order.gid}))["order"]
    assert found["name"] == "#1001" and found["legacyResourceId"] == str(order.id)
    assert found["createdAt"] == "2026-10-05T15:30:00Z"
    assert found["subtotalPriceSet"]["shopMoney"] == {"amount": "111.50", "currencyCode": "USD"}
    assert found["totalPriceSet"]["shopMoney"]["amount"] == "116.45"
    assert found["totalDiscountsSet"]["shopMoney"]["amount"] == "5.00"
    assert found["displayFulfillmentStatus"] == "FULFILLED"
    assert found["customer"]["displayName"] == "Jane Doe"
    assert found["shippingAddress"]["countryCodeV2"] == "US"
    shirt = found["lineItems"]["nodes"][0]
    assert shirt["name"] == "Linen shirt - M" and shirt["variantTitle"] == "M"
    assert shirt["originalUnitPriceSet"]["shopMoney"]["amount"] == "49.00"
    assert shirt["discountedUnitPriceSet"]["shopMoney"]["amount"] == "46.50"
    assert shirt["discountedTotalSet"]["shopMoney"]["amount"] == "93.00"
    assert shirt["fulfillableQuantity"] == 0
    fulfillment = found["fulfillments"][0]
    assert fulfillment["trackingInfo"] == [
        {"company": "UPS", "number": "1Z999", "url": "https://ups.example/1Z999"}
    ]
    assert fulfillment["displayStatus"] == "DELIVERED"
    assert fulfillment["deliveredAt"] == "2026-10-08T00:00:00Z"
    assert {n["lineItem"]["id"] for n in fulfillment["fulfillmentLineItems"]["nodes"]} == {
        li.gid for li in order.line_items
    }
    sale = found["transactions"][0]
    assert (sale["kind"], sale["status"], sale["amountSet"]["shopMoney"]["amount"]) == (
        "SALE",
        "SUCCESS",
        "116.45",
    )


async def test_an_order_of_another_shop_is_null() -> None:
    world, catalogue = seeded_world()
    order = add_jane_order(world, catalogue)
    async with admin_client(world) as client:
        data = await graphql_data(
            client, ORDER, {"id": order.gid}, domain=OTHER_DOMAIN, token=OTHER_TOKEN
        )
    assert data["order"] is None


NODES = """
query Nodes($ids: [ID!]!, $one: ID!) {
  node(id: $one) { id ... on ProductVariant { sku } }
  nodes(ids: $ids) {
    __typename
    ... on ProductVariant {
      id title displayName sku price availableForSale inventoryQuantity inventoryPolicy
      selectedOptions { name value }
      product { id title handle vendor }
      inventoryItem {
        id tracked
        inventoryLevels(first: 5) {
          nodes { id location { id name } quantities(names: ["available", "on_hand"]) {
            name quantity } }
        }
      }
    }
    ... on Order { name }
    ... on Product { title }
  }
}
"""


async def test_node_and_nodes_resolve_variants_orders_and_products() -> None:
    world, catalogue = seeded_world()
    order = add_jane_order(world, catalogue)
    ids = [
        catalogue.shirt.variants[1].gid,
        order.gid,
        catalogue.mug.gid,
        "gid://shopify/Order/999999",
    ]
    async with admin_client(world) as client:
        data = await graphql_data(client, NODES, {"ids": ids, "one": catalogue.mug.variants[0].gid})
    assert data["node"] == {"id": catalogue.mug.variants[0].gid, "sku": "MUG"}
    variant, found_order, product, missing = data["nodes"]
    assert variant["displayName"] == "Linen shirt - L"
    assert (variant["price"], variant["inventoryQuantity"], variant["availableForSale"]) == (
        "49.00",
        1,
        True,
    )
    assert variant["selectedOptions"] == [{"name": "Size", "value": "L"}]
    assert variant["product"]["handle"] == "linen-shirt"
    levels = variant["inventoryItem"]["inventoryLevels"]["nodes"]
    assert levels[0]["location"]["name"] == "Main warehouse"
    assert levels[0]["quantities"] == [
        {"name": "available", "quantity": 1},
        {"name": "on_hand", "quantity": 1},
    ]
    assert found_order == {"__typename": "Order", "name": "#1001"}
    assert product == {"__typename": "Product", "title": "Stoneware mug"}
    assert missing is None


async def test_shop_describes_itself() -> None:
    world, _ = seeded_world()
    async with admin_client(world) as client:
        data = await graphql_data(
            client,
            "{ shop { name myshopifyDomain currencyCode ianaTimezone } }",
            domain=OTHER_DOMAIN,
            token=OTHER_TOKEN,
        )
    assert data["shop"] == {
        "name": "Fern & Finch",
        "myshopifyDomain": OTHER_DOMAIN,
        "currencyCode": "CAD",
        "ianaTimezone": "America/New_York",
    }
