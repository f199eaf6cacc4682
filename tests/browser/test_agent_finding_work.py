"""Problem 7 of the agent workspace, in Chromium: an agent finds requests by part of a name,
reads them in the product's words with times in the store's zone, assigns one to a colleague,
downloads exactly the filtered queue as CSV and reaches the invoices from the navigation.
Screenshots go to tests/artifacts/browser/agent-work/."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ViewportSize, expect
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from portal.reorders.models import ReorderRequest
from portal.stores.models import Store
from tests.browser.support import ShopperBrowser
from tests.helpers.environment import PortalEnvironment
from tests.helpers.requests import file_request, in_database
from tests.helpers.staff import AGENT, PASSWORD, create_user

SHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "browser" / "agent-work"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
WAIT = 10_000
COLLEAGUE = "colleague@example.com"


@dataclass(frozen=True)
class WorkCase:
    haddad: str
    priya: str


def _name(env: PortalEnvironment, reference: str, name: str) -> None:
    async def work(db: AsyncSession) -> None:
        found = await db.scalar(select(ReorderRequest).where(ReorderRequest.reference == reference))
        assert found is not None
        found.customer_name = name
        await db.commit()

    in_database(env, work)


def _in_new_york(env: PortalEnvironment) -> None:
    async def work(db: AsyncSession) -> None:
        await db.execute(update(Store).values(time_zone="America/New_York"))
        await db.commit()

    in_database(env, work)


@pytest.fixture
def case(env: PortalEnvironment, database_url: str) -> WorkCase:
    create_user(database_url, AGENT, "agent")
    create_user(database_url, COLLEAGUE, "agent")
    _in_new_york(env)
    haddad = file_request(env, env.shop.order(email="omar@example.com"))
    priya = file_request(env, env.shop.order(email="p.r@example.net"), resolution="refund")
    file_request(env, env.shop.order(email="someone@example.org"), resolution="refund")
    _name(env, haddad.reference, "Omar Haddad")
    _name(env, priya.reference, "Priya Raman")
    return WorkCase(haddad.reference, priya.reference)


@pytest.fixture
def agent(case: WorkCase, browser: Browser, env: PortalEnvironment) -> Iterator[ShopperBrowser]:
    context = browser.new_context(
        java_script_enabled=True, viewport=DESKTOP, locale="en-US", accept_downloads=True
    )
    context.set_default_timeout(WAIT)
    try:
        yield ShopperBrowser(context.new_page(), env, True, SHOTS)
    finally:
        context.close()


def test_an_agent_finds_shares_and_exports_work(
    env: PortalEnvironment, case: WorkCase, agent: ShopperBrowser
) -> None:
    page = agent.page
    agent.open(f"{env.base_url}/support/login")
    page.get_by_label("Email").fill(AGENT)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    agent.expect_h1("Queue")
    rows = page.locator("#queue-results tbody tr")
    expect(rows).to_have_count(3)

    page.get_by_label("Search").fill("haddad")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-reference", case.haddad)
    page.get_by_label("Search").fill("Priya")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-reference", case.priya)
    expect(rows.first).to_contain_text("Refund")
    agent.check_page()
    agent.screenshot("search")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download these requests (CSV)").click()
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [row["reference"] for row in exported] == [case.priya]
    assert re.search(r" E[SD]T$", exported[0]["filed"]), exported[0]["filed"]

    page.get_by_label("Search").fill("haddad")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-reference", case.haddad)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    # Leaving the search box is no reason to reload the results: a reload racing the click
    # would push the queue's address and cancel the agent's way to the request.
    page.get_by_role("link", name=case.haddad).click()
    agent.expect_h1(re.compile(re.escape(case.haddad)))
    assert [url for url in asked if "/static/" not in url] == [
        f"{env.base_url}/support/requests/{case.haddad}"
    ]
    summary = page.locator("dl.summary")
    expect(summary).to_contain_text("Preferred resolution")
    expect(summary).to_contain_text("Replacement")
    expect(
        page.get_by_text(
            re.compile(r"filed [A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d\d\s[AP]M E[SD]T")
        )
    ).to_be_visible()
    expect(page.locator("#timeline-events time").first).to_have_text(re.compile(r" E[SD]T$"))

    page.get_by_label("Assign to").select_option(label=COLLEAGUE)
    page.get_by_role("button", name="Assign", exact=True).click()
    agent.expect_h1(re.compile(re.escape(case.haddad)))
    expect(page.get_by_text(f"Assigned to: {COLLEAGUE}")).to_be_visible()
    expect(page.locator("#timeline-events")).to_contain_text(f"Assigned to {COLLEAGUE}")
    agent.check_page()
    agent.screenshot("assigned")

    page.locator(".staff-nav").get_by_role("link", name="Invoices").click()
    agent.expect_h1("Invoices")
    expect(page.get_by_role("link", name="Test Goods")).to_be_visible()
    agent.check_page()
    agent.screenshot("invoices")
