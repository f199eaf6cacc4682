"""An admin in Chromium finds the store's protection product with the search box and saves it,
with JavaScript (htmx swaps in the results, the page stays) and without (the search form
reloads the page with them). Screenshots go to tests/artifacts/browser/settings-<js>/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ViewportSize, expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from portal.db import sync_url
from portal.stores.models import Store
from tests.browser.support import ShopperBrowser
from tests.helpers.environment import PortalEnvironment
from tests.helpers.staff import PASSWORD, create_user

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "browser"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
ADMIN = "admin@example.com"
SAME_NODE = "(node) => node.isConnected && node === document.querySelector('h1')"


@pytest.fixture
def admin_account(env: PortalEnvironment) -> None:
    """Made before Chromium starts (creating a user runs its own event loop)."""
    create_user(env.settings.database_url, ADMIN, "admin")


@pytest.fixture
def admin(
    admin_account: None, env: PortalEnvironment, browser: Browser, javascript_enabled: bool
) -> Iterator[ShopperBrowser]:
    context = browser.new_context(
        java_script_enabled=javascript_enabled, viewport=DESKTOP, locale="en-US"
    )
    context.set_default_timeout(10_000)
    shots = ARTIFACTS / ("settings-js-on" if javascript_enabled else "settings-js-off")
    try:
        yield ShopperBrowser(context.new_page(), env, javascript_enabled, shots)
    finally:
        context.close()


def _protection_product(env: PortalEnvironment) -> str | None:
    engine = create_engine(sync_url(env.settings.database_url))
    try:
        with Session(engine) as db:
            return db.scalars(
                select(Store.protection_product_id).where(Store.slug == env.slug)
            ).one()
    finally:
        engine.dispose()


def test_an_admin_finds_and_saves_the_protection_product(
    env: PortalEnvironment, admin: ShopperBrowser, javascript_enabled: bool
) -> None:
    page = admin.page
    admin.open(f"{env.base_url}/support/stores/{env.slug}/settings")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    admin.expect_h1("Settings of Test Goods")
    admin.check_page()
    admin.screenshot("settings")

    h1 = page.evaluate_handle("document.querySelector('h1')")
    page.get_by_label("Find the product in the store").fill("protect")
    if not javascript_enabled:
        page.get_by_role("button", name="Search").click()
    choose = page.get_by_role("button", name="Use as the protection product")
    expect(choose).to_have_count(1)
    expect(page.locator("#product-results")).to_contain_text("Shipping Protection")
    if javascript_enabled:
        assert page.evaluate(SAME_NODE, h1), "the search reloaded the page instead of swapping"
    else:
        assert "q=protect" in page.url
    admin.check_page()
    admin.screenshot("search")

    choose.click()
    expect(page.locator(".notice")).to_contain_text("The protection product is saved")
    assert _protection_product(env) == f"gid://shopify/Product/{env.shop.protection.product_id}"
    admin.check_page()
    admin.screenshot("saved")
