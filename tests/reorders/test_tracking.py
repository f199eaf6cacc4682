"""Tracking-aware eligibility at its boundaries: each reason's window one day before and after it
opens or closes, a parcel with no movement, one past its estimate, and items in different
parcels judged by their own parcel."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from portal.integrations.shopify.models import (
    Fulfillment,
    FulfillmentEvent,
    FulfillmentLine,
    LineItem,
    Money,
    Order,
)
from portal.reorders.models import IssueType
from portal.reorders.service import claim_window_end, eligibility_problems
from portal.reorders.tracking import (
    ParcelTracking,
    TrackingState,
    days_since_delivery,
    order_tracking,
)
from portal.stores.models import Store

ORDERED = datetime(2026, 11, 1, 15, 0, tzinfo=UTC)
SHIPPED = ORDERED + timedelta(days=1)
DAY = timedelta(days=1)
MUG, SHIRT = "gid://shopify/LineItem/1", "gid://shopify/LineItem/2"
PROTECTION = "gid://shopify/ProductVariant/99"


def store(**changes: object) -> Store:
    values: dict[str, object] = {
        "claim_window_days": 30,
        "claim_windows": {},
        "lost_after_quiet_days": 7,
        "lost_after_estimate_days": 3,
        "time_zone": "UTC",
        "protection_variant_ids": [PROTECTION],
    }
    return Store(**{**values, **changes})


def line(line_id: str, title: str, quantity: int = 1) -> LineItem:
    money = Money(Decimal("10.00"), "USD")
    return LineItem(line_id, title, title, None, None, quantity, quantity, quantity, True, money,
                    None, f"gid://shopify/ProductVariant/{line_id[-1]}", None)  # fmt: skip


def parcel(
    *,
    shipped: datetime = SHIPPED,
    display: str = "FULFILLED",
    events: tuple[tuple[str, datetime], ...] = (),
    estimate: datetime | None = None,
    lines: tuple[str, ...] = (MUG, SHIRT),
    status: str = "SUCCESS",
    number: int = 1,
) -> Fulfillment:
    latest = max(events, key=lambda e: e[1], default=None)
    delivered = next((at for kind, at in events if kind == "DELIVERED"), None)
    in_transit = next((at for kind, at in events if kind == "IN_TRANSIT"), None)
    return Fulfillment(
        id=f"gid://shopify/Fulfillment/{number}",
        name=f"#1001-F{number}",
        status=status,
        display_status=latest[0] if latest else display,
        created_at=shipped,
        delivered_at=delivered,
        tracking=(),
        in_transit_at=in_transit,
        estimated_delivery_at=estimate,
        latest_event=FulfillmentEvent(latest[0], latest[1]) if latest else None,
        line_items=tuple(FulfillmentLine(i, 1) for i in lines),
    )


def order(*parcels: Fulfillment, cancelled: bool = False) -> Order:
    money = Money(Decimal("20.00"), "USD")
    return Order(
        id="gid://shopify/Order/5001", legacy_id=5001, name="#1001", email="jane@example.com",
        created_at=ORDERED, updated_at=None, processed_at=None,
        cancelled_at=ORDERED + DAY if cancelled else None, cancel_reason=None, closed=False,
        test=False, financial_status="PAID", fulfillment_status="FULFILLED", currency="USD",
        source_identifier=None, note=None, tags=(), customer=None, shipping_address=None,
        subtotal=money, total=money, shipping=money, total_refunded=money, total_discounts=None,
        current_total=money, line_items=(line(MUG, "Stoneware Mug"), line(SHIRT, "Linen Shirt")),
        fulfillments=parcels, refunds=(),
    )  # fmt: skip


def problems(o: Order, issue: IssueType | None, now: datetime, **settings: object) -> list[str]:
    return eligibility_problems(o, store(**settings), issue, now)


# --- lost -----------------------------------------------------------------------------------


def test_lost_opens_after_seven_days_without_a_tracking_update() -> None:
    scanned = SHIPPED + 2 * DAY
    o = order(parcel(events=(("IN_TRANSIT", scanned),)))
    opens = scanned + 7 * DAY
    early = problems(o, IssueType.LOST, opens - DAY)
    assert early == [
        "You can report a lost parcel from November 11, when it has had no tracking update "
        "for 7 days."
    ]
    assert problems(o, IssueType.LOST, opens + DAY) == []
    assert order_tracking(o, store(), opens - DAY).state is TrackingState.IN_TRANSIT
    assert order_tracking(o, store(), opens + DAY).state is TrackingState.NO_MOVEMENT


def test_a_later_scan_moves_the_day_lost_opens() -> None:
    first, second = SHIPPED + DAY, SHIPPED + 4 * DAY
    o = order(parcel(events=(("IN_TRANSIT", first), ("IN_TRANSIT", second))))
    assert problems(o, IssueType.LOST, first + 8 * DAY) != []
    assert problems(o, IssueType.LOST, second + 7 * DAY + DAY) == []


def test_lost_opens_three_days_past_the_carriers_estimate_when_that_comes_first() -> None:
    scanned = SHIPPED + 3 * DAY
    estimate = SHIPPED + 4 * DAY
    o = order(parcel(events=(("IN_TRANSIT", scanned),), estimate=estimate))
    opens = estimate + 3 * DAY  # before scanned + 7 days
    early = problems(o, IssueType.LOST, opens - DAY)
    assert early == [
        "You can report a lost parcel from November 9, 3 days after its estimated delivery "
        "on November 6."
    ]
    assert problems(o, IssueType.LOST, opens + DAY) == []


def test_lost_closes_thirty_days_after_shipping() -> None:
    o = order(parcel(events=(("IN_TRANSIT", SHIPPED + DAY),)))
    closes = SHIPPED + 30 * DAY
    assert problems(o, IssueType.LOST, closes - DAY) == []
    late = problems(o, IssueType.LOST, closes + DAY)
    assert late == [
        "A lost parcel had to be reported within 30 days of shipping, by December 2, 2026."
    ]


def test_a_delivered_parcel_is_not_lost_but_may_be_stolen() -> None:
    delivered = SHIPPED + 3 * DAY
    o = order(parcel(events=(("IN_TRANSIT", SHIPPED), ("DELIVERED", delivered))))
    now = delivered + 10 * DAY
    assert problems(o, IssueType.LOST, now) == [
        "Tracking shows this parcel was delivered on November 5, 2026, so it cannot be reported "
        "as lost. If it did not reach you, report it as stolen."
    ]
    assert problems(o, IssueType.STOLEN, now) == []


def test_a_parcel_shown_delivered_without_a_date_is_not_lost_either() -> None:
    o = order(parcel(display="DELIVERED"))
    assert problems(o, IssueType.LOST, SHIPPED + DAY) == [
        "Tracking shows this parcel was delivered, so it cannot be reported as lost. If it did "
        "not reach you, report it as stolen."
    ]
    assert problems(o, IssueType.DAMAGED, SHIPPED + 29 * DAY) == []  # counted from shipping


def test_a_failed_delivery_may_be_reported_lost_at_once() -> None:
    o = order(parcel(events=(("IN_TRANSIT", SHIPPED), ("ATTEMPTED_DELIVERY", SHIPPED + DAY))))
    now = SHIPPED + 2 * DAY
    assert order_tracking(o, store(), now).state is TrackingState.PROBLEM
    assert problems(o, IssueType.LOST, now) == []


def test_nothing_shipped_cannot_be_lost_or_stolen() -> None:
    o = order()
    for issue in (IssueType.LOST, IssueType.STOLEN):
        assert "once the order has shipped" in problems(o, issue, ORDERED + DAY)[0]
    assert order_tracking(o, store(), ORDERED + DAY).state is TrackingState.UNFULFILLED


def test_the_stores_own_quiet_days_count() -> None:
    scanned = SHIPPED + DAY
    o = order(parcel(events=(("IN_TRANSIT", scanned),)))
    assert problems(o, IssueType.LOST, scanned + 2 * DAY, lost_after_quiet_days=3) != []
    assert problems(o, IssueType.LOST, scanned + 4 * DAY, lost_after_quiet_days=3) == []


# --- stolen and problems with the goods ------------------------------------------------------


@pytest.mark.parametrize(
    ("issue", "days"),
    [
        (IssueType.STOLEN, 5),
        (IssueType.DAMAGED, 14),
        (IssueType.WRONG_ITEM, 10),
        (IssueType.MISSING_ITEM, 20),
    ],
)
def test_reasons_after_delivery_close_n_days_after_it(issue: IssueType, days: int) -> None:
    delivered = SHIPPED + 6 * DAY
    o = order(parcel(events=(("IN_TRANSIT", SHIPPED), ("DELIVERED", delivered))))
    windows = {issue.name: days}
    closes = delivered + days * DAY
    assert problems(o, issue, closes - DAY, claim_windows=windows) == []
    late = problems(o, issue, closes + DAY, claim_windows=windows)
    assert len(late) == 1 and f"within {days} days of delivery" in late[0]


@pytest.mark.parametrize("issue", [IssueType.STOLEN, IssueType.DAMAGED, IssueType.MISSING_ITEM])
def test_reasons_after_delivery_wait_for_the_carrier_to_deliver(issue: IssueType) -> None:
    o = order(parcel(events=(("OUT_FOR_DELIVERY", SHIPPED + 2 * DAY),)))
    refused = problems(o, issue, SHIPPED + 3 * DAY)
    assert len(refused) == 1 and "once the carrier shows the parcel delivered" in refused[0]


def test_a_parcel_without_carrier_updates_counts_from_shipping() -> None:
    o = order(parcel())  # shipped, nothing heard from the carrier since
    closes = SHIPPED + 30 * DAY
    assert problems(o, IssueType.STOLEN, closes - DAY) == []
    late = problems(o, IssueType.DAMAGED, closes + DAY)
    assert late == [
        "A damaged item had to be reported within 30 days of shipping, by December 2, 2026."
    ]


# --- the order as a whole, parcel by parcel -------------------------------------------------


def test_the_first_page_says_when_lost_opens_while_the_parcel_is_moving() -> None:
    scanned = SHIPPED + 2 * DAY
    o = order(parcel(events=(("IN_TRANSIT", scanned),)))
    said = problems(o, None, scanned + DAY)
    assert (
        "You can report a lost parcel from November 11, when it has had no tracking update "
        "for 7 days." in said
    )
    assert problems(o, None, scanned + 8 * DAY) == []


def test_items_are_judged_by_the_parcel_they_travel_in() -> None:
    delivered = SHIPPED + 2 * DAY
    mugs = parcel(events=(("DELIVERED", delivered),), lines=(MUG,), number=1)
    shirts = parcel(
        shipped=SHIPPED + 5 * DAY,
        events=(("IN_TRANSIT", SHIPPED + 6 * DAY),),
        lines=(SHIRT,),
        number=2,
    )
    o = order(mugs, shirts)
    now = SHIPPED + 15 * DAY  # the shirts have not moved for 9 days
    lost = eligibility_problems(o, store(), IssueType.LOST, now, [SHIRT])
    assert lost == []
    lost_mug = eligibility_problems(o, store(), IssueType.LOST, now, [MUG])
    assert lost_mug and lost_mug[0].startswith("Stoneware Mug: Tracking shows this parcel")
    stolen_shirt = eligibility_problems(o, store(), IssueType.STOLEN, now, [SHIRT])
    assert stolen_shirt and stolen_shirt[0].startswith("Linen Shirt: A stolen parcel can be")
    assert eligibility_problems(o, store(), IssueType.STOLEN, now, [MUG]) == []
    assert order_tracking(o, store(), now, [MUG]).state is TrackingState.DELIVERED
    assert order_tracking(o, store(), now).state is TrackingState.NO_MOVEMENT


def test_a_cancelled_fulfillment_is_no_parcel() -> None:
    o = order(parcel(status="CANCELLED"))
    assert order_tracking(o, store(), SHIPPED + DAY).state is TrackingState.UNFULFILLED


def test_a_cancelled_order_cannot_be_claimed() -> None:
    assert "cancelled" in problems(order(parcel(), cancelled=True), None, SHIPPED + DAY)[0]


def test_days_since_delivery_and_the_window_end() -> None:
    delivered = SHIPPED + 3 * DAY
    o = order(parcel(events=(("DELIVERED", delivered),)))
    tracking = order_tracking(o, store(), delivered + 4 * DAY + timedelta(hours=5))
    assert days_since_delivery(tracking, delivered + 4 * DAY + timedelta(hours=5)) == 4
    assert claim_window_end(o, store()) == delivered + 30 * DAY
    moving = ParcelTracking(TrackingState.IN_TRANSIT, SHIPPED, None, SHIPPED, None)
    assert days_since_delivery(moving, SHIPPED + DAY) is None
    assert claim_window_end(order(), store()) == ORDERED + 30 * DAY
    assert replace(tracking, state=TrackingState.DELIVERED).delivered_at == delivered
