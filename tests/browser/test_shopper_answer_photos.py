"""An agent asks for a photo of the label; the shopper, in Chromium, answers on the status page
with the photo attached, and the agent sees it in the request's timeline. JavaScript on and
off for the shopper."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, expect
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session

from portal import links
from portal.clock import utcnow
from portal.db import sync_url
from portal.reorders.models import ReorderRequest, RequestEvent, RequestStatus
from portal.signing import Signer
from tests.browser.support import ShopperBrowser
from tests.helpers.environment import PortalEnvironment
from tests.helpers.requests import file_request
from tests.helpers.staff import AGENT, PASSWORD, create_user

WAIT = 10_000
QUESTION = "Could you send a photo of the shipping label?"


@pytest.fixture
def asked(env: PortalEnvironment, database_url: str) -> ReorderRequest:
    """A filed request whose agent asked for a photo; filed before Chromium starts."""
    create_user(database_url, AGENT, "agent")
    filed = file_request(env, env.shop.order())
    engine = create_engine(sync_url(env.settings.database_url))
    try:
        with Session(engine) as db:
            db.execute(update(ReorderRequest).values(status=RequestStatus.NEEDS_INFO))
            db.add(
                RequestEvent(
                    request_id=filed.id,
                    kind="info_requested",
                    actor=AGENT,
                    public=True,
                    message=QUESTION,
                    data={},
                    created_at=utcnow(),
                )
            )
            db.commit()
    finally:
        engine.dispose()
    return filed


@pytest.fixture
def label_photo(tmp_path: Path) -> Path:
    path = tmp_path / "label.png"
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), (20, 120, 220)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def test_the_shopper_answers_with_a_photo_and_the_agent_sees_it(
    env: PortalEnvironment,
    asked: ReorderRequest,
    shopper_browser: ShopperBrowser,
    browser: Browser,
    label_photo: Path,
) -> None:
    shopper = shopper_browser
    shopper.shots = shopper.shots / "answer-photos"
    page = shopper.page
    token = links.status_token(Signer(str(env.settings.secret_key)), request_id=asked.id)
    shopper.open(f"{env.base_url}/{env.slug}/s/{token}")
    shopper.expect_h1(f"Request {asked.reference}")
    expect(page.locator("#request-status")).to_contain_text(QUESTION)
    page.get_by_label("Your answer").fill("Here it is.")
    page.get_by_label("Photos (optional)").set_input_files(str(label_photo))
    shopper.check_page()
    shopper.screenshot("answer")
    page.get_by_role("button", name="Send my answer").click()

    status = page.locator("#request-status")
    expect(status).to_contain_text("You answered: Here it is. (1 photo)", timeout=WAIT)
    expect(status).to_contain_text("In review")
    shopper.check_page()
    shopper.screenshot("answered")

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    try:
        agent = context.new_page()
        agent.goto(f"{env.base_url}/support/requests/{asked.reference}")
        agent.get_by_label("Email").fill(AGENT)
        agent.get_by_label("Password").fill(PASSWORD)
        agent.get_by_role("button", name="Sign in").click()
        timeline = agent.locator("#timeline-events")
        expect(timeline).to_contain_text("Here it is.", timeout=WAIT)
        photo = timeline.get_by_role("img", name="Photo 1 sent with this answer")
        expect(photo).to_be_visible()
        width = photo.evaluate("(img) => img.complete ? img.naturalWidth : 0")
        assert width == 80, "the agent's page should load the photo as stored (80 px wide)"
    finally:
        context.close()
