"""A shopper corrects the delivery address of a filed request from its status page, with the
same rules as the request form, until a resolution is under way."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from portal.reorders.models import ReorderRequest, RequestEvent
from portal.support.models import Resolution, ResolutionStatus
from tests.helpers.environment import PortalEnvironment, database
from tests.helpers.shopper_flow import ShopperFlow, csrf_of

NEW_ADDRESS = {
    "form": "address",
    "first_name": "Jane",
    "last_name": "Doe",
    "address1": "24 Sussex Dr",
    "city": "Ottawa",
    "province_code": "ON",
    "zip": "K1A 0B1",
    "country_code": "CA",
}


@pytest.fixture
def status_page(env: PortalEnvironment, shopper: ShopperFlow) -> httpx.Response:
    order = env.shop.order()
    form = shopper.verify(order.name, "jane@example.com")
    review = shopper.file(form, issue="Lost", quantities={shopper.quantity_fields(form)[0]: 1})
    page = shopper.submit(review)
    assert page.status_code == 200 and "/s/" in page.url.path
    return page


def stored(env: PortalEnvironment) -> tuple[dict[str, str], list[str]]:
    with database(env) as db:
        reorder = db.scalars(select(ReorderRequest)).one()
        kinds = list(db.scalars(select(RequestEvent.kind).order_by(RequestEvent.id)))
        return dict(reorder.shipping_address or {}), kinds


def change(shopper: ShopperFlow, page: httpx.Response, **changes: str) -> httpx.Response:
    data = {"csrf_token": csrf_of(page), **NEW_ADDRESS, **changes}
    return shopper.client.post(page.url.path, data=data)


def test_the_shopper_changes_the_address_and_agents_see_it_in_the_timeline(
    env: PortalEnvironment, shopper: ShopperFlow, status_page: httpx.Response
) -> None:
    assert "Change the delivery address" in status_page.text
    changed = change(shopper, status_page, zip="k1a0b1")
    assert changed.status_code == 200 and "your new delivery address is saved" in changed.text
    assert "You changed the delivery address." in changed.text
    assert "Ottawa ON K1A0B1<br>Canada" in changed.text
    address, kinds = stored(env)
    assert address["country_code"] == "CA" and address["province_code"] == "ON"
    assert kinds == ["submitted", "address_changed"]
    with database(env) as db:
        event = db.scalars(select(RequestEvent).where(RequestEvent.kind == "address_changed")).one()
        assert event.actor == "shopper" and event.public
        assert event.message.startswith("The shopper changed the delivery address to: Jane Doe")
        assert event.data["before"]["city"] == "Springfield"
        assert event.data["after"]["city"] == "Ottawa"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"country_code": "XA"}, "country_code", "Choose a country from the list."),
        ({"country_code": "US", "zip": "K1A 0B1"}, "zip", "This is not a postal code of United"),
        ({"province_code": "IL"}, "province_code", "Choose a state or province of Canada."),
        ({"city": ""}, "city", "This is needed to ship your reorder."),
    ],
)
def test_a_bad_address_is_refused_beside_its_field_and_nothing_changes(
    env: PortalEnvironment,
    shopper: ShopperFlow,
    status_page: httpx.Response,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    refused = change(shopper, status_page, **changes)
    assert refused.status_code == 400
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', refused.text)
    assert error and error.group(1).startswith(message)
    address, kinds = stored(env)
    assert address["city"] == "Springfield" and kinds == ["submitted"]


def test_once_a_resolution_is_under_way_the_address_stays(
    env: PortalEnvironment, shopper: ShopperFlow, status_page: httpx.Response
) -> None:
    with database(env) as db:
        reorder = db.scalars(select(ReorderRequest)).one()
        db.add(
            Resolution(
                request_id=reorder.id,
                store_id=reorder.store_id,
                kind="primary_reorder",
                status=ResolutionStatus.PENDING,
                currency="USD",
                deducted=True,
                agent_email="agent@example.com",
            )
        )
        db.commit()
    page = shopper.client.get(status_page.url.path)
    assert "Change the delivery address" not in page.text
    refused = change(shopper, status_page)
    assert refused.status_code == 409 and "can no longer be changed" in refused.text
    address, kinds = stored(env)
    assert address["city"] == "Springfield" and kinds == ["submitted"]
