"""What an admin setting up the app reads: the shop, the scopes the app holds, and the products
found by a title search (to pick the protection product)."""

from __future__ import annotations

import pytest

from sandbox.shopify.state import VariantSeed
from tests.sandbox.shopify_helpers import DOMAIN, admin_client, graphql_data, seeded_world

pytestmark = pytest.mark.anyio

SHOP = """
{ shop { name email contactEmail currencyCode ianaTimezone myshopifyDomain }
  currentAppInstallation { accessScopes { handle } } }
"""
PRODUCTS = """
query($q: String) {
  products(first: 10, query: $q) { nodes { title variants(first: 5) { nodes { id title price } } } }
}
"""


async def test_the_shop_and_the_scopes_of_a_seeded_token() -> None:
    world, _ = seeded_world()
    world.shop(DOMAIN).contact_email = "help@maple.example"
    async with admin_client(world) as client:
        data = await graphql_data(client, SHOP)
    assert data["shop"] == {
        "name": "Maple & Moss",
        "email": f"owner@{DOMAIN}",
        "contactEmail": "help@maple.example",
        "currencyCode": "USD",
        "ianaTimezone": "America/New_York",
        "myshopifyDomain": DOMAIN,
    }
    handles = {s["handle"] for s in data["currentAppInstallation"]["accessScopes"]}
    assert {"read_orders", "write_orders", "read_all_orders", "read_products"} <= handles


async def test_products_are_found_by_title() -> None:
    world, catalogue = seeded_world()
    protection = world.add_product(
        DOMAIN,
        title="Shipping Protection",
        variants=[VariantSeed(title="Default Title", price="2.95", tracked=False)],
    )
    async with admin_client(world) as client:
        for query in ("title:protection", "Protect*", "shipping protection", "title:PROTECTION*"):
            data = await graphql_data(client, PRODUCTS, {"q": query})
            assert data["products"]["nodes"] == [
                {
                    "title": "Shipping Protection",
                    "variants": {
                        "nodes": [
                            {
                                "id": protection.variants[0].gid,
                                "title": "Default Title",
                                "price": "2.95",
                            }
                        ]
                    },
                }
            ], query
        everything = await graphql_data(client, PRODUCTS, {"q": None})
        nothing = await graphql_data(client, PRODUCTS, {"q": "title:umbrella"})
        negated = await graphql_data(client, PRODUCTS, {"q": "-title:protection"})
    assert len(everything["products"]["nodes"]) == 4
    assert nothing["products"]["nodes"] == []
    titles = [n["title"] for n in negated["products"]["nodes"]]
    assert titles == [catalogue.shirt.title, catalogue.mug.title, catalogue.card.title]
