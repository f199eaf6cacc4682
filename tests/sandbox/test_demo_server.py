"""`portal demo` end to end: the landing page, /sandbox, the JSON views, and the sandbox services
it advertises, all over real HTTP on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from portal.settings import Settings
from sandbox.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, HEAVY_CLAIMS_CUSTOMER
from sandbox.demo_server import bootstrap_demo, prepare_demo
from sandbox.mail_sink import start_mail_sink
from sandbox.routes import create_demo_app
from sandbox.world import SandboxWorld
from tests.helpers.servers import free_port, serve


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SandboxWorld]]:
    database = tmp_path_factory.mktemp("demo") / "demo.db"
    port = free_port()
    settings, world = prepare_demo(
        Settings(database_url=f"sqlite:///{database}"), host="127.0.0.1", port=port, keep=False
    )
    sink = start_mail_sink(world.mailbox)
    settings = settings.with_overrides(smtp_port=sink.port)
    try:
        with serve(create_demo_app(settings, world), port=port) as base_url:
            bootstrap_demo(settings, world)
            yield base_url, world
    finally:
        sink.stop()


@pytest.fixture(scope="module")
def demo_url(demo: tuple[str, SandboxWorld]) -> str:
    return demo[0]


def test_landing_page_lists_the_demo_stores(demo_url: str) -> None:
    page = httpx.get(demo_url + "/")
    assert page.status_code == 200
    assert "Maple &amp; Moss" in page.text and "Harbor Outfitters" in page.text


def test_sandbox_page_offers_orders_of_each_kind(demo_url: str) -> None:
    page = httpx.get(demo_url + "/sandbox/")
    assert page.status_code == 200
    assert "maple-and-moss.myshopify.com" in page.text
    orders = httpx.get(demo_url + "/sandbox/orders.json").json()["orders"]
    assert len(orders) >= 300
    kinds = {(o["protected"], o["fulfilled"]) for o in orders}
    assert {(True, True), (True, False), (False, True)} <= kinds
    first_store = [o for o in orders if o["store"] == orders[0]["store"]]
    suggested = [o for o in first_store if o["protected"] and o["fulfilled"] and not o["cancelled"]]
    assert all(f"<td>{o['number']}</td>" in page.text for o in suggested[:4])


def test_mailbox_pages_start_empty(demo_url: str) -> None:
    assert httpx.get(demo_url + "/sandbox/mailbox.json").json() == {"emails": []}
    assert "No email has been sent yet" in httpx.get(demo_url + "/sandbox/mailbox").text


def test_services_json_endpoints_and_credentials_work(demo_url: str) -> None:
    services = httpx.get(demo_url + "/sandbox/services.json").json()
    store = services["stores"][0]
    answer = httpx.post(
        store["graphql_endpoint"],
        json={"query": "{ shop { name myshopifyDomain } }"},
        headers={"X-Shopify-Access-Token": store["access_token"]},
    )
    assert answer.status_code == 200
    assert answer.json()["data"]["shop"]["myshopifyDomain"] == store["shop_domain"]
    assert store["protection_variant_ids"]
    corso = services["corso"]
    claims = [corso_claims(corso, store) for store in services["stores"]]
    assert [len(page) for page in claims] == [5] * len(services["stores"])
    for store, page in zip(services["stores"], claims, strict=True):
        assert {claim["storeId"] for claim in page} == {store["corso_store_id"]}


def corso_claims(corso: dict[str, str], store: dict[str, Any]) -> list[dict[str, Any]]:
    """A page of claims read with the store's own Corso credentials, naming no store."""
    token = httpx.post(
        corso["auth_url"],
        json={
            "client_id": store["corso_client_id"],
            "client_secret": store["corso_client_secret"],
            "audience": corso["audience"],
            "grant_type": "client_credentials",
        },
    )
    assert token.status_code == 200
    answer = httpx.get(
        corso["api_url"] + "/claims",
        params={"first": 5},
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )
    assert answer.status_code == 200
    claims: list[dict[str, Any]] = answer.json()["claims"]
    return claims


def test_sandbox_is_absent_outside_the_demo(tmp_path: Path) -> None:
    from tests.helpers.databases import migrate
    from tests.helpers.portal import portal_settings, running_portal

    url = f"sqlite:///{tmp_path / 'p.db'}"
    migrate(url)
    with running_portal(portal_settings(url)) as base:
        assert httpx.get(base + "/sandbox/").status_code == 404


def test_demo_staff_accounts_are_shown_and_sign_in(demo_url: str) -> None:
    import re

    page = httpx.get(demo_url + "/sandbox/")
    assert "agent@demo.example" in page.text and "owner@maple-and-moss.example" in page.text
    password = re.search(r"<code>([^<]+)</code>", page.text)
    assert password
    client = httpx.Client(base_url=demo_url)
    login = client.get("/support/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login.text)
    assert token
    answer = client.post(
        "/support/login",
        data={
            "csrf_token": token.group(1),
            "email": "agent@demo.example",
            "password": password.group(1),
        },
    )
    assert answer.status_code == 303
    assert "agent@demo.example" in client.get("/support/").text
    client.close()


NEW_SHOP = "juniper-and-jay.myshopify.com"


def test_each_shop_offers_install_uninstall_and_compliance(demo_url: str) -> None:
    page = httpx.get(demo_url + "/sandbox/").text
    for shop in ("maple-and-moss", "harbor-outfitters", "juniper-and-jay"):
        # The app as Shopify's admin opens it: a launch signed with the app's secret, which
        # the portal accepts and answers by sending the owner to the consent page.
        links = re.findall(
            rf'href="({re.escape(demo_url)}/shopify/install\?shop={shop}[^"]+)"', page
        )
        assert len(links) == 1 and "hmac=" in links[0]
        started = httpx.get(links[0].replace("&amp;", "&"))
        assert started.status_code == 303
        assert (
            f"/sandbox/shopify/{shop}.myshopify.com/admin/oauth/authorize"
            in (started.headers["location"])
        )
        assert f'action="{demo_url}/sandbox/shops/{shop}.myshopify.com/uninstall"' in page
    assert page.count(">Uninstall the app</button>") == 3
    for topic in ("customers/data_request", "customers/redact", "shop/redact"):
        assert page.count(f'value="{topic}"') == 3
    assert "Juniper &amp; Jay (install the app first)" in page and "<td>#3001</td>" in page


def sandbox_form(client: httpx.Client) -> str:
    page = client.get("/sandbox/").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    return token.group(1)


def test_uninstalling_from_the_sandbox_page_revokes_the_apps_token(
    demo: tuple[str, SandboxWorld],
) -> None:
    demo_url, world = demo
    client_id, secret = DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
    with httpx.Client(base_url=demo_url) as client:
        with world.shopify.lock:
            code = world.shopify.grants.issue_code(NEW_SHOP, client_id, ("read_orders",))
        oauth = f"/sandbox/shopify/{NEW_SHOP}/admin/oauth/access_token"
        body = {"client_id": client_id, "client_secret": secret, "code": code}
        token = client.post(oauth, data=body).json()["access_token"]
        graphql = f"/sandbox/shopify/{NEW_SHOP}/admin/api/2026-01/graphql.json"

        def ask() -> int:
            headers = {"X-Shopify-Access-Token": token}
            return client.post(
                graphql, json={"query": "{ shop { name } }"}, headers=headers
            ).status_code

        assert ask() == 200
        assert world.shopify.installed(NEW_SHOP, client_id)

        refused = client.post(f"/sandbox/shops/{NEW_SHOP}/uninstall", data={"csrf_token": "x"})
        assert refused.status_code == 403
        answer = client.post(
            f"/sandbox/shops/{NEW_SHOP}/uninstall", data={"csrf_token": sandbox_form(client)}
        )
        assert answer.status_code == 303
        assert ask() == 401
        notice = client.get(answer.headers["location"]).text
        assert "The portal app was uninstalled from Juniper &amp; Jay" in notice


def test_compliance_buttons_send_the_topic(demo: tuple[str, SandboxWorld]) -> None:
    demo_url, world = demo
    sent: list[tuple[str, dict[str, Any]]] = []
    unsubscribe = world.shopify.subscribe(
        lambda shop, topic, payload: sent.append((topic, payload))
    )
    try:
        with httpx.Client(base_url=demo_url) as client:
            form = {"csrf_token": sandbox_form(client), "email": HEAVY_CLAIMS_CUSTOMER}
            path = f"/sandbox/shops/{NEW_SHOP}/compliance"
            for topic in ("customers/data_request", "customers/redact", "shop/redact"):
                assert client.post(path, data={**form, "topic": topic}).status_code == 303
            assert client.post(path, data={**form, "topic": "orders/create"}).status_code == 400
    finally:
        unsubscribe()
    assert [topic for topic, _ in sent] == [
        "customers/data_request",
        "customers/redact",
        "shop/redact",
    ]
    assert sent[0][1]["customer"]["email"] == HEAVY_CLAIMS_CUSTOMER
    assert sent[0][1]["shop_domain"] == NEW_SHOP
