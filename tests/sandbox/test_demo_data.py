"""The demo data: enough, realistic, and the same every time for the same seed and day."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from portal.stores.service import StoreSpec
from sandbox.demo import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    HEAVY_CLAIMS_CUSTOMER,
    build_demo_world,
)
from sandbox.world import SandboxWorld

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo() -> tuple[SandboxWorld, list[StoreSpec]]:
    return build_demo_world(now=NOW, base_url="http://127.0.0.1:8000")


def _protected(spec: StoreSpec, world: SandboxWorld) -> Counter[bool]:
    ids = set(spec.protection_variant_ids)
    return Counter(
        any(f"gid://shopify/ProductVariant/{li.variant_id}" in ids for li in order.line_items)
        for order in world.shopify.orders(spec.shop_domain)
    )


def test_at_least_two_stores_and_300_orders_over_the_last_90_days(
    demo: tuple[SandboxWorld, list[StoreSpec]],
) -> None:
    world, specs = demo
    assert len(specs) >= 2
    orders = [o for spec in specs for o in world.shopify.orders(spec.shop_domain)]
    assert len(orders) >= 300
    assert all(NOW - timedelta(days=90) <= o.created_at <= NOW for o in orders)
    assert max(o.created_at for o in orders) > NOW - timedelta(days=3)
    assert min(o.created_at for o in orders) < NOW - timedelta(days=80)


def test_most_orders_carry_protection_and_some_do_not(
    demo: tuple[SandboxWorld, list[StoreSpec]],
) -> None:
    world, specs = demo
    for spec in specs:
        counts = _protected(spec, world)
        assert counts[True] > 3 * counts[False] > 0


def test_fulfillments_carry_tracking_and_recent_orders_are_not_all_shipped(
    demo: tuple[SandboxWorld, list[StoreSpec]],
) -> None:
    world, specs = demo
    orders = world.shopify.orders(specs[0].shop_domain)
    shipped = [o for o in orders if o.fulfillments]
    assert len(shipped) > len(orders) / 2
    assert all(
        f.tracking and f.tracking[0].number and f.tracking[0].url
        for o in shipped
        for f in o.fulfillments
    )
    assert any(not o.fulfillments for o in orders)


def test_some_variants_are_out_of_stock(demo: tuple[SandboxWorld, list[StoreSpec]]) -> None:
    world, specs = demo
    for spec in specs:
        shop = world.shopify.shop(spec.shop_domain)
        tracked = [v for v in shop.variants.values() if v.tracked]
        assert any(not v.available_for_sale for v in tracked)
        assert any(v.available_for_sale for v in tracked)


def test_claims_across_customers_and_one_customer_with_more_than_two_pages(
    demo: tuple[SandboxWorld, list[StoreSpec]],
) -> None:
    world, specs = demo
    claims = [c for spec in specs for c in world.corso.claims_of_store(spec.corso_store_id or 0)]
    assert len(claims) >= 60
    by_email = Counter(c["customerEmail"].lower() for c in claims)
    assert len(by_email) >= 10
    assert by_email[HEAVY_CLAIMS_CUSTOMER] > 100


def test_each_store_has_its_own_corso_client_for_its_own_store(
    demo: tuple[SandboxWorld, list[StoreSpec]],
) -> None:
    world, specs = demo
    clients = [world.corso.client(spec.corso_client_id or "") for spec in specs]
    assert len({spec.corso_client_id for spec in specs}) == len(specs)
    for spec, client in zip(specs, clients, strict=True):
        assert client is not None and client.client_secret == spec.corso_client_secret
        assert client.store_id == spec.corso_store_id


def test_the_same_seed_and_day_give_the_same_data(
    demo: tuple[SandboxWorld, list[StoreSpec]],
) -> None:
    world, specs = demo
    again, again_specs = build_demo_world(now=NOW, base_url="http://127.0.0.1:8000")
    assert [s.access_token for s in specs] == [s.access_token for s in again_specs]
    assert [s.corso_client_secret for s in specs] == [s.corso_client_secret for s in again_specs]
    first = [(o.name, o.email, o.total_price) for o in world.shopify.orders(specs[0].shop_domain)]
    second = [(o.name, o.email, o.total_price) for o in again.shopify.orders(specs[0].shop_domain)]
    assert first == second
    store = specs[0].corso_store_id or 0
    assert world.corso.claims_of_store(store) == again.corso.claims_of_store(store)


def test_the_demo_app_is_installed_on_the_seeded_stores_and_a_new_store_awaits_it(
    demo: tuple[SandboxWorld, list[StoreSpec]],
) -> None:

    world, specs = demo
    app = world.shopify.app(DEMO_CLIENT_ID)
    assert app is not None and app.client_secret == DEMO_CLIENT_SECRET
    assert app.redirect_urls == ("http://127.0.0.1:8000/shopify/callback",)
    assert app.compliance_url == "http://127.0.0.1:8000/webhooks/shopify"
    assert world.app_client_id == DEMO_CLIENT_ID
    assert all(world.shopify.installed(spec.shop_domain, DEMO_CLIENT_ID) for spec in specs)
    [new] = world.new_stores
    assert new.shop_domain not in {spec.shop_domain for spec in specs}
    assert not world.shopify.installed(new.shop_domain, DEMO_CLIENT_ID)
    protection = set(new.protection_variant_ids)
    orders = world.shopify.orders(new.shop_domain)
    variants = [
        {f"gid://shopify/ProductVariant/{li.variant_id}" for li in o.line_items} for o in orders
    ]
    protected = [ids for ids in variants if ids & protection]
    assert len(orders) >= 5 and len(protected) >= 3
