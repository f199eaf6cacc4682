"""A shopper in Chromium comes back to an order that already has a request and files a second
one for other items, with another wish: nothing they chose is lost on the way, and the first
request stays as it was. JavaScript on and off."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from portal.reorders.models import ReorderRequest
from sandbox.shopify.state import Order
from tests.browser.support import ShopperBrowser
from tests.browser.test_shopper_keyboard import verify_by_keyboard
from tests.helpers.environment import PortalEnvironment
from tests.helpers.requests import file_request

WAIT = 10_000
REFERENCE = re.compile(r"RR-[2-9A-HJ-NP-Z]{6}")


@pytest.fixture
def order(env: PortalEnvironment) -> Order:
    return env.shop.order(lines=[(env.shop.mug, 3), (env.shop.shirt, 1)])


@pytest.fixture
def first(env: PortalEnvironment, order: Order) -> ReorderRequest:
    """1 mug, lost, to be sent again: filed before Chromium starts."""
    return file_request(env, order)


def test_a_second_request_on_the_same_order_keeps_everything_the_shopper_chose(
    env: PortalEnvironment, order: Order, first: ReorderRequest, shopper_browser: ShopperBrowser
) -> None:
    shopper = shopper_browser
    shopper.shots = shopper.shots / "second-request"
    page = shopper.page
    verify_by_keyboard(shopper, order.name)

    notice = page.locator("#open-requests")
    expect(notice).to_contain_text(first.reference)
    expect(notice).to_contain_text("1 \u00d7 Stoneware Mug")
    mugs, shirts = page.locator("input.qty").nth(0), page.locator("input.qty").nth(1)
    expect(mugs).to_have_attribute("max", "2")
    shopper.check_page()
    shopper.screenshot("request")
    mugs.fill("2")
    shirts.fill("1")
    page.get_by_label(re.compile(r"^Lost\b")).check()
    page.get_by_label("A refund to my original payment method").check()
    page.get_by_label("No: file it as a separate request").check()
    page.get_by_role("button", name="Review my request").click()

    shopper.expect_h1("Check your request")
    expect(page.get_by_text("2 \u00d7 Stoneware Mug")).to_be_visible()
    expect(page.get_by_text("1 \u00d7 Linen Shirt")).to_be_visible()
    expect(page.locator("dl.summary")).to_contain_text("A refund to your original payment method")
    shopper.check_page()
    shopper.screenshot("review")
    page.get_by_role("button", name="Submit my request").click()

    shopper.expect_h1("Request received")
    notice = page.locator(".notice")
    expect(notice).to_contain_text(REFERENCE)
    assert first.reference not in (notice.text_content() or "")
    shopper.check_page()
    shopper.screenshot("status")
