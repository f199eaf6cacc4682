"""Webhook subscriptions over real HTTP: create, list, delete and duplicates through GraphQL;
deliveries only to the subscriptions of a topic, signed with the subscribing app's secret;
uninstalling and the compliance topics."""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sandbox.shopify import CustomerSeed, ShopifyWorld, create_shopify_sandbox
from sandbox.webhooks import WebhookSender
from tests.helpers.servers import serve
from tests.sandbox.app_helpers import (
    APP_ID,
    APP_SECRET,
    REDIRECT,
    Install,
    app_world,
    webhook_hmac,
)
from tests.sandbox.shopify_helpers import DOMAIN, Catalogue, add_jane_order

OTHER_APP = "another-app"
OTHER_SECRET = "another-secret"

CREATE = """
mutation($topic: WebhookSubscriptionTopic!, $url: URL!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {callbackUrl: $url, format: JSON}) {
    webhookSubscription { id topic format apiVersion { handle }
      endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } }
    userErrors { field message }
  }
}
"""
LIST = """
query($topics: [WebhookSubscriptionTopic!]) {
  webhookSubscriptions(first: 10, topics: $topics) {
    nodes { id topic endpoint { ... on WebhookHttpEndpoint { callbackUrl } } }
  }
}
"""
DELETE = """
mutation($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
}
"""


@dataclass
class Receiver:
    """What the app's endpoints were sent: (path, headers, raw body)."""

    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def hook(self, request: Request) -> PlainTextResponse:
        body = await request.body()
        with self.lock:
            self.received.append((request.url.path, dict(request.headers), body))
        return PlainTextResponse("ok")

    def topics(self, path: str | None = None) -> list[str]:
        return [h["x-shopify-topic"] for p, h, _ in self.received if path in (None, p)]


@dataclass
class Rig:
    world: ShopifyWorld
    catalogue: Catalogue
    install: Install
    receiver: Receiver
    hooks_url: str
    sender: WebhookSender

    def token(self, client_id: str = APP_ID) -> str:
        if client_id == APP_ID:
            return str(self.install.grant("read_orders")["access_token"])
        body = {"client_id": OTHER_APP, "client_secret": OTHER_SECRET, "code": self._code()}
        answer = self.install.client.post(f"/{DOMAIN}/admin/oauth/access_token", data=body)
        return str(answer.json()["access_token"])

    def _code(self) -> str:
        with self.world.lock:
            return self.world.grants.issue_code(DOMAIN, OTHER_APP, ("read_orders",))

    def ask(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        answer = self.install.graphql(token, query, version="2026-04", **variables)
        assert answer.status_code == 200, answer.text
        payload = answer.json()
        assert "errors" not in payload, payload
        data: dict[str, Any] = payload["data"]
        return data

    def subscribe(self, token: str, topic: str, path: str) -> dict[str, Any]:
        data = self.ask(token, CREATE, topic=topic, url=self.hooks_url + path)
        result: dict[str, Any] = data["webhookSubscriptionCreate"]
        return result

    def settle(self) -> None:
        assert self.sender.wait_until_idle(timeout=10)


@pytest.fixture
def rig() -> Iterator[Rig]:
    world, catalogue, _ = app_world()
    world.register_app(OTHER_APP, OTHER_SECRET, redirect_urls=[REDIRECT])
    receiver = Receiver()
    app = Starlette(routes=[Route("/{path:path}", receiver.hook, methods=["POST"])])
    with (
        serve(app) as hooks_url,
        serve(create_shopify_sandbox(world)) as base_url,
        httpx.Client(base_url=base_url, timeout=5) as client,
    ):
        sender = WebhookSender(world, first_wait=0.01).start()
        try:
            yield Rig(world, catalogue, Install(client, DOMAIN), receiver, hooks_url, sender)
        finally:
            sender.stop()


def test_create_list_and_delete_a_subscription(rig: Rig) -> None:
    token = rig.token()
    created = rig.subscribe(token, "ORDERS_CREATE", "/orders")
    assert created["userErrors"] == []
    subscription = created["webhookSubscription"]
    assert subscription["topic"] == "ORDERS_CREATE" and subscription["format"] == "JSON"
    assert subscription["apiVersion"] == {"handle": "2026-04"}
    assert subscription["endpoint"] == {
        "__typename": "WebhookHttpEndpoint",
        "callbackUrl": rig.hooks_url + "/orders",
    }
    rig.subscribe(token, "REFUNDS_CREATE", "/refunds")
    listed = rig.ask(token, LIST)["webhookSubscriptions"]["nodes"]
    assert [n["topic"] for n in listed] == ["ORDERS_CREATE", "REFUNDS_CREATE"]
    only = rig.ask(token, LIST, topics=["REFUNDS_CREATE"])["webhookSubscriptions"]["nodes"]
    assert [n["topic"] for n in only] == ["REFUNDS_CREATE"]

    deleted = rig.ask(token, DELETE, id=subscription["id"])["webhookSubscriptionDelete"]
    assert deleted == {"deletedWebhookSubscriptionId": subscription["id"], "userErrors": []}
    again = rig.ask(token, DELETE, id=subscription["id"])["webhookSubscriptionDelete"]
    assert again["deletedWebhookSubscriptionId"] is None and again["userErrors"]
    remaining = rig.ask(token, LIST)["webhookSubscriptions"]["nodes"]
    assert [n["topic"] for n in remaining] == ["REFUNDS_CREATE"]


def test_the_same_topic_and_address_twice_is_a_user_error(rig: Rig) -> None:
    token = rig.token()
    rig.subscribe(token, "ORDERS_CREATE", "/orders")
    twice = rig.subscribe(token, "ORDERS_CREATE", "/orders")
    assert twice == {
        "webhookSubscription": None,
        "userErrors": [
            {
                "field": ["webhookSubscription", "callbackUrl"],
                "message": "Address for this topic has already been taken",
            }
        ],
    }
    assert rig.subscribe(token, "ORDERS_CREATE", "/elsewhere")["userErrors"] == []


def test_each_app_sees_only_its_own_subscriptions(rig: Rig) -> None:
    ours, theirs = rig.token(), rig.token(OTHER_APP)
    created = rig.subscribe(ours, "ORDERS_CREATE", "/orders")["webhookSubscription"]
    assert rig.ask(theirs, LIST)["webhookSubscriptions"]["nodes"] == []
    refused = rig.ask(theirs, DELETE, id=created["id"])["webhookSubscriptionDelete"]
    assert refused["deletedWebhookSubscriptionId"] is None
    assert rig.subscribe(theirs, "ORDERS_CREATE", "/orders")["userErrors"] == []


def test_events_go_only_to_the_subscriptions_of_their_topic(rig: Rig) -> None:
    token = rig.token()
    rig.subscribe(token, "ORDERS_CREATE", "/created")
    rig.subscribe(token, "ORDERS_UPDATED", "/updated")
    order = add_jane_order(rig.world, rig.catalogue)
    rig.world.add_fulfillment(DOMAIN, order.id)
    rig.world.cancel_order(DOMAIN, order.id)
    rig.world.add_refund(DOMAIN, order.id, line_items=[(order.line_items[1].id, 1)])
    rig.settle()
    assert rig.receiver.topics("/created") == ["orders/create"]
    assert rig.receiver.topics("/updated") == ["orders/updated"] * 3
    assert set(rig.receiver.topics()) == {"orders/create", "orders/updated"}


def test_deliveries_are_signed_with_the_subscribing_apps_secret(rig: Rig) -> None:
    rig.subscribe(rig.token(), "ORDERS_CREATE", "/ours")
    rig.subscribe(rig.token(OTHER_APP), "ORDERS_CREATE", "/theirs")
    order = add_jane_order(rig.world, rig.catalogue)
    rig.settle()
    by_path = {path: (headers, body) for path, headers, body in rig.receiver.received}
    for path, secret in (("/ours", APP_SECRET), ("/theirs", OTHER_SECRET)):
        headers, body = by_path[path]
        assert hmac.compare_digest(headers["x-shopify-hmac-sha256"], webhook_hmac(body, secret))
        assert headers["x-shopify-api-version"] == "2026-04"
        assert headers["x-shopify-shop-domain"] == DOMAIN
        assert json.loads(body)["id"] == order.id
    ours, theirs = by_path["/ours"][0], by_path["/theirs"][0]
    assert ours["x-shopify-webhook-id"] != theirs["x-shopify-webhook-id"]
    assert ours["x-shopify-event-id"] == theirs["x-shopify-event-id"]


def test_uninstalling_revokes_tokens_drops_subscriptions_and_says_so(rig: Rig) -> None:
    token = rig.token()
    rig.subscribe(token, "APP_UNINSTALLED", "/uninstalled")
    rig.subscribe(token, "ORDERS_CREATE", "/orders")
    rig.world.uninstall(DOMAIN, APP_ID)
    add_jane_order(rig.world, rig.catalogue)
    rig.settle()
    assert rig.install.graphql(token).status_code == 401
    assert rig.world.subscriptions(DOMAIN, APP_ID) == []
    [(path, headers, body)] = rig.receiver.received
    assert path == "/uninstalled" and headers["x-shopify-topic"] == "app/uninstalled"
    shop = json.loads(body)
    assert shop["myshopify_domain"] == DOMAIN and shop["name"] == "Maple & Moss"
    assert shop["id"] == rig.world.shop(DOMAIN).id
    assert hmac.compare_digest(headers["x-shopify-hmac-sha256"], webhook_hmac(body, APP_SECRET))


def test_compliance_topics_go_to_the_compliance_url_as_documented(rig: Rig) -> None:
    rig.world.register_app(
        "privacy-app",
        "privacy-secret",
        redirect_urls=[REDIRECT],
        compliance_url=rig.hooks_url + "/compliance",
    )
    jane = add_jane_order(rig.world, rig.catalogue)
    other = add_jane_order(rig.world, rig.catalogue, customer=CustomerSeed("Jane", "Doe"))
    shop_id = rig.world.shop(DOMAIN).id
    customer = jane.customer
    assert customer is not None
    rig.world.request_customer_data(DOMAIN, "privacy-app", "JANE@example.com")
    rig.world.redact_customer(DOMAIN, "privacy-app", "jane@example.com")
    rig.world.redact_shop(DOMAIN, "privacy-app")
    rig.settle()
    sent = {h["x-shopify-topic"]: (h, json.loads(b)) for _, h, b in rig.receiver.received}
    who = {"id": customer.id, "email": "jane@example.com", "phone": None}
    request = sent["customers/data_request"][1]
    assert request == {
        "shop_id": shop_id,
        "shop_domain": DOMAIN,
        "orders_requested": [jane.id, other.id],
        "customer": who,
        "data_request": {"id": request["data_request"]["id"]},
    }
    assert isinstance(request["data_request"]["id"], int)
    assert sent["customers/redact"][1] == {
        "shop_id": shop_id,
        "shop_domain": DOMAIN,
        "customer": who,
        "orders_to_redact": [jane.id, other.id],
    }
    assert sent["shop/redact"][1] == {"shop_id": shop_id, "shop_domain": DOMAIN}
    for _, headers, body in rig.receiver.received:
        assert headers["x-shopify-api-version"] == "2026-10"  # the latest, on 2026-11-20
        assert hmac.compare_digest(
            headers["x-shopify-hmac-sha256"], webhook_hmac(body, "privacy-secret")
        )


def test_a_fixed_url_sender_still_hears_every_topic(rig: Rig) -> None:
    fixed = WebhookSender(rig.world, url=rig.hooks_url + "/all", secret="fixed").start()
    try:
        order = add_jane_order(rig.world, rig.catalogue)
        rig.world.cancel_order(DOMAIN, order.id)
        assert fixed.wait_until_idle()
    finally:
        fixed.stop()
    assert rig.receiver.topics("/all") == ["orders/create", "orders/updated", "orders/cancelled"]
    _, headers, body = rig.receiver.received[0]
    assert headers["x-shopify-hmac-sha256"] == webhook_hmac(body, "fixed")
