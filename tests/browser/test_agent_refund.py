"""An agent in Chromium signs in, finds a request in the queue, refunds it on the original order
and watches the request's status change without reloading the page. Every step is
screenshotted to tests/artifacts/browser/agent/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, JSHandle, Page, ViewportSize, expect

from tests.browser.support import ShopperBrowser
from tests.helpers.environment import SHOP, PortalEnvironment
from tests.helpers.requests import file_request
from tests.helpers.staff import AGENT, PASSWORD, create_user

SHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "browser" / "agent"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
REFUND = "Refund these items on the original order"
# Added to every sandbox Shopify answer once the agent is about to refund: the refund takes two
# calls in a row and the request's page one, so the page after the redirect still shows the
# refund pending and has to pick up its outcome by itself.
SHOPIFY_LATENCY = 1.5
WAIT = 10_000
SETTLE = 25_000

SAME_NODE = "(node) => node.isConnected && node === document.querySelector('h1')"


@dataclass(frozen=True)
class RefundCase:
    order_id: int
    order_name: str
    reference: str
    other_reference: str


@pytest.fixture
def case(env: PortalEnvironment, database_url: str) -> RefundCase:
    """An agent and two requests, filed before Chromium starts (filing runs its own event loop)."""
    create_user(database_url, AGENT, "agent")
    order = env.shop.order()
    filed = file_request(env, order, resolution="refund")
    other = file_request(env, env.shop.order(email="sam@example.com"), resolution="refund")
    return RefundCase(order.id, order.name, filed.reference, other.reference)


@pytest.fixture
def agent(case: RefundCase, browser: Browser, env: PortalEnvironment) -> Iterator[ShopperBrowser]:
    """A desktop-sized page with JavaScript on."""
    context = browser.new_context(java_script_enabled=True, viewport=DESKTOP, locale="en-US")
    context.set_default_timeout(WAIT)
    try:
        yield ShopperBrowser(context.new_page(), env, True, SHOTS)
    finally:
        context.close()
        env.shop.world.faults(SHOP).clear()


def heading(page: Page) -> JSHandle:
    return page.evaluate_handle("document.querySelector('h1')")


def still_the_same_page(page: Page, h1: JSHandle) -> bool:
    return bool(page.evaluate(SAME_NODE, h1))


def test_an_agent_refunds_a_request_and_watches_its_status_change(
    env: PortalEnvironment, case: RefundCase, agent: ShopperBrowser
) -> None:
    page = agent.page

    # Signed out: the queue sends the agent to sign in, and back afterwards.
    agent.open(f"{env.base_url}/support/queue")
    agent.expect_h1("Sign in to support")
    login = urlsplit(page.url)
    assert login.path == "/support/login"
    assert parse_qs(login.query).get("next") == ["/support/queue"]
    agent.check_page()
    agent.screenshot("sign-in")
    page.get_by_label("Email").fill(AGENT)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    agent.expect_h1("Queue")
    assert urlsplit(page.url).path == "/support/queue"
    rows = page.locator("#queue-results tbody tr")
    expect(rows).to_have_count(2, timeout=WAIT)
    assert page.evaluate("typeof window.htmx") == "object", "htmx did not load"
    agent.check_page()
    agent.screenshot("queue")

    # Searching swaps the results only: the page around them stays the same document.
    h1 = heading(page)
    page.get_by_label("Search").fill(case.reference)
    expect(rows).to_have_count(1, timeout=WAIT)
    expect(rows.first).to_have_attribute("data-reference", case.reference)
    expect(page.get_by_role("link", name=case.other_reference)).to_have_count(0)
    assert still_the_same_page(page, h1), "the search reloaded the page instead of swapping"
    expect(page).to_have_url(re.compile(r"[?&]q=" + re.escape(case.reference)), timeout=WAIT)
    agent.check_page()
    agent.screenshot("search")

    page.get_by_role("link", name=case.reference).click()
    agent.expect_h1(re.compile(re.escape(case.reference)))
    assert urlsplit(page.url).path == f"/support/requests/{case.reference}"
    order_panel = page.locator("#order-panel")
    expect(
        order_panel.get_by_role("heading", name=f"Shopify order {case.order_name}")
    ).to_be_visible()
    expect(order_panel).to_contain_text("Stoneware Mug")
    claims = page.get_by_role("region", name="Corso claims by jane@example.com")
    expect(claims).to_be_visible()
    expect(claims).to_contain_text("No earlier claims.")
    expect(page.locator(".problem")).to_have_count(0)
    status = page.locator("#request-status-tag")
    expect(status).to_have_text("Submitted")
    agent.check_page()
    agent.screenshot("request")

    # The refund: Shopify answers slowly from now on, so the outcome arrives after the page.
    env.shop.world.faults(SHOP).latency = SHOPIFY_LATENCY
    page.get_by_role("button", name=REFUND).click()
    agent.expect_h1(f"Confirm the refund for {case.reference}")
    expect(page.locator("#confirmation-amount")).to_contain_text("$24.00")
    page.get_by_role("button", name="Confirm: refund $24.00").click()
    resolution = page.locator("#resolution")
    expect(resolution.locator(".resolution-pending")).to_be_visible(timeout=WAIT)
    expect(resolution).to_contain_text("Refund · in progress")
    expect(page.get_by_role("button", name=REFUND)).to_have_count(0)
    expect(resolution).to_have_attribute("hx-trigger", "every 2s")
    agent.check_page()
    agent.screenshot("refund-pending")

    # Nobody reloads: the page polls while the refund is pending and stops once it is done.
    h1 = heading(page)
    expect(status).to_have_text("Refunded", timeout=SETTLE)
    expect(resolution.locator(".resolution-succeeded")).to_be_visible(timeout=WAIT)
    expect(resolution).to_contain_text("Refund · done")
    expect(resolution).not_to_have_attribute("hx-trigger")
    assert still_the_same_page(page, h1), "the page was reloaded to show the refund"
    env.shop.world.faults(SHOP).clear()

    order = env.shop.world.order(SHOP, case.order_id)
    assert order is not None
    assert len(order.refunds) == 1, f"the shop holds {len(order.refunds)} refunds for the order"
    timeline = page.locator("#timeline-events")
    expect(timeline.locator("li strong", has_text=re.compile(r"^Refunded$"))).to_have_count(1)
    expect(order_panel).to_contain_text("Refund")
    agent.check_page()
    agent.screenshot("refunded")
