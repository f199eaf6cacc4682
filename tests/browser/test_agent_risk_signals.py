"""Problem 4 of the agent workspace, in Chromium: a request whose order line Corso already has a
claim for, from a customer with many claims this month, carrying a photo three customers sent,
shows each signal in plain words before anything can be refunded; the agent follows the link
to the Corso claim, marks a signal reviewed, and finds flagged requests with the queue's filter.
Screenshots go to tests/artifacts/browser/agent-risk/."""

from __future__ import annotations

import asyncio
import io
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter
from playwright.sync_api import Browser, ViewportSize, expect

from portal.reorders.service import PhotoRecord
from portal.shopper.photos import PhotoRules, process_photo, store_photo
from portal.storage import DirectoryStorage
from sandbox.corso.samples import bare_claim
from tests.browser.support import ShopperBrowser
from tests.helpers.environment import CORSO_STORE, PortalEnvironment
from tests.helpers.requests import file_request
from tests.helpers.staff import AGENT, PASSWORD, create_user

SHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "browser" / "agent-risk"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
WAIT = 10_000


@dataclass(frozen=True)
class RiskCase:
    reference: str
    claim: str
    quiet_reference: str


def _photo_bytes() -> bytes:
    chance = random.Random(7)
    image = Image.new("RGB", (800, 600), (200, 190, 180))
    draw = ImageDraw.Draw(image)
    for _ in range(30):
        x, y = chance.randrange(800), chance.randrange(600)
        draw.rectangle((x, y, x + 120, y + 90), fill=tuple(chance.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(1)).save(out, "JPEG", quality=88)
    return out.getvalue()


def _stored_photo(env: PortalEnvironment, data: bytes) -> PhotoRecord:
    photo = process_photo(data, filename="parcel.jpg", rules=PhotoRules())
    photo_id = asyncio.run(store_photo(DirectoryStorage(env.settings.upload_dir), photo))
    return PhotoRecord(
        photo_id, photo.content_type, photo.width, photo.height, photo.sha256, photo.phash
    )


def _claim(
    claim_id: int, *, order_id: int, number: int, line_id: int, days_ago: int
) -> dict[str, object]:
    claim = bare_claim(
        claim_id,
        store_id=CORSO_STORE,
        customer_email="jane@example.com",
        external_id=f"{number}-{claim_id}",
        created_on=(datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    claim["order"] = {"sourceOrderId": str(order_id), "orderName": f"#{number}"}
    claim["claimLineItems"] = [
        {
            "sourceLineItem": {
                "lineItemId": 1,
                "sourceLineItemId": str(line_id),
                "sku": "LAMP",
                "name": "Desk lamp",
                "quantity": 1,
            },
            "claimLineItemId": claim_id,
            "customFields": [],
            "quantity": 1,
            "isShopNow": False,
            "amount": 24,
            "requestedAmount": 24,
            "reason": "Lost",
            "status": "Open",
            "statusDetail": "Awaiting_Review",
            "requestedResolutionMethod": "Refund",
        }
    ]
    return claim


@pytest.fixture
def case(env: PortalEnvironment, database_url: str) -> RiskCase:
    create_user(database_url, AGENT, "agent")
    data = _photo_bytes()
    for email in ("ann@example.com", "bob@example.com"):
        order = env.shop.order(email=email)
        file_request(env, order, resolution="refund", photos=[_stored_photo(env, data)])
    order = env.shop.order(lines=[(env.shop.mug, 1)])
    filed = file_request(env, order, photos=[_stored_photo(env, data)])
    line_id = order.line_items[0].id
    for n in range(4):
        claim = _claim(
            700 + n, order_id=order.id, number=order.number, line_id=line_id, days_ago=n + 1
        )
        env.corso.add_claim(claim)
    quiet = file_request(env, env.shop.order(email="quiet@example.com"), resolution="refund")
    return RiskCase(filed.reference, f"{order.number}-700", quiet.reference)


@pytest.fixture
def agent(case: RiskCase, browser: Browser, env: PortalEnvironment) -> Iterator[ShopperBrowser]:
    context = browser.new_context(java_script_enabled=True, viewport=DESKTOP, locale="en-US")
    context.set_default_timeout(WAIT)
    try:
        yield ShopperBrowser(context.new_page(), env, True, SHOTS)
    finally:
        context.close()


def test_duplicates_and_risk_are_in_plain_sight(
    env: PortalEnvironment, case: RiskCase, agent: ShopperBrowser
) -> None:
    page = agent.page
    agent.open(f"{env.base_url}/support/login")
    page.get_by_label("Email").fill(AGENT)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    agent.expect_h1("Queue")

    agent.open(f"{env.base_url}/support/requests/{case.reference}")
    panel = page.get_by_role("region", name="Duplicates and risk")
    expect(panel).to_be_visible()
    corso = panel.locator('[data-signal="corso_line"]')
    expect(corso).to_contain_text("is already claimed in Corso")
    expect(panel.locator('[data-signal="many_claims"]')).to_contain_text(
        "5 claims in the last 30 days"
    )
    expect(panel.locator('[data-signal="same_photo"]')).to_contain_text("2 other requests")
    agent.check_page()
    agent.screenshot("signals")

    corso.get_by_role("link", name=f"Corso claim {case.claim} (In Progress)").click()
    expect(page.locator(f"#corso-claim-{case.claim}")).to_be_in_viewport()
    assert page.url.endswith(f"#corso-claim-{case.claim}")

    photo_signal = panel.locator('[data-signal="same_photo"]')
    photo_signal.get_by_role("button", name="Mark reviewed").click()
    agent.expect_h1(re.compile(re.escape(case.reference)))
    reviewed = page.locator('[data-signal="same_photo"]')
    expect(reviewed).to_contain_text(f"Reviewed by {AGENT}")
    expect(reviewed.get_by_role("button", name="Mark reviewed")).to_have_count(0)
    expect(page.locator("#timeline-events")).to_contain_text("Risk signal reviewed")
    agent.check_page()
    agent.screenshot("reviewed")

    agent.open(f"{env.base_url}/support/queue")
    rows = page.locator("#queue-results tbody tr")
    expect(rows.filter(has_text=case.quiet_reference)).to_have_count(1)
    page.get_by_label("Has risk signals").check()
    expect(rows.filter(has_text=case.quiet_reference)).to_have_count(0)
    flagged = rows.filter(has_text=case.reference)
    expect(flagged).to_have_count(1)
    expect(flagged.locator("[data-risk]")).to_have_text("2 signals")
    agent.check_page()
    agent.screenshot("queue-filter")
