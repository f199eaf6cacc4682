"""An admin in Chromium adds a rule, dry-runs it against the store's requests (htmx swaps in
the figures), switches it on, and a shopper's matching request is reordered by the rule without
an agent."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal.automation.models import AutomationDecision
from tests.automation.conftest import ADMIN, file_as_shopper
from tests.helpers.environment import SHOP, PortalEnvironment, database
from tests.helpers.requests import file_request
from tests.helpers.shopper_flow import ShopperFlow
from tests.helpers.staff import PASSWORD, create_user

WAIT = 15_000
RULE = "Small lost parcels: reorder"


@pytest.fixture
def earlier(env: PortalEnvironment, database_url: str) -> str:
    """An admin, and one earlier request the dry run judges (filed before Chromium starts)."""
    create_user(database_url, ADMIN, "admin")
    return file_request(env, env.shop.order(email="earlier@example.com")).reference


@pytest.fixture
def page(earlier: str, browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(WAIT)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_an_admin_creates_dry_runs_and_switches_on_a_rule_that_then_resolves(
    env: PortalEnvironment, page: Page, earlier: str
) -> None:
    page.goto(f"{env.base_url}/support/stores/test-goods/settings")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Automation rules").click()
    expect(page.locator("h1")).to_have_text("Automation of Test Goods")
    page.get_by_role("link", name="Add a rule").click()

    page.get_by_label("Name").fill(RULE)
    page.get_by_role("checkbox", name="Lost").check()
    page.get_by_label("Request value under").fill("50")
    page.get_by_label("Stock").select_option("yes")
    page.get_by_label("At most this many other claims").fill("0")
    page.get_by_role("radio", name=re.compile("Resolve as the shopper preferred")).check()
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator(".notice")).to_contain_text("dry-run it, then switch it on")
    expect(page.locator("[data-enabled]")).to_have_text("off")

    page.get_by_label("Requests to judge").fill("10")
    page.evaluate("window.keptHeading = document.querySelector('h1')")
    page.get_by_role("button", name="Dry-run").click()
    expect(page.locator('[data-figure="judged"]')).to_have_text("1")
    expect(page.locator('[data-figure="resolved"]')).to_have_text("1")
    expect(page.locator('[data-figure="money"]')).to_contain_text("24.00")
    assert page.evaluate("window.keptHeading === document.querySelector('h1')"), (
        "htmx swapped only the results"
    )
    page.get_by_text("Every request judged").click()
    expect(page.locator(f'#dry-run-rows tr[data-reference="{earlier}"]')).to_have_attribute(
        "data-would", "reordered"
    )

    page.get_by_role("button", name="Switch on").click()
    expect(page.locator("#rules tbody tr")).to_have_count(1)
    expect(page.locator("#rules tbody tr")).to_have_attribute("data-enabled", "on")

    shopper = ShopperFlow(env)
    try:
        order = env.shop.order(email="new@example.com")
        status = file_as_shopper(shopper, order, email="new@example.com")
    finally:
        shopper.close()
    page.goto(str(status.url))
    deadline = time.monotonic() + 30
    while "your new order is" not in page.content() and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    replacement = [o for o in env.shop.world.orders(SHOP) if o.source_identifier]
    assert len(replacement) == 1
    expect(page.get_by_text(f"your new order is {replacement[0].name}")).to_be_visible()
    with database(env) as db:
        [decision] = db.scalars(select(AutomationDecision)).all()
    assert decision.outcome == "reordered" and decision.rule_name == RULE
