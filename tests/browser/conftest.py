"""Fixtures for the browser tests: Chromium driven by Playwright, against the ``env`` portal of
tests/conftest.py.

The browser tests run on SQLite only; the HTTP tests already cover PostgreSQL."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser.support import ShopperBrowser
from tests.helpers.environment import PortalEnvironment

CHROMIUM_ENV = "PORTAL_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "browser"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """A SQLite database of the test's own (overrides the SQLite/PostgreSQL pair of
    tests/conftest)."""
    return sqlite_url


def chromium_path() -> Path:
    wanted = os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
    found = wanted if Path(wanted).is_file() else shutil.which(wanted)
    if found is None:
        pytest.fail(
            f"Chromium not found at {wanted!r}: install it (apt-get install chromium) "
            f"or set {CHROMIUM_ENV} to the path of a Chromium binary",
            pytrace=False,
        )
    return Path(found)


@pytest.fixture
def browser(env: PortalEnvironment) -> Iterator[Browser]:
    """Chromium, started after the portal: while Playwright's sync API runs, this thread counts
    as running an event loop, and the environment's set-up calls asyncio.run."""
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(params=[True, False], ids=["js-on", "js-off"])
def javascript_enabled(request: pytest.FixtureRequest) -> bool:
    enabled: bool = request.param
    return enabled


@pytest.fixture
def shopper_browser(
    browser: Browser, env: PortalEnvironment, javascript_enabled: bool
) -> Iterator[ShopperBrowser]:
    """A fresh phone-sized context; screenshots go to tests/artifacts/browser/<js-on|js-off>/."""
    context = browser.new_context(
        java_script_enabled=javascript_enabled,
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="en-US",
    )
    context.set_default_timeout(10_000)
    try:
        shots = ARTIFACTS / ("js-on" if javascript_enabled else "js-off")
        yield ShopperBrowser(context.new_page(), env, javascript_enabled, shots)
    finally:
        context.close()
