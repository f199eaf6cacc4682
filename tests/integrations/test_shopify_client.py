"""ShopifyClient against scripted answers (``httpx.MockTransport``): parsing, error mapping,
retries, throttling and the exactly-once rules for mutations."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from portal import metrics
from portal.backoff import HTTP_RETRY, retry_after
from portal.errors import (
    InventoryClaimFailed,
    QueryCostExceeded,
    RefundOutcomeUnknown,
    ShopifyAuthError,
    ShopifyGraphQLError,
    ShopifyResponseError,
    ShopifyThrottled,
    ShopifyUnavailable,
    ShopifyUserError,
)
from portal.integrations.shopify import (
    NewOrder,
    NewOrderLine,
    RefundLine,
    RefundTransaction,
    ShopifyClient,
)
from portal.integrations.shopify.loader import load
from portal.integrations.shopify.throttle import (
    MAX_QUERY_COST,
    CostLedger,
    LocalBucket,
    QueryCost,
    estimate_cost,
)
from tests.helpers.factories import IN_OREGON, shopify_address

pytestmark = pytest.mark.anyio

SHOP = "maple-and-moss.myshopify.com"
ORDER_GID = "gid://shopify/Order/5001"

Answer = httpx.Response | Exception | Callable[[dict[str, Any]], httpx.Response]


# --- a scripted Shopify ----------------------------------------------------------------------


@dataclass
class Script:
    """Answers each request with the next scripted answer and records what was asked."""

    answers: list[Answer]
    bodies: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, Any]] = field(default_factory=list)
    headers: list[httpx.Headers] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        self.headers.append(request.headers)
        self.events.append(("request", body["operationName"]))
        if not self.answers:
            raise AssertionError(f"unexpected request {body['operationName']}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(body)
        return answer

    def operations(self) -> list[str]:
        return [b["operationName"] for b in self.bodies]


@dataclass
class FakeTime:
    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)
    script: Script | None = None

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.script is not None:
            self.script.events.append(("sleep", round(seconds, 6)))


def cost(requested: float = 1, available: float = 999, restore: float = 100) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": requested,
            "throttleStatus": {
                "maximumAvailable": 1000.0,
                "currentlyAvailable": available,
                "restoreRate": restore,
            },
        }
    }


def ok(data: dict[str, Any], **cost_args: float) -> httpx.Response:
    return httpx.Response(200, json={"data": data, "extensions": cost(**cost_args)})


def throttled(requested: float, available: float, restore: float) -> httpx.Response:
    extensions = cost(requested, available, restore)
    extensions["cost"]["actualQueryCost"] = None
    return httpx.Response(
        200,
        json={
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            "extensions": extensions,
        },
    )


def truthfully_priced(data: dict[str, Any]) -> Callable[[dict[str, Any]], httpx.Response]:
    """An answer whose reported cost is what Shopify's published rules give for the request."""

    def answer(body: dict[str, Any]) -> httpx.Response:
        requested = estimate_cost(load(body["operationName"]).ast, body["variables"])
        return ok(data, requested=requested)

    return answer


def shop_data() -> dict[str, Any]:
    return {
        "shop": {
            "name": "Maple & Moss",
            "myshopifyDomain": SHOP,
            "currencyCode": "USD",
            "ianaTimezone": "America/New_York",
            "contactEmail": "hello@maple.example",
        }
    }


def bag(amount: str, currency: str = "USD") -> dict[str, Any]:
    return {"shopMoney": {"amount": amount, "currencyCode": currency}}


def line_item_json(number: int, **changes: Any) -> dict[str, Any]:
    item = {
        "id": f"gid://shopify/LineItem/{number}",
        "name": "Linen shirt - M",
        "title": "Linen shirt",
        "variantTitle": "M",
        "sku": "LS-M",
        "quantity": 2,
        "currentQuantity": 2,
        "refundableQuantity": 2,
        "fulfillableQuantity": 0,
        "requiresShipping": True,
        "discountedUnitPriceAfterAllDiscountsSet": bag("44.50"),
        "totalDiscountSet": bag("9.00"),
        "image": {"url": "https://cdn.example/ls.jpg", "altText": "A shirt"},
        "variant": {"id": "gid://shopify/ProductVariant/4001"},
        "product": {"id": "gid://shopify/Product/8001"},
    }
    item.update(changes)
    return item


def order_json(
    *,
    number: int = 1001,
    email: str = "Jane@Example.com",
    line_items: list[dict[str, Any]] | None = None,
    next_cursor: str | None = None,
    refunds: list[dict[str, Any]] | None = None,
    source_identifier: str | None = None,
) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/Order/{number + 4000}",
        "legacyResourceId": str(number + 4000),
        "name": f"#{number}",
        "email": email,
        "createdAt": "2026-10-01T12:30:00Z",
        "updatedAt": "2026-10-02T08:00:00Z",
        "processedAt": "2026-10-01T12:30:00Z",
        "cancelledAt": None,
        "cancelReason": None,
        "closed": False,
        "test": False,
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "FULFILLED",
        "currencyCode": "USD",
        "sourceIdentifier": source_identifier,
        "note": None,
        "tags": ["protected"],
        "customer": {
            "id": "gid://shopify/Customer/3001",
            "firstName": "Jane",
            "lastName": "Doe",
            "displayName": "Jane Doe",
            "email": email,
        },
        "shippingAddress": {
            "firstName": "Jane",
            "lastName": "Doe",
            "name": "Jane Doe",
            "company": None,
            "address1": "1 Main St",
            "address2": None,
            "city": "Springfield",
            "province": "Oregon",
            "provinceCode": "OR",
            "zip": "97477",
            "country": "United States",
            "countryCodeV2": "US",
            "phone": None,
        },
        "subtotalPriceSet": bag("89.00"),
        "totalPriceSet": bag("93.95"),
        "totalShippingPriceSet": bag("4.95"),
        "totalRefundedSet": bag("0.00"),
        "totalDiscountsSet": bag("9.00"),
        "currentTotalPriceSet": bag("93.95"),
        "lineItems": {
            "pageInfo": {"hasNextPage": next_cursor is not None, "endCursor": next_cursor},
            "nodes": line_items if line_items is not None else [line_item_json(9001)],
        },
        "fulfillments": [
            {
                "id": "gid://shopify/Fulfillment/2001",
                "name": f"#{number}-F1",
                "status": "SUCCESS",
                "displayStatus": "IN_TRANSIT",
                "createdAt": "2026-10-02T08:00:00+00:00",
                "inTransitAt": "2026-10-02T18:00:00+00:00",
                "deliveredAt": None,
                "estimatedDeliveryAt": "2026-10-06T18:00:00+00:00",
                "trackingInfo": [{"company": "UPS", "number": "1Z999", "url": None}],
                "events": {
                    "nodes": [
                        {
                            "status": "IN_TRANSIT",
                            "happenedAt": "2026-10-03T07:00:00+00:00",
                            "estimatedDeliveryAt": None,
                        }
                    ]
                },
                "fulfillmentLineItems": {
                    "pageInfo": {"hasNextPage": False, "endCursor": None},
                    "nodes": [
                        {
                            "quantity": 2,
                            "lineItem": {"id": "gid://shopify/LineItem/9001"},
                        }
                    ],
                },
            }
        ],
        "transactions": [
            {
                "id": "gid://shopify/OrderTransaction/15001",
                "kind": "SALE",
                "status": "SUCCESS",
                "gateway": "shopify_payments",
                "createdAt": "2026-10-01T12:30:00Z",
                "processedAt": "2026-10-01T12:30:00Z",
                "test": False,
                "amountSet": bag("93.95"),
                "parentTransaction": None,
            }
        ],
        "refunds": refunds or [],
    }


def refund_json(number: int = 17001, note: str | None = None) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/Refund/{number}",
        "createdAt": "2026-10-05T10:00:00Z",
        "note": note,
        "totalRefundedSet": bag("44.50"),
        "refundLineItems": {
            "nodes": [
                {
                    "id": "gid://shopify/RefundLineItem/19001",
                    "quantity": 1,
                    "restockType": "NO_RESTOCK",
                    "lineItem": {"id": "gid://shopify/LineItem/9001"},
                    "subtotalSet": bag("44.50"),
                }
            ]
        },
        "transactions": {
            "nodes": [
                {
                    "id": "gid://shopify/OrderTransaction/15002",
                    "kind": "REFUND",
                    "status": "SUCCESS",
                    "gateway": "shopify_payments",
                    "amountSet": bag("44.50"),
                    "parentTransaction": {"id": "gid://shopify/OrderTransaction/15001"},
                }
            ]
        },
    }


def candidates(*orders: dict[str, Any]) -> dict[str, Any]:
    """An OrderSearch (or OrderIds) answer, one page: the few fields the client checks before
    reading an order."""
    keys = ("id", "name", "email", "sourceIdentifier")
    return {
        "orders": {
            "pageInfo": {"hasNextPage": False, "endCursor": None},
            "nodes": [
                {k: o[k] for k in keys} | {"customer": {"email": o["customer"]["email"]}}
                for o in orders
            ],
        }
    }


def orders_page(*orders: dict[str, Any], next_cursor: str | None = None) -> dict[str, Any]:
    return {
        "orders": {
            "pageInfo": {"hasNextPage": next_cursor is not None, "endCursor": next_cursor},
            "nodes": list(orders),
        }
    }


def billable_order_json(number: int) -> dict[str, Any]:
    """An order as BillableOrders lists it: what the monthly invoice reads."""
    line = {
        "id": "gid://shopify/LineItem/9001",
        "quantity": 2,
        "currentQuantity": 2,
        "variant": {"id": "gid://shopify/ProductVariant/4001"},
        "originalTotalSet": bag("98.00"),
        "totalDiscountSet": bag("9.00"),
    }
    return {
        "id": f"gid://shopify/Order/{number + 4000}",
        "name": f"#{number}",
        "createdAt": "2026-10-01T12:30:00Z",
        "updatedAt": "2026-10-02T08:00:00Z",
        "cancelledAt": None,
        "currencyCode": "USD",
        "lineItems": {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": [line]},
    }


def new_order(**changes: Any) -> NewOrder:
    values: dict[str, Any] = {
        "source_identifier": "reorder-request-42",
        "email": "jane@example.com",
        "currency": "USD",
        "lines": [NewOrderLine("gid://shopify/ProductVariant/4001", 2, Decimal("44.50"))],
        "shipping_address": shopify_address(**IN_OREGON),
        "note": "Replacement for lost parcel, paid by the protection service",
        "tags": ("reorder",),
    }
    values.update(changes)
    return NewOrder(**values)


@dataclass
class Harness:
    script: Script
    time: FakeTime
    http: httpx.AsyncClient

    def client(self, **options: Any) -> ShopifyClient:
        settings: dict[str, Any] = {
            "shop_domain": SHOP,
            "access_token": "shpat_test",
            "api_version": "2025-04",
            "sleep": self.time.sleep,
            "clock": self.time.clock,
            "rng": lambda: 0.5,
        }
        settings.update(options)
        return ShopifyClient(self.http, **settings)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    script = Script([])
    async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as http:
        yield Harness(script, FakeTime(script=script), http)


# --- reading ---------------------------------------------------------------------------------


async def test_get_order_returns_the_projects_own_dataclasses(harness: Harness) -> None:
    harness.script.answers = [ok({"order": order_json(refunds=[refund_json()])})]

    order = await harness.client().get_order(order_id="5001")

    assert order is not None
    assert harness.script.bodies[0]["variables"] == {"id": ORDER_GID}
    assert harness.script.headers[0]["X-Shopify-Access-Token"] == "shpat_test"
    assert order.id == ORDER_GID and order.legacy_id == 5001 and order.number == "1001"
    assert order.created_at == datetime(2026, 10, 1, 12, 30, tzinfo=UTC)
    assert order.total.amount == Decimal("93.95") and order.total.currency == "USD"
    assert order.customer_name == "Jane Doe"
    assert order.shipping_address is not None and order.shipping_address.country_code == "US"
    line = order.line_items[0]
    assert line.unit_price.amount == Decimal("44.50")
    assert line.variant_id == "gid://shopify/ProductVariant/4001"
    assert order.fulfillments[0].tracking[0].number == "1Z999"
    [refund] = order.refunds
    assert refund.total.amount > 0 and refund.id.startswith("gid://shopify/Refund/")


async def test_get_order_fetches_every_page_of_line_items(harness: Harness) -> None:
    def second_page(body: dict[str, Any]) -> httpx.Response:
        assert body["variables"]["after"] == "cursor-1"
        return ok(
            {
                "order": {
                    "id": ORDER_GID,
                    "lineItems": {
                        "pageInfo": {"hasNextPage": False, "endCursor": "cursor-2"},
                        "nodes": [line_item_json(9002), line_item_json(9003)],
                    },
                }
            }
        )

    harness.script.answers = [
        ok({"order": order_json(next_cursor="cursor-1")}),
        second_page,
    ]
    order = await harness.client().get_order(order_id=ORDER_GID)

    assert order is not None
    assert [li.id.rsplit("/", 1)[1] for li in order.line_items] == ["9001", "9002", "9003"]
    assert harness.script.operations() == ["Order", "OrderLineItems"]


async def test_get_order_answers_none_for_an_unknown_order(harness: Harness) -> None:
    harness.script.answers = [ok({"order": None})]
    assert await harness.client().get_order(order_id=ORDER_GID) is None


@pytest.mark.parametrize("name", ["#1001", "1001", " #1001 "])
async def test_find_order_normalises_the_name_and_rechecks_email(
    harness: Harness, name: str
) -> None:
    fuzzy_neighbour = order_json(number=10010)
    harness.script.answers = [
        ok(candidates(fuzzy_neighbour, order_json())),
        ok({"order": order_json()}),
    ]

    order = await harness.client().find_order(name=name, email="jane@EXAMPLE.com")

    assert order is not None and order.name == "#1001"
    search, read = harness.script.bodies
    assert search["variables"]["query"] == "name:#1001 email:jane@EXAMPLE.com"
    assert read["operationName"] == "Order"
    assert read["variables"] == {"id": order_json()["id"]}


async def test_find_order_refuses_an_order_with_another_email(harness: Harness) -> None:
    other = order_json(email="someone@else.com")
    harness.script.answers = [ok(candidates(other))]
    assert await harness.client().find_order(name="1001", email="jane@example.com") is None
    assert harness.script.operations() == ["OrderSearch"]


async def test_find_order_quotes_search_values_with_spaces(harness: Harness) -> None:
    harness.script.answers = [ok(candidates())]
    await harness.client().find_order(name="1001", email='a b"@x.com')
    assert harness.script.bodies[0]["variables"]["query"] == 'name:#1001 email:"a b\\"@x.com"'


async def test_order_listing_follows_cursors_and_keeps_pages_under_the_cost_limit(
    harness: Harness,
) -> None:
    pages = [
        orders_page(billable_order_json(1001), billable_order_json(1002), next_cursor="c1"),
        orders_page(billable_order_json(1003), next_cursor="c2"),
        orders_page(billable_order_json(1004)),
    ]
    harness.script.answers = [truthfully_priced(page) for page in pages]

    listed = harness.client().iter_billable_orders(query="tag:protected")
    names = [o.name async for o in listed]

    assert names == ["#1001", "#1002", "#1003", "#1004"]
    afters = [b["variables"]["after"] for b in harness.script.bodies]
    assert afters == [None, "c1", "c2"]
    orders_doc = load("BillableOrders").ast
    for body in harness.script.bodies:
        assert 1 <= body["variables"]["first"] <= 250
        assert estimate_cost(orders_doc, body["variables"]) <= MAX_QUERY_COST


async def test_order_listing_halves_the_page_when_shopify_finds_it_too_expensive(
    harness: Harness,
) -> None:
    too_expensive = httpx.Response(
        200,
        json={
            "errors": [
                {
                    "message": "Query cost is 1600",
                    "extensions": {"code": "MAX_COST_EXCEEDED", "cost": 1600, "maxCost": 1000},
                }
            ]
        },
    )
    # The first page reports a tenth of the estimated cost, so the next page is made larger;
    # Shopify finds that one too expensive after all, and it is halved.
    harness.script.answers = [
        ok(orders_page(billable_order_json(1001), next_cursor="c1"), requested=64),
        too_expensive,
        ok(orders_page(billable_order_json(1002))),
    ]

    orders = [o async for o in harness.client().iter_billable_orders(query="", page_size=50)]

    assert [o.name for o in orders] == ["#1001", "#1002"]
    sizes = [b["variables"]["first"] for b in harness.script.bodies]
    assert sizes[1] > sizes[0] and sizes[2] == sizes[1] // 2
    assert [b["variables"]["after"] for b in harness.script.bodies] == [None, "c1", "c1"]


async def test_get_variants_chunks_by_cost_and_skips_unknown_ids(harness: Harness) -> None:
    def variants(body: dict[str, Any]) -> httpx.Response:
        nodes = [
            None if variant_id.endswith("/0") else variant_node(variant_id)
            for variant_id in body["variables"]["ids"]
        ]
        return truthfully_priced({"nodes": nodes})(body)

    harness.script.answers = [variants] * 50
    ids = [f"gid://shopify/ProductVariant/{n}" for n in range(0, 60)]

    found = await harness.client().get_variants(variant_ids=ids)

    assert [v.id for v in found] == ids[1:]
    document = load("Variants").ast
    assert len(harness.script.bodies) > 1
    for body in harness.script.bodies:
        assert len(body["variables"]["ids"]) <= 250
        assert estimate_cost(document, body["variables"]) <= MAX_QUERY_COST
    variant = found[0]
    assert variant.levels[0].available == 7 and variant.can_supply(7)
    assert not variant.can_supply(8)


def variant_node(variant_id: str) -> dict[str, Any]:
    return {
        "id": variant_id,
        "title": "M",
        "displayName": "Linen shirt - M",
        "sku": "LS-M",
        "price": "49.00",
        "availableForSale": True,
        "inventoryQuantity": 7,
        "inventoryPolicy": "DENY",
        "selectedOptions": [{"name": "Size", "value": "M"}],
        "image": None,
        "product": {
            "id": "gid://shopify/Product/8001",
            "title": "Linen shirt",
            "handle": "linen-shirt",
            "vendor": "Maple & Moss",
        },
        "inventoryItem": {
            "id": "gid://shopify/InventoryItem/6001",
            "tracked": True,
            "inventoryLevels": {
                "nodes": [
                    {
                        "id": "gid://shopify/InventoryLevel/1",
                        "location": {
                            "id": "gid://shopify/Location/70001",
                            "name": "Main warehouse",
                        },
                        "quantities": [{"name": "available", "quantity": 7}],
                    }
                ]
            },
        },
    }


async def test_shop_info(harness: Harness) -> None:
    harness.script.answers = [ok(shop_data())]
    info = await harness.client().shop()
    assert (info.name, info.currency, info.iana_timezone, info.contact_email) == (
        "Maple & Moss",
        "USD",
        "America/New_York",
        "hello@maple.example",
    )


# --- throttling ------------------------------------------------------------------------------


async def test_throttled_answer_waits_for_the_missing_points_then_succeeds(
    harness: Harness,
) -> None:
    harness.script.answers = [throttled(requested=100, available=20, restore=50), ok(shop_data())]

    info = await harness.client().shop()

    assert info.name == "Maple & Moss"
    assert harness.time.sleeps == [pytest.approx((100 - 20) / 50)]
    assert harness.script.operations() == ["Shop", "Shop"]


async def test_known_empty_bucket_is_waited_for_before_sending(harness: Harness) -> None:
    harness.script.answers = [ok(shop_data(), available=0, restore=10), ok(shop_data())]
    client = harness.client()

    await client.shop()
    await client.shop()

    # Shop costs one point; the bucket was empty and regains 10 points a second.
    assert harness.script.events == [
        ("request", "Shop"),
        ("sleep", 0.1),
        ("request", "Shop"),
    ]


async def test_bucket_knowledge_is_shared_by_clients_of_one_http_client(
    harness: Harness,
) -> None:
    harness.script.answers = [ok(shop_data(), available=0, restore=10), ok(shop_data())]
    await harness.client().shop()
    await harness.client().shop()
    assert ("sleep", 0.1) in harness.script.events


async def test_throttling_is_waited_out_by_time_not_by_count_of_retries(
    harness: Harness,
) -> None:
    # Waiting for points is no failure: more throttled answers than max_retries are waited
    # out while the time budget lasts.
    harness.script.answers = [*(throttled(100, 0, 100) for _ in range(4)), ok(shop_data())]
    await harness.client(max_retries=1, max_wait=30).shop()
    assert len(harness.script.bodies) == 5
    # 100 points at 100 a second; each THROTTLED after waiting that out says others spend from
    # the bucket too, so the process counts on half as much of its restore rate each time
    assert harness.time.sleeps == [pytest.approx(w) for w in (1.0, 2.0, 4.0, 8.0)]


async def test_throttling_beyond_the_time_budget_raises_shopify_throttled(
    harness: Harness,
) -> None:
    harness.script.answers = [throttled(100, 0, 100) for _ in range(3)]
    with pytest.raises(ShopifyThrottled):
        await harness.client(max_retries=10, max_wait=2.5).shop()
    assert len(harness.script.bodies) == 2  # waited 1 s; 2 s more would pass 2.5 s


async def test_a_process_that_meets_throttled_counts_on_less_and_wins_it_back() -> None:
    """Processes sharing a shop's bucket each learn, from THROTTLED answers, that the others
    spend too: the share of the restore rate a process counts on halves, and grows back a
    tenth with each query Shopify admits."""
    clock = [0.0]
    ledger = CostLedger(LocalBucket(lambda: clock[0]))
    admitted = QueryCost(requested=100, actual=100, maximum=1000, available=0, restore_rate=100)
    refused = QueryCost(requested=100, actual=None, maximum=1000, available=0, restore_rate=100)
    first = await ledger.take_turn("Order", 100, longest=30)
    assert first is not None
    await ledger.settle(first, admitted, name="Order", estimate=100)  # the bucket, now known
    second = await ledger.take_turn("Order", 100, longest=30)
    assert second is not None and second.wait == pytest.approx(1.0)  # 100 points at 100 a s
    clock[0] = 1.0
    await ledger.settle(second, refused, name="Order", estimate=100)  # someone else took them
    again = await ledger.take_turn("Order", 100, longest=30)
    assert again is not None and again.wait == pytest.approx(2.0)  # 100 points at 50 a second
    clock[0] = 3.0
    await ledger.settle(again, admitted, name="Order", estimate=100)
    later = await ledger.take_turn("Order", 100, longest=30)
    assert later is not None and later.wait == pytest.approx(100 / 60)  # 0.5 + 0.1 of it


async def test_a_wait_longer_than_max_wait_is_not_slept(harness: Harness) -> None:
    harness.script.answers = [throttled(requested=900, available=0, restore=10)]
    with pytest.raises(ShopifyThrottled) as raised:
        await harness.client(max_wait=30).shop()
    assert raised.value.retryable
    assert harness.time.sleeps == []


# --- transient failures ----------------------------------------------------------------------


async def test_429_honours_retry_after(harness: Harness) -> None:
    harness.script.answers = [
        httpx.Response(429, headers={"Retry-After": "2.5"}, json={"errors": "Exceeded"}),
        ok(shop_data()),
    ]
    await harness.client().shop()
    assert harness.time.sleeps == [2.5]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_retried_with_jittered_backoff(
    harness: Harness, status: int
) -> None:
    harness.script.answers = [httpx.Response(status), httpx.Response(status), ok(shop_data())]
    await harness.client().shop()
    # rng() == 0.5: half of 0.5s fixed plus a quarter, then half of 1s plus a quarter
    assert harness.time.sleeps == [0.375, 0.75]


async def test_exhausted_retries_raise_shopify_unavailable(harness: Harness) -> None:
    harness.script.answers = [httpx.Response(503) for _ in range(3)]
    with pytest.raises(ShopifyUnavailable) as raised:
        await harness.client(max_retries=2).shop()
    assert raised.value.retryable
    assert len(harness.script.bodies) == 3


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), httpx.RemoteProtocolError("eof")],
)
async def test_timeouts_and_connection_errors_are_retried_for_queries(
    harness: Harness, failure: Exception
) -> None:
    harness.script.answers = [failure, ok(shop_data())]
    assert (await harness.client().shop()).name == "Maple & Moss"
    assert len(harness.script.bodies) == 2


@pytest.mark.parametrize("status", [401, 403, 423])
async def test_auth_failures_are_not_retried(harness: Harness, status: int) -> None:
    harness.script.answers = [
        httpx.Response(status, json={"errors": "[API] Invalid API key or access token"})
    ]
    with pytest.raises(ShopifyAuthError, match="Invalid API key"):
        await harness.client().shop()
    assert len(harness.script.bodies) == 1 and harness.time.sleeps == []


async def test_access_denied_is_an_auth_error(harness: Harness) -> None:
    harness.script.answers = [
        httpx.Response(
            200,
            json={
                "errors": [
                    {
                        "message": "Access denied for orders field.",
                        "extensions": {"code": "ACCESS_DENIED"},
                    }
                ]
            },
        )
    ]
    with pytest.raises(ShopifyAuthError):
        await harness.client().get_order(order_id=ORDER_GID)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>oops</html>"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, json={"data": None}),
        httpx.Response(200, json={"data": {"order": {"id": ORDER_GID}}}),
        httpx.Response(200, json={"data": {"order": order_json() | {"createdAt": "yesterday"}}}),
        httpx.Response(200, json={"data": {"order": order_json() | {"totalPriceSet": bag("NaN")}}}),
        httpx.Response(404, text="Not Found"),
    ],
)
async def test_nonsense_is_a_response_error_and_not_retried(
    harness: Harness, answer: httpx.Response
) -> None:
    harness.script.answers = [answer]
    with pytest.raises(ShopifyResponseError):
        await harness.client().get_order(order_id=ORDER_GID)
    assert len(harness.script.bodies) == 1


async def test_graphql_errors_are_response_errors_with_their_codes(harness: Harness) -> None:
    harness.script.answers = [
        httpx.Response(
            200,
            json={
                "errors": [
                    {
                        "message": "Invalid global id",
                        "extensions": {"code": "argumentLiteralsIncompatible"},
                    }
                ]
            },
        )
    ]
    with pytest.raises(ShopifyGraphQLError, match="Invalid global id") as raised:
        await harness.client().get_order(order_id="nope")
    assert raised.value.codes == {"argumentLiteralsIncompatible"}
    assert not raised.value.retryable


# --- orderCreate -----------------------------------------------------------------------------


def created(order: dict[str, Any]) -> httpx.Response:
    return ok({"orderCreate": {"order": order, "userErrors": []}}, requested=10)


async def test_create_order_sends_a_paid_order_with_its_source_identifier(
    harness: Harness,
) -> None:
    harness.script.answers = [
        ok(candidates()),
        created(order_json(number=1002, source_identifier="reorder-request-42")),
    ]

    order = await harness.client().create_order(order=new_order())

    assert order.source_identifier == "reorder-request-42"
    assert harness.script.operations() == ["OrderIds", "OrderCreate"]
    assert harness.script.bodies[0]["variables"]["query"] == "source_identifier:reorder-request-42"
    sent = harness.script.bodies[1]["variables"]
    assert sent["options"] == {
        "inventoryBehaviour": "DECREMENT_OBEYING_POLICY",
        "sendReceipt": False,
    }
    assert sent["order"]["financialStatus"] == "PAID"
    assert sent["order"]["sourceIdentifier"] == "reorder-request-42"
    assert sent["order"]["transactions"] == [
        {
            "kind": "SALE",
            "status": "SUCCESS",
            "gateway": "manual",
            "amountSet": {"shopMoney": {"amount": "89.00", "currencyCode": "USD"}},
        }
    ]
    assert sent["order"]["lineItems"][0]["priceSet"]["shopMoney"]["amount"] == "44.50"
    assert sent["order"]["shippingAddress"]["countryCode"] == "US"
    assert sent["order"]["note"].startswith("Replacement")


async def test_create_order_returns_an_order_that_already_exists(harness: Harness) -> None:
    existing = order_json(number=1002, source_identifier="reorder-request-42")
    harness.script.answers = [ok(candidates(existing)), ok({"order": existing})]
    order = await harness.client().create_order(order=new_order())
    assert order.name == "#1002"
    assert "OrderCreate" not in harness.script.operations()


@pytest.mark.parametrize(
    "lost", [httpx.ReadTimeout("lost"), httpx.RemoteProtocolError("eof"), httpx.Response(502)]
)
async def test_lost_order_create_answer_is_looked_up_not_resent(
    harness: Harness, lost: Answer
) -> None:
    mine = order_json(number=1002, source_identifier="reorder-request-42")
    harness.script.answers = [
        ok(candidates()),
        lost,
        ok(candidates(mine)),
        ok({"order": mine}),
    ]

    order = await harness.client().create_order(order=new_order())

    assert order.name == "#1002"
    assert harness.script.operations() == ["OrderIds", "OrderCreate", "OrderIds", "Order"]


async def test_order_create_is_resent_when_the_lookup_finds_nothing(harness: Harness) -> None:
    mine = order_json(number=1002, source_identifier="reorder-request-42")
    harness.script.answers = [
        ok(candidates()),
        httpx.ReadTimeout("lost"),
        ok(candidates()),
        created(mine),
    ]
    order = await harness.client().create_order(order=new_order())
    assert order.name == "#1002"
    assert harness.script.operations() == [
        "OrderIds",
        "OrderCreate",
        "OrderIds",
        "OrderCreate",
    ]


async def test_order_create_that_never_left_is_sent_again_without_lookup(
    harness: Harness,
) -> None:
    mine = order_json(number=1002, source_identifier="reorder-request-42")
    harness.script.answers = [ok(candidates()), httpx.ConnectError("refused"), created(mine)]
    await harness.client().create_order(order=new_order())
    assert harness.script.operations() == ["OrderIds", "OrderCreate", "OrderCreate"]


async def test_inventory_claim_failure_is_its_own_error(harness: Harness) -> None:
    harness.script.answers = [
        ok(candidates()),
        ok(
            {
                "orderCreate": {
                    "order": None,
                    "userErrors": [
                        {
                            "field": ["order", "lineItems", "0"],
                            "message": "Not enough stock",
                            "code": "INVENTORY_CLAIM_FAILED",
                        }
                    ],
                }
            }
        ),
    ]
    with pytest.raises(InventoryClaimFailed) as raised:
        await harness.client().create_order(order=new_order())
    assert raised.value.codes == {"INVENTORY_CLAIM_FAILED"}
    assert raised.value.errors[0].field == ("order", "lineItems", "0")


async def test_other_user_errors_are_shopify_user_errors(harness: Harness) -> None:
    harness.script.answers = [
        ok(candidates()),
        ok(
            {
                "orderCreate": {
                    "order": None,
                    "userErrors": [
                        {
                            "field": ["order", "email"],
                            "message": "Email is invalid",
                            "code": "INVALID",
                        }
                    ],
                }
            }
        ),
    ]
    with pytest.raises(ShopifyUserError) as raised:
        await harness.client().create_order(order=new_order())
    assert not isinstance(raised.value, InventoryClaimFailed)
    assert "Email is invalid" in str(raised.value)


async def test_new_order_is_checked_before_anything_is_sent(harness: Harness) -> None:
    with pytest.raises(ValueError, match="at least one line"):
        await harness.client().create_order(order=new_order(lines=[]))
    too_many = [NewOrderLine("gid://shopify/ProductVariant/1", 1, Decimal(1))] * 251
    with pytest.raises(ValueError, match="250"):
        await harness.client().create_order(order=new_order(lines=too_many))
    assert harness.script.bodies == []


# --- refunds ---------------------------------------------------------------------------------


REFUND_LINES = [RefundLine("gid://shopify/LineItem/9001", 1)]
REFUND_MONEY = [
    RefundTransaction("gid://shopify/OrderTransaction/15001", "shopify_payments", Decimal("44.50"))
]


def refund_created(note: str | None = None) -> httpx.Response:
    return ok(
        {
            "refundCreate": {
                "refund": refund_json(note=note),
                "order": {"id": ORDER_GID},
                "userErrors": [],
            }
        },
        requested=10,
    )


async def test_suggest_refund(harness: Harness) -> None:
    suggestion = {
        "amountSet": bag("44.50"),
        "subtotalSet": bag("44.50"),
        "totalTaxSet": bag("0.00"),
        "maximumRefundableSet": bag("93.95"),
        "shipping": {"amountSet": bag("0.00"), "maximumRefundableSet": bag("4.95")},
        "refundLineItems": [
            {
                "lineItem": {"id": "gid://shopify/LineItem/9001"},
                "quantity": 1,
                "restockType": "NO_RESTOCK",
                "priceSet": bag("44.50"),
                "subtotalSet": bag("44.50"),
            }
        ],
        "suggestedTransactions": [
            {
                "gateway": "shopify_payments",
                "kind": "SUGGESTED_REFUND",
                "amountSet": bag("44.50"),
                "maximumRefundableSet": bag("93.95"),
                "parentTransaction": {"id": "gid://shopify/OrderTransaction/15001"},
            }
        ],
    }
    harness.script.answers = [ok({"order": {"id": ORDER_GID, "suggestedRefund": suggestion}})]

    suggested = await harness.client().suggest_refund(order_id=ORDER_GID, lines=REFUND_LINES)

    assert suggested.amount.amount == Decimal("44.50")
    assert suggested.max_refundable.amount == Decimal("93.95")
    assert harness.script.bodies[0]["variables"]["lines"] == [
        {"lineItemId": "gid://shopify/LineItem/9001", "quantity": 1, "restockType": "NO_RESTOCK"}
    ]
    money_back = RefundTransaction.from_suggestion(suggested.transactions[0])
    assert money_back == REFUND_MONEY[0]


async def test_refund_with_idempotent_directive_is_resent_with_the_same_key(
    harness: Harness,
) -> None:
    no_refunds_yet = ok({"order": {"id": ORDER_GID, "refunds": []}})
    harness.script.answers = [no_refunds_yet, httpx.ReadTimeout("lost"), refund_created()]

    refund = await harness.client(api_version="2026-01").create_refund(
        order_id=ORDER_GID,
        lines=REFUND_LINES,
        transactions=REFUND_MONEY,
        note="Lost parcel",
        notify=True,
        idempotency_key="refund-request-42",
    )

    assert refund.id == "gid://shopify/Refund/17001"
    lookup, first, second = harness.script.bodies
    assert "refunds" in lookup["query"] and "refundCreate" not in lookup["query"]
    assert "@idempotent(key: $key)" in first["query"]
    assert first == second and first["variables"]["key"] == "refund-request-42"
    assert first["variables"]["input"]["note"] == "Lost parcel [ref refund-request-42]"
    assert first["variables"]["input"]["transactions"] == [
        {
            "orderId": ORDER_GID,
            "parentId": "gid://shopify/OrderTransaction/15001",
            "gateway": "shopify_payments",
            "kind": "REFUND",
            "amount": "44.50",
        }
    ]


async def test_refund_before_2026_01_carries_its_key_in_the_note(harness: Harness) -> None:
    harness.script.answers = [
        ok({"order": {"id": ORDER_GID, "refunds": []}}),
        refund_created(),
    ]
    await harness.client(api_version="2025-04").create_refund(
        order_id=ORDER_GID,
        lines=REFUND_LINES,
        transactions=REFUND_MONEY,
        note="Lost parcel",
        notify=True,
        idempotency_key="refund-request-42",
    )
    sent = harness.script.bodies[1]
    assert "@idempotent" not in sent["query"] and "key" not in sent["variables"]
    assert sent["variables"]["input"]["note"] == "Lost parcel [ref refund-request-42]"


async def test_lost_refund_without_directive_is_found_by_its_note(harness: Harness) -> None:
    note = "Lost parcel [ref refund-request-42]"
    harness.script.answers = [
        ok({"order": {"id": ORDER_GID, "refunds": []}}),
        httpx.Response(500),
        ok(
            {
                "order": {
                    "id": ORDER_GID,
                    "refunds": [
                        {"id": "gid://shopify/Refund/17000", "note": "[ref refund-request-4]"},
                        {"id": "gid://shopify/Refund/17001", "note": note},
                    ],
                }
            }
        ),
        ok({"node": refund_json(note=note)}),
    ]

    refund = await harness.client(api_version="2025-04").create_refund(
        order_id=ORDER_GID,
        lines=REFUND_LINES,
        transactions=REFUND_MONEY,
        note="Lost parcel",
        notify=True,
        idempotency_key="refund-request-42",
    )

    assert refund.id == "gid://shopify/Refund/17001"
    assert harness.script.operations() == ["RefundNotes", "RefundCreate", "RefundNotes", "Refund"]
    assert harness.script.bodies[3]["variables"] == {"id": "gid://shopify/Refund/17001"}


async def test_lost_refund_without_directive_is_resent_when_not_applied(
    harness: Harness,
) -> None:
    no_refunds = ok({"order": {"id": ORDER_GID, "refunds": []}})
    harness.script.answers = [no_refunds, httpx.ReadTimeout("lost"), no_refunds, refund_created()]
    await harness.client(api_version="2025-04").create_refund(
        order_id=ORDER_GID,
        lines=REFUND_LINES,
        transactions=REFUND_MONEY,
        note=None,
        notify=False,
        idempotency_key="refund-request-42",
    )
    assert harness.script.operations().count("RefundCreate") == 2


async def test_lost_refund_without_any_key_is_never_resent(harness: Harness) -> None:
    harness.script.answers = [httpx.ReadTimeout("lost")]
    with pytest.raises(RefundOutcomeUnknown) as raised:
        await harness.client(api_version="2025-04").create_refund(
            order_id=ORDER_GID,
            lines=REFUND_LINES,
            transactions=REFUND_MONEY,
            note=None,
            notify=True,
            idempotency_key=None,
        )
    assert not raised.value.retryable
    assert harness.script.operations() == ["RefundCreate"]


async def test_refund_without_key_is_refused_where_shopify_requires_one(
    harness: Harness,
) -> None:
    with pytest.raises(ValueError, match="idempotency key"):
        await harness.client(api_version="2026-04").create_refund(
            order_id=ORDER_GID,
            lines=REFUND_LINES,
            transactions=REFUND_MONEY,
            note=None,
            notify=True,
            idempotency_key=None,
        )
    assert harness.script.bodies == []


async def test_refund_user_errors(harness: Harness) -> None:
    harness.script.answers = [
        ok({"order": {"id": ORDER_GID, "refunds": []}}),
        ok(
            {
                "refundCreate": {
                    "refund": None,
                    "order": None,
                    "userErrors": [
                        {
                            "field": ["transactions"],
                            "message": "Refund amount exceeds what was paid",
                        }
                    ],
                }
            }
        ),
    ]
    with pytest.raises(ShopifyUserError, match="exceeds"):
        await harness.client(api_version="2026-01").create_refund(
            order_id=ORDER_GID,
            lines=REFUND_LINES,
            transactions=REFUND_MONEY,
            note=None,
            notify=True,
            idempotency_key="k",
        )


# --- waiting rules ---------------------------------------------------------------------------


async def test_a_query_larger_than_the_bucket_is_refused_without_waiting(
    harness: Harness,
) -> None:
    harness.script.answers = [throttled(requested=1200, available=1000, restore=100)]
    with pytest.raises(QueryCostExceeded):
        await harness.client().shop()
    assert harness.time.sleeps == []


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert retry_after("2.5") == 2.5
    assert retry_after("Wed, 21 Oct 2026 07:28:30 GMT", now=lambda: now) == 30.0
    assert retry_after("Wed, 21 Oct 2026 07:27:00 GMT", now=lambda: now) == 0.0
    assert retry_after("soon") is None and retry_after(None) is None


@pytest.mark.parametrize("attempt", range(8))
def test_backoff_grows_exponentially_with_jitter_and_a_cap(attempt: int) -> None:
    ceiling = min(HTTP_RETRY.cap, HTTP_RETRY.base * 2**attempt)
    low = HTTP_RETRY.delay(attempt, rng=lambda: 0.0)
    high = HTTP_RETRY.delay(attempt, rng=lambda: 0.999999)
    assert low == ceiling / 2
    assert ceiling / 2 < high <= ceiling


# --- what operators see ----------------------------------------------------------------------


def _throttle_counts() -> tuple[float, float]:
    waits = metrics.REGISTRY.get_sample_value("portal_shopify_throttle_waits_total") or 0.0
    seconds = metrics.REGISTRY.get_sample_value("portal_shopify_throttle_wait_seconds_total")
    return waits, seconds or 0.0


async def test_throttle_waits_are_counted_and_retries_logged_at_debug(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="portal.integrations.shopify.client")
    before = _throttle_counts()
    harness.script.answers = [throttled(requested=100, available=20, restore=50), ok(shop_data())]
    await harness.client().shop()
    waits, seconds = _throttle_counts()
    assert waits - before[0] == 1
    assert seconds - before[1] == pytest.approx((100 - 20) / 50)
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]


async def test_giving_up_is_one_warning(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="portal.integrations.shopify.client")
    harness.script.answers = [httpx.Response(503) for _ in range(3)]
    with pytest.raises(ShopifyUnavailable):
        await harness.client(max_retries=2).shop()
    levels = [r.levelno for r in caplog.records]
    assert levels == [logging.DEBUG, logging.DEBUG, logging.WARNING]
    assert "giving up after 2 retries" in caplog.records[-1].getMessage()


# --- queueing for points ---------------------------------------------------------------------


async def test_callers_at_once_queue_behind_each_other_instead_of_all_sending() -> None:
    clock = [0.0]
    ledger = CostLedger(LocalBucket(lambda: clock[0]))
    first = await ledger.take_turn("Order", 60, longest=30)
    assert first is not None and first.wait == 0.0  # nothing known yet: the answer tells
    report = QueryCost(requested=60, actual=60, maximum=1000, available=100, restore_rate=100)
    await ledger.settle(first, report, name="Order", estimate=60)

    turns = [await ledger.take_turn("Order", 60, longest=30) for _ in range(4)]

    # 100 points there, 60 a query, 100 a second back: each waits behind the ones before.
    assert [t.wait for t in turns if t] == pytest.approx([0.0, 0.2, 0.8, 1.4])
    assert await ledger.take_turn("Order", 60, longest=1.5) is None  # 2.0 s away: not sent
    clock[0] = 2.0
    later = await ledger.take_turn("Order", 60, longest=30)
    assert later is not None and later.wait == pytest.approx(0.0)


async def test_background_work_leaves_a_reserve_and_never_queues_ahead_of_a_page() -> None:
    clock = [0.0]
    ledger = CostLedger(LocalBucket(lambda: clock[0]))
    first = await ledger.take_turn("BillableOrders", 100, longest=30, background=True)
    assert first is not None and first.promised  # nothing known yet: the answer tells
    report = QueryCost(requested=100, actual=100, maximum=1000, available=400, restore_rate=100)
    await ledger.settle(first, report, name="BillableOrders", estimate=100)

    # 400 there: a 100-point job query leaves 300, more than the 250 kept back...
    sent = await ledger.take_turn("BillableOrders", 100, longest=30, background=True)
    assert sent is not None and sent.promised and sent.wait == 0.0
    # ...the next would leave 200: nothing is promised, it asks again in 0.5 s
    held = await ledger.take_turn("BillableOrders", 100, longest=30, background=True)
    assert held is not None and not held.promised and held.wait == pytest.approx(0.5)
    # a shopper's page is not queued behind the job that was told to wait
    page = await ledger.take_turn("Order", 60, longest=6)
    assert page is not None and page.wait == 0.0
    # the job's wait now counts the shopper's points too, and gives up past its limit
    assert await ledger.take_turn("BillableOrders", 100, longest=0.5, background=True) is None
    clock[0] = 1.1
    again = await ledger.take_turn("BillableOrders", 100, longest=30, background=True)
    assert again is not None and again.promised


async def test_a_job_client_leaves_the_reserve_to_pages(harness: Harness) -> None:
    """A job's client with the shop's bucket low waits before sending; the same shop's page
    client sends at once."""
    harness.script.answers = [ok(shop_data(), requested=1, available=200)]
    page = harness.client()
    await page.shop()  # the bucket: 200 of 1,000 left, 100 a second back

    harness.script.answers = [ok(shop_data(), requested=1, available=199)]
    await page.in_background().shop()
    # 1 point plus the 250 kept back, with 200 there: it waited (251 - 200) / 100 s first
    assert harness.time.sleeps == [pytest.approx(0.51)]

    harness.script.answers = [ok(shop_data(), requested=1, available=249)]
    await page.shop()
    assert len(harness.time.sleeps) == 1  # the page did not wait
