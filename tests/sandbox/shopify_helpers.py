"""A seeded sandbox Shopify and small helpers to talk to it in tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from sandbox.shopify import (
    Address,
    CustomerSeed,
    LineItemSeed,
    ShopifyWorld,
    VariantSeed,
    create_shopify_sandbox,
)
from sandbox.shopify.state import Order, Product

DOMAIN = "maple-and-moss.myshopify.com"
TOKEN = "shpat_maple_test"
OTHER_DOMAIN = "fern-and-finch.myshopify.com"
OTHER_TOKEN = "shpat_fern_test"
VERSION = "2025-04"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
JANE = Address(
    first_name="Jane",
    last_name="Doe",
    address1="1 Elm St",
    city="Boston",
    province="Massachusetts",
    province_code="MA",
    zip="02101",
    country="United States",
    country_code="US",
)


class FakeClock:
    """A monotonic clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Catalogue:
    """The products of the seeded shop."""

    def __init__(self, world: ShopifyWorld) -> None:
        self.shirt = world.add_product(
            DOMAIN,
            title="Linen shirt",
            variants=[
                VariantSeed(
                    title="M", sku="LS-M", price="49.00", inventory=5, options=(("Size", "M"),)
                ),
                VariantSeed(
                    title="L", sku="LS-L", price="49.00", inventory=1, options=(("Size", "L"),)
                ),
            ],
        )
        self.mug = world.add_product(
            DOMAIN,
            title="Stoneware mug",
            variants=[
                VariantSeed(sku="MUG", price="18.50", inventory=0, inventory_policy="CONTINUE"),
            ],
        )
        self.card = world.add_product(
            DOMAIN,
            title="Gift wrap",
            variants=[
                VariantSeed(sku="WRAP", price="4.00", tracked=False),
            ],
        )

    @staticmethod
    def variant_gid(product: Product, index: int = 0) -> str:
        return product.variants[index].gid


def seeded_world(
    *,
    clock: FakeClock | None = None,
    bucket_size: float = 1000,
    restore_rate: float = 100,
    now: Callable[[], datetime] | None = None,
) -> tuple[ShopifyWorld, Catalogue]:
    world = ShopifyWorld(now=now or (lambda: NOW), monotonic=clock or FakeClock())
    world.add_shop(
        DOMAIN,
        access_token=TOKEN,
        name="Maple & Moss",
        bucket_size=bucket_size,
        restore_rate=restore_rate,
    )
    world.add_shop(OTHER_DOMAIN, access_token=OTHER_TOKEN, name="Fern & Finch", currency="CAD")
    return world, Catalogue(world)


def add_jane_order(world: ShopifyWorld, catalogue: Catalogue, **overrides: Any) -> Order:
    """#100x: 2 shirts (M) with 5.00 off the line, 1 mug, 4.95 shipping, paid 116.45."""
    fields: dict[str, Any] = {
        "created_at": datetime(2026, 10, 5, 15, 30, tzinfo=UTC),
        "email": "jane@example.com",
        "customer": CustomerSeed("Jane", "Doe"),
        "shipping_address": JANE,
        "shipping_price": "4.95",
        "tags": ("protected",),
        "line_items": [
            LineItemSeed(variant=catalogue.shirt.variants[0], quantity=2, discount="5.00"),
            LineItemSeed(variant=catalogue.mug.variants[0], quantity=1),
        ],
    }
    fields.update(overrides)
    return world.add_order(DOMAIN, **fields)


def admin_client(world: ShopifyWorld) -> httpx.AsyncClient:
    """An httpx client wired straight to the sandbox app (no sockets)."""
    transport = httpx.ASGITransport(app=create_shopify_sandbox(world))
    return httpx.AsyncClient(transport=transport, base_url="http://sandbox.test")


def graphql_path(domain: str = DOMAIN, version: str = VERSION) -> str:
    return f"/{domain}/admin/api/{version}/graphql.json"


async def post_graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    domain: str = DOMAIN,
    token: str | None = TOKEN,
    version: str = VERSION,
) -> httpx.Response:
    headers = {"X-Shopify-Access-Token": token} if token is not None else {}
    body = {"query": query, "variables": variables or {}}
    return await client.post(graphql_path(domain, version), json=body, headers=headers)


async def graphql_data(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    """The ``data`` of a successful answer; fails the test on any GraphQL error."""
    response = await post_graphql(client, query, variables, **kw)
    assert response.status_code == 200, response.text
    payload = response.json()
    assert "errors" not in payload, payload["errors"]
    data: dict[str, Any] = payload["data"]
    return data
