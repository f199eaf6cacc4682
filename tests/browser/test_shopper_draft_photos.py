"""A shopper in Chromium attaches a photo of the damage, goes back with "Change something",
and finds the photo still attached: the next review does not ask for it again. They can also
remove it. JavaScript on and off."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.support import ShopperBrowser
from tests.browser.test_shopper_keyboard import verify_by_keyboard
from tests.helpers.environment import PortalEnvironment

WAIT = 10_000


@pytest.fixture
def damage_photo(tmp_path: Path) -> Path:
    path = tmp_path / "damage.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


def test_photos_stay_attached_through_change_something(
    env: PortalEnvironment, shopper_browser: ShopperBrowser, damage_photo: Path
) -> None:
    shopper = shopper_browser
    shopper.shots = shopper.shots / "draft-photos"
    page = shopper.page
    verify_by_keyboard(shopper, env.shop.order().name)

    page.locator("input.qty").first.fill("1")
    page.get_by_label(re.compile(r"^Damaged\b")).check()
    page.get_by_label("Photos", exact=True).set_input_files(str(damage_photo))
    page.get_by_role("button", name="Review my request").click()
    shopper.expect_h1("Check your request")
    expect(page.locator("dl.summary")).to_contain_text("1 photo attached")

    page.get_by_role("link", name="Change something").click()
    shopper.expect_h1(re.compile("What went wrong"))
    kept = page.get_by_label("Photo 1 (64 by 48 pixels)")
    expect(kept).to_be_checked()
    shopper.check_page()
    shopper.screenshot("reopened")
    page.locator("input.qty").first.fill("2")
    page.get_by_role("button", name="Review my request").click()

    shopper.expect_h1("Check your request")
    expect(page.locator("dl.summary")).to_contain_text("1 photo attached")
    expect(page.get_by_text("2 \u00d7 Stoneware Mug")).to_be_visible()
    shopper.screenshot("review-again")

    page.get_by_role("link", name="Change something").click()
    shopper.expect_h1(re.compile("What went wrong"))
    page.get_by_label("Photo 1 (64 by 48 pixels)").uncheck()
    shopper.expect_status(400, "/test-goods/request")
    page.get_by_role("button", name="Review my request").click()
    expect(page.locator("#photos-error")).to_contain_text("Add at least one photo", timeout=WAIT)
    shopper.check_page()
    shopper.screenshot("photo-removed")
