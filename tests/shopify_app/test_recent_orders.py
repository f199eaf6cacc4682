"""A store that did not grant ``read_all_orders``: Shopify shows only the last 60 days of its
orders, and the portal says so to its shoppers, its admin and whoever syncs an older month.
Also: the admin is warned when Shopify answers with another API version than the store's."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from portal.billing.months import month_of
from sandbox.shopify.state import CustomerSeed, LineItemSeed, Order, VariantSeed
from tests.helpers.environment import ADDRESS, PortalEnvironment
from tests.helpers.shopper_flow import ShopperFlow
from tests.helpers.staff import StaffBrowser
from tests.helpers.worker_process import REPOSITORY, wait_for
from tests.shopify_app.helpers import (
    NEW_SHOP,
    Installation,
    app_settings,
    query_of,
    register_app,
    signed_in_admin,
    store_of,
)

pytestmark = pytest.mark.settings(**app_settings())
EMAIL = "ana@example.com"
WITHOUT_ALL_ORDERS = "read_orders,write_orders,read_products,read_inventory,read_customers"


def order_of_days_ago(env: PortalEnvironment, days: int) -> Order:
    world = env.shop.world
    product = world.add_product(
        NEW_SHOP, title=f"Wool blanket {days}", variants=[VariantSeed(title="Grey", price="80")]
    )
    now = datetime.now(UTC)
    order = world.add_order(
        NEW_SHOP,
        created_at=now - timedelta(days=days),
        email=EMAIL,
        customer=CustomerSeed("Ana", "Silva"),
        shipping_address=ADDRESS,
        line_items=[LineItemSeed(variant=product.variants[0], quantity=1)],
    )
    world.add_fulfillment(NEW_SHOP, order.id, created_at=now - timedelta(days=days - 1))
    return order


@pytest.fixture
def admin(env: PortalEnvironment) -> Iterator[StaffBrowser]:
    register_app(env)
    browser = signed_in_admin(env)
    install = Installation(env, browser)
    assert install.start().status_code == 303
    asked = query_of(install.authorize_url)
    assert "read_all_orders" in asked["scope"]
    install.consent(scope=WITHOUT_ALL_ORDERS)  # the owner grants all but read_all_orders
    assert install.finish().status_code == 303
    yield browser
    browser.close()


def test_the_admin_and_the_shoppers_are_told_and_old_orders_are_not_found(
    env: PortalEnvironment, admin: StaffBrowser
) -> None:
    store = store_of(env)
    assert store is not None and not store.reads_all_orders
    settings = admin.get(f"/support/stores/{store.slug}/settings")
    assert "did not grant read_all_orders" in settings.text

    old = order_of_days_ago(env, 75)
    recent = order_of_days_ago(env, 10)
    shopper = ShopperFlow(dataclasses.replace(env, slug=store.slug))
    try:
        answer = shopper.look_up(old.name, EMAIL)
        assert "cannot be found here" in answer.text
        shopper.look_up(recent.name, EMAIL)
        wait_for(lambda: env.mailbox.to(EMAIL), timeout=15, what="the recent order's code")
        [email] = env.mailbox.to(EMAIL)  # a code for the recent order only
        assert recent.name in email.text and old.name not in email.text
    finally:
        shopper.close()


def test_a_sync_of_an_older_month_says_what_it_could_not_read(
    env: PortalEnvironment, admin: StaffBrowser
) -> None:
    store = store_of(env)
    assert store is not None
    month = month_of(datetime.now(UTC) - timedelta(days=75), store.time_zone)
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "portal.cli",
            "sync-orders",
            "--store",
            store.slug,
            "--month",
            month,
        ],
        env=env.settings.environ(),
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "could not be read" in done.stdout and "read_all_orders" in done.stdout


def test_the_admin_is_warned_when_shopify_serves_another_api_version(
    env: PortalEnvironment, admin: StaffBrowser
) -> None:
    # The sandbox, like Shopify, serves a retired version (2025-04 since April 2026) as the
    # oldest supported one, and says which in X-Shopify-API-Version.
    def served() -> str | None:
        store = store_of(env)
        return None if store is None else store.api_version_served

    version = wait_for(served, timeout=15, what="the version Shopify served to be noted")
    store = store_of(env)
    assert store is not None and version != store.api_version
    page = admin.get(f"/support/stores/{store.slug}/settings")
    assert f"Shopify answers with {version}" in page.text
