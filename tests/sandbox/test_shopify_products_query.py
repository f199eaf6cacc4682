"""Searching products (``products(query:)``) and the shop's contact email, as the store
settings page and ``portal stores add`` use them."""

from __future__ import annotations

import pytest

from tests.sandbox.shopify_helpers import admin_client, graphql_data, seeded_world

pytestmark = pytest.mark.anyio

SEARCH = """
query Search($query: String, $first: Int, $after: String) {
  products(query: $query, first: $first, after: $after, sortKey: TITLE) {
    nodes { title variants(first: 5) { nodes { sku } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def _titles(query: str | None, first: int = 10) -> list[str]:
    world, _ = seeded_world()
    async with admin_client(world) as client:
        data = await graphql_data(client, SEARCH, {"query": query, "first": first})
    return [node["title"] for node in data["products"]["nodes"]]


async def test_a_bare_word_finds_products_by_part_of_the_title_ignoring_case() -> None:
    assert await _titles("MUG") == ["Stoneware mug"]


async def test_no_query_lists_every_product_in_the_sort_order() -> None:
    assert await _titles(None) == ["Gift wrap", "Linen shirt", "Stoneware mug"]


async def test_field_terms_prefixes_alternatives_and_negation() -> None:
    assert await _titles("title:linen*") == ["Linen shirt"]
    assert await _titles("sku:LS-L") == ["Linen shirt"]
    assert await _titles("mug OR wrap") == ["Gift wrap", "Stoneware mug"]
    assert await _titles("-mug status:active") == ["Gift wrap", "Linen shirt"]


async def test_pages_follow_the_cursor() -> None:
    world, _ = seeded_world()
    async with admin_client(world) as client:
        first = await graphql_data(client, SEARCH, {"first": 2})
        cursor = first["products"]["pageInfo"]["endCursor"]
        rest = await graphql_data(client, SEARCH, {"first": 2, "after": cursor})
    assert first["products"]["pageInfo"]["hasNextPage"] is True
    assert [n["title"] for n in rest["products"]["nodes"]] == ["Stoneware mug"]


async def test_the_shop_has_a_contact_email() -> None:
    world, _ = seeded_world()
    async with admin_client(world) as client:
        data = await graphql_data(client, "{ shop { contactEmail ianaTimezone } }")
    assert data["shop"] == {
        "contactEmail": "owner@maple-and-moss.myshopify.com",
        "ianaTimezone": "America/New_York",
    }
