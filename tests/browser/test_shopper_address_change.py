"""A shopper in Chromium corrects the delivery address of a filed request from the status page
the confirmation email links to; the agent's timeline then says so. JavaScript on and off."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from portal import links
from portal.db import sync_url
from portal.reorders.models import ReorderRequest, RequestEvent
from portal.signing import Signer
from tests.browser.support import ShopperBrowser
from tests.helpers.environment import PortalEnvironment
from tests.helpers.requests import file_request

WAIT = 10_000


@pytest.fixture
def filed(env: PortalEnvironment) -> ReorderRequest:
    """Filed before Chromium starts (filing runs its own event loop)."""
    return file_request(env, env.shop.order())


def timeline(env: PortalEnvironment, request_id: int) -> list[RequestEvent]:
    engine = create_engine(sync_url(env.settings.database_url))
    try:
        with Session(engine) as db:
            query = select(RequestEvent).where(RequestEvent.request_id == request_id)
            return list(db.scalars(query.order_by(RequestEvent.id)))
    finally:
        engine.dispose()


def test_a_shopper_changes_the_delivery_address_from_the_status_page(
    env: PortalEnvironment, filed: ReorderRequest, shopper_browser: ShopperBrowser
) -> None:
    shopper = shopper_browser
    shopper.shots = shopper.shots / "address-change"
    page = shopper.page
    token = links.status_token(Signer(str(env.settings.secret_key)), request_id=filed.id)
    path = f"/{env.slug}/s/{token}"
    shopper.open(env.base_url + path)
    shopper.expect_h1(f"Request {filed.reference}")
    expect(page.locator("#delivery-address")).to_contain_text("Springfield IL 62704")
    shopper.check_page()
    shopper.screenshot("status")

    page.get_by_text("Change the delivery address").click()
    form = page.locator("#address-form")
    form.get_by_label("Country").select_option("CA")
    province = form.get_by_label("State or province")
    if shopper.javascript_enabled:
        expect(province.locator("option", has_text="Ontario")).to_have_count(1, timeout=WAIT)
    form.get_by_label("Street address").fill("24 Sussex Dr")
    form.get_by_label("City").fill("Ottawa")
    form.get_by_label("Postal code").fill("62704")
    shopper.expect_status(400, path)
    form.get_by_role("button", name="Save the new address").click()

    expect(page.locator("#zip-error")).to_contain_text(
        "This is not a postal code of Canada", timeout=WAIT
    )
    expect(page.locator("#delivery-address p.address")).to_contain_text("Springfield")
    form = page.locator("#address-form")
    form.get_by_label("State or province").select_option("ON")
    form.get_by_label("Postal code").fill("K1A 0B1")
    shopper.check_page()
    shopper.screenshot("address-errors")
    form.get_by_role("button", name="Save the new address").click()

    expect(page.locator("#address-changed")).to_be_visible(timeout=WAIT)
    expect(page.locator("#delivery-address p.address")).to_contain_text("Ottawa ON K1A 0B1")
    expect(page.locator("#delivery-address p.address")).to_contain_text("Canada")
    expect(page.locator("#request-status")).to_contain_text("You changed the delivery address.")
    shopper.check_page()
    shopper.screenshot("address-changed")

    events = timeline(env, filed.id)
    changed = [e for e in events if e.kind == "address_changed"]
    assert len(changed) == 1 and changed[0].actor == "shopper"
    assert re.search(r"Ottawa ON K1A 0B1, Canada$", changed[0].message)
