"""An agent in Chromium gets a stuck request out (an address Shopify refuses), confirms money
before it moves (with JavaScript on and off), and is stopped from recording another customer's
order as an alternative reorder. Screenshots go to tests/artifacts/browser/workspace/."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.support import ShopperBrowser
from tests.helpers.environment import SHOP, PortalEnvironment
from tests.helpers.factories import address_form
from tests.helpers.requests import file_request, load_request, resolutions_of
from tests.helpers.staff import AGENT, PASSWORD, create_user

SHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "browser" / "workspace"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
WAIT = 10_000
SETTLE = 25_000
REFUND = "Refund these items on the original order"
REORDER = "Primary reorder: create a paid order for these items"
T = TypeVar("T")


def off_the_loop(work: Callable[[], T]) -> T:
    """Run a database helper (which runs its own event loop) beside Playwright's."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def desktop(
    browser: Browser, env: PortalEnvironment, javascript: bool, shots: str
) -> Iterator[ShopperBrowser]:
    context = browser.new_context(java_script_enabled=javascript, viewport=DESKTOP, locale="en-US")
    context.set_default_timeout(WAIT)
    try:
        yield ShopperBrowser(context.new_page(), env, javascript, SHOTS / shots)
    finally:
        context.close()


def sign_in(agent: ShopperBrowser) -> None:
    agent.open(f"{agent.env.base_url}/support/login")
    agent.page.get_by_label("Email").fill(AGENT)
    agent.page.get_by_label("Password").fill(PASSWORD)
    agent.page.get_by_role("button", name="Sign in").click()
    agent.expect_h1("Queue")


def open_request(agent: ShopperBrowser, reference: str) -> None:
    agent.open(f"{agent.env.base_url}/support/requests/{reference}")
    agent.expect_h1(re.compile(re.escape(reference)))


def wait_for_status(agent: ShopperBrowser, label: str) -> None:
    """With JavaScript the page picks the outcome up itself; without, the agent reloads."""
    status = agent.page.locator("#request-status-tag")
    if agent.javascript_enabled:
        expect(status).to_have_text(label, timeout=SETTLE)
        return
    deadline = time.monotonic() + SETTLE / 1000
    while status.inner_text() != label and time.monotonic() < deadline:
        time.sleep(0.5)
        agent.page.reload()
    expect(status).to_have_text(label)


# --- a stuck request ---------------------------------------------------------------------------


@pytest.fixture
def stuck_reference(env: PortalEnvironment, database_url: str) -> str:
    """A request shipping to an address Shopify refuses, filed directly (the shopper's form
    refuses such addresses)."""
    create_user(database_url, AGENT, "agent")
    refused = address_form(country_code="XA", province_code="ZZ", zip="not a zip")
    return file_request(env, env.shop.order(), address=refused).reference


@pytest.fixture
def agent_js(
    stuck_reference: str, browser: Browser, env: PortalEnvironment
) -> Iterator[ShopperBrowser]:
    yield from desktop(browser, env, True, "stuck")


def test_a_request_stuck_on_an_address_shopify_refuses_gets_out(
    env: PortalEnvironment, stuck_reference: str, agent_js: ShopperBrowser
) -> None:
    agent, page = agent_js, agent_js.page
    sign_in(agent)
    open_request(agent, stuck_reference)
    page.get_by_role("button", name=REORDER).click()
    agent.expect_h1(f"Confirm the primary reorder for {stuck_reference}")
    expect(page.locator("#confirmation-address")).to_contain_text("Pseudo-Accents")  # XA
    page.get_by_role("button", name="Confirm: create the paid order").click()
    agent.expect_h1(re.compile(re.escape(stuck_reference)))

    wait_for_status(agent, "Needs attention")
    attention = page.locator("#needs-attention")
    expect(attention).to_contain_text("stopped and will not be tried again")
    expect(page.locator("#resolution")).to_contain_text("Stopped after 1 attempt:")
    expect(page.locator("#resolution")).to_contain_text("Primary reorder · stopped")
    expect(page.get_by_role("button", name=REFUND)).to_be_visible()
    expect(page.get_by_text("Deny the request", exact=True)).to_be_visible()
    expect(page.locator("#address-editor")).to_have_attribute("open", "")
    agent.check_page()
    agent.screenshot("needs-attention")

    # The queue counts it under its own status.
    agent.open(f"{env.base_url}/support/queue?status=needs_attention")
    agent.expect_h1("Queue")
    count = page.locator('a[data-status="needs_attention"]')
    expect(count).to_have_attribute("data-count", "1")
    expect(page.locator("#queue-results tbody tr")).to_have_count(1)
    expect(page.locator("#queue-results tbody tr").first).to_contain_text("Needs attention")
    agent.screenshot("queue")

    # The agent corrects the country and retries: one order, to the corrected address.
    open_request(agent, stuck_reference)
    editor = page.locator("#address-editor")
    editor.get_by_label("Country", exact=True).select_option("US")
    province = editor.get_by_label("State or province", exact=True)
    expect(province.locator('option[value="IL"]')).to_have_count(1)  # the list followed
    province.select_option("IL")
    editor.get_by_label("Postal code").fill("62704")
    editor.get_by_role("button", name="Save the address").click()
    agent.expect_h1(re.compile(re.escape(stuck_reference)))
    expect(page.locator("#timeline-events")).to_contain_text("Address corrected")
    page.get_by_role("button", name="Retry").click()
    agent.expect_h1(re.compile(re.escape(stuck_reference)))
    wait_for_status(agent, "Reorder created")
    replacements = [o for o in env.shop.world.orders(SHOP) if o.source_identifier]
    assert len(replacements) == 1
    assert replacements[0].shipping_address.country_code == "US"  # type: ignore[union-attr]
    agent.check_page()
    agent.screenshot("reordered")


# --- money confirmation ------------------------------------------------------------------------


@pytest.fixture
def refund_case(env: PortalEnvironment, database_url: str) -> tuple[str, int, int]:
    create_user(database_url, AGENT, "agent")
    order = env.shop.order(lines=[(env.shop.mug, 2), (env.shop.shirt, 1)])
    filed = file_request(env, order, resolution="refund", quantities={order.line_items[0].id: 2})
    return filed.reference, filed.id, order.id


@pytest.fixture
def agent_either(
    refund_case: tuple[str, int, int],
    browser: Browser,
    env: PortalEnvironment,
    javascript_enabled: bool,
) -> Iterator[ShopperBrowser]:
    yield from desktop(
        browser, env, javascript_enabled, "js-on" if javascript_enabled else "js-off"
    )


def test_a_refund_is_confirmed_with_its_amount_before_money_moves(
    env: PortalEnvironment, refund_case: tuple[str, int, int], agent_either: ShopperBrowser
) -> None:
    reference, request_id, order_id = refund_case
    agent, page = agent_either, agent_either.page
    sign_in(agent)
    open_request(agent, reference)
    page.get_by_role("button", name=REFUND).click()
    agent.expect_h1(f"Confirm the refund for {reference}")
    lines = page.locator("#confirmation tbody tr")
    expect(lines).to_have_count(1)
    expect(lines.first).to_contain_text("Stoneware Mug")
    expect(lines.first).to_contain_text("$48.00")
    expect(page.locator("#confirmation-amount")).to_contain_text("Refund: $48.00")
    assert off_the_loop(lambda: resolutions_of(env, request_id)) == []  # nothing moved yet
    agent.check_page()
    agent.screenshot("confirm-refund")

    page.get_by_role("button", name="Confirm: refund $48.00").click()
    agent.expect_h1(re.compile(re.escape(reference)))
    wait_for_status(agent, "Refunded")
    refunds = env.shop.world.order(SHOP, order_id).refunds  # type: ignore[union-attr]
    assert len(refunds) == 1 and str(refunds[0].total_refunded) == "48.00"
    expect(page.locator("#resolution")).to_contain_text("Refund · done · $48.00")
    expect(page.locator("#resolution")).not_to_contain_text("gid://")
    agent.check_page()
    agent.screenshot("refunded")


def test_a_confirmation_opened_before_a_change_moves_no_money(
    env: PortalEnvironment, refund_case: tuple[str, int, int], agent_either: ShopperBrowser
) -> None:
    reference, request_id, order_id = refund_case
    agent, page = agent_either, agent_either.page
    sign_in(agent)
    agent.open(f"{env.base_url}/support/requests/{reference}/confirm/refund")
    agent.expect_h1(f"Confirm the refund for {reference}")
    # Meanwhile, in another tab, a colleague notes something on the request.
    other = page.context.new_page()
    other.goto(f"{env.base_url}/support/requests/{reference}")
    other.get_by_label("Internal note").fill("The parcel turned up at a neighbour's.")
    other.get_by_role("button", name="Add the note").click()
    expect(other.locator("#timeline-events")).to_contain_text("neighbour")
    other.close()

    agent.expect_status(409, f"/support/requests/{reference}/refund")
    page.get_by_role("button", name="Confirm: refund $48.00").click()
    expect(page.locator("#error-summary")).to_contain_text("changed after this confirmation")
    assert off_the_loop(lambda: resolutions_of(env, request_id)) == []
    assert env.shop.world.order(SHOP, order_id).refunds == []  # type: ignore[union-attr]
    assert off_the_loop(lambda: load_request(env, request_id)).status == "submitted"
    agent.screenshot("stale-confirmation")


# --- alternative reorders ----------------------------------------------------------------------


@pytest.fixture
def alternative_case(env: PortalEnvironment, database_url: str) -> tuple[str, str, int]:
    create_user(database_url, AGENT, "agent")
    filed = file_request(env, env.shop.order(lines=[(env.shop.lamp, 1)]))
    foreign = env.shop.order(email="sam@example.com", lines=[(env.shop.shirt, 1)])
    return filed.reference, foreign.name, filed.id


@pytest.fixture
def agent_alt(
    alternative_case: tuple[str, str, int], browser: Browser, env: PortalEnvironment
) -> Iterator[ShopperBrowser]:
    yield from desktop(browser, env, True, "alternative")


def record_alternative(page: Page, order_name: str) -> None:
    page.get_by_text("Record an alternative reorder (bought with the company card)").click()
    page.get_by_label("Store order number").fill(order_name)
    page.get_by_label("What was bought").fill("Linen shirt instead")
    page.get_by_label("Amount paid").fill("58.00")
    page.get_by_role("button", name="Record the purchase").click()


def test_another_customers_earlier_order_is_refused_as_an_alternative(
    env: PortalEnvironment, alternative_case: tuple[str, str, int], agent_alt: ShopperBrowser
) -> None:
    reference, foreign_name, request_id = alternative_case
    agent, page = agent_alt, agent_alt.page
    sign_in(agent)
    open_request(agent, reference)
    agent.expect_status(409, f"/support/requests/{reference}/alternative")
    record_alternative(page, foreign_name)
    agent.expect_h1(re.compile(re.escape(reference)))
    error = page.locator("#order_name-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("before this request was filed")
    expect(page.get_by_label("Store order number")).to_have_attribute("aria-invalid", "true")
    assert off_the_loop(lambda: resolutions_of(env, request_id)) == []
    assert not [m for m in env.mailbox.to("jane@example.com") if foreign_name in m.subject]
    agent.check_page()
    agent.screenshot("foreign-order-refused")
