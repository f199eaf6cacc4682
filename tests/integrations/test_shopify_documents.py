"""Every GraphQL document the Shopify client sends is valid against Shopify's real schemas and
against the subset the sandbox serves; the refund document follows the API version."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import GraphQLSchema, build_schema, extend_schema, parse, validate

from portal.integrations.shopify import ShopifyClient
from portal.integrations.shopify.loader import fragment_files, load, operation_files
from portal.integrations.shopify.throttle import MAX_QUERY_COST, estimate_cost
from tests.helpers.shopify_schema import IDEMPOTENT_DIRECTIVE

SANDBOX_SDL = Path(__file__).resolve().parents[2] / "sandbox/shopify/schema.graphql"
OPERATIONS = [path.stem for path in operation_files()]


@cache
def sandbox_schema() -> GraphQLSchema:
    sdl = SANDBOX_SDL.read_text(encoding="utf-8")
    schema = build_schema(sdl)
    if schema.get_directive("idempotent") is None:
        schema = extend_schema(schema, parse(IDEMPOTENT_DIRECTIVE))
    return schema


def test_there_are_documents_to_check() -> None:
    assert {"Order", "OrderCreate", "RefundCreate", "RefundCreateIdempotent"} <= set(OPERATIONS)


@pytest.mark.parametrize("stem", OPERATIONS)
def test_document_is_valid_against_every_real_schema(
    stem: str, shopify_schemas: dict[str, GraphQLSchema]
) -> None:
    for version, schema in shopify_schemas.items():
        errors = validate(schema, load(stem, version).ast)
        assert errors == [], f"{stem} against {version}: {[e.message for e in errors]}"


@pytest.mark.parametrize("stem", OPERATIONS)
def test_document_is_valid_against_the_sandbox_schema(stem: str) -> None:
    errors = validate(sandbox_schema(), load(stem).ast)
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize("stem", OPERATIONS)
def test_document_text_is_the_operation_and_exactly_the_fragments_it_uses(stem: str) -> None:
    document = load(stem)
    reparsed = parse(document.text)
    assert reparsed.definitions[0].name.value == document.name  # type: ignore[attr-defined]
    spread = {d.name.value for d in reparsed.definitions[1:]}  # type: ignore[attr-defined]
    assert all(f"...{name}" in document.text for name in spread)


def test_every_shared_fragment_is_used_by_some_document() -> None:
    defined = {
        d.name.value  # type: ignore[attr-defined]
        for path in fragment_files()
        for d in parse(path.read_text(encoding="utf-8")).definitions
    }
    used = {name for stem in OPERATIONS for name in defined if f"...{name}" in load(stem).text}
    assert defined == used


def test_single_order_documents_stay_under_the_query_cost_limit() -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("Order", {}),
        ("OrderCreate", {}),
        ("RefundNotes", {}),
        ("Refund", {}),
        ("Variants", {"ids": ["gid://shopify/ProductVariant/1"] * 20}),
    ]
    for stem, variables in cases:
        assert estimate_cost(load(stem).ast, variables) <= MAX_QUERY_COST, stem


def test_cost_estimate_follows_shopify_rules() -> None:
    shop = load("Shop")
    assert estimate_cost(shop.ast, {}) == 1  # one object, scalars free
    one = estimate_cost(load("BillableOrders").ast, {"first": 1})
    two = estimate_cost(load("BillableOrders").ast, {"first": 2})
    three = estimate_cost(load("BillableOrders").ast, {"first": 3})
    assert two - one == three - two > 0  # connections scale with `first`
    assert one - (two - one) == 2  # ... plus two for the connection itself
    assert estimate_cost(load("RefundCreate").ast, {}) > 10  # mutations: 10 plus the payload


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("version", "directive"),
    [
        ("2025-01", False),
        ("2025-10", False),
        ("2026-01", True),
        ("2026-04", True),
        ("unstable", True),
    ],
)
async def test_refund_document_uses_idempotent_directive_from_2026_01(
    version: str, directive: bool
) -> None:
    async with httpx.AsyncClient() as http:
        client = ShopifyClient(
            http, shop_domain="s.myshopify.com", access_token="t", api_version=version
        )
        assert client.idempotent_refunds is directive
    assert "@idempotent(key: $key)" in load("RefundCreateIdempotent").text
    assert "@idempotent" not in load("RefundCreate").text


@pytest.mark.anyio
async def test_a_malformed_api_version_is_refused() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ValueError, match="API version"):
            ShopifyClient(http, shop_domain="s", access_token="t", api_version="2025-13")
