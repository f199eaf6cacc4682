"""The shopper's page follows the carrier, over real HTTP: a parcel on its way is told in plain
words when it may be reported lost; once delivered, it may be reported stolen but not lost; a
parcel quiet for the store's days may be reported lost."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest
from starlette.datastructures import Secret

from sandbox.shopify.state import Order
from sandbox.webhooks import WebhookSender
from tests.billing.portal_helpers import WEBHOOK_SECRET
from tests.helpers.environment import SHOP, PortalEnvironment
from tests.helpers.shopper_flow import ShopperFlow

pytestmark = pytest.mark.settings(shopify_client_secret=Secret(WEBHOOK_SECRET))

FORM = "Review my request"


def qty_field(order: Order) -> str:
    return f"qty_{order.line_items[0].id}"


def scanned_order(env: PortalEnvironment, *, scanned_days_ago: float) -> Order:
    """A protected order shipped three days ago whose carrier last scanned it in transit."""
    order = env.shop.order(shipped_days_ago=3, created_days_ago=4)
    parcel = order.fulfillments[0]
    at = datetime.now(UTC) - timedelta(days=scanned_days_ago)
    env.shop.world.add_fulfillment_event(SHOP, order.id, parcel.id, "IN_TRANSIT", happened_at=at)
    return order


MONTHS = {
    "en": "January February March April May June July August September October November December",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
}
WRITTEN = {  # a day with its year, and without: "November 30, 2026", "30 novembre"
    "en": ("{month} {day}, {year}", "{month} {day}"),
    "fr": ("{day} {month} {year}", "{day} {month}"),
}


def written(moment: datetime, language: str = "en", *, year: bool = True) -> str:
    """A day (in UTC, the test store's zone) as a reader of ``language`` expects it."""
    month = MONTHS[language].split()[moment.month - 1]
    pattern = WRITTEN[language][0 if year else 1]
    return pattern.format(month=month, day=moment.day, year=moment.year)


def test_a_parcel_on_its_way_is_told_when_it_may_be_reported_lost(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = scanned_order(env, scanned_days_ago=1)
    scan = order.fulfillments[0].events[-1].happened_at
    page = shopper.verify(order.name, "jane@example.com")
    text = html.unescape(page.text)
    assert page.status_code == 200 and FORM not in text
    opens = written(scan + timedelta(days=7), year=False)
    assert (
        f"You can report a lost parcel from {opens}, when it has had no tracking update "
        "for 7 days." in text
    )
    assert "once the carrier shows the parcel delivered" in text
    assert "Your parcel: on its way." in text
    assert f"Last tracking update {written(scan)}." in text


LOST_FROM = {  # the reason, and the parcel line of the same page
    "en": ("You can report a lost parcel from {}, when", "Last tracking update {}."),
    "fr": ("Vous pourrez signaler un colis perdu à partir du {}, quand", "le {}."),
}
CODE_SUBJECT = {"en": "is your code", "fr": "est votre code"}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_reason_and_the_parcel_line_write_their_dates_alike(
    env: PortalEnvironment, shopper: ShopperFlow, language: str
) -> None:
    order = scanned_order(env, scanned_days_ago=1)
    scan = order.fulfillments[0].events[-1].happened_at
    shopper.client.headers["Accept-Language"] = language
    code_page = shopper.look_up(order.name, "jane@example.com")
    code = env.code_for("jane@example.com", CODE_SUBJECT[language])
    text = html.unescape(shopper.enter_code(code_page, code).text)
    reason, parcel_line = LOST_FROM[language]
    assert reason.format(written(scan + timedelta(days=7), language, year=False)) in text
    assert parcel_line.format(written(scan, language)) in text


def test_once_delivered_the_parcel_may_be_reported_stolen_and_not_lost(
    env: PortalEnvironment, shopper: ShopperFlow, sender: WebhookSender
) -> None:
    order = scanned_order(env, scanned_days_ago=1)
    page = shopper.verify(order.name, "jane@example.com")
    assert FORM not in page.text
    delivered = datetime.now(UTC) - timedelta(hours=2)
    parcel = order.fulfillments[0]
    env.shop.world.add_fulfillment_event(
        SHOP, order.id, parcel.id, "DELIVERED", happened_at=delivered
    )
    assert sender.wait_until_idle(timeout=10)  # orders/updated: the verified copy is stale

    form = shopper.get("/request")
    assert form.status_code == 200 and FORM in form.text
    notes = html.unescape(form.text.split('id="reason-notes"', 1)[1].split("</div>", 1)[0])
    assert "so it cannot be reported as lost" in notes and "stolen parcel" not in notes
    lost = shopper.file(form, issue="Lost", quantities={qty_field(order): 1})
    assert lost.status_code == 400
    assert (
        f"Tracking shows this parcel was delivered on {written(delivered)}, so it cannot be "
        "reported as lost" in html.unescape(lost.text)
    )
    stolen = shopper.file(shopper.get("/request"), issue="Stolen", quantities={qty_field(order): 1})
    assert stolen.status_code == 200 and "/review/" in str(stolen.url)


def test_a_parcel_quiet_for_seven_days_may_be_reported_lost(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = scanned_order(env, scanned_days_ago=1)
    env.shop.world.wind_back_parcel(SHOP, order.id, order.fulfillments[0].id, timedelta(days=7))
    form = shopper.verify(order.name, "jane@example.com")
    assert FORM in form.text
    review = shopper.file(form, issue="Lost", quantities={qty_field(order): 1})
    assert review.status_code == 200 and "/review/" in str(review.url)
    submitted = shopper.submit(review)
    assert submitted.status_code == 200 and "Request received" in submitted.text


def test_a_parcel_past_its_estimate_may_be_reported_lost_sooner(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order(shipped_days_ago=6, created_days_ago=7)
    parcel = order.fulfillments[0]
    now = datetime.now(UTC)
    env.shop.world.add_fulfillment_event(
        SHOP,
        order.id,
        parcel.id,
        "IN_TRANSIT",
        happened_at=now - timedelta(days=5),
        estimated_delivery_at=now - timedelta(days=4),  # three days past it a day ago
    )
    form = shopper.verify(order.name, "jane@example.com")
    review = shopper.file(form, issue="Lost", quantities={qty_field(order): 1})
    assert review.status_code == 200 and "/review/" in str(review.url)
