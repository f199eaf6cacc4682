"""``refundCreate`` and ``Order.suggestedRefund``: amounts, limits, notification, idempotency."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sandbox.shopify import ShopifyWorld
from sandbox.shopify.state import Order
from tests.sandbox.shopify_helpers import (
    DOMAIN,
    add_jane_order,
    admin_client,
    graphql_data,
    post_graphql,
    seeded_world,
)

pytestmark = pytest.mark.anyio

REFUND = """
mutation Refund($input: RefundInput!) {
  refundCreate(input: $input) {
    refund {
      id note createdAt
      totalRefundedSet { shopMoney { amount currencyCode } }
      refundLineItems(first: 10) { nodes { id quantity restockType lineItem { id }
        priceSet { shopMoney { amount } } subtotalSet { shopMoney { amount } } } }
      transactions(first: 5) { nodes { id kind status gateway amountSet { shopMoney { amount } }
        parentTransaction { id } } }
    }
    order {
      displayFinancialStatus
      totalRefundedSet { shopMoney { amount } }
      lineItems(first: 10) { nodes { id refundableQuantity currentQuantity } }
      refunds(first: 5) { id }
    }
    userErrors { field message }
  }
}
"""
IDEMPOTENT_REFUND = REFUND.replace(
    "refundCreate(input: $input)", "refundCreate(input: $input) @idempotent(key: $key)"
).replace("($input: RefundInput!)", "($input: RefundInput!, $key: String!)")

SUGGEST = """
query Suggest($id: ID!, $lines: [RefundLineItemInput!], $shipping: Boolean,
              $amount: Money, $full: Boolean) {
  order(id: $id) {
    suggestedRefund(refundLineItems: $lines, refundShipping: $shipping, shippingAmount: $amount,
                    suggestFullRefund: $full) {
      amountSet { shopMoney { amount } }
      subtotalSet { shopMoney { amount } }
      totalTaxSet { shopMoney { amount } }
      maximumRefundableSet { shopMoney { amount } }
      refundLineItems { lineItem { id } quantity restockType priceSet { shopMoney { amount } }
        subtotalSet { shopMoney { amount } } }
      suggestedTransactions { amountSet { shopMoney { amount } } gateway kind
        parentTransaction { id } maximumRefundableSet { shopMoney { amount } } }
      shipping { amountSet { shopMoney { amount } } maximumRefundableSet { shopMoney { amount } } }
    }
  }
}
"""


def paid_order() -> tuple[ShopifyWorld, Order]:
    world, catalogue = seeded_world()
    return world, add_jane_order(world, catalogue)


def refund_input(
    order: Order, quantity: int = 1, amount: str = "46.50", **extra: Any
) -> dict[str, Any]:
    """Refund ``quantity`` shirts (46.50 each after the line discount) to the original card."""
    sale = order.transactions[0]
    return {
        "orderId": order.gid,
        "notify": True,
        "note": "Parcel lost in transit",
        "refundLineItems": [
            {
                "lineItemId": order.line_items[0].gid,
                "quantity": quantity,
                "restockType": "NO_RESTOCK",
            }
        ],
        "transactions": [
            {
                "orderId": order.gid,
                "parentId": sale.gid,
                "gateway": sale.gateway,
                "kind": "REFUND",
                "amount": amount,
            }
        ],
        **extra,
    }


async def refund(world: ShopifyWorld, data: dict[str, Any], **kw: Any) -> dict[str, Any]:
    async with admin_client(world) as client:
        result = await graphql_data(client, REFUND, {"input": data}, **kw)
    payload: dict[str, Any] = result["refundCreate"]
    return payload


async def suggest(world: ShopifyWorld, order: Order, **variables: Any) -> dict[str, Any]:
    async with admin_client(world) as client:
        data = await graphql_data(client, SUGGEST, {"id": order.gid, **variables})
    suggestion: dict[str, Any] = data["order"]["suggestedRefund"]
    return suggestion


def amount(money_bag: dict[str, Any]) -> str:
    value: str = money_bag["shopMoney"]["amount"]
    return value


# --- refundCreate ------------------------------------------------------------------------------


async def test_a_refund_returns_money_to_the_original_payment() -> None:
    world, order = paid_order()
    result = await refund(world, refund_input(order))
    assert result["userErrors"] == []
    created = result["refund"]
    assert amount(created["totalRefundedSet"]) == "46.50"
    assert created["note"] == "Parcel lost in transit"
    [line] = created["refundLineItems"]["nodes"]
    assert (line["quantity"], line["restockType"], amount(line["subtotalSet"])) == (
        1,
        "NO_RESTOCK",
        "46.50",
    )
    [money] = created["transactions"]["nodes"]
    assert (money["kind"], money["status"], money["gateway"]) == (
        "REFUND",
        "SUCCESS",
        "shopify_payments",
    )
    assert money["parentTransaction"]["id"] == order.transactions[0].gid


async def test_a_refund_updates_the_order() -> None:
    world, order = paid_order()
    result = await refund(world, refund_input(order))
    updated = result["order"]
    assert updated["displayFinancialStatus"] == "PARTIALLY_REFUNDED"
    assert amount(updated["totalRefundedSet"]) == "46.50"
    shirt = updated["lineItems"]["nodes"][0]
    assert (shirt["refundableQuantity"], shirt["currentQuantity"]) == (1, 1)
    assert len(updated["refunds"]) == 1


async def test_refunding_everything_marks_the_order_refunded() -> None:
    world, order = paid_order()
    data = refund_input(order, quantity=2, amount="116.45", shipping={"fullRefund": True})
    data["refundLineItems"].append({"lineItemId": order.line_items[1].gid, "quantity": 1})
    result = await refund(world, data)
    assert result["userErrors"] == []
    assert result["order"]["displayFinancialStatus"] == "REFUNDED"
    assert amount(result["order"]["totalRefundedSet"]) == "116.45"


async def test_notify_emails_the_customer() -> None:
    world, order = paid_order()
    result = await refund(world, refund_input(order))
    [mail] = world.mailbox.to("jane@example.com")
    assert mail.kind == "refund_notification"
    assert "46.50" in mail.text
    assert mail.meta["refund_id"] == result["refund"]["id"]


async def test_no_email_without_notify() -> None:
    world, order = paid_order()
    await refund(world, refund_input(order, notify=False))
    assert world.mailbox.all() == []


async def test_subscribers_hear_about_the_refund() -> None:
    world, order = paid_order()
    topics: list[str] = []
    world.subscribe(lambda shop, topic, payload: topics.append(topic))
    await refund(world, refund_input(order))
    assert topics == ["refunds/create", "orders/updated"]


async def test_refunding_more_items_than_remain_is_refused() -> None:
    world, order = paid_order()
    await refund(world, refund_input(order, quantity=1))
    result = await refund(world, refund_input(order, quantity=2, amount="93.00"))
    assert result["refund"] is None
    assert result["userErrors"][0]["field"] == ["refundLineItems", "0", "quantity"]
    assert len(order.refunds) == 1
    assert order.line_items[0].refundable_quantity == 1


async def test_refunding_more_money_than_was_paid_is_refused() -> None:
    world, order = paid_order()
    result = await refund(world, refund_input(order, amount="116.46"))
    assert result["refund"] is None
    assert result["userErrors"][0]["field"][0] == "transactions"
    assert order.refunds == []
    assert order.financial_status == "PAID"


async def test_money_already_refunded_cannot_be_refunded_again() -> None:
    world, order = paid_order()
    assert (await refund(world, refund_input(order, amount="100.00")))["userErrors"] == []
    second = await refund(world, refund_input(order, amount="20.00"))
    assert second["userErrors"] and second["refund"] is None
    assert order.total_refunded == Decimal("100.00")


async def test_an_unknown_line_item_is_refused() -> None:
    world, order = paid_order()
    data = refund_input(order)
    data["refundLineItems"][0]["lineItemId"] = "gid://shopify/LineItem/424242"
    result = await refund(world, data)
    assert result["refund"] is None
    assert result["userErrors"] == [
        {"field": ["refundLineItems", "0", "lineItemId"], "message": "Line item does not exist."}
    ]


async def test_a_line_item_of_another_order_is_refused() -> None:
    world, catalogue = seeded_world()
    first, second = add_jane_order(world, catalogue), add_jane_order(world, catalogue)
    data = refund_input(first)
    data["refundLineItems"][0]["lineItemId"] = second.line_items[0].gid
    result = await refund(world, data)
    assert result["userErrors"][0]["field"] == ["refundLineItems", "0", "lineItemId"]


async def test_an_unknown_order_is_refused() -> None:
    world, order = paid_order()
    result = await refund(world, {**refund_input(order), "orderId": "gid://shopify/Order/1"})
    assert result["userErrors"] == [{"field": ["orderId"], "message": "Order does not exist."}]


async def test_restocking_returns_stock() -> None:
    world, catalogue = seeded_world()
    order = add_jane_order(world, catalogue)
    data = refund_input(order)
    data["refundLineItems"][0]["restockType"] = "RETURN"
    await refund(world, data)
    assert catalogue.shirt.variants[0].inventory_quantity == 6


# --- idempotency -------------------------------------------------------------------------------


async def idempotent_refund(
    world: ShopifyWorld, data: dict[str, Any], key: str, version: str = "2026-01"
) -> dict[str, Any]:
    async with admin_client(world) as client:
        response = await post_graphql(
            client, IDEMPOTENT_REFUND, {"input": data, "key": key}, version=version
        )
    payload: dict[str, Any] = response.json()
    return payload


async def test_the_same_key_and_input_replay_the_first_refund() -> None:
    world, order = paid_order()
    first = await idempotent_refund(world, refund_input(order), "key-1")
    again = await idempotent_refund(world, refund_input(order), "key-1")
    assert "errors" not in again
    replayed = again["data"]["refundCreate"]["refund"]["id"]
    assert replayed == first["data"]["refundCreate"]["refund"]["id"]
    assert len(order.refunds) == 1
    assert order.total_refunded == Decimal("46.50")
    assert len(world.mailbox.all()) == 1


async def test_the_same_key_with_other_input_is_a_mismatch() -> None:
    world, order = paid_order()
    await idempotent_refund(world, refund_input(order), "key-1")
    changed = await idempotent_refund(world, refund_input(order, amount="40.00"), "key-1")
    assert changed["data"]["refundCreate"] is None
    assert changed["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    assert len(order.refunds) == 1


async def test_different_keys_make_different_refunds() -> None:
    world, order = paid_order()
    await idempotent_refund(world, refund_input(order), "key-1")
    await idempotent_refund(world, refund_input(order), "key-2")
    assert len(order.refunds) == 2


async def test_the_directive_is_unknown_before_2026_01() -> None:
    world, order = paid_order()
    world.api_versions.support_months = 24  # 2025-10 is retired by the world's date otherwise
    payload = await idempotent_refund(world, refund_input(order), "key-1", version="2025-10")
    assert "idempotent" in payload["errors"][0]["message"]
    assert order.refunds == []


async def test_the_directive_is_required_from_2026_04() -> None:
    world, order = paid_order()
    async with admin_client(world) as client:
        response = await post_graphql(
            client, REFUND, {"input": refund_input(order)}, version="2026-04"
        )
    assert response.json()["errors"][0]["path"] == ["refundCreate"]
    assert order.refunds == []
    assert (await idempotent_refund(world, refund_input(order), "k", "2026-04"))["data"][
        "refundCreate"
    ]["userErrors"] == []


# --- suggestedRefund ---------------------------------------------------------------------------


async def test_suggested_refund_for_one_discounted_item() -> None:
    world, order = paid_order()
    lines = [{"lineItemId": order.line_items[0].gid, "quantity": 1}]
    suggestion = await suggest(world, order, lines=lines)
    assert amount(suggestion["amountSet"]) == "46.50"
    assert amount(suggestion["subtotalSet"]) == "46.50"
    assert amount(suggestion["totalTaxSet"]) == "0.00"
    assert amount(suggestion["maximumRefundableSet"]) == "116.45"
    [line] = suggestion["refundLineItems"]
    assert (line["quantity"], amount(line["priceSet"])) == (1, "46.50")
    [transaction] = suggestion["suggestedTransactions"]
    assert transaction["kind"] == "SUGGESTED_REFUND"
    assert transaction["gateway"] == "shopify_payments"
    assert transaction["parentTransaction"]["id"] == order.transactions[0].gid
    assert amount(transaction["amountSet"]) == "46.50"
    assert amount(suggestion["shipping"]["maximumRefundableSet"]) == "4.95"


async def test_suggested_refund_with_shipping() -> None:
    world, order = paid_order()
    lines = [{"lineItemId": order.line_items[1].gid, "quantity": 1}]
    suggestion = await suggest(world, order, lines=lines, shipping=True)
    assert amount(suggestion["shipping"]["amountSet"]) == "4.95"
    assert amount(suggestion["amountSet"]) == "23.45"


async def test_suggested_full_refund() -> None:
    world, order = paid_order()
    suggestion = await suggest(world, order, full=True)
    assert amount(suggestion["amountSet"]) == "116.45"
    assert {line["quantity"] for line in suggestion["refundLineItems"]} == {2, 1}


async def test_suggestion_limits_quantity_and_accounts_for_earlier_refunds() -> None:
    world, order = paid_order()
    world.add_refund(DOMAIN, order.id, line_items=[(order.line_items[0].id, 1)])
    lines = [{"lineItemId": order.line_items[0].gid, "quantity": 5}]
    suggestion = await suggest(world, order, lines=lines)
    assert suggestion["refundLineItems"][0]["quantity"] == 1
    assert amount(suggestion["amountSet"]) == "46.50"
    assert amount(suggestion["maximumRefundableSet"]) == "69.95"


async def test_the_suggestion_is_accepted_by_refund_create() -> None:
    world, order = paid_order()
    lines = [{"lineItemId": order.line_items[0].gid, "quantity": 2}]
    suggestion = await suggest(world, order, lines=lines, shipping=True)
    transactions = [
        {
            "orderId": order.gid,
            "parentId": t["parentTransaction"]["id"],
            "gateway": t["gateway"],
            "kind": "REFUND",
            "amount": amount(t["amountSet"]),
        }
        for t in suggestion["suggestedTransactions"]
    ]
    result = await refund(
        world,
        {
            "orderId": order.gid,
            "refundLineItems": lines,
            "shipping": {"fullRefund": True},
            "transactions": transactions,
        },
    )
    assert result["userErrors"] == []
    assert amount(result["refund"]["totalRefundedSet"]) == "97.95"
