"""`portal demo`'s first store has a ready rule: a shopper files a lost parcel under 50 with the
item in stock, their first claim in a year, and the status page shows the replacement order
without an agent; a customer with earlier claims waits in the queue with the rule's reason."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from sandbox import parcels
from sandbox.demo_rules import DEMO_RULE_NAME
from sandbox.mailbox import Mailbox
from sandbox.shopify.records import Order
from sandbox.world import SandboxWorld
from tests.automation.conftest import reference_on, verify
from tests.helpers.shopper_flow import ShopperFlow
from tests.helpers.staff import StaffBrowser
from tests.sandbox.test_demo_server import demo  # noqa: F401 - the running demo

STUCK = parcels.STEP_NAMES["stuck"]

LIMIT = Decimal(50)
PENDING = 60  # seconds a worker has to resolve the request; a bound, not a timing assertion


@dataclass
class DemoShopper:
    """What ShopperFlow needs of an environment, for the demo's first store."""

    base_url: str
    slug: str
    mailbox: Mailbox


def candidates(world: SandboxWorld, *, claimed: bool) -> list[tuple[Order, int]]:
    """Recent fulfilled, protected orders of the first store by customers with Corso claims
    (or without), each with a line (its id) in stock whose price is under 50."""
    spec = world.stores[0]
    protection = set(spec.protection_variant_ids)
    recent = datetime.now(UTC) - timedelta(days=min(spec.claim_window_days, 60) - 5)
    found = []
    for order in world.shopify.orders(spec.shop_domain):
        gids = {f"gid://shopify/ProductVariant/{li.variant_id}" for li in order.line_items}
        if not (gids & protection) or order.cancelled_at or order.created_at < recent:
            continue
        if order.display_fulfillment_status != "FULFILLED" or not order.email:
            continue
        if order.fulfillments[-1].delivered_at is not None:
            continue  # a delivered parcel is reported stolen, not lost
        if bool(world.corso.claims_of_customer(spec.corso_store_id or 0, order.email)) != claimed:
            continue
        for line in order.line_items:
            variant = world.shopify.variant(spec.shop_domain, line.variant_id or 0)
            gid = f"gid://shopify/ProductVariant/{line.variant_id}"
            if gid in protection or variant is None or variant.inventory_quantity < 1:
                continue
            if line.unit_price < LIMIT and line.refunded_quantity == 0:
                found.append((order, line.id))
                break
    return found


def file(flow: ShopperFlow, world: SandboxWorld, order: Order, line_id: int) -> httpx.Response:
    """The parcel goes quiet (as the sandbox page's "Stuck" does), so it may be reported lost;
    then the shopper files."""
    if parcels.parcel_state(order, 7, world.shopify.now()) not in ("no_movement", "problem"):
        parcels.move_along(world.shopify, world.stores[0].shop_domain, order.id, STUCK)
    form = verify(flow, order, order.email or "")
    review = flow.file(form, issue="Lost", quantities={f"qty_{line_id}": 1})
    assert review.status_code == 200, review.text[-2000:]
    return flow.submit(review)


def test_the_ready_rule_reorders_a_first_claim_and_explains_why_a_repeat_claim_waits(
    demo: tuple[str, SandboxWorld],  # noqa: F811
) -> None:
    base_url, world = demo
    spec = world.stores[0]
    routine, claimed = candidates(world, claimed=False), candidates(world, claimed=True)
    assert routine and claimed, "the demo has orders of both kinds to report"
    order, line = routine[0]
    other = claimed[0]
    flow = ShopperFlow(DemoShopper(base_url, spec.slug, world.mailbox))  # type: ignore[arg-type]
    second = ShopperFlow(DemoShopper(base_url, spec.slug, world.mailbox))  # type: ignore[arg-type]
    try:
        waiting = reference_on(file(second, world, other[0], other[1]))
        status = file(flow, world, order, line)
        assert status.status_code == 200 and "/s/" in status.url.path
        deadline = time.monotonic() + PENDING
        while "your new order is" not in status.text and time.monotonic() < deadline:
            time.sleep(0.5)
            status = flow.client.get(status.url)
        assert "Reorder created: your new order is #" in status.text
    finally:
        flow.close()
        second.close()
    admin = StaffBrowser(base_url)
    try:
        account = next(a for a in world.accounts if a.role == "admin")
        admin.sign_in(account.email, account.password)
        rules_page = admin.get(f"/support/stores/{spec.slug}/automation/")
        assert DEMO_RULE_NAME in rules_page.text and 'data-enabled="on"' in rules_page.text
        page = admin.get(f"/support/requests/{reference_on(status)}")
        assert f"rule #1 v2: {DEMO_RULE_NAME}"[:64] in page.text
        queue = admin.get(f"/support/queue?store={spec.slug}")
        assert waiting in queue.text and "other claims in the last year, more than 0" in queue.text
    finally:
        admin.close()
