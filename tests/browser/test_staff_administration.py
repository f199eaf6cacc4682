"""An admin in Chromium invites an agent; the agent sets a password from the emailed link and
signs in; the admin disables the account and the agent's open session ends on their next click.
Every step is screenshotted to tests/artifacts/browser/staff/{admin,agent}/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ViewportSize, expect

from tests.browser.support import ShopperBrowser
from tests.helpers.environment import PortalEnvironment
from tests.helpers.staff import PASSWORD, create_user

SHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "browser" / "staff"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
ADMIN = "lead@example.com"
INVITEE = "new.agent@example.com"
AGENT_PASSWORD = "a passphrase of my own choosing"
WAIT = 10_000
LINK = re.compile(r"https?://\S+/support/invitations/[A-Za-z0-9_-]+")


@pytest.fixture
def admin_account(env: PortalEnvironment, database_url: str) -> str:
    """The admin, made before Chromium starts (creating a user runs its own event loop)."""
    return create_user(database_url, ADMIN, "admin")


@pytest.fixture
def pages(
    admin_account: str, browser: Browser, env: PortalEnvironment
) -> Iterator[tuple[ShopperBrowser, ShopperBrowser]]:
    """Two desktop browsers of their own, JavaScript on: the admin's and the invitee's."""
    contexts = [
        browser.new_context(java_script_enabled=True, viewport=DESKTOP, locale="en-US")
        for _ in range(2)
    ]
    try:
        for context in contexts:
            context.set_default_timeout(WAIT)
        admin, agent = (
            ShopperBrowser(c.new_page(), env, True, SHOTS / who)
            for c, who in zip(contexts, ("admin", "agent"), strict=True)
        )
        yield admin, agent
    finally:
        for context in contexts:
            context.close()


def test_an_admin_invites_an_agent_then_disables_them(
    env: PortalEnvironment, pages: tuple[ShopperBrowser, ShopperBrowser]
) -> None:
    admin, agent = pages

    # The admin signs in and finds the staff page in the navigation.
    admin.open(f"{env.base_url}/support/login")
    admin.page.get_by_label("Email").fill(ADMIN)
    admin.page.get_by_label("Password").fill(PASSWORD)
    admin.page.get_by_role("button", name="Sign in").click()
    admin.expect_h1("Queue")
    admin.page.get_by_role("link", name="Staff", exact=True).click()
    admin.expect_h1("Staff")
    expect(admin.page.locator('tr[data-email="lead@example.com"] .role-admin')).to_have_text(
        "Admin"
    )
    admin.check_page()
    admin.screenshot("staff-list")

    # The invitation.
    admin.page.get_by_role("link", name="Invite someone").click()
    admin.expect_h1("Invite someone")
    admin.page.get_by_label("Email").fill(INVITEE)
    admin.page.get_by_label("Role").select_option("agent")
    admin.check_page()
    admin.screenshot("invite")
    admin.page.get_by_role("button", name="Send the invitation").click()
    admin.expect_h1("Staff")
    expect(admin.page.get_by_role("status")).to_have_text("The invitation is on its way.")
    row = admin.page.locator(f'tr[data-email="{INVITEE}"]')
    expect(row.locator('[data-role="agent"]')).to_be_visible()
    expect(row.locator("[data-status]")).to_have_text("Invited, no password yet")
    admin.screenshot("invited")

    # The agent follows the emailed link and sets a password: signed in at once.
    email = env.wait_for_email(INVITEE, "invited")
    found = LINK.search(email.text)
    assert found is not None, email.text
    agent.open(found.group(0))
    agent.expect_h1("Set your password")
    agent.page.get_by_label("New password", exact=True).fill(AGENT_PASSWORD)
    agent.page.get_by_label("New password again").fill(AGENT_PASSWORD)
    agent.check_page()
    agent.screenshot("set-password")
    agent.page.get_by_role("button", name="Set password and sign in").click()
    agent.expect_h1("Queue")
    expect(agent.page.get_by_role("link", name="Staff", exact=True)).to_have_count(0)

    # Signing out and in again with the new password works too.
    agent.page.get_by_role("button", name="Sign out").click()
    agent.expect_h1("Sign in to support")
    agent.page.get_by_label("Email").fill(INVITEE)
    agent.page.get_by_label("Password").fill(AGENT_PASSWORD)
    agent.page.get_by_role("button", name="Sign in").click()
    agent.expect_h1("Queue")
    agent.check_page()
    agent.screenshot("agent-signed-in")

    # The admin disables the account.
    admin.page.reload()
    admin.expect_h1("Staff")
    expect(row.locator("[data-status]")).to_have_text("Active")
    row.get_by_role("link", name=INVITEE).click()
    admin.expect_h1(INVITEE)
    admin.page.get_by_role("button", name="Disable this account").click()
    admin.expect_h1(INVITEE)
    expect(admin.page.locator("#member-status")).to_have_text("Disabled")
    admin.check_page()
    admin.screenshot("disabled")

    # The agent's next click lands on the sign-in page, and signing in is refused.
    agent.page.get_by_role("link", name="Stores").click()
    agent.expect_h1("Sign in to support")
    assert urlsplit(agent.page.url).path == "/support/login"
    agent.expect_status(400, "/support/login")
    agent.page.get_by_label("Email").fill(INVITEE)
    agent.page.get_by_label("Password").fill(AGENT_PASSWORD)
    agent.page.get_by_role("button", name="Sign in").click()
    expect(agent.page.locator("#error-summary")).to_contain_text("Email or password is not right")
    agent.check_page()
    agent.screenshot("agent-refused")
