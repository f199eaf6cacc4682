"""Hosts, forwarded headers and the headers every response carries, over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal.app import create_app
from portal.signing import Purpose, Signer
from tests.helpers.environment import PortalEnvironment
from tests.helpers.factories import TEST_ENCRYPTION_KEY
from tests.helpers.portal import TEST_SECRET, portal_settings, running_portal
from tests.helpers.servers import free_port, serve
from tests.helpers.shopper_flow import ShopperFlow
from tests.helpers.worker_process import wait_for

EVIL = "evil.example"


def test_a_foreign_host_is_refused_and_never_echoed(env: PortalEnvironment) -> None:
    with httpx.Client(base_url=env.base_url) as client:
        pages = [
            client.get(path, headers={"Host": EVIL})
            for path in ("/", f"/{env.slug}/", "/support/login", "/support/queue")
        ]
        posted = client.post(f"/{env.slug}/", headers={"Host": EVIL}, data={"email": "x"})
        health = client.get("/healthz", headers={"Host": "10.0.0.7"})
        own = client.get(f"/{env.slug}/")
    for response in [*pages, posted]:
        assert response.status_code == 400
        assert EVIL not in response.text
        assert all(EVIL not in value for value in response.headers.values())
    assert health.status_code == 200  # a load balancer's health check may name any host
    assert own.status_code == 200


def test_allowed_hosts_are_a_setting(database_url: str) -> None:
    settings = portal_settings(database_url, allowed_hosts="portal.example, 127.0.0.1")
    with running_portal(settings) as base, httpx.Client(base_url=base) as client:
        named = client.get("/", headers={"Host": "portal.example"})
        other = client.get("/", headers={"Host": "www.portal.example"})
    assert named.status_code == 200
    assert other.status_code == 400


def _lookups(shopper: ShopperFlow, count: int, forwarded_for: str | None) -> list[int]:
    statuses = []
    for n in range(count):
        headers = {"X-Forwarded-For": forwarded_for or f"203.0.113.{n}"}
        page = shopper.get("/")
        data = {"order_number": f"#{9000 + n}", "email": f"shopper{n}@example.com"}
        statuses.append(shopper.post_form("/", page, data, headers=headers).status_code)
    return statuses


def test_a_forged_forwarded_for_does_not_reset_the_per_address_limit(
    env: PortalEnvironment,
) -> None:
    shopper = ShopperFlow(env)
    try:
        # Each lookup claims another address; no proxy is trusted, so all come from one.
        statuses = _lookups(shopper, 21, forwarded_for=None)
    finally:
        shopper.close()
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429


@pytest.mark.settings(forwarded_allow_ips="127.0.0.1")
def test_behind_a_trusted_proxy_the_address_it_appended_is_the_client(
    env: PortalEnvironment,
) -> None:
    shopper = ShopperFlow(env)
    try:
        # The client wrote its own X-Forwarded-For; the proxy appended the real address.
        spent = _lookups(shopper, 20, forwarded_for="198.51.100.1, 192.0.2.10")
        forged = _lookups(shopper, 1, forwarded_for="198.51.100.2, 192.0.2.10")
        other = _lookups(shopper, 1, forwarded_for="192.0.2.99")
    finally:
        shopper.close()
    assert spent == [200] * 20
    assert forged == [429]  # a different forged prefix does not help
    assert other == [200]  # another real client is not held back


async def _boom(request: Request) -> Response:
    raise RuntimeError("an unexpected failure")


def test_the_500_page_carries_the_security_headers(database_url: str) -> None:
    settings = portal_settings(database_url)
    app = create_app(settings, extra_routes=[Route("/boom", _boom)])
    with serve(app) as base, httpx.Client(base_url=base) as client:
        response = client.get("/boom", headers={"Accept": "text/html"})
    assert response.status_code == 500
    assert "an unexpected failure" not in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


def test_pages_are_not_stored_and_static_files_may_be(env: PortalEnvironment) -> None:
    with httpx.Client(base_url=env.base_url) as client:
        private = [
            client.get(path)
            for path in (
                f"/{env.slug}/",
                "/support/login",
                "/support/queue",
                f"/{env.slug}/request",
            )
        ]
        css = client.get("/static/css/portal.css")
        theme = client.get(f"/{env.slug}/theme.css")
    for response in private:
        assert response.headers["cache-control"] == "no-store", response.url
    assert "no-store" not in css.headers.get("cache-control", "")
    assert theme.headers["cache-control"].startswith("max-age")


def test_portal_serve_does_not_name_its_server(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PORTAL_MODE": "development",
        "PORTAL_SECRET_KEY": TEST_SECRET,
        "PORTAL_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_PORT": str(port),
        "PORTAL_UPLOAD_DIR": str(tmp_path / "uploads"),
    }
    command = [sys.executable, "-m", "portal.cli", "serve"]
    with subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL) as server:  # noqa: S603
        try:
            url = f"http://127.0.0.1:{port}/healthz"
            response = wait_for(lambda: _answer(url), timeout=20, what="portal serve")
        finally:
            server.terminate()
    assert response.status_code == 200
    assert "server" not in response.headers


def _answer(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url)
    except httpx.TransportError:
        return None  # not listening yet


def test_signed_values_with_absurd_ids_are_refused_not_failed(env: PortalEnvironment) -> None:
    signer = Signer(TEST_SECRET)
    cookie = signer.sign(Purpose.SHOPPER_SESSION, {"s": 10**30, "o": "gid://shopify/Order/1"})
    status = signer.sign(Purpose.STATUS_LINK, {"r": 10**30})
    with httpx.Client(base_url=env.base_url) as client:
        client.cookies.set("portal_shopper", cookie)
        form = client.get(f"/{env.slug}/request")
        page = client.get(f"/{env.slug}/s/{status}")
    assert form.status_code < 500 and page.status_code < 500
    assert page.status_code >= 400


def test_an_https_base_url_makes_cookies_secure_and_sends_hsts_behind_any_proxy(
    database_url: str,
) -> None:
    """TLS ends at a proxy the portal was not told to trust: the request arrives as plain
    HTTP, yet the portal's public address is https, so nothing goes out weaker."""
    settings = portal_settings(database_url, base_url="https://portal.example")
    with running_portal(settings) as base, httpx.Client(base_url=base) as client:
        page = client.get("/support/login", headers={"Host": "portal.example"})
    assert page.status_code == 200
    assert "Secure" in page.headers["set-cookie"]
    assert page.headers["strict-transport-security"].startswith("max-age=")


def test_an_http_base_url_served_over_http_sends_neither(database_url: str) -> None:
    settings = portal_settings(database_url)
    with running_portal(settings) as base, httpx.Client(base_url=base) as client:
        page = client.get("/support/login")
    assert "Secure" not in page.headers["set-cookie"]
    assert "strict-transport-security" not in page.headers
