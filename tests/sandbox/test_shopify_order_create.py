"""``orderCreate``: prices, transactions, inventory behaviours, the receipt email and the
observer hook."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.shopify import ShopifyWorld
from tests.sandbox.shopify_helpers import (
    DOMAIN,
    Catalogue,
    admin_client,
    graphql_data,
    post_graphql,
    seeded_world,
)

pytestmark = pytest.mark.anyio

CREATE = """
mutation Create($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order {
      id name email note tags sourceIdentifier displayFinancialStatus
      totalPriceSet { shopMoney { amount currencyCode } }
      shippingAddress { name city countryCodeV2 country }
      customer { email firstName }
      lineItems(first: 10) { nodes { title sku quantity variant { id }
        originalUnitPriceSet { shopMoney { amount } } } }
      transactions(first: 5) { kind status gateway amountSet { shopMoney { amount } } }
    }
    userErrors { field message code }
  }
}
"""


def reorder(catalogue: Catalogue, quantity: int = 1, variant_index: int = 0) -> dict[str, Any]:
    """A primary reorder as the portal sends it: paid, noted, tagged, traceable."""
    variant = catalogue.shirt.variants[variant_index]
    amount = str(variant.price * quantity)
    return {
        "email": "jane@example.com",
        "financialStatus": "PAID",
        "note": "Replacement for #1001 (parcel lost), covered by shipping protection.",
        "tags": ["reorder", "shipping-protection"],
        "sourceIdentifier": "reorder-request-17",
        "currency": "USD",
        "shippingAddress": {
            "firstName": "Jane",
            "lastName": "Doe",
            "address1": "1 Elm St",
            "city": "Boston",
            "provinceCode": "MA",
            "zip": "02101",
            "countryCode": "US",
        },
        "lineItems": [
            {
                "variantId": variant.gid,
                "quantity": quantity,
                "priceSet": {"shopMoney": {"amount": str(variant.price), "currencyCode": "USD"}},
            }
        ],
        "transactions": [
            {
                "kind": "SALE",
                "status": "SUCCESS",
                "gateway": "shipping-protection",
                "amountSet": {"shopMoney": {"amount": amount, "currencyCode": "USD"}},
            }
        ],
    }


async def create(
    world: ShopifyWorld, order: dict[str, Any], options: dict[str, Any] | None = None
) -> dict[str, Any]:
    async with admin_client(world) as client:
        data = await graphql_data(client, CREATE, {"order": order, "options": options})
    result: dict[str, Any] = data["orderCreate"]
    return result


async def test_a_paid_reorder_is_created_as_asked() -> None:
    world, catalogue = seeded_world()
    result = await create(world, reorder(catalogue, quantity=2))
    assert result["userErrors"] == []
    order = result["order"]
    assert order["name"] == "#1001"
    assert order["displayFinancialStatus"] == "PAID"
    assert order["note"].startswith("Replacement for #1001")
    assert order["tags"] == ["reorder", "shipping-protection"]
    assert order["sourceIdentifier"] == "reorder-request-17"
    assert order["totalPriceSet"]["shopMoney"] == {"amount": "98.00", "currencyCode": "USD"}
    assert order["shippingAddress"] == {
        "name": "Jane Doe",
        "city": "Boston",
        "countryCodeV2": "US",
        "country": "United States",
    }
    assert order["customer"] == {"email": "jane@example.com", "firstName": "Jane"}
    assert order["lineItems"]["nodes"][0]["sku"] == "LS-M"
    assert order["transactions"] == [
        {
            "kind": "SALE",
            "status": "SUCCESS",
            "gateway": "shipping-protection",
            "amountSet": {"shopMoney": {"amount": "98.00"}},
        }
    ]
    assert world.orders(DOMAIN)[0].source_identifier == "reorder-request-17"


async def test_the_created_order_is_found_by_its_source_identifier() -> None:
    world, catalogue = seeded_world()
    await create(world, reorder(catalogue))
    async with admin_client(world) as client:
        data = await graphql_data(
            client,
            'query { orders(first: 5, query: "source_identifier:reorder-request-17") '
            "{ nodes { name } } }",
        )
    assert data["orders"]["nodes"] == [{"name": "#1001"}]


async def test_a_given_price_overrides_the_variant_price() -> None:
    world, catalogue = seeded_world()
    order = reorder(catalogue)
    order["lineItems"][0]["priceSet"]["shopMoney"]["amount"] = "0.00"
    order.pop("transactions")
    result = await create(world, order)
    line = result["order"]["lineItems"]["nodes"][0]
    assert line["originalUnitPriceSet"]["shopMoney"]["amount"] == "0.00"


async def test_bypass_leaves_stock_alone() -> None:
    world, catalogue = seeded_world()
    result = await create(
        world, reorder(catalogue, quantity=3, variant_index=1), {"inventoryBehaviour": "BYPASS"}
    )
    assert result["userErrors"] == []
    assert catalogue.shirt.variants[1].inventory_quantity == 1


async def test_bypass_is_the_default() -> None:
    world, catalogue = seeded_world()
    await create(world, reorder(catalogue, quantity=2))
    assert catalogue.shirt.variants[0].inventory_quantity == 5


async def test_decrement_ignoring_policy_takes_stock_even_below_zero() -> None:
    world, catalogue = seeded_world()
    result = await create(
        world,
        reorder(catalogue, quantity=3, variant_index=1),
        {"inventoryBehaviour": "DECREMENT_IGNORING_POLICY"},
    )
    assert result["userErrors"] == []
    assert catalogue.shirt.variants[1].inventory_quantity == -2


async def test_decrement_obeying_policy_takes_stock_when_there_is_enough() -> None:
    world, catalogue = seeded_world()
    result = await create(
        world, reorder(catalogue, quantity=2), {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"}
    )
    assert result["userErrors"] == []
    assert catalogue.shirt.variants[0].inventory_quantity == 3


async def test_decrement_obeying_policy_fails_when_stock_is_short_and_creates_nothing() -> None:
    world, catalogue = seeded_world()
    events: list[str] = []
    world.subscribe(lambda shop, topic, payload: events.append(topic))
    result = await create(
        world,
        reorder(catalogue, quantity=2, variant_index=1),
        {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY", "sendReceipt": True},
    )
    assert result["order"] is None
    assert [e["code"] for e in result["userErrors"]] == ["INVENTORY_CLAIM_FAILED"]
    assert world.orders(DOMAIN) == []
    assert catalogue.shirt.variants[1].inventory_quantity == 1
    assert world.mailbox.all() == []
    assert events == []


async def test_decrement_obeying_policy_sells_a_continue_variant_past_zero() -> None:
    world, catalogue = seeded_world()
    order = reorder(catalogue)
    order["lineItems"] = [{"variantId": catalogue.mug.variants[0].gid, "quantity": 2}]
    order.pop("transactions")
    result = await create(world, order, {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"})
    assert result["userErrors"] == []
    assert catalogue.mug.variants[0].inventory_quantity == -2


async def test_send_receipt_mails_the_customer() -> None:
    world, catalogue = seeded_world()
    result = await create(world, reorder(catalogue), {"sendReceipt": True})
    [mail] = world.mailbox.to("jane@example.com")
    assert mail.kind == "order_receipt"
    assert mail.sender == f"shopify:{DOMAIN}"
    assert result["order"]["name"] in mail.subject
    assert mail.meta["order_id"] == result["order"]["id"]


async def test_no_receipt_unless_asked() -> None:
    world, catalogue = seeded_world()
    await create(world, reorder(catalogue))
    assert world.mailbox.all() == []


async def test_an_unknown_variant_is_a_user_error() -> None:
    world, catalogue = seeded_world()
    order = reorder(catalogue)
    order["lineItems"][0]["variantId"] = "gid://shopify/ProductVariant/999999"
    result = await create(world, order)
    assert result["order"] is None
    assert result["userErrors"][0]["field"] == ["order", "lineItems", "0", "variantId"]
    assert world.orders(DOMAIN) == []


async def test_paid_without_transactions_records_a_manual_payment() -> None:
    world, catalogue = seeded_world()
    order = reorder(catalogue)
    order.pop("transactions")
    result = await create(world, order)
    assert result["order"]["transactions"][0]["gateway"] == "manual"
    assert result["order"]["transactions"][0]["amountSet"]["shopMoney"]["amount"] == "49.00"


async def test_subscribers_hear_about_the_new_order() -> None:
    world, catalogue = seeded_world()
    events: list[tuple[str, str, dict[str, Any]]] = []
    world.subscribe(lambda shop, topic, payload: events.append((shop, topic, payload)))
    result = await create(world, reorder(catalogue))
    [(shop, topic, payload)] = events
    assert (shop, topic) == (DOMAIN, "orders/create")
    assert payload["admin_graphql_api_id"] == result["order"]["id"]
    assert payload["source_identifier"] == "reorder-request-17"


@pytest.mark.parametrize("country", ["XA", "EU", "QO", "UN"])
async def test_a_country_code_shopify_does_not_know_is_refused_before_anything_is_made(
    country: str,
) -> None:
    """As Shopify answers it: a variable error naming the value, no order."""
    world, catalogue = seeded_world()
    order = reorder(catalogue)
    order["shippingAddress"]["countryCode"] = country
    async with admin_client(world) as client:
        response = await post_graphql(client, CREATE, {"order": order, "options": None})
    errors = response.json()["errors"]
    assert "$order" in errors[0]["message"] and f"'{country}'" in errors[0]["message"]
    assert "countryCode" in errors[0]["message"]
    assert world.orders(DOMAIN) == []
