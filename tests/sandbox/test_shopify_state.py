"""The seeding API the demo data and the tests build on."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from sandbox.shopify import LineItemSeed, TransactionSeed, VariantSeed
from sandbox.shopify.state import UnknownRecord, money
from tests.sandbox.shopify_helpers import DOMAIN, NOW, add_jane_order, seeded_world


def test_orders_are_numbered_per_shop_and_keep_their_backdated_time() -> None:
    world, catalogue = seeded_world()
    first = add_jane_order(world, catalogue, created_at=datetime(2025, 1, 1, tzinfo=UTC))
    second = add_jane_order(world, catalogue)
    assert (first.name, second.name) == ("#1001", "#1002")
    assert first.created_at == datetime(2025, 1, 1, tzinfo=UTC)
    assert first.gid == f"gid://shopify/Order/{first.id}"
    assert world.order_by_name(DOMAIN, "#1002") is second
    assert world.order_by_name(DOMAIN, "1001") is first


def test_an_explicit_order_number_moves_the_counter_on() -> None:
    world, catalogue = seeded_world()
    assert add_jane_order(world, catalogue, number=2040).name == "#2040"
    assert add_jane_order(world, catalogue).name == "#2041"
    with pytest.raises(ValueError, match="already exists"):
        add_jane_order(world, catalogue, number=2040)


def test_totals_are_exact_decimals() -> None:
    world, catalogue = seeded_world()
    order = add_jane_order(world, catalogue)
    assert order.subtotal == Decimal("111.50")
    assert order.total_price == Decimal("116.45")
    assert order.transactions[0].amount == Decimal("116.45")


def test_money_refuses_floats() -> None:
    with pytest.raises(TypeError):
        money(19.99)  # type: ignore[arg-type]
    assert money("19.9") == Decimal("19.90")


def test_a_pending_order_has_no_payment_and_explicit_transactions_are_kept() -> None:
    world, catalogue = seeded_world()
    pending = add_jane_order(world, catalogue, financial_status="PENDING")
    assert pending.transactions == []
    split = add_jane_order(
        world,
        catalogue,
        transactions=[
            TransactionSeed(amount="100.00", gateway="shopify_payments"),
            TransactionSeed(amount="16.45", gateway="gift_card"),
        ],
    )
    assert [t.gateway for t in split.transactions] == ["shopify_payments", "gift_card"]


def test_seeded_orders_leave_stock_unless_asked() -> None:
    world, catalogue = seeded_world()
    add_jane_order(world, catalogue)
    assert catalogue.shirt.variants[0].inventory_quantity == 5
    add_jane_order(world, catalogue, decrement_inventory=True)
    assert catalogue.shirt.variants[0].inventory_quantity == 3


def test_stock_split_across_locations() -> None:
    world, _ = seeded_world()
    world.add_location(DOMAIN, "Overflow")
    product = world.add_product(
        DOMAIN,
        title="Candle",
        variants=[
            VariantSeed(price="12.00", inventory_by_location={"Main warehouse": 1, "Overflow": 4}),
        ],
    )
    variant = product.variants[0]
    assert variant.inventory_quantity == 5
    world.take_stock(world.shop(DOMAIN), variant.id, 3)
    assert sorted(variant.levels.values()) == [0, 2]


def test_fulfillment_marks_the_lines_shipped() -> None:
    world, catalogue = seeded_world()
    order = add_jane_order(world, catalogue)
    shirt, mug = order.line_items
    world.add_fulfillment(DOMAIN, order.id, tracking_number="1Z1", line_items=[(shirt.id, 2)])
    assert order.display_fulfillment_status == "PARTIALLY_FULFILLED"
    world.add_fulfillment(DOMAIN, order.id, tracking_number="1Z2")
    assert order.display_fulfillment_status == "FULFILLED"
    assert [f.name for f in order.fulfillments] == ["#1001-F1", "#1001-F2"]
    assert order.fulfillments[1].line_items[0].line_item_id == mug.id


def test_add_refund_uses_the_suggested_amounts() -> None:
    world, catalogue = seeded_world()
    order = add_jane_order(world, catalogue)
    refund = world.add_refund(
        DOMAIN, order.id, line_items=[(order.line_items[0].id, 2)], shipping="4.95", created_at=NOW
    )
    assert refund.total_refunded == Decimal("97.95")
    assert refund.transactions[0].parent_id == order.transactions[0].id
    assert order.financial_status == "PARTIALLY_REFUNDED"
    with pytest.raises(ValueError, match="more items"):
        world.add_refund(DOMAIN, order.id, line_items=[(order.line_items[0].id, 1)])


def test_cancel_order_and_the_observer_hook() -> None:
    world, catalogue = seeded_world()
    events: list[tuple[str, str, dict[str, Any]]] = []
    unsubscribe = world.subscribe(lambda *event: events.append(event))
    order = add_jane_order(world, catalogue)
    world.cancel_order(DOMAIN, order.id, reason="FRAUD")
    unsubscribe()
    add_jane_order(world, catalogue)
    assert [(shop, topic) for shop, topic, _ in events] == [
        (DOMAIN, "orders/create"),
        (DOMAIN, "orders/updated"),
        (DOMAIN, "orders/cancelled"),
    ]
    assert events[1][2]["cancel_reason"] == "fraud"
    assert order.cancelled_at == NOW and order.closed_at == NOW


def test_unknown_records_are_reported() -> None:
    world, _ = seeded_world()
    with pytest.raises(UnknownRecord):
        world.shop("nobody.myshopify.com")
    with pytest.raises(UnknownRecord):
        world.add_order(DOMAIN, created_at=NOW, line_items=[LineItemSeed(variant=424242)])
    assert world.order(DOMAIN, 1) is None


def test_orders_created_from_many_threads_get_distinct_numbers() -> None:
    world, catalogue = seeded_world()
    threads = [threading.Thread(target=add_jane_order, args=(world, catalogue)) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    numbers = sorted(o.number for o in world.orders(DOMAIN))
    assert numbers == list(range(1001, 1021))
