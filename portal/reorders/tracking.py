"""Where an order's parcels are, as Shopify's fulfillments and their carrier events say, and
when each reason may be reported for a parcel.

A store sets a window per reason (``Store`` columns, checked in ``portal.stores.rules``):

- Lost opens once the parcel has had no tracking update for ``lost_after_quiet_days``, or is
  ``lost_after_estimate_days`` past the carrier's estimated delivery, whichever comes first (at
  once when the carrier reported a failed delivery); it closes ``claim_window_for("LOST")`` days
  after shipping. A parcel the carrier delivered is not lost: it may be reported stolen.
- Stolen is open for ``claim_window_for("STOLEN")`` days from delivery.
- Damaged, wrong item and missing item are open for their window from delivery.

A parcel the carrier has said nothing about (shipped without tracking events) is counted from
shipping, as if delivered then; goods not shipped yet are counted from the order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from portal.integrations.shopify.models import Fulfillment, Order
from portal.reorders.models import IssueType
from portal.stores.models import Store

# FulfillmentDisplayStatus values, grouped by what they mean for a claim.
DELIVERED_STATUSES = frozenset({"DELIVERED", "PICKED_UP"})
PROBLEM_STATUSES = frozenset({"FAILURE", "ATTEMPTED_DELIVERY", "NOT_DELIVERED"})
CARRIER_STATUSES = frozenset(
    {
        "CONFIRMED",
        "IN_TRANSIT",
        "OUT_FOR_DELIVERY",
        "DELAYED",
        "READY_FOR_PICKUP",
        *DELIVERED_STATUSES,
        *PROBLEM_STATUSES,
    }
)
VOIDED_STATUSES = frozenset({"CANCELED", "LABEL_VOIDED"})
DEFAULT_QUIET_DAYS = 7
DEFAULT_ESTIMATE_DAYS = 3
# FulfillmentStatus values of a fulfillment that never left.
NOT_SENT = frozenset({"CANCELLED", "ERROR", "FAILURE"})


class TrackingState(StrEnum):
    UNFULFILLED = "unfulfilled"  # nothing shipped yet
    IN_TRANSIT = "in_transit"  # shipped, moving (includes out for delivery)
    DELIVERED = "delivered"
    PROBLEM = "problem"  # failure, attempted delivery, returned
    NO_MOVEMENT = (
        "no_movement"  # in transit but no tracking update for the store's lost-window days
    )


@dataclass(frozen=True)
class ParcelTracking:
    state: TrackingState
    shipped_at: datetime | None
    delivered_at: datetime | None
    last_movement_at: datetime | None
    estimated_delivery_at: datetime | None
    carrier_tracked: bool = False
    """Whether a carrier said anything about the parcel (events, transit, delivery)."""


UNFULFILLED = ParcelTracking(TrackingState.UNFULFILLED, None, None, None, None)


def is_sent(fulfillment: Fulfillment) -> bool:
    """A fulfillment that left the warehouse (not cancelled, failed or voided)."""
    return (
        fulfillment.status not in NOT_SENT
        and (fulfillment.display_status or "") not in VOIDED_STATUSES
    )


def parcel_tracking(fulfillment: Fulfillment, store: Store, now: datetime) -> ParcelTracking:
    """One parcel as its fulfillment and its carrier's latest event show it."""
    event = fulfillment.latest_event
    display = fulfillment.display_status or ""
    delivered_at = fulfillment.delivered_at
    if delivered_at is None and event is not None and event.status == "DELIVERED":
        delivered_at = event.happened_at
    moments = [fulfillment.created_at, fulfillment.in_transit_at, delivered_at]
    if event is not None:
        moments.append(event.happened_at)
    last_movement = max(m for m in moments if m is not None)
    estimate = fulfillment.estimated_delivery_at
    if estimate is None and event is not None:
        estimate = event.estimated_delivery_at
    tracked = bool(
        event or fulfillment.in_transit_at or delivered_at or display in CARRIER_STATUSES
    )
    return ParcelTracking(
        state=_state(display, delivered_at, last_movement, store, now),
        shipped_at=fulfillment.created_at,
        delivered_at=delivered_at,
        last_movement_at=last_movement,
        estimated_delivery_at=estimate,
        carrier_tracked=tracked or display in CARRIER_STATUSES,
    )


def _state(
    display: str,
    delivered_at: datetime | None,
    last_movement: datetime,
    store: Store,
    now: datetime,
) -> TrackingState:
    if delivered_at is not None or display in DELIVERED_STATUSES:
        return TrackingState.DELIVERED
    if display in PROBLEM_STATUSES:
        return TrackingState.PROBLEM
    if now - last_movement >= timedelta(days=quiet_days(store)):
        return TrackingState.NO_MOVEMENT
    return TrackingState.IN_TRANSIT


def parcels_of(order: Order, line_item_ids: Iterable[str] | None = None) -> list[Fulfillment]:
    """The order's sent parcels, oldest first; with ``line_item_ids``, those carrying any of
    them."""
    sent = sorted((f for f in order.fulfillments if is_sent(f)), key=lambda f: f.created_at)
    if line_item_ids is None:
        return sent
    wanted = set(line_item_ids)
    return [f for f in sent if any(line.line_item_id in wanted for line in f.line_items)]


def order_tracking(
    order: Order, store: Store, now: datetime, line_item_ids: Iterable[str] | None = None
) -> ParcelTracking:
    """The order's parcels summarised (the one the shopper's claim is about, or the latest)."""
    parcels = parcels_of(order, line_item_ids)
    return parcel_tracking(parcels[-1], store, now) if parcels else UNFULFILLED


def days_since_delivery(tracking: ParcelTracking, now: datetime) -> int | None:
    if tracking.delivered_at is None:
        return None
    return max(0, (now - tracking.delivered_at).days)


# --- when a reason may be reported ------------------------------------------------------------


class Refusal(StrEnum):
    """Why a reason cannot be reported for a parcel now."""

    NOT_SHIPPED = "not_shipped"  # lost or stolen before anything shipped
    NOT_YET_LOST = "not_yet_lost"  # still moving: lost opens later (``Window.opens``)
    DELIVERED = "delivered"  # lost, but the carrier delivered it
    NOT_DELIVERED = "not_delivered"  # stolen or a problem with the goods, still on its way
    CLOSED = "closed"  # the window ended (``Window.closes``)


class Basis(StrEnum):
    """What a window's days are counted from."""

    ORDER = "order"
    SHIPPING = "shipping"
    DELIVERY = "delivery"


@dataclass(frozen=True)
class Window:
    """When ``issue`` may be reported for one parcel: from ``opens`` to ``closes``."""

    issue: IssueType
    tracking: ParcelTracking
    opens: datetime
    closes: datetime
    basis: Basis
    days: int
    refusal: Refusal | None = None
    opens_by_estimate: bool = False  # lost opens by the estimate rule, not by quiet days

    @property
    def is_open(self) -> bool:
        return self.refusal is None


def reason_window(
    issue: IssueType,
    tracking: ParcelTracking,
    store: Store,
    now: datetime,
    ordered_at: datetime,
) -> Window:
    """The window of ``issue`` for a parcel (``UNFULFILLED``: goods not shipped yet)."""
    days = store.claim_window_for(issue.name)
    if issue is IssueType.LOST:
        return _lost_window(tracking, store, now, days)
    if tracking.state is TrackingState.UNFULFILLED:
        if issue is IssueType.STOLEN:
            return _refused(issue, tracking, Refusal.NOT_SHIPPED, ordered_at, Basis.ORDER, days)
        return _counted(issue, tracking, now, ordered_at, ordered_at, Basis.ORDER, days)
    shipped = tracking.shipped_at or ordered_at
    if tracking.delivered_at is not None:
        delivered = tracking.delivered_at
        return _counted(issue, tracking, now, delivered, delivered, Basis.DELIVERY, days)
    if tracking.state is TrackingState.DELIVERED or not tracking.carrier_tracked:
        return _counted(issue, tracking, now, shipped, shipped, Basis.SHIPPING, days)
    return _refused(issue, tracking, Refusal.NOT_DELIVERED, shipped, Basis.DELIVERY, days)


def _lost_window(tracking: ParcelTracking, store: Store, now: datetime, days: int) -> Window:
    issue = IssueType.LOST
    if tracking.state is TrackingState.UNFULFILLED or tracking.shipped_at is None:
        return _refused(issue, tracking, Refusal.NOT_SHIPPED, now, Basis.SHIPPING, days)
    shipped = tracking.shipped_at
    closes = shipped + timedelta(days=days)
    if tracking.state is TrackingState.DELIVERED:
        return Window(issue, tracking, closes, closes, Basis.SHIPPING, days, Refusal.DELIVERED)
    opens, by_estimate = lost_opens(tracking, store)
    refusal = None
    if now > closes:
        refusal = Refusal.CLOSED
    elif now < opens:
        refusal = Refusal.NOT_YET_LOST
    return Window(issue, tracking, opens, closes, Basis.SHIPPING, days, refusal, by_estimate)


def lost_opens(tracking: ParcelTracking, store: Store) -> tuple[datetime, bool]:
    """When a parcel in transit may be reported lost, and whether the carrier's estimate (not
    the quiet days) decides it. A failed delivery opens it at once."""
    assert tracking.shipped_at is not None
    last = tracking.last_movement_at or tracking.shipped_at
    if tracking.state is TrackingState.PROBLEM:
        return last, False
    quiet = last + timedelta(days=quiet_days(store))
    if tracking.estimated_delivery_at is None:
        return quiet, False
    late = tracking.estimated_delivery_at + timedelta(days=estimate_days(store))
    return (late, True) if late < quiet else (quiet, False)


def quiet_days(store: Store) -> int:
    """The store's days without a tracking update before Lost opens (a store row not yet
    written has the column's default)."""
    days = store.lost_after_quiet_days
    return DEFAULT_QUIET_DAYS if days is None else days


def estimate_days(store: Store) -> int:
    days = store.lost_after_estimate_days
    return DEFAULT_ESTIMATE_DAYS if days is None else days


def _counted(
    issue: IssueType,
    tracking: ParcelTracking,
    now: datetime,
    opens: datetime,
    start: datetime,
    basis: Basis,
    days: int,
) -> Window:
    closes = start + timedelta(days=days)
    refusal = Refusal.CLOSED if now > closes else None
    return Window(issue, tracking, opens, closes, basis, days, refusal)


def _refused(
    issue: IssueType,
    tracking: ParcelTracking,
    refusal: Refusal,
    start: datetime,
    basis: Basis,
    days: int,
) -> Window:
    return Window(issue, tracking, start, start + timedelta(days=days), basis, days, refusal)


def window_end(tracking: ParcelTracking, store: Store, ordered_at: datetime) -> datetime:
    """When the last of the store's windows closes for a parcel, as things stand."""
    start = tracking.delivered_at or tracking.shipped_at or ordered_at
    return start + timedelta(days=store.longest_claim_window)
