"""A shopper in Chromium sends a reorder to Canada: only real countries are offered, the
provinces follow the country, a postal code of the wrong shape is refused beside its field,
and the review names the country. With JavaScript on and off."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.support import ShopperBrowser
from tests.browser.test_shopper_keyboard import verify_by_keyboard
from tests.helpers.environment import PortalEnvironment

WAIT = 10_000


def test_a_shopper_sends_a_reorder_to_canada(
    env: PortalEnvironment, shopper_browser: ShopperBrowser
) -> None:
    shopper = shopper_browser
    shopper.shots = shopper.shots / "address"
    page = shopper.page
    order = env.shop.order()
    verify_by_keyboard(shopper, order.name)

    country = page.get_by_label("Country")
    offered = country.locator("option").all_inner_texts()
    assert "Canada" in offered and "Japan" in offered
    assert not {"Pseudo-Accents", "Pseudo-Bidi", "European Union", "Unknown Region"} & set(offered)
    page.locator("input.qty").first.fill("1")
    page.get_by_label(re.compile(r"^Lost\b")).check()
    country.select_option("CA")
    province = page.get_by_label("State or province")
    if shopper.javascript_enabled:
        expect(province.locator("option", has_text="Ontario")).to_have_count(1, timeout=WAIT)
        province.select_option("ON")
    page.get_by_label("City").fill("Ottawa")
    page.get_by_label("Postal code").fill("not a zip")
    shopper.expect_status(400, "/test-goods/request")
    page.get_by_role("button", name="Review my request").click()

    zip_error = page.locator("#zip-error")
    expect(zip_error).to_contain_text("This is not a postal code of Canada", timeout=WAIT)
    if not shopper.javascript_enabled:
        expect(page.locator("#province_code-error")).to_have_text(
            re.compile("Choose a state or province of Canada"), timeout=WAIT
        )
        province.select_option("ON")
    expect(page.get_by_label("City")).to_have_value("Ottawa")
    shopper.check_page()
    shopper.screenshot("address-errors")
    page.get_by_label("Postal code").fill("K1A 0B1")
    page.get_by_role("button", name="Review my request").click()

    shopper.expect_h1("Check your request")
    address = page.locator("dd.address")
    expect(address).to_contain_text("Ottawa ON K1A 0B1")
    expect(address).to_contain_text("Canada")
    shopper.check_page()
    shopper.screenshot("address-review")
