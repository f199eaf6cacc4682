"""Access scopes over real HTTP: a field needing a scope the token lacks answers ACCESS_DENIED
in Shopify's shape, and without ``read_all_orders`` only the last 60 days of orders exist."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from sandbox.shopify import ShopifyWorld
from sandbox.shopify.state import Order
from tests.sandbox.app_helpers import Install, admin, app_world
from tests.sandbox.shopify_helpers import DOMAIN, NOW, Catalogue, add_jane_order

pytestmark = pytest.mark.e2e  # the sandbox is served on loopback (app_helpers.admin)


class Rig:
    def __init__(self, world: ShopifyWorld, catalogue: Catalogue, install: Install) -> None:
        self.world = world
        self.install = install
        self.recent = add_jane_order(world, catalogue)
        self.old = add_jane_order(world, catalogue, created_at=NOW - timedelta(days=61))
        self.catalogue = catalogue

    def ask(self, scopes: str, query: str, **variables: Any) -> dict[str, Any]:
        token = self.install.grant(scopes)["access_token"]
        answer = self.install.graphql(token, query, **variables)
        assert answer.status_code == 200, answer.text
        payload: dict[str, Any] = answer.json()
        return payload


@pytest.fixture
def rig() -> Iterator[Rig]:
    world, catalogue, _ = app_world()
    with admin(world) as client:
        yield Rig(world, catalogue, Install(client, DOMAIN))


ORDER_CREATE = """
mutation { orderCreate(order: {email: "a@example.com", lineItems: [
  {title: "Thing", quantity: 1, priceSet: {shopMoney: {amount: "1.00", currencyCode: USD}}}]})
  { order { id } userErrors { message } } }
"""
REFUND_CREATE = """
mutation($id: ID!) { refundCreate(input: {orderId: $id}) { refund { id } userErrors { message } } }
"""


def cases(rig: Rig) -> list[tuple[str, str, dict[str, Any], str, list[Any]]]:
    """(granted scopes, query, variables, scope the query lacks, path of the denied field)"""
    order = {"id": rig.recent.gid}
    variant = {"id": rig.catalogue.shirt.variants[0].gid}
    everything_but = "read_orders,write_orders,read_products,read_inventory,read_customers"
    return [
        ("read_products", "{ orders(first: 5) { nodes { id } } }", {}, "read_orders", ["orders"]),
        (
            "read_products",
            "query($id: ID!) { order(id: $id) { id } }",
            order,
            "read_orders",
            ["order"],
        ),
        ("read_orders", ORDER_CREATE, {}, "write_orders", ["orderCreate"]),
        ("read_orders", REFUND_CREATE, order, "write_orders", ["refundCreate"]),
        (
            "read_orders",
            "{ products(first: 5) { nodes { id } } }",
            {},
            "read_products",
            ["products"],
        ),
        (
            "read_orders",
            "query($id: ID!) { productVariant(id: $id) { id } }",
            variant,
            "read_products",
            ["productVariant"],
        ),
        (
            "read_products",
            "query($id: ID!) { productVariant(id: $id) { id inventoryQuantity } }",
            variant,
            "read_inventory",
            ["productVariant", "inventoryQuantity"],
        ),
        (
            "read_orders",
            "query($id: ID!) { order(id: $id) { id customer { email } } }",
            order,
            "read_customers",
            ["order", "customer"],
        ),
        (
            everything_but.replace(",read_customers", ""),
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": rig.recent.customer.gid if rig.recent.customer else ""},
            "read_customers",
            ["node"],
        ),
    ]


def test_each_scope_guards_its_fields(rig: Rig) -> None:
    for granted, query, variables, missing, path in cases(rig):
        payload = rig.ask(granted, query, **variables)
        [error] = payload["errors"]
        required = f"`{missing}` access scope."
        assert error["message"] == (
            f"Access denied for {path[-1]} field. Required access: {required}"
        ), (granted, query)
        assert error["path"] == path
        assert error["extensions"] == {
            "code": "ACCESS_DENIED",
            "documentation": "https://shopify.dev/api/usage/access-scopes",
            "requiredAccess": required,
        }


def test_the_same_queries_pass_with_every_scope(rig: Rig) -> None:
    every = "write_orders,read_products,read_inventory,read_customers"
    for _, query, variables, _, _ in cases(rig):
        payload = rig.ask(every, query, **variables)
        assert "errors" not in payload, (query, payload)


def test_a_denied_field_is_null_and_the_rest_answers(rig: Rig) -> None:
    payload = rig.ask(
        "read_orders",
        "query($id: ID!) { order(id: $id) { name customer { email } } }",
        id=rig.recent.gid,
    )
    assert payload["data"] == {"order": {"name": rig.recent.name, "customer": None}}


def test_write_orders_grants_read_orders(rig: Rig) -> None:
    payload = rig.ask("write_orders", "{ orders(first: 5) { nodes { id } } }")
    assert "errors" not in payload


def names(payload: dict[str, Any]) -> list[str]:
    return [node["name"] for node in payload["data"]["orders"]["nodes"]]


def test_without_read_all_orders_only_sixty_days_are_visible(rig: Rig) -> None:
    query = "{ orders(first: 10) { nodes { name } } }"
    assert names(rig.ask("read_orders", query)) == [rig.recent.name]
    assert sorted(names(rig.ask("read_orders,read_all_orders", query))) == sorted(
        [rig.recent.name, rig.old.name]
    )


def test_an_old_order_is_null_by_id_and_by_search(rig: Rig) -> None:
    by_id = "query($id: ID!) { order(id: $id) { name } node(id: $id) { id } }"
    assert rig.ask("read_orders", by_id, id=rig.old.gid)["data"] == {"order": None, "node": None}
    search = "query($q: String) { orders(first: 5, query: $q) { nodes { name } } }"
    assert names(rig.ask("read_orders", search, q=f"name:{rig.old.name}")) == []
    line = rig.old.line_items[0].gid
    assert rig.ask("read_orders", "query($id: ID!) { node(id: $id) { id } }", id=line)["data"] == {
        "node": None
    }
    seen = rig.ask("read_orders,read_all_orders", by_id, id=rig.old.gid)
    assert seen["data"]["order"] == {"name": rig.old.name}


def test_an_old_order_cannot_be_refunded_without_read_all_orders(rig: Rig) -> None:
    payload = rig.ask("write_orders", REFUND_CREATE, id=rig.old.gid)
    assert payload["data"]["refundCreate"]["userErrors"] == [{"message": "Order does not exist."}]
    order: Order | None = rig.world.order(DOMAIN, rig.old.id)
    assert order is not None and order.refunds == []
