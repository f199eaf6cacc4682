"""Parcels in the demo: the carrier's scans of each shipped order, and the steps a visitor takes
on /sandbox to move a parcel along (in transit, out for delivery, delivered, a failed attempt,
or stuck with no scan for days), so the shopper's page can be seen to follow.

Each demo parcel tells one of a few stories, drawn from its own random stream (the order's id),
so the rest of the demo data does not shift: most are delivered after daily scans, some are
still moving, some went quiet after their first scans (lost), some had a failed delivery.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sandbox.shopify.state import Fulfillment, Order, ShopifyWorld

ESTIMATED_DAYS = 4
QUIET_SHARE = 0.12  # parcels whose scans stop: lost in the carrier's network
FAILED_SHARE = 0.04  # parcels with a failed delivery attempt
STUCK_DAYS = 8  # how far "stuck" winds a parcel's scans back: past the default 7 quiet days
CITIES = ("Memphis, TN", "Louisville, KY", "Indianapolis, IN", "Columbus, OH", "Chicago, IL")


@dataclass(frozen=True)
class Step:
    """A move a visitor can make on a parcel: a carrier event, or winding its scans back."""

    name: str
    label: str
    event: str | None


STEPS = (
    Step("in_transit", "Scan in transit", "IN_TRANSIT"),
    Step("out_for_delivery", "Out for delivery", "OUT_FOR_DELIVERY"),
    Step("delivered", "Delivered", "DELIVERED"),
    Step("attempted_delivery", "Delivery attempt failed", "ATTEMPTED_DELIVERY"),
    Step("stuck", f"Stuck: no scan for {STUCK_DAYS} days", None),
)
STEP_NAMES = {step.name: step for step in STEPS}


def track(
    world: ShopifyWorld,
    domain: str,
    order: Order,
    parcel: Fulfillment,
    delivered_at: datetime,
    now: datetime,
) -> None:
    """The carrier's scans of a demo parcel up to ``now``, as its story goes."""
    rng = random.Random(order.id * 7919 + parcel.id)
    story = rng.random()
    shipped = parcel.created_at
    estimate = shipped + timedelta(days=ESTIMATED_DAYS)
    scans = [shipped + timedelta(hours=rng.randint(3, 10))]
    while scans[-1] + timedelta(days=1) < delivered_at - timedelta(hours=6):
        scans.append(scans[-1] + timedelta(hours=rng.randint(14, 26)))
    if story < QUIET_SHARE:
        scans = scans[:2]
    for at in (s for s in scans if s < now):
        scan(world, domain, order, parcel, "IN_TRANSIT", at, estimate, rng)
    if story < QUIET_SHARE:
        return
    out = delivered_at - timedelta(hours=5)
    if out < now:
        scan(world, domain, order, parcel, "OUT_FOR_DELIVERY", out, estimate, rng)
    if delivered_at < now:
        last = "ATTEMPTED_DELIVERY" if story < QUIET_SHARE + FAILED_SHARE else "DELIVERED"
        scan(world, domain, order, parcel, last, delivered_at, estimate, rng)


def scan(
    world: ShopifyWorld,
    domain: str,
    order: Order,
    parcel: Fulfillment,
    status: str,
    at: datetime,
    estimate: datetime | None,
    rng: random.Random,
) -> None:
    city, _, province = rng.choice(CITIES).partition(", ")
    world.add_fulfillment_event(
        domain,
        order.id,
        parcel.id,
        status,
        happened_at=at,
        estimated_delivery_at=estimate,
        message=_MESSAGES[status],
        city=city,
        province=province,
        country="US",
    )


_MESSAGES = {
    "IN_TRANSIT": "Arrived at carrier facility",
    "OUT_FOR_DELIVERY": "Out for delivery",
    "DELIVERED": "Delivered, left at front door",
    "ATTEMPTED_DELIVERY": "Delivery attempted: no access to the delivery location",
}


def move_along(world: ShopifyWorld, domain: str, order_id: int, step: Step) -> Fulfillment:
    """Take ``step`` on the order's latest parcel (shipping the order first when nothing has
    shipped yet); ValueError when the parcel was delivered already."""
    order = world.order(domain, order_id)
    if order is None:
        raise LookupError(f"no order {order_id}")
    if not order.fulfillments:
        world.add_fulfillment(domain, order_id, tracking_company="UPS", tracking_number="1Z0DEMO")
    parcel = order.fulfillments[-1]
    if parcel.delivered_at is not None:
        raise ValueError("This parcel was delivered already.")
    rng = random.Random(parcel.id + len(parcel.events))
    if step.event is None:
        world.wind_back_parcel(domain, order_id, parcel.id, timedelta(days=STUCK_DAYS))
        return parcel
    estimate = parcel.estimated_delivery_at or world.now() + timedelta(days=2)
    scan(world, domain, order, parcel, step.event, world.now(), estimate, rng)
    return parcel


def parcel_state(order: Order, quiet_days: int, now: datetime) -> str:
    """The order's latest parcel in a word, for the demo page and orders.json: unfulfilled,
    label_created, in_transit, out_for_delivery, delivered, no_movement or problem."""
    if not order.fulfillments:
        return "unfulfilled"
    parcel = order.fulfillments[-1]
    if parcel.delivered_at is not None:
        return "delivered"
    if parcel.display_status in ("ATTEMPTED_DELIVERY", "FAILURE", "NOT_DELIVERED"):
        return "problem"
    moments = [parcel.created_at, *(e.happened_at for e in parcel.events)]
    if now - max(moments) >= timedelta(days=quiet_days):
        return "no_movement"
    if not parcel.events:
        return "label_created"
    return "out_for_delivery" if parcel.display_status == "OUT_FOR_DELIVERY" else "in_transit"
