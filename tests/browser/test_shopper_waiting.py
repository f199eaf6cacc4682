"""While the store is busy a page waits, then goes on by itself when JavaScript runs: its
Continue link is followed for the shopper. (Not a timed refresh, which axe fails.)"""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.browser.test_accessibility import order_email_link
from tests.helpers.environment import PortalEnvironment
from tests.shopper.test_shopify_points import store_busy_next


def test_the_waiting_page_goes_on_by_itself_with_javascript(
    env: PortalEnvironment, browser: Browser
) -> None:
    context = browser.new_context(java_script_enabled=True)
    try:
        page = context.new_page()
        store_busy_next(env)
        page.goto(order_email_link(env, env.shop.order()))
        page.get_by_role("button", name="Continue to my order").click()
        expect(page.locator("h1")).to_have_text("One moment, please")
        expect(page.locator("#request-form")).to_be_visible(timeout=15_000)
    finally:
        context.close()
