"""One order, several problems: a shopper who comes back to an order with an open request files
another for what is not yet claimed, or adds to the open one while nobody has started on it;
nothing they entered is dropped without a word."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from portal.reorders.models import ReorderRequest
from sandbox.shopify.state import Order
from tests.helpers.environment import PortalEnvironment, database
from tests.helpers.shopper_flow import ShopperFlow


def requests_filed(env: PortalEnvironment) -> list[tuple[str, str, dict[str, int], int]]:
    """(issue, resolution, {item title: quantity}, timeline length) per request, oldest first."""
    with database(env) as db:
        rows = db.scalars(
            select(ReorderRequest)
            .options(selectinload(ReorderRequest.items), selectinload(ReorderRequest.events))
            .order_by(ReorderRequest.id)
        )
        return [
            (r.issue_type, r.resolution, {i.title: i.quantity for i in r.items}, len(r.events))
            for r in rows
        ]


def qty(line_gid: str) -> str:
    return "qty_" + line_gid.rsplit("/", 1)[-1]


@pytest.fixture
def order(env: PortalEnvironment) -> Order:
    return env.shop.order(lines=[(env.shop.mug, 3), (env.shop.shirt, 1)])


@pytest.fixture
def first(env: PortalEnvironment, shopper: ShopperFlow, order: Order) -> str:
    """A request for 1 mug, Lost, reorder; the shopper then verifies the order again."""
    form = shopper.verify(order.name, "jane@example.com")
    page = shopper.submit(shopper.file(form, issue="Lost", quantities={mug(order): 1}))
    found = re.search(r"RR-\w{6}", page.text)
    assert found
    return found.group(0)


def mug(order: Order) -> str:
    return qty(order.line_items[0].gid)


def shirt(order: Order) -> str:
    return qty(order.line_items[1].gid)


def test_a_second_request_takes_the_items_not_yet_claimed(
    env: PortalEnvironment, shopper: ShopperFlow, order: Order, first: str
) -> None:
    form = shopper.get("/request")
    assert form.status_code == 200
    assert "You already have a request for this order" in form.text and first in form.text
    assert "up to 2" in form.text
    review = shopper.file(
        form, issue="Lost", resolution="refund", quantities={mug(order): 2, shirt(order): 1}
    )
    assert review.status_code == 200 and "Check your request" in review.text
    assert "2 \u00d7 Stoneware Mug" in review.text
    status = shopper.submit(review)
    assert "Request received" in status.text and first not in status.text
    assert requests_filed(env) == [
        ("Lost", "reorder", {"Stoneware Mug": 1}, 1),
        ("Lost", "refund", {"Stoneware Mug": 2, "Linen Shirt": 1}, 1),
    ]
    assert "is already covered" in shopper.get("/request").text


def test_items_are_added_to_the_open_request_nobody_has_started_on(
    env: PortalEnvironment, shopper: ShopperFlow, order: Order, first: str
) -> None:
    form = shopper.get("/request")
    assert f"Yes: add it to request {first}" in form.text
    review = shopper.file(
        form, issue="Lost", quantities={mug(order): 1, shirt(order): 1}, add_to=first
    )
    assert f"These items will be added to your request {first}." in review.text
    status = shopper.submit(review)
    assert "your items were added to this request" in status.text and first in status.text
    assert re.search(
        r"You added items: 1 \u00d7 Stoneware Mug[^,]*, 1 \u00d7 Linen Shirt", status.text
    )
    assert requests_filed(env) == [
        ("Lost", "reorder", {"Stoneware Mug": 2, "Linen Shirt": 1}, 2),
    ]
    with database(env) as db:
        total = db.scalars(select(ReorderRequest.items_total)).one()
    mug_price = order.line_items[0].unit_price
    shirt_price = order.line_items[1].unit_price
    assert total == 2 * mug_price + shirt_price
    again = shopper.submit(review)  # the same request; its link signed a moment later
    assert again.url.path.split(".")[0] == status.url.path.split(".")[0]
    assert again.url.query == b"added=1"
    assert requests_filed(env)[0][2] == {"Stoneware Mug": 2, "Linen Shirt": 1}


def test_items_for_another_wish_are_refused_with_the_choices_kept(
    env: PortalEnvironment, shopper: ShopperFlow, order: Order, first: str
) -> None:
    answer = shopper.file(
        shopper.get("/request"),
        issue="Lost",
        resolution="refund",
        quantities={mug(order): 2, shirt(order): 1},
        add_to=first,
    )
    assert answer.status_code == 400
    assert f"Request {first} is for another problem or another wish" in answer.text
    assert re.search(rf'name="{mug(order)}"[^>]*value="2"', answer.text)
    assert re.search(r'checked[^>]*value="refund"|value="refund"[^>]*checked', answer.text)
    assert len(requests_filed(env)) == 1


def test_once_the_team_has_started_nothing_is_added_and_the_shopper_is_told(
    env: PortalEnvironment, shopper: ShopperFlow, order: Order, first: str
) -> None:
    with database(env) as db:
        db.execute(update(ReorderRequest).values(status="in_review"))
        db.commit()
    form = shopper.get("/request")
    assert "add it to request" not in form.text
    answer = shopper.file(form, issue="Lost", quantities={mug(order): 1}, add_to=first)
    assert answer.status_code == 400
    assert f"Our team has started on request {first}" in answer.text
    assert requests_filed(env) == [("Lost", "reorder", {"Stoneware Mug": 1}, 1)]


def test_more_than_is_left_is_refused_with_the_choices_kept(
    env: PortalEnvironment, shopper: ShopperFlow, order: Order, first: str
) -> None:
    answer = shopper.file(
        shopper.get("/request"),
        issue="Lost",
        resolution="refund",
        quantities={mug(order): 3, shirt(order): 1},
    )
    assert answer.status_code == 400 and "Choose between 0 and 2" in answer.text
    assert re.search(rf'name="{shirt(order)}"[^>]*value="1"', answer.text)
    assert len(requests_filed(env)) == 1
