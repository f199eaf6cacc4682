"""A shopper on a phone files a request with the keyboard alone, in Chromium, with JavaScript
on and off. Every page is screenshotted to tests/artifacts/browser/<js-on|js-off>/."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.browser.support import ShopperBrowser
from tests.helpers.environment import PortalEnvironment

EMAIL = "jane@example.com"
MUG = re.compile(r"^Stoneware Mug\b")
LOST = re.compile(r"^Lost\b")
REFERENCE = re.compile(r"RR-[2-9A-HJ-NP-Z]{6}")
NO_ITEMS = "Choose at least one item and how many."
NO_ISSUE = "Choose what happened to your parcel."


def verify_by_keyboard(shopper: ShopperBrowser, order_name: str) -> None:
    """From the store's page to the request form: order number, email, emailed code."""
    env = shopper.env
    shopper.open(env.url("/"))
    shopper.expect_h1("Report a lost, stolen or damaged parcel")
    shopper.check_page()
    shopper.screenshot("lookup")
    shopper.tab_to("Order number")
    shopper.type(order_name)
    shopper.tab_to("Email address")
    shopper.type(EMAIL)
    shopper.tab_to("Email me a code")
    shopper.press("Enter")

    shopper.expect_h1("Check your email")
    shopper.check_page()
    shopper.screenshot("verify")
    shopper.tab_to("6-digit code")
    shopper.type(env.code_for(EMAIL))
    shopper.tab_to("Continue")
    shopper.press("Space")

    shopper.expect_h1(f"What went wrong with order {order_name}?")


def test_a_shopper_files_a_request_with_the_keyboard_alone(
    env: PortalEnvironment, shopper_browser: ShopperBrowser
) -> None:
    shopper = shopper_browser
    page = shopper.page
    order = env.shop.order()
    verify_by_keyboard(shopper, order.name)

    shopper.check_page()
    shopper.screenshot("request")
    quantity = shopper.tab_to(MUG)
    assert (quantity.type, quantity.value) == ("number", "0")
    assert shopper.type("1", replace=True).value == "1"
    shopper.tab_to(LOST)
    shopper.choose_radio(LOST)
    resolution = shopper.tab_to("Send the same items again")
    assert resolution.checked, "the reorder should be chosen already"
    street = shopper.tab_to("Street address")
    assert street.value == "1 Main St", "the address should be filled in from the order"
    shopper.tab_to("Review my request")
    missed = shopper.missed_tab_stops("#request-form")
    assert missed == [], f"Tab never reached {missed}"
    shopper.press("Enter")

    shopper.expect_h1("Check your request")
    expect(page.get_by_text("1 \u00d7 Stoneware Mug")).to_be_visible(timeout=10_000)
    shopper.check_page()
    shopper.screenshot("review")
    shopper.tab_to("Submit my request")
    shopper.press("Enter")

    shopper.expect_h1("Request received")
    notice = page.locator(".notice")
    expect(notice).to_be_visible(timeout=10_000)
    expect(notice).to_contain_text(REFERENCE, timeout=10_000)
    status = page.locator("#request-status")
    expect(status).to_contain_text("Submitted", timeout=10_000)
    if shopper.javascript_enabled:
        expect(status).to_have_attribute("hx-trigger", "every 10s")
        expect(status).to_have_attribute("hx-get", re.compile(re.escape(urlsplit(page.url).path)))
        assert page.evaluate("typeof window.htmx") == "object", "htmx did not load"
    shopper.check_page()
    shopper.screenshot("status")


def test_a_request_with_errors_leads_the_keyboard_to_each_field(
    env: PortalEnvironment, shopper_browser: ShopperBrowser
) -> None:
    """Nothing chosen: the error summary takes focus, and each of its links leads to its field
    (htmx swaps only the form when JavaScript is on)."""
    shopper = shopper_browser
    shopper.shots = shopper.shots / "errors"
    page = shopper.page
    order = env.shop.order()
    verify_by_keyboard(shopper, order.name)
    heading = page.evaluate_handle("document.querySelector('h1')")
    quantity_id = page.locator("input.qty").first.get_attribute("id")

    shopper.tab_to("Review my request")
    shopper.expect_status(400, "/test-goods/request")
    shopper.press("Enter")

    summary = page.get_by_role("alert")
    expect(summary).to_be_visible(timeout=10_000)
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link", name=NO_ITEMS)).to_be_visible()
    expect(summary.get_by_role("link", name=NO_ISSUE)).to_be_visible()
    assert urlsplit(page.url).path == "/test-goods/request"
    if shopper.javascript_enabled:
        same_heading = "(h1) => h1.isConnected && h1 === document.querySelector('h1')"
        assert page.evaluate(same_heading, heading), "htmx should swap the form, not the page"
        assert page.locator("main").count() == 1
        assert page.locator("form#request-form").count() == 1
    shopper.check_page()
    shopper.screenshot("request-errors")

    expect(summary).to_be_focused(timeout=10_000)
    assert shopper.tab_to(NO_ITEMS, max_presses=2).tag == "a"
    field = shopper.step("Enter")
    assert field.id == quantity_id, f"following the error link focused {field}"
    shopper.type("1", replace=True)

    assert shopper.tab_to(NO_ISSUE, backwards=True, max_presses=2).tag == "a"
    field = shopper.step("Enter")
    assert field.type == "radio" and field.field == "issue_type", (
        f"following the error link focused {field}"
    )
    shopper.choose_radio(LOST)
    shopper.tab_to("Review my request")
    shopper.press("Enter")

    shopper.expect_h1("Check your request")
    expect(page.get_by_text("1 \u00d7 Stoneware Mug")).to_be_visible(timeout=10_000)
    shopper.check_page()
    shopper.screenshot("review")
