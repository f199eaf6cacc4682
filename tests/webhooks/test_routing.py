"""One endpoint, a table of topics: each followed topic queues its work with the record of the
delivery, once; the signature is the app's, or a custom app's own for a store that has one; a
job no worker knows yet waits, queued."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from starlette.datastructures import Secret

from portal.billing.models import ShopifyWebhook
from portal.billing.sync import REFRESH_ORDER
from portal.compliance.models import ComplianceRequest
from portal.jobs.models import Job
from portal.shopper.protected import ORDER_PROTECTED
from portal.stores.models import Store
from sandbox.shopify.payloads import order_payload
from tests.billing.portal_helpers import WEBHOOK_SECRET, eventually, premiums
from tests.helpers import factories
from tests.helpers.environment import PortalEnvironment
from tests.helpers.portal import Portal
from tests.webhooks.helpers import all_rows, change_store, deliver

pytestmark = pytest.mark.settings(shopify_client_secret=Secret(WEBHOOK_SECRET))

OWN_SECRET = "custom-app-secret-" + "c" * 20


def _jobs(database_url: str, kind: str) -> list[Job]:
    return all_rows(database_url, Job, Job.kind == kind)


def test_a_new_order_queues_its_premium_and_the_protected_order_email_once(
    env: PortalEnvironment,
) -> None:
    change_store(env.settings.database_url, env.slug, protected_order_email=True)
    order = env.shop.order()
    for _ in range(2):
        answer = deliver(env.base_url, "orders/create", order_payload(order), webhook_id="n-1")
        assert answer.status_code == 200
    eventually(lambda: premiums(env) == {order.gid: Decimal("2.95")})
    [protected] = _jobs(env.settings.database_url, ORDER_PROTECTED)
    [store] = all_rows(env.settings.database_url, Store)
    carried = protected.payload.pop("request_id")  # of the delivery that queued it
    assert carried
    assert protected.payload == {"store_id": store.id, "order_id": order.gid}
    assert len(_jobs(env.settings.database_url, REFRESH_ORDER)) == 1


def test_without_the_setting_no_protected_order_email_is_queued(env: PortalEnvironment) -> None:
    order = env.shop.order()
    deliver(env.base_url, "orders/create", order_payload(order), webhook_id="n-3")
    answer = deliver(env.base_url, "orders/updated", order_payload(order), webhook_id="u-3")
    assert answer.status_code == 200
    assert _jobs(env.settings.database_url, ORDER_PROTECTED) == []
    assert len(_jobs(env.settings.database_url, REFRESH_ORDER)) == 2


def test_a_store_with_its_own_app_is_checked_against_its_own_secret(portal: Portal) -> None:
    asyncio.run(
        factories.create_store(portal.database_url, "Own App", "own-app", webhook_secret=OWN_SECRET)
    )
    shop = "own-app.myshopify.com"
    payload = {"id": 7001}
    by_the_app = deliver(portal.base_url, "orders/create", payload, webhook_id="o-1", shop=shop)
    assert by_the_app.status_code == 401
    assert all_rows(portal.database_url, ShopifyWebhook) == []
    by_its_own = deliver(
        portal.base_url, "orders/create", payload, webhook_id="o-2", shop=shop, secret=OWN_SECRET
    )
    assert by_its_own.status_code == 200, by_its_own.text
    [job] = _jobs(portal.database_url, REFRESH_ORDER)
    assert job.payload["order_id"] == "gid://shopify/Order/7001"


def test_another_store_keeps_the_apps_secret(portal: Portal) -> None:
    portal.create_store("Plain", "plain")
    answer = deliver(
        portal.base_url, "orders/cancelled", {"id": 8}, webhook_id="p-1", shop="plain.myshopify.com"
    )
    assert answer.status_code == 200


@pytest.mark.parametrize(
    "topic", ["customers/data_request", "customers/redact", "shop/redact", "app/uninstalled"]
)
def test_a_wrongly_signed_compliance_or_uninstall_delivery_stores_nothing(
    portal: Portal, topic: str
) -> None:
    portal.create_store("Plain", "plain")
    payload = {"shop_domain": "plain.myshopify.com", "customer": {"email": "a@example.com"}}
    for signature in ("bm90IHRoZSBzaWduYXR1cmU=", ""):
        answer = deliver(
            portal.base_url,
            topic,
            payload,
            webhook_id="bad",
            shop="plain.myshopify.com",
            signature=signature,
        )
        assert answer.status_code == 401
    assert all_rows(portal.database_url, ShopifyWebhook) == []
    assert all_rows(portal.database_url, ComplianceRequest) == []
    assert all_rows(portal.database_url, Job) == []
    [store] = all_rows(portal.database_url, Store)
    assert store.uninstalled_at is None


def test_a_compliance_request_without_a_customer_is_refused(portal: Portal) -> None:
    portal.create_store("Plain", "plain")
    answer = deliver(
        portal.base_url,
        "customers/redact",
        {"shop_domain": "plain.myshopify.com", "orders_to_redact": "all"},
        webhook_id="m-1",
        shop="plain.myshopify.com",
    )
    assert answer.status_code == 400
    assert all_rows(portal.database_url, ComplianceRequest) == []


def test_a_compliance_request_for_a_shop_never_installed_is_recorded_as_nothing_held(
    portal: Portal,
) -> None:
    answer = deliver(
        portal.base_url,
        "shop/redact",
        {"shop_id": 954889, "shop_domain": "stranger.myshopify.com"},
        webhook_id="s-1",
        shop="stranger.myshopify.com",
    )
    assert answer.status_code == 200
    [request] = all_rows(portal.database_url, ComplianceRequest)
    assert request.store_id is None and request.completed_at is not None
    assert request.report == {"nothing_held": True}
    assert all_rows(portal.database_url, Job) == []


def test_an_order_topic_for_an_unknown_shop_stores_nothing(portal: Portal) -> None:
    answer = deliver(
        portal.base_url, "orders/create", {"id": 1}, webhook_id="x-1", shop="who.myshopify.com"
    )
    assert answer.status_code == 200 and answer.text == "Unknown shop."
    assert all_rows(portal.database_url, ShopifyWebhook) == []
