"""`portal demo` end to end: the landing page, /sandbox, the JSON views, and the sandbox services
it advertises, all over real HTTP on loopback."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from portal.settings import Settings
from sandbox.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, HEAVY_CLAIMS_CUSTOMER
from sandbox.demo_server import bootstrap_demo, prepare_demo, start_webhooks
from sandbox.mail_sink import start_mail_sink
from sandbox.routes import create_demo_app
from sandbox.world import SandboxWorld
from tests.helpers.servers import free_port, serve
from tests.helpers.shopper_flow import HIDDEN_VERIFICATION, csrf_of


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SandboxWorld]]:
    database = tmp_path_factory.mktemp("demo") / "demo.db"
    port = free_port()
    settings, world = prepare_demo(
        Settings(database_url=f"sqlite:///{database}"), host="127.0.0.1", port=port, keep=False
    )
    sink = start_mail_sink(world.mailbox)
    settings = settings.with_overrides(smtp_port=sink.port)
    webhooks = start_webhooks(world)  # as `make demo` does: the portal hears of each change
    try:
        with serve(create_demo_app(settings, world), port=port) as base_url:
            bootstrap_demo(settings, world)
            yield base_url, world
    finally:
        webhooks.stop()
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


# --- moving a parcel along -----------------------------------------------------------------


def _demo_order(demo_url: str, parcel: str) -> dict[str, Any]:
    orders = httpx.get(demo_url + "/sandbox/orders.json").json()["orders"]
    first_store = orders[0]["store"]
    return next(
        o
        for o in orders
        if o["store"] == first_store
        and o["parcel"] == parcel
        and o["protected"]
        and not o["cancelled"]
        and o["email"]
    )


def _parcel_now(demo_url: str, number: str) -> str:
    orders = httpx.get(demo_url + "/sandbox/orders.json").json()["orders"]
    return next(o["parcel"] for o in orders if o["number"] == number)


SANDBOX_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _move(client: httpx.Client, world: SandboxWorld, number: str, step: str) -> httpx.Response:
    token = SANDBOX_CSRF.search(client.get("/sandbox/").text)
    assert token is not None
    shop = world.stores[0].shop_domain
    return client.post(
        f"/sandbox/shops/{shop}/orders/{number.lstrip('#')}/parcel",
        data={"csrf_token": html.unescape(token.group(1)), "step": step},
    )


def _request_page(client: httpx.Client, world: SandboxWorld, order: dict[str, Any]) -> str:
    """The shopper verifies the order by email and lands on its page."""
    slug = world.stores[0].slug
    before = len(world.mailbox.to(order["email"]))
    lookup = client.get(f"/{slug}/")
    code_page = client.post(
        f"/{slug}/",
        data={
            "csrf_token": csrf_of(lookup),
            "order_number": order["number"],
            "email": order["email"],
        },
    )
    hidden = HIDDEN_VERIFICATION.search(code_page.text)
    assert hidden, (
        code_page.status_code,
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", code_page.text.split("<main", 1)[-1]))[:600],
    )
    deadline = time.monotonic() + 15
    while len(world.mailbox.to(order["email"])) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    code = re.search(r"\b(\d{6})\b", world.mailbox.to(order["email"])[-1].text)
    assert code is not None
    page = client.post(
        f"/{slug}/verify",
        data={
            "csrf_token": csrf_of(code_page),
            "verification": hidden.group(1),
            "code": code.group(1),
        },
    )
    assert page.status_code == 200
    return html.unescape(page.text)


def test_a_stuck_parcel_opens_a_lost_report_on_the_shoppers_page(
    demo: tuple[str, SandboxWorld],
) -> None:
    demo_url, world = demo
    order = _demo_order(demo_url, "in_transit")
    with httpx.Client(base_url=demo_url, follow_redirects=True, timeout=30) as client:
        before = _request_page(client, world, order)
        assert "You can report a lost parcel from" in before
        assert "Review my request" not in before
        moved = _move(client, world, order["number"], "stuck")
        assert moved.status_code == 200 and "The parcel moved along" in moved.text
        assert _parcel_now(demo_url, order["number"]) == "no_movement"
        # the order the shopper verified is kept until Shopify's orders/updated says it changed
        deadline = time.monotonic() + 15
        after = ""
        while "Review my request" not in after and time.monotonic() < deadline:
            time.sleep(0.2)
            after = html.unescape(client.get(f"/{world.stores[0].slug}/request").text)
        assert "Review my request" in after and "Lost" in after


def test_moving_a_parcel_to_delivered_turns_lost_into_stolen(
    demo: tuple[str, SandboxWorld],
) -> None:
    demo_url, world = demo
    order = _demo_order(demo_url, "in_transit")
    with httpx.Client(base_url=demo_url, follow_redirects=True, timeout=30) as client:
        for step, parcel in (("out_for_delivery", "out_for_delivery"), ("delivered", "delivered")):
            assert _move(client, world, order["number"], step).status_code == 200
            assert _parcel_now(demo_url, order["number"]) == parcel
        page = _request_page(client, world, order)
        assert "Review my request" in page
        again = _move(client, world, order["number"], "in_transit")
        assert again.status_code == 409 and "delivered already" in again.text


def test_moving_a_parcel_needs_the_pages_token_and_a_known_step(
    demo: tuple[str, SandboxWorld],
) -> None:
    demo_url, world = demo
    order = _demo_order(demo_url, "in_transit")
    shop = world.stores[0].shop_domain
    path = f"/sandbox/shops/{shop}/orders/{order['number'].lstrip('#')}/parcel"
    with httpx.Client(base_url=demo_url, timeout=30) as client:
        assert client.post(path, data={"step": "stuck"}).status_code == 403
        assert _move(client, world, order["number"], "teleported").status_code == 400
        assert _move(client, world, "#99999", "stuck").status_code == 400
    assert _parcel_now(demo_url, order["number"]) == "in_transit"
