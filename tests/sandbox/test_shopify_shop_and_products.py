"""What an admin setting up the app reads, over real HTTP: the shop, the scopes the app holds,
and the products found by a title search (to pick the protection product)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.shopify import ShopifyWorld
from sandbox.shopify.state import Product, VariantSeed
from tests.sandbox.app_helpers import Install, admin, app_world
from tests.sandbox.shopify_helpers import DOMAIN, TOKEN, Catalogue

pytestmark = pytest.mark.e2e  # the sandbox is served on loopback (app_helpers.admin)

SHOP = """
{ shop { name email contactEmail currencyCode ianaTimezone myshopifyDomain }
  currentAppInstallation { accessScopes { handle } } }
"""
PRODUCTS = """
query($q: String) {
  products(first: 10, query: $q) { nodes { title variants(first: 5) { nodes { id title price } } } }
}
"""


@pytest.fixture
def shop() -> Iterator[tuple[ShopifyWorld, Catalogue, Install]]:
    world, catalogue, _ = app_world()
    with admin(world) as client:
        yield world, catalogue, Install(client, DOMAIN)


def data(install: Install, token: str, query: str, **variables: Any) -> dict[str, Any]:
    answer = install.graphql(token, query, **variables)
    assert answer.status_code == 200, answer.text
    assert "errors" not in answer.json(), answer.json()
    found: dict[str, Any] = answer.json()["data"]
    return found


def test_the_shop_and_the_scopes_the_app_was_granted(
    shop: tuple[ShopifyWorld, Catalogue, Install],
) -> None:
    world, _, install = shop
    world.shop(DOMAIN).contact_email = "help@maple.example"
    token = install.grant("read_orders,read_products")["access_token"]
    answer = data(install, token, SHOP)
    assert answer["shop"] == {
        "name": "Maple & Moss",
        "email": f"owner@{DOMAIN}",
        "contactEmail": "help@maple.example",
        "currencyCode": "USD",
        "ianaTimezone": "America/New_York",
        "myshopifyDomain": DOMAIN,
    }
    assert answer["currentAppInstallation"]["accessScopes"] == [
        {"handle": "read_orders"},
        {"handle": "read_products"},
    ]
    seeded = data(install, TOKEN, SHOP)["currentAppInstallation"]["accessScopes"]
    assert {"read_orders", "write_orders", "read_all_orders"} <= {s["handle"] for s in seeded}


def protection_product(world: ShopifyWorld) -> Product:
    return world.add_product(
        DOMAIN,
        title="Shipping Protection",
        variants=[VariantSeed(title="Default Title", price="2.95", tracked=False)],
    )


@pytest.mark.parametrize(
    "query", ["title:protection", "Protect*", "shipping protection", "title:PROTECTION*"]
)
def test_products_are_found_by_title(
    shop: tuple[ShopifyWorld, Catalogue, Install], query: str
) -> None:
    world, _, install = shop
    protection = protection_product(world)
    found = data(install, TOKEN, PRODUCTS, q=query)["products"]["nodes"]
    variant = {"id": protection.variants[0].gid, "title": "Default Title", "price": "2.95"}
    assert found == [{"title": "Shipping Protection", "variants": {"nodes": [variant]}}]


def test_a_search_can_find_everything_nothing_or_the_rest(
    shop: tuple[ShopifyWorld, Catalogue, Install],
) -> None:
    world, catalogue, install = shop
    protection_product(world)

    def titles(query: str | None) -> list[str]:
        nodes = data(install, TOKEN, PRODUCTS, q=query)["products"]["nodes"]
        return [node["title"] for node in nodes]

    assert len(titles(None)) == 4
    assert titles("title:umbrella") == []
    rest = [catalogue.shirt.title, catalogue.mug.title, catalogue.card.title]
    assert titles("-title:protection") == rest
