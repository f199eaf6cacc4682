"""The shopper flow spends the store's Shopify points once per order, and waits for them
instead of turning the shopper away.

The order a shopper verified is read from Shopify once and reused for the rest of the flow,
until the store's webhooks say it changed; when the store's points run out, the shopper gets a
page that keeps their place and goes on by itself (its Continue link followed, or the same form
sent again).
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.datastructures import Secret

from portal.reorders import snapshots
from portal.reorders.models import OrderSnapshot, ReorderRequest
from portal.shopper.models import OrderVerification
from sandbox.shopify.state import Order
from sandbox.webhooks import WebhookSender
from tests.billing.portal_helpers import WEBHOOK_SECRET
from tests.helpers.environment import SHOP, PortalEnvironment, database
from tests.helpers.shopper_flow import ShopperFlow, csrf_of

pytestmark = pytest.mark.settings(shopify_client_secret=Secret(WEBHOOK_SECRET))

CONTINUE_LINK = re.compile(
    r'<a class="button" id="continue" href="([^"]+)" data-continue-after="(\d+)">'
)
CONTINUE = re.compile(r'<form id="continue" method="post" action="([^"]*)"')
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def order_reads(env: PortalEnvironment) -> int:
    operations = env.shop.world.bucket(SHOP).counts()["operations"]
    return int(operations.get("Order", 0))


def qty_field(order: Order, index: int = 0) -> str:
    return "qty_" + order.line_items[index].gid.rsplit("/", 1)[-1]


def store_busy_next(env: PortalEnvironment) -> None:
    """Shopify's next answer for the shop: rate-limited for longer than a page may wait."""
    env.shop.world.faults(SHOP).fail_next(status=429, times=1, retry_after=60)


def age_the_copy(env: PortalEnvironment) -> None:
    """The order's copy is as old as copies may be."""
    old = datetime.now(UTC) - snapshots.MAX_AGE - timedelta(seconds=1)
    with database(env) as db:
        db.execute(update(OrderSnapshot).values(read_at=old))
        db.commit()


def assert_waiting(page: httpx.Response) -> None:
    assert page.status_code == 200, page.text
    assert "is busy right now" in page.text and "Nothing was lost" in page.text
    assert page.headers["Retry-After"] == "5" and page.headers["Cache-Control"] == "no-store"


def test_the_order_is_read_from_shopify_once_for_the_whole_flow(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 2)])
    form = shopper.verify(order.name, "jane@example.com")
    review = shopper.file(form, issue="Lost", quantities={qty_field(order): 1})
    assert review.status_code == 200, review.text
    assert shopper.get("/request").status_code == 200
    # The lookup read it; the code, the form, the draft and its review used that answer.
    assert order_reads(env) == 1
    env.shop.world.faults(SHOP).fail_next(status=503, times=50)  # Shopify is down from here
    status = shopper.submit(review)
    assert "Request received" in status.text  # and the submit did not need it


def test_a_webhook_saying_the_order_changed_makes_the_next_page_read_it_again(
    env: PortalEnvironment, shopper: ShopperFlow, sender: WebhookSender
) -> None:
    order = env.shop.order(lines=[(env.shop.mug, 1), (env.shop.shirt, 1)])
    sender.wait_until_idle(timeout=10)  # its own orders/create and orders/updated are in
    form = shopper.verify(order.name, "jane@example.com")
    assert f'disabled id="{qty_field(order, 1)}"' not in form.text
    before = order_reads(env)
    shirt = order.line_items[1]
    env.shop.world.add_refund(SHOP, order.id, line_items=[(shirt.id, 1)])  # in Shopify's admin
    sender.wait_until_idle(timeout=10)  # refunds/create and orders/updated reach the portal

    form = shopper.get("/request")

    assert order_reads(env) > before
    refunded = qty_field(order, 1)
    assert f'disabled id="{refunded}"' in form.text  # nothing of it left to claim
    assert f'disabled id="{qty_field(order, 0)}"' not in form.text


def test_the_order_is_read_again_once_the_copy_is_old(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order()
    shopper.verify(order.name, "jane@example.com")
    age_the_copy(env)
    assert shopper.get("/request").status_code == 200
    assert order_reads(env) == 2


def test_a_lookup_while_the_store_is_busy_waits_and_goes_on_by_itself(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order()
    store_busy_next(env)

    waiting = shopper.look_up(order.name, "jane@example.com")

    assert_waiting(waiting)
    again = CONTINUE_LINK.search(waiting.text)
    assert again is not None and again[2] == "5"
    assert '/static/js/continue.js" defer>' in waiting.text  # followed by itself with JavaScript
    assert env.mailbox.to("jane@example.com") == []
    code_page = shopper.client.get(html.unescape(again[1]))  # Continue, 5 s later
    assert code_page.status_code == 200 and 'name="code"' in code_page.text
    form = shopper.enter_code(code_page, env.code_for("jane@example.com"))
    assert qty_field(order) in form.text
    with database(env) as db:  # one lookup, counted once against the limits
        assert db.scalar(select(func.count()).select_from(OrderVerification)) == 1
        assert db.scalar(select(OrderVerification.sealed_lookup)) is None


def test_a_page_while_the_store_is_busy_refreshes_itself(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order()
    shopper.verify(order.name, "jane@example.com")
    age_the_copy(env)
    store_busy_next(env)

    waiting = shopper.get("/request")

    assert_waiting(waiting)
    again = CONTINUE_LINK.search(waiting.text)
    assert again is not None and html.unescape(again[1]).endswith(f"/{env.slug}/request")
    assert qty_field(order) in shopper.client.get(html.unescape(again[1])).text


def test_a_form_sent_while_the_store_is_busy_is_sent_again_once(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order()
    form = shopper.verify(order.name, "jane@example.com")
    review = shopper.file(form, issue="Lost", quantities={qty_field(order): 1})
    age_the_copy(env)
    store_busy_next(env)

    waiting = shopper.submit(review)

    assert_waiting(waiting)
    again = CONTINUE.search(waiting.text)
    assert again is not None
    fields = dict(HIDDEN.findall(waiting.text.split('id="continue"', 1)[1]))
    assert fields == {"csrf_token": csrf_of(review)}
    assert '/static/js/continue.js" defer>' in waiting.text  # pressed by itself with JavaScript
    status = shopper.client.post(html.unescape(again[1]), data=fields)  # Continue
    assert "Request received" in status.text
    twice = shopper.client.post(html.unescape(again[1]), data=fields)  # pressed once more
    assert twice.status_code == 200
    with database(env) as db:
        assert db.scalar(select(func.count()).select_from(ReorderRequest)) == 1


def test_an_outage_still_says_so(env: PortalEnvironment, shopper: ShopperFlow) -> None:
    order = env.shop.order()
    env.shop.world.faults(SHOP).fail_next(status=503, times=10)
    page = shopper.look_up(order.name, "jane@example.com")
    assert page.status_code == 503 and "could not reach" in page.text
