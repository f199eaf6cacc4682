"""axe-core (the npm package, installed by `make axe`) finds no serious or critical violation
on any shopper page or the agent's queue and request page: in every language, on a phone and
on a desktop, with JavaScript on and off. Staff pages are English whatever the shopper's choice.

Each page is checked in the state a person sees it: empty, with errors, filled in; and so is
each page that stops a shopper short of a request (an order that cannot be claimed, the store
busy or unreachable, a store that uninstalled the app), reached as a shopper reaches it."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from starlette.datastructures import Secret

from portal import links
from portal.i18n import SUPPORTED_LOCALES, gettext, using
from portal.signing import Signer
from sandbox.shopify.state import Order
from tests.billing.portal_helpers import WEBHOOK_SECRET
from tests.browser.conftest import PHONE
from tests.browser.test_agent_workspace import off_the_loop
from tests.browser.test_shopper_keyboard import REFERENCE
from tests.helpers.environment import SHOP, PortalEnvironment
from tests.helpers.staff import AGENT, PASSWORD, create_user
from tests.shopper.test_shopify_points import age_the_copy, store_busy_next
from tests.webhooks.helpers import deliver, store_row

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
BLOCKING = ("serious", "critical")
WAIT = 10_000
SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL | re.IGNORECASE)
RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
  }));
}"""


def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"axe-core is not installed at {AXE}: run `make axe`", pytrace=False)
    return AXE.read_text(encoding="utf-8")


class Audit:
    """Runs axe on pages and keeps every serious or critical violation, with where it was."""

    def __init__(self, page: Page, source: str, auditor: Page | None) -> None:
        self.page = page
        self.source = source
        self.auditor = auditor
        self.found: list[str] = []
        self.pages = 0

    def audited_page(self) -> Page:
        """The page axe runs in. axe is JavaScript, which a page loaded with JavaScript off
        cannot run: its document as the browser built it (no script of the page ever ran) is
        copied into a page with JavaScript on, its scripts left out, its stylesheets loaded
        from the same address, and checked there."""
        if self.auditor is None:
            return self.page
        document = SCRIPT.sub("", self.page.content())
        base = f'<head><base href="{self.page.url}">'
        self.auditor.set_content(document.replace("<head>", base, 1), wait_until="load")
        return self.auditor

    def check(self, label: str, lang: str) -> None:
        self.page.wait_for_load_state("load")
        expect(self.page.locator("html")).to_have_attribute("lang", lang)
        expect(self.page.locator("html")).to_have_attribute("dir", "ltr")
        audited = self.audited_page()
        audited.evaluate(self.source + "\n;undefined")
        violations: list[dict[str, Any]] = audited.evaluate(RUN_AXE)
        self.pages += 1
        for v in violations:
            if v["impact"] in BLOCKING:
                where = f"{label} ({self.page.url})"
                self.found.append(f"{where}: {v['impact']} {v['id']}: {v['help']} {v['targets']}")

    def proves_itself(self) -> None:
        """axe really runs here: a page with an unlabelled field and an image without a text
        alternative is found out."""
        self.page.set_content(
            '<html lang="en" dir="ltr"><body><img src="x.png"><input></body></html>'
        )
        self.check("a page made to fail", "en")
        assert any(" image-alt:" in f for f in self.found), self.found
        assert any(" label:" in f for f in self.found), self.found
        self.found.clear()


@pytest.fixture(params=[PHONE, DESKTOP], ids=["390px", "1280px"])
def audit(
    request: pytest.FixtureRequest, browser: Browser, javascript_enabled: bool
) -> Iterator[Audit]:
    viewport: ViewportSize = request.param
    context = browser.new_context(
        java_script_enabled=javascript_enabled, viewport=viewport, bypass_csp=True
    )
    context.set_default_timeout(WAIT)
    auditing = None if javascript_enabled else browser.new_context(viewport=viewport)
    try:
        auditor = auditing.new_page() if auditing is not None else None
        yield Audit(context.new_page(), axe_source(), auditor)
    finally:
        context.close()
        if auditing is not None:
            auditing.close()


def _choose(page: Page, env: PortalEnvironment, lang: str) -> None:
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "portal_lang", "value": lang, "url": env.base_url}])


def _code(env: PortalEnvironment, to: str) -> str:
    """The code in the latest email to ``to``, whatever its language."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for email in reversed(env.mailbox.to(to)):
            found = re.search(r"\b(\d{6})\b", email.text)
            if found:
                return found.group(1)
        time.sleep(0.05)
    raise AssertionError(f"no code emailed to {to}")


def _submit(page: Page) -> None:
    page.locator("#main form:not(.languages) button[type=submit]").last.click()


def _shopper_pages(audit: Audit, env: PortalEnvironment, lang: str) -> str:
    """Every shopper page in ``lang``; returns the reference of the request filed."""
    page = audit.page
    email = f"{lang}.shopper@example.com"
    order = env.shop.order(email=email)
    page.goto(f"{env.base_url}/")
    audit.check("landing", lang)
    page.goto(f"{env.base_url}/?q=no-such-store")
    audit.check("landing, no match", lang)
    page.goto(f"{env.base_url}/{env.slug}/no-such-page", wait_until="load")
    audit.check("not found", lang)
    page.goto(env.url("/r/not-a-token"))
    audit.check("order link, invalid", lang)

    page.goto(env.url("/"))
    audit.check("lookup", lang)
    _submit(page)
    expect(page.locator("#error-summary")).to_be_visible()
    audit.check("lookup, errors", lang)
    page.locator("input[name=order_number]").fill(order.name)
    page.locator("input[name=email]").fill(email)
    _submit(page)
    expect(page.locator("input[name=code]")).to_be_visible()
    audit.check("verify", lang)
    page.locator("input[name=code]").fill("000000")
    _submit(page)
    expect(page.locator("#error-summary")).to_be_visible()
    audit.check("verify, wrong code", lang)
    page.locator("input[name=code]").fill(_code(env, email))
    _submit(page)

    expect(page.locator("#request-form")).to_be_visible()
    audit.check("request form", lang)
    _submit(page)
    expect(page.locator("#error-summary")).to_be_visible()
    audit.check("request form, errors", lang)
    page.locator("input.qty").first.fill("1")
    page.locator("input[name=issue_type][value=Lost]").check()
    _submit(page)
    expect(page.locator("dl.summary")).to_be_visible()
    audit.check("review", lang)
    _submit(page)
    expect(page.locator("#request-status")).to_be_visible()
    audit.check("request received", lang)
    page.goto(page.url.split("?")[0])
    audit.check("request status", lang)
    reference = REFERENCE.search(page.locator("h1").inner_text())
    assert reference is not None, page.url
    return reference.group(0)


def _agent_pages(audit: Audit, env: PortalEnvironment, reference: str) -> None:
    page = audit.page
    page.goto(f"{env.base_url}/support/login")
    audit.check("staff sign-in", "en")
    page.locator("input[name=email]").fill(AGENT)
    page.locator("input[name=password]").fill(PASSWORD)
    _submit(page)
    expect(page.locator("h1")).to_have_text("Queue")
    audit.check("agent queue", "en")
    page.goto(f"{env.base_url}/support/requests/{reference}")
    expect(page.locator("h1")).to_contain_text(reference)
    audit.check("agent request page", "en")


@pytest.mark.timeout(600)
def test_every_shopper_page_and_the_agent_pages_pass_axe(
    env: PortalEnvironment, audit: Audit, database_url: str
) -> None:
    off_the_loop(lambda: create_user(database_url, AGENT, "agent"))
    audit.proves_itself()
    for lang in SUPPORTED_LOCALES:
        _choose(audit.page, env, lang)
        reference = _shopper_pages(audit, env, lang)
        _agent_pages(audit, env, reference)
    assert audit.pages == 1 + len(SUPPORTED_LOCALES) * 16
    _no_violations(audit)


def _no_violations(audit: Audit) -> None:
    assert not audit.found, "axe found serious or critical violations:\n" + "\n".join(
        json.dumps(f, ensure_ascii=False) for f in audit.found
    )


def _said(lang: str, message: str, **values: str) -> str:
    """``message`` as the portal says it in ``lang``."""
    with using(lang):
        return gettext(message, **values)


def _heading(page: Page, lang: str, message: str, **values: str) -> None:
    expect(page.locator("h1")).to_have_text(_said(lang, message, **values))


def order_email_link(env: PortalEnvironment, order: Order) -> str:
    """The link to ``order`` in its order email."""
    store = store_row(env.settings.database_url, env.slug)
    assert store is not None
    signer = Signer(str(env.settings.secret_key))
    return links.order_link(
        signer, base_url=env.base_url, store_slug=env.slug, store_id=store.id, order_id=order.gid
    )


def _open_link(page: Page, env: PortalEnvironment, order: Order, lang: str) -> None:
    """Open the link in ``order``'s email: a page with a Continue button."""
    page.goto(order_email_link(env, order))
    _heading(page, lang, "Report a problem with your order")


def _unclaimable_orders(audit: Audit, env: PortalEnvironment, lang: str) -> None:
    page = audit.page
    unprotected = env.shop.order(protected=False)
    _open_link(page, env, unprotected, lang)
    audit.check("order link", lang)
    _submit(page)
    _heading(
        page, lang, "Order %(name)s does not include shipping protection", name=unprotected.name
    )
    audit.check("order without protection", lang)

    late = env.shop.order(shipped_days_ago=45, created_days_ago=50)
    _open_link(page, env, late, lang)
    _submit(page)
    _heading(page, lang, "We cannot take a request for order %(name)s here", name=late.name)
    audit.check("order outside the claim window", lang)

    refunded = env.shop.order(lines=[(env.shop.mug, 1)])
    env.shop.world.add_refund(SHOP, refunded.id, line_items=[(refunded.line_items[0].id, 1)])
    _open_link(page, env, refunded, lang)
    _submit(page)
    _heading(page, lang, "Every item of order %(name)s is already covered", name=refunded.name)
    audit.check("order with nothing left", lang)


def _store_busy_and_unreachable(audit: Audit, env: PortalEnvironment, lang: str) -> None:
    page = audit.page
    store_busy_next(env)
    _open_link(page, env, env.shop.order(), lang)
    _submit(page)
    _heading(page, lang, "One moment, please")
    expect(page.locator("a#continue")).to_be_visible()
    audit.check("store busy, the page asked for again", lang)
    page.locator("a#continue").click()  # as the page does by itself a moment later

    expect(page.locator("#request-form")).to_be_visible()
    page.locator("input.qty").first.fill("1")
    page.locator("input[name=issue_type][value=Lost]").check()
    age_the_copy(env)
    store_busy_next(env)
    _submit(page)
    _heading(page, lang, "One moment, please")
    expect(page.locator("form#continue")).to_be_visible()
    audit.check("store busy, the form sent again", lang)
    page.locator("form#continue button").click()
    expect(page.locator("dl.summary")).to_be_visible()

    faults = env.shop.world.faults(SHOP)
    faults.fail_next(status=503, times=10)
    _open_link(page, env, env.shop.order(), lang)
    _submit(page)
    _heading(page, lang, "Please try again in a few minutes")
    faults.clear()
    audit.check("store unreachable", lang)


def _uninstall(env: PortalEnvironment) -> None:
    payload = {"id": 548380009, "name": "Test Goods", "domain": "test-goods.example"}
    answer = deliver(env.base_url, "app/uninstalled", payload, webhook_id="uninstalled")
    assert answer.status_code == 200, answer.text


@pytest.mark.settings(shopify_client_secret=Secret(WEBHOOK_SECRET))
@pytest.mark.timeout(600)
def test_every_page_that_stops_a_shopper_passes_axe(env: PortalEnvironment, audit: Audit) -> None:
    audit.proves_itself()
    for lang in SUPPORTED_LOCALES:
        _choose(audit.page, env, lang)
        _unclaimable_orders(audit, env, lang)
        _store_busy_and_unreachable(audit, env, lang)
    _uninstall(env)
    for lang in SUPPORTED_LOCALES:
        _choose(audit.page, env, lang)
        audit.page.goto(env.url("/"))
        _heading(
            audit.page, lang, "%(store)s no longer offers reorder requests here", store="Test Goods"
        )
        audit.check("store that uninstalled the app", lang)
    assert audit.pages == 1 + len(SUPPORTED_LOCALES) * 8
    _no_violations(audit)
