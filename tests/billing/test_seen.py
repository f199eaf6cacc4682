"""Order webhooks say enough about the protection lines to skip a Shopify read that could not
change the premium, and never enough to skip one that could."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from portal.billing.seen import SeenPremium, Verdict, judge
from portal.webhooks.deliveries import delivery_of

PROTECTION = "gid://shopify/ProductVariant/9001"
MUG = 4001


def line(variant: int, quantity: int = 1, current: int | None = 1, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": variant * 10, "variant_id": variant, "quantity": quantity}
    if current is not None:
        body["current_quantity"] = current
    return {"price": "2.95", "total_discount": "0.00", "discount_allocations": [], **body, **extra}


def facts(topic: str, body: dict[str, Any]) -> dict[str, Any]:
    import json

    headers = {
        "X-Shopify-Webhook-Id": "w-1",
        "X-Shopify-Shop-Domain": "test-goods.myshopify.com",
        "X-Shopify-Topic": topic,
    }
    return delivery_of(headers, json.dumps(body).encode()).facts


def order(*lines: dict[str, Any], cancelled_at: str | None = None) -> dict[str, Any]:
    return {"id": 5001, "line_items": list(lines), "cancelled_at": cancelled_at}


def test_an_order_without_protection_has_nothing_to_book() -> None:
    seen = facts("orders/create", order(line(MUG, 2, 2)))
    assert judge(seen, {PROTECTION}) == (Verdict.NOTHING_TO_BOOK, None)


def test_an_update_shows_the_protection_lines_premium() -> None:
    body = order(
        line(MUG, 2, 1),
        line(9001, 2, 1, discount_allocations=[{"amount": "0.90"}]),
    )
    verdict, seen = judge(facts("orders/updated", body), {PROTECTION})
    assert verdict is Verdict.READ_UNLESS_BOOKED
    assert seen == SeenPremium(Decimal("5.00"), refunded_quantity=1, cancelled=False)
    cancelled = judge(
        facts("orders/updated", {**body, "cancelled_at": "2026-11-02T10:00:00Z"}), {PROTECTION}
    )
    assert cancelled[1] is not None and cancelled[1].cancelled


def test_an_update_that_does_not_say_what_is_left_is_read() -> None:
    body = order(line(9001, 1, current=None))
    assert judge(facts("orders/updated", body), {PROTECTION}) == (Verdict.READ, None)
    no_discount = line(9001, 1, 1)
    del no_discount["discount_allocations"], no_discount["total_discount"]
    assert judge(facts("orders/updated", order(no_discount)), {PROTECTION})[0] is Verdict.READ
    assert judge(facts("orders/updated", {"id": 5001}), {PROTECTION})[0] is Verdict.READ


def test_a_refund_of_other_items_leaves_the_premium_and_one_of_protection_is_read() -> None:
    def refund(*variants: int) -> dict[str, Any]:
        lines = [{"line_item_id": v * 10, "quantity": 1, "line_item": line(v)} for v in variants]
        return {"id": 17001, "order_id": 5001, "refund_line_items": lines}

    assert judge(facts("refunds/create", refund(MUG)), {PROTECTION})[0] is Verdict.NOTHING_TO_BOOK
    assert judge(facts("refunds/create", refund(MUG, 9001)), {PROTECTION})[0] is Verdict.READ
    bare = {"id": 17001, "order_id": 5001, "refund_line_items": [{"line_item_id": 1}]}
    assert judge(facts("refunds/create", bare), {PROTECTION})[0] is Verdict.READ


def test_hostile_numbers_are_not_believed() -> None:
    for bad in ({"quantity": -1}, {"quantity": True}, {"price": "1e9"}, {"price": 3}):
        assert (
            judge(facts("orders/updated", order(line(9001, **bad))), {PROTECTION})[0]
            is Verdict.READ
        )
