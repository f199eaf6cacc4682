"""In the demo, as its users would, in Chromium: an admin connects the third sandbox store
through Shopify's consent page, picks its protection product by searching, a shopper files a
request on it, an agent refunds it; then the store uninstalls the app from the sandbox and its
pages stop. Screenshots go to tests/artifacts/browser/install/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from portal.clock import utcnow
from portal.settings import Settings
from sandbox.demo import DEMO_PASSWORD
from sandbox.demo_server import bootstrap_demo, prepare_demo, start_webhooks
from sandbox.mail_sink import start_mail_sink
from sandbox.routes import create_demo_app
from sandbox.shopify.state import Order
from sandbox.world import SandboxWorld
from tests.browser.conftest import CHROMIUM_ARGS, chromium_path
from tests.helpers.servers import free_port, serve
from tests.helpers.worker_process import wait_for

pytestmark = pytest.mark.timeout(240)
SHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "browser" / "install"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
ADMIN = "admin@demo.example"
AGENT = "agent@demo.example"
WAIT = 15_000


@dataclass
class Demo:
    base_url: str
    world: SandboxWorld
    settings: Settings


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """``portal demo`` on loopback, its stores installed, before Chromium starts."""
    port = free_port()
    settings, world = prepare_demo(
        Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}", upload_dir=tmp_path / "up"),
        host="127.0.0.1",
        port=port,
        keep=False,
    )
    sink = start_mail_sink(world.mailbox)
    settings = settings.with_overrides(smtp_port=sink.port)
    webhooks = start_webhooks(world)
    try:
        with serve(create_demo_app(settings, world), port=port) as base_url:
            bootstrap_demo(settings, world)
            yield Demo(base_url, world, settings)
    finally:
        webhooks.stop()
        sink.stop()


@pytest.fixture
def chromium(demo: Demo) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium_path()), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def new_page(chromium: Browser) -> Page:
    context = chromium.new_context(viewport=DESKTOP, locale="en-US")
    context.set_default_timeout(WAIT)
    return context.new_page()


def shot(page: Page, label: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{label}.png"), full_page=True)


def sign_in(page: Page, demo: Demo, email: str, then: str) -> None:
    page.goto(f"{demo.base_url}/support/login?next={then}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def protected_shipped_order(demo: Demo, shop: str) -> Order:
    protection = {int(v.rsplit("/", 1)[1]) for v in demo.world.new_stores[0].protection_variant_ids}
    recent = utcnow() - timedelta(days=20)  # well inside the 30-day window after delivery
    for order in demo.world.shopify.orders(shop):
        shipped = [f for f in order.fulfillments if (f.delivered_at or recent) > recent]
        open_ = order.cancelled_at is None and not order.refunds and order.email
        if shipped and open_ and any(li.variant_id in protection for li in order.line_items):
            return order
    raise AssertionError("the new demo store has no protected order delivered lately")


def code_for(demo: Demo, email: str) -> str:
    def sent() -> str | None:
        for message in reversed(demo.world.mailbox.to(email)):
            found = re.search(r"\b(\d{6})\b", message.text)
            if "is your code" in message.subject and found:
                return found.group(1)
        return None

    return wait_for(sent, timeout=15, what=f"the code emailed to {email}")


def test_an_admin_installs_the_third_store_and_its_first_request_is_refunded(
    demo: Demo, chromium: Browser
) -> None:
    new_store = demo.world.new_stores[0]
    shop = new_store.shop_domain

    # The admin connects the store: portal form, Shopify's consent page, back to its settings.
    admin = new_page(chromium)
    sign_in(admin, demo, ADMIN, "/support/stores/")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Stores")
    admin.get_by_role("link", name="Connect a Shopify store").click()
    admin.get_by_label("The store's Shopify address").fill(shop)
    admin.get_by_role("button", name="Connect with Shopify").click()
    expect(admin.get_by_role("button", name="Approve")).to_be_visible()
    assert "/sandbox/shopify/" in admin.url and "/admin/oauth/authorize" in admin.url
    shot(admin, "consent")
    admin.get_by_role("button", name="Approve").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(re.compile("^Settings of"))
    slug = re.search(r"/support/stores/([^/]+)/settings", admin.url).group(1)  # type: ignore[union-attr]
    shot(admin, "settings")

    # It picks the protection product by searching Shopify's products.
    admin.get_by_label("Find the product in the store").fill("protection")
    admin.get_by_role("button", name="Search").click()
    admin.get_by_role("button", name="Use as the protection product").first.click()
    expect(admin.locator("body")).to_contain_text("The protection product is saved")
    shot(admin, "protection-chosen")

    # A shopper files a request on the new store.
    order = protected_shipped_order(demo, shop)
    item = next(li for li in order.line_items if li.requires_shipping and li.variant_id)
    shopper = new_page(chromium)
    shopper.goto(f"{demo.base_url}/{slug}/")
    shopper.get_by_label("Order number").fill(order.name)
    shopper.get_by_label("Email address").fill(order.email or "")
    shopper.get_by_role("button", name="Email me a code").click()
    shopper.get_by_label("6-digit code").fill(code_for(demo, order.email or ""))
    shopper.get_by_role("button", name="Continue").click()
    expect(shopper.get_by_role("heading", level=1)).to_contain_text(order.name)
    shot(shopper, "request-form")
    shopper.get_by_label(re.compile("^" + re.escape(item.title))).first.fill("1")
    shopper.get_by_label(re.compile(r"^Stolen\b")).check()  # delivered, then gone
    shopper.get_by_label("A refund to my original payment method").check()
    shopper.get_by_role("button", name="Review my request").click()
    shopper.get_by_role("button", name="Submit my request").click()
    expect(shopper.get_by_role("heading", level=1)).to_have_text("Request received")
    reference = re.search(r"RR-[A-Z0-9]{6}", shopper.content()).group(0)  # type: ignore[union-attr]
    shot(shopper, "request-received")

    # An agent refunds it on the original order.
    agent = new_page(chromium)
    sign_in(agent, demo, AGENT, f"/support/requests/{reference}")
    expect(agent.get_by_role("heading", level=1)).to_contain_text(reference)
    agent.get_by_role("button", name="Refund these items on the original order").click()
    expect(agent.get_by_role("heading", level=1)).to_contain_text("Confirm the refund")
    agent.get_by_role("button", name=re.compile(r"^Confirm: refund ")).click()
    expect(agent.locator("#request-status-tag")).to_have_text("Refunded", timeout=45_000)
    shot(agent, "refunded")
    refunded = demo.world.shopify.order(shop, order.id)
    assert refunded is not None and len(refunded.refunds) == 1

    # The store uninstalls the app in Shopify (which tells the portal through the
    # app/uninstalled subscription made at install): its pages stop.
    def subscribed() -> bool:
        return len(demo.world.shopify.subscriptions(shop, demo.world.app_client_id)) == 5

    wait_for(subscribed, timeout=20, what="the new store's webhook subscriptions")
    sandbox = new_page(chromium)
    sandbox.goto(f"{demo.base_url}/sandbox/")
    sandbox.locator(f"#shop-{re.escape(shop)}").get_by_role(
        "button", name="Uninstall the app"
    ).click()

    def closed() -> bool:
        return httpx.get(f"{demo.base_url}/{slug}/").status_code == 410

    wait_for(closed, timeout=20, what="the store's pages to close")
    shopper.goto(f"{demo.base_url}/{slug}/")
    expect(shopper.locator("body")).to_contain_text("no longer")
    shot(shopper, "uninstalled")
