"""Shopify webhooks keep the premiums ledger current: signed deliveries from the sandbox shop,
a bad signature refused with nothing stored, repeats and a sync of the same order counted once,
and the sandbox trying again when the portal does not answer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal

import pytest
from starlette.applications import Starlette
from starlette.datastructures import Secret
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from portal.billing.commands import sync_orders_command
from portal.billing.models import ShopifyWebhook
from portal.billing.months import month_of
from sandbox.shopify.payloads import order_payload
from sandbox.shopify.state import ShopifyWorld
from sandbox.webhooks import WebhookSender
from tests.billing.portal_helpers import (
    WEBHOOK_SECRET,
    count,
    eventually,
    post_webhook,
    premiums,
    query,
    webhook_jobs,
)
from tests.helpers.environment import PortalEnvironment
from tests.helpers.servers import serve

pytestmark = pytest.mark.settings(shopify_client_secret=Secret(WEBHOOK_SECRET))


@pytest.fixture
def sender(env: PortalEnvironment) -> Iterator[WebhookSender]:
    sender = WebhookSender(
        env.shop.world, url=env.base_url + "/webhooks/shopify", secret=WEBHOOK_SECRET
    ).start()
    yield sender
    sender.stop()


def test_a_webhook_with_a_bad_signature_is_refused_and_nothing_is_stored(
    env: PortalEnvironment,
) -> None:
    order = env.shop.order()
    for signature in ("bm90IHRoZSBzaWduYXR1cmU=", ""):
        answer = post_webhook(
            env, "orders/create", order_payload(order), webhook_id="w-1", signature=signature
        )
        assert answer.status_code == 401
    assert count(env, ShopifyWebhook) == 0
    assert webhook_jobs(env) == 0
    assert premiums(env) == {}


def test_the_sandbox_shops_webhooks_keep_the_premiums_current(
    env: PortalEnvironment, sender: WebhookSender
) -> None:
    kept = env.shop.order()
    refunded = env.shop.order()
    cancelled = env.shop.order(shipped_days_ago=None)
    eventually(lambda: len(premiums(env)) == 3)
    protection_line = refunded.line_items[-1]
    env.shop.world.add_refund(
        env.shop.world.shops()[0].domain, refunded.id, line_items=[(protection_line.id, 1)]
    )
    env.shop.world.cancel_order(env.shop.world.shops()[0].domain, cancelled.id)
    expected = {
        kept.gid: Decimal("2.95"),
        refunded.gid: Decimal("0.00"),
        cancelled.gid: Decimal("0.00"),
    }
    eventually(lambda: premiums(env) == expected)
    assert sender.wait_until_idle()
    assert sender.log.dropped == []
    # orders/create x3, orders/updated for each fulfillment, the refund and the cancellation,
    # refunds/create, orders/cancelled: each delivery recorded once.
    assert count(env, ShopifyWebhook) == len(sender.log.delivered) >= 7


def test_webhooks_that_cannot_change_a_premium_read_nothing_from_shopify(
    env: PortalEnvironment, sender: WebhookSender
) -> None:
    """A replacement order without protection, a refund of other items, an update whose
    protection lines are as booked: none reads the order (every Shopify read fails meanwhile),
    and a refund of the protection line still does."""
    domain = env.shop.world.shops()[0].domain
    order = env.shop.order(lines=[(env.shop.mug, 2)])
    eventually(lambda: premiums(env) == {order.gid: Decimal("2.95")})
    assert sender.wait_until_idle()
    eventually(lambda: _refreshes_left(env) == 0)
    reads_before = webhook_jobs(env)
    env.shop.world.faults(domain).fail_next(status=503, times=1000)
    env.shop.order(protected=False, shipped_days_ago=None)  # as a replacement order is
    env.shop.world.add_refund(domain, order.id, line_items=[(order.line_items[0].id, 1)])
    assert sender.wait_until_idle()
    eventually(lambda: _refreshes_left(env) == 0)
    # The refund's orders/updated was queued with what it showed, and skipped before reading.
    assert webhook_jobs(env) == reads_before + 1
    assert premiums(env) == {order.gid: Decimal("2.95")}
    env.shop.world.faults(domain).clear()
    env.shop.world.add_refund(domain, order.id, line_items=[(order.line_items[-1].id, 1)])
    eventually(lambda: premiums(env) == {order.gid: Decimal("0.00")})


def _refreshes_left(env: PortalEnvironment) -> int:
    from sqlalchemy import func, select

    from portal.billing.sync import REFRESH_ORDER
    from portal.jobs.models import Job, JobStatus

    statement = (
        select(func.count())
        .select_from(Job)
        .where(Job.kind == REFRESH_ORDER, Job.status != JobStatus.DONE)
    )
    return query(env, lambda db: db.scalar(statement) or 0)


def test_a_repeated_webhook_is_counted_once(env: PortalEnvironment) -> None:
    order = env.shop.order()
    for _ in range(3):
        answer = post_webhook(env, "orders/create", order_payload(order), webhook_id="same-id")
        assert answer.status_code == 200
    eventually(lambda: premiums(env) == {order.gid: Decimal("2.95")})
    assert count(env, ShopifyWebhook) == 1
    assert webhook_jobs(env) == 1


def test_sync_and_webhook_for_the_same_order_count_it_once(
    env: PortalEnvironment, sender: WebhookSender
) -> None:
    order = env.shop.order()
    unprotected = env.shop.order(protected=False)
    eventually(lambda: premiums(env) == {order.gid: Decimal("2.95")})
    month = month_of(order.created_at, "UTC")
    line = asyncio.run(sync_orders_command(env.settings, store_slug=env.slug, month=month))
    assert "1 protected" in line and "changed by 0.00" in line
    assert premiums(env) == {order.gid: Decimal("2.95")}
    assert unprotected.gid not in premiums(env)


def test_the_sandbox_tries_again_until_the_portal_answers() -> None:
    answers = iter([503, 500, 200])
    seen: list[str] = []

    async def portal(request: Request) -> PlainTextResponse:
        seen.append(request.headers["X-Shopify-Webhook-Id"])
        return PlainTextResponse("", status_code=next(answers))

    world = ShopifyWorld()
    world.add_shop("s.myshopify.com", access_token="t")
    with serve(Starlette(routes=[Route("/hook", portal, methods=["POST"])])) as base_url:
        sender = WebhookSender(world, url=base_url + "/hook", secret="s", first_wait=0.01).start()
        try:
            world.add_order("s.myshopify.com", created_at=world.now(), line_items=[])
            assert sender.wait_until_idle()
        finally:
            sender.stop()
    assert [status for _, status in sender.log.attempts] == [503, 500, 200]
    assert len(set(seen)) == 1 and sender.log.delivered == seen[:1]


def test_a_webhook_body_over_a_megabyte_is_refused_before_it_is_read(
    env: PortalEnvironment,
) -> None:
    import httpx

    from portal.webhooks.views import MAX_BODY_BYTES

    answer = httpx.post(
        env.base_url + "/webhooks/shopify",
        content=b"{" + b" " * MAX_BODY_BYTES + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert count(env, ShopifyWebhook) == 0
