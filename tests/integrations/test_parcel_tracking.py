"""Each parcel's tracking as the portal reads it from the sandbox Shopify: the carrier's events
drive displayStatus, inTransitAt, deliveredAt and estimatedDeliveryAt as on Shopify, the
Order document asks for the latest event only, and a parcel's lines are paged to the end."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from graphql import GraphQLEnumType, parse, validate

from portal.integrations.shopify import ShopifyClient
from portal.reorders.tracking import TrackingState, order_tracking
from sandbox.shopify import create_shopify_sandbox
from sandbox.shopify.state import EVENT_STATUSES, LineItemSeed, ShopifyWorld, VariantSeed
from tests.helpers.factories import store_row
from tests.helpers.shopify_schema import require_real_schemas

pytestmark = pytest.mark.anyio
DOMAIN = "parcels.myshopify.com"
TOKEN = "shpat_parcels_0000000000"
SHIPPED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PAGED = "FulfillmentLineItems"
EVENTS_QUERY = """
query Events($id: ID!, $first: Int!, $after: String, $reverse: Boolean) {
  fulfillment(id: $id) {
    displayStatus
    inTransitAt
    deliveredAt
    estimatedDeliveryAt
    events(first: $first, after: $after, reverse: $reverse, sortKey: HAPPENED_AT) {
      pageInfo { hasNextPage endCursor }
      nodes { id status happenedAt estimatedDeliveryAt message city }
    }
  }
}
"""


@dataclass
class Shop:
    world: ShopifyWorld
    client: ShopifyClient
    http: httpx.AsyncClient
    operations: list[str] = field(default_factory=list)

    async def graphql(self, query: str, **variables: object) -> dict[str, object]:
        answer = await self.http.post(
            f"/{DOMAIN}/admin/api/2025-04/graphql.json",
            json={"query": query, "variables": variables},
            headers={"X-Shopify-Access-Token": TOKEN},
        )
        body: dict[str, object] = answer.json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[return-value]


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    world = ShopifyWorld()
    world.add_shop(DOMAIN, access_token=TOKEN, bucket_size=20000, restore_rate=2000)
    operations: list[str] = []

    async def record(request: httpx.Request) -> None:
        sent = json.loads(request.content)
        name = sent.get("query", "").split("(")[0].split("{")[0].split()[-1]
        operations.append(f"{name} first={sent['variables']['first']}" if name == PAGED else name)

    transport = httpx.ASGITransport(app=create_shopify_sandbox(world))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sandbox", event_hooks={"request": [record]}
    ) as http:
        client = ShopifyClient(
            http,
            shop_domain=DOMAIN,
            access_token=TOKEN,
            api_version="2025-04",
            endpoint="http://sandbox/{shop}/admin/api/{version}/graphql.json",
        )
        yield Shop(world, client, http, operations)


def place(world: ShopifyWorld, lines: int) -> int:
    products = [
        world.add_product(DOMAIN, title=f"Item {n}", variants=[VariantSeed(sku=f"I{n}")])
        for n in range(lines)
    ]
    order = world.add_order(
        DOMAIN,
        created_at=SHIPPED - timedelta(days=1),
        email="jane@example.com",
        line_items=[LineItemSeed(variant=p.variants[0]) for p in products],
    )
    return order.id


async def test_the_portal_reads_a_parcels_tracking_and_every_line(shop: Shop) -> None:
    order_id = place(shop.world, lines=8)  # more lines than the first page of a parcel's
    parcel = shop.world.add_fulfillment(DOMAIN, order_id, tracking_number="1Z1", created_at=SHIPPED)
    estimate = SHIPPED + timedelta(days=4)
    scans = [
        ("IN_TRANSIT", SHIPPED + timedelta(hours=6)),
        ("IN_TRANSIT", SHIPPED + timedelta(days=1)),
        ("OUT_FOR_DELIVERY", SHIPPED + timedelta(days=3)),
    ]
    for status, at in scans:
        shop.world.add_fulfillment_event(
            DOMAIN, order_id, parcel.id, status, happened_at=at, estimated_delivery_at=estimate
        )

    order = await shop.client.get_order(order_id=f"gid://shopify/Order/{order_id}")

    assert order is not None
    read = order.fulfillments[0]
    assert read.display_status == "OUT_FOR_DELIVERY"
    assert read.in_transit_at == SHIPPED + timedelta(hours=6)
    assert read.estimated_delivery_at == estimate
    assert read.delivered_at is None
    assert read.latest_event is not None
    assert (read.latest_event.status, read.latest_event.happened_at) == scans[-1]
    assert {line.line_item_id for line in read.line_items} == {li.id for li in order.line_items}
    # the parcel's second page asks for no more than the three lines still unseen
    # the order's own lines page on (in growing pages), then the parcel's last three lines
    assert shop.operations[0] == "Order"
    assert set(shop.operations[1:-1]) == {"OrderLineItems"}
    assert shop.operations[-1] == "FulfillmentLineItems first=3"
    store = store_row("parcels", claim_window_days=30, claim_windows={}, lost_after_quiet_days=7)
    now = SHIPPED + timedelta(days=3, hours=2)
    assert order_tracking(order, store, now).state is TrackingState.IN_TRANSIT
    assert order_tracking(order, store, now + timedelta(days=7)).state is TrackingState.NO_MOVEMENT

    delivered = SHIPPED + timedelta(days=3, hours=5)
    shop.world.add_fulfillment_event(
        DOMAIN, order_id, parcel.id, "DELIVERED", happened_at=delivered
    )
    again = await shop.client.get_order(order_id=f"gid://shopify/Order/{order_id}")
    assert again is not None
    assert again.fulfillments[0].display_status == "DELIVERED"
    assert again.fulfillments[0].delivered_at == delivered
    assert order_tracking(again, store, delivered + timedelta(days=1)).state is (
        TrackingState.DELIVERED
    )


async def test_a_new_parcel_shows_fulfilled_until_its_carrier_says_more(shop: Shop) -> None:
    order_id = place(shop.world, lines=1)
    parcel = shop.world.add_fulfillment(DOMAIN, order_id, created_at=SHIPPED)
    data = await shop.graphql(EVENTS_QUERY, id=parcel.gid, first=5)
    assert data["fulfillment"] == {
        "displayStatus": "FULFILLED",
        "inTransitAt": None,
        "deliveredAt": None,
        "estimatedDeliveryAt": None,
        "events": {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []},
    }


async def test_events_are_served_by_when_they_happened_in_pages(shop: Shop) -> None:
    order_id = place(shop.world, lines=1)
    parcel = shop.world.add_fulfillment(DOMAIN, order_id, created_at=SHIPPED)
    moments = [SHIPPED + timedelta(hours=h) for h in (30, 5, 50)]  # recorded out of order
    for at in moments:
        shop.world.add_fulfillment_event(DOMAIN, order_id, parcel.id, "IN_TRANSIT", happened_at=at)

    newest = await shop.graphql(EVENTS_QUERY, id=parcel.gid, first=1, reverse=True)
    events = newest["fulfillment"]["events"]  # type: ignore[index]
    assert [e["happenedAt"] for e in events["nodes"]] == ["2026-11-04T11:00:00Z"]
    assert events["pageInfo"]["hasNextPage"] is True
    first = await shop.graphql(EVENTS_QUERY, id=parcel.gid, first=2)
    rest = await shop.graphql(
        EVENTS_QUERY,
        id=parcel.gid,
        first=2,
        after=first["fulfillment"]["events"]["pageInfo"]["endCursor"],  # type: ignore[index]
    )
    pages = [*first["fulfillment"]["events"]["nodes"], *rest["fulfillment"]["events"]["nodes"]]  # type: ignore[index]
    assert [e["happenedAt"] for e in pages] == [
        "2026-11-02T14:00:00Z",
        "2026-11-03T15:00:00Z",
        "2026-11-04T11:00:00Z",
    ]
    assert first["fulfillment"]["inTransitAt"] == "2026-11-02T14:00:00Z"  # type: ignore[index]


def test_the_events_query_and_every_served_status_are_shopifys() -> None:
    for version, schema in require_real_schemas().items():
        assert validate(schema, parse(EVENTS_QUERY)) == [], version
        statuses = schema.type_map["FulfillmentEventStatus"]
        display = schema.type_map["FulfillmentDisplayStatus"]
        assert isinstance(statuses, GraphQLEnumType) and isinstance(display, GraphQLEnumType)
        assert set(statuses.values) >= EVENT_STATUSES, version
        assert set(display.values) >= EVENT_STATUSES, version  # an event's status is displayed


def test_an_unknown_event_status_is_refused() -> None:
    world = ShopifyWorld()
    world.add_shop(DOMAIN, access_token=TOKEN)
    order_id = place(world, lines=1)
    parcel = world.add_fulfillment(DOMAIN, order_id)
    with pytest.raises(ValueError, match="FulfillmentEventStatus"):
        world.add_fulfillment_event(DOMAIN, order_id, parcel.id, "TELEPORTED")


async def test_an_order_with_more_parcels_than_one_read_says_how_many_were_not_read(
    shop: Shop,
) -> None:
    order_id = place(shop.world, lines=42)
    order = shop.world.order(DOMAIN, order_id)
    assert order is not None
    for n, line in enumerate(order.line_items):  # one parcel per line: 42 parcels
        shop.world.add_fulfillment(
            DOMAIN, order_id, tracking_number=f"1Z{n}", line_items=[(line.id, 1)]
        )

    read = await shop.client.get_order(order_id=f"gid://shopify/Order/{order_id}")

    assert read is not None
    assert len(read.fulfillments) == 40  # Shopify's 1,000-point limit for one query
    assert read.parcels_unread == 2
