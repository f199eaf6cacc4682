"""A reorder's delivery address over HTTP: what Shopify and a carrier would refuse is refused
beside its field, nothing is kept, and the review shows the country by its name."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from portal.db import sync_url
from portal.shopper.models import StoredDraft
from tests.helpers.environment import PortalEnvironment
from tests.helpers.shopper_flow import ShopperFlow


def drafts_kept(env: PortalEnvironment) -> int:
    engine = create_engine(sync_url(env.settings.database_url))
    try:
        with Session(engine) as db:
            return int(db.scalar(select(func.count()).select_from(StoredDraft)) or 0)
    finally:
        engine.dispose()


def file_with(env: PortalEnvironment, shopper: ShopperFlow, **address: str) -> httpx.Response:
    order = env.shop.order()
    form = shopper.verify(order.name, "jane@example.com")
    line = shopper.quantity_fields(form)[0]
    return shopper.file(form, issue="Lost", quantities={line: 1}, **address)


def error_beside(page: httpx.Response, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page.text)
    assert found, f"no error beside {field}"
    return found.group(1).strip()


@pytest.mark.parametrize(
    ("address", "field", "message"),
    [
        ({"country_code": "XA"}, "country_code", "Choose a country from the list."),
        ({"country_code": "ZZ"}, "country_code", "Choose a country from the list."),
        ({"zip": "not a zip"}, "zip", "This is not a postal code of United States"),
        ({"zip": "6270"}, "zip", "This is not a postal code of United States"),
        ({"zip": ""}, "zip", "Enter the postal code."),
        ({"province_code": "ZZ"}, "province_code", "Choose a state or province of United States."),
        ({"province_code": "ON"}, "province_code", "Choose a state or province of United States."),
        ({"province_code": ""}, "province_code", "Choose the state or province."),
        (
            {"country_code": "CA", "province_code": "IL", "zip": "K1A 0B1"},
            "province_code",
            "Choose a state or province of Canada.",
        ),
        ({"country_code": "GB", "zip": "62704"}, "zip", "This is not a postal code of United"),
        (
            {"country_code": "IN", "province_code": "Maharashtra", "zip": "400001"},
            "province_code",
            "Use the short code of the state or province",
        ),
        (
            {"country_code": "IN", "province_code": "IL", "province_for": "US", "zip": "400001"},
            "province_code",
            "Choose the state or province again for India.",
        ),
    ],
)
def test_an_address_shopify_or_a_carrier_would_refuse_is_refused_beside_its_field(
    env: PortalEnvironment,
    shopper: ShopperFlow,
    address: dict[str, str],
    field: str,
    message: str,
) -> None:
    answer = file_with(env, shopper, **address)
    assert answer.status_code == 400
    assert error_beside(answer, field).startswith(message)
    assert "/review/" not in str(answer.url)
    assert drafts_kept(env) == 0


def test_the_review_shows_the_country_by_name_and_the_province_chosen(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    review = file_with(
        env,
        shopper,
        country_code="CA",
        province_code="ON",
        zip="k1a 0b1",
        city="Ottawa",
        address1="24 Sussex Dr",
    )
    assert review.status_code == 200 and "/review/" in str(review.url)
    assert "Ottawa ON K1A 0B1<br>Canada" in review.text
    assert ">CA<" not in review.text


def test_the_country_list_offers_no_pseudo_locales_and_provinces_follow_the_country(
    env: PortalEnvironment, shopper: ShopperFlow
) -> None:
    order = env.shop.order()
    form = shopper.verify(order.name, "jane@example.com")
    assert (
        '<option selected value="US">United States<' in form.text and 'value="XA"' not in form.text
    )
    assert "Pseudo" not in form.text and 'value="ZZ"' not in form.text
    assert '<option selected value="IL">Illinois</option>' in form.text
    canada = shopper.get("/request", params={"country_code": "CA"}, headers={"HX-Request": "true"})
    assert canada.status_code == 200
    assert '<option value="ON">Ontario</option>' in canada.text and "Illinois" not in canada.text
    germany = shopper.get("/request", params={"country_code": "DE"})
    assert 'name="province_code"' not in germany.text
