"""A merchant on a phone (390 px), JavaScript on and off, signs in, opens the store overview from
the navigation, reads its charts (each an image with a name, its numbers in a table) without
the page scrolling sideways, and changes the period with the form. Screenshots go to
tests/artifacts/browser/<js-on|js-off>/overview-*.png."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from portal.stores.models import Store
from tests.billing.overview_rows import seed_claims
from tests.billing.portal_helpers import query
from tests.browser.support import ShopperBrowser
from tests.helpers.environment import PortalEnvironment
from tests.helpers.staff import PASSWORD, create_user

OWNER = "owner@test-goods.example"


@pytest.fixture
def merchant(env: PortalEnvironment, database_url: str) -> str:
    """The store's owner, and claims filed over its last two years (before Chromium starts)."""

    def claims(db: Session) -> None:
        store = db.query(Store).filter(Store.slug == env.slug).one()
        seed_claims(db, store.id, now=datetime.now(UTC))

    query(env, claims)
    return create_user(database_url, OWNER, "merchant", store=env.slug)


def test_a_merchant_reads_the_overview_on_a_phone(
    env: PortalEnvironment, merchant: str, shopper_browser: ShopperBrowser
) -> None:
    browser, page = shopper_browser, shopper_browser.page
    browser.open(f"{env.base_url}/support/login")
    page.get_by_label("Email").fill(OWNER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Overview", exact=True).click()
    browser.expect_h1("Overview of Test Goods")

    charts = page.get_by_role("img")
    expect(charts).to_have_count(4)
    for name in ("Premiums and deductions by month", "Requests by reason"):
        chart = page.get_by_role("img", name=name)
        expect(chart).to_be_visible()
        assert chart.bounding_box()["width"] <= 390  # type: ignore[index]
    expect(
        page.get_by_role("table", name="Premiums and deductions by month, as a table")
    ).to_be_visible()
    months = page.locator("#months-table tbody tr")
    expect(months).to_have_count(12)
    expect(page.locator('[data-figure="requests"] td').first).not_to_have_text("0")
    browser.check_page()  # one h1, labelled controls, no sideways scrolling, nothing logged
    # and the phone did not zoom out to fit a wider page: tables scroll inside their own box
    assert page.evaluate("[window.innerWidth, document.documentElement.scrollWidth]") == [390, 390]
    browser.screenshot("overview-12-months")

    page.get_by_label("Period", exact=True).select_option("3")
    page.get_by_role("button", name="Show").click()
    expect(months).to_have_count(3)
    expect(page).to_have_url(f"{env.base_url}/support/overview/{env.slug}/?months=3")
    expect(page.get_by_label("Period", exact=True)).to_have_value("3")
    browser.check_page()
    browser.screenshot("overview-3-months")

    csv_link = page.get_by_role("link", name="Download the months as CSV")
    assert csv_link.get_attribute("href") == f"/support/overview/{env.slug}/months.csv?months=3"
