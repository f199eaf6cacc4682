"""The address rules on their own: which countries, provinces and postal codes a reorder may be
shipped to, checked against Shopify's schema and the main carriers' formats."""

from __future__ import annotations

import re

import pytest

from portal.reorders import addresses
from tests.helpers.factories import address_form
from tests.helpers.shopify_schema import SDL_2025_04


def country_enum() -> set[str]:
    if not SDL_2025_04.exists():
        pytest.skip(f"{SDL_2025_04} is not there")
    text = SDL_2025_04.read_text(encoding="utf-8")
    block = re.search(r"^enum CountryCode \{(.*?)^\}", text, re.S | re.M)
    assert block
    return set(re.findall(r"^\s+([A-Z]{2})\s*$", block.group(1), re.M))


def test_the_countries_are_shopifys_less_the_unknown_region() -> None:
    assert country_enum() - {"ZZ"} == addresses.SHOPIFY_COUNTRY_CODES
    offered = {code for code, _ in addresses.country_choices()}
    assert {"US", "CA", "GB", "JP", "XK"} <= offered
    assert not offered & {"XA", "XB", "EU", "EZ", "QO", "UN", "ZZ"}
    assert dict(addresses.country_choices())["DE"] == "Germany"
    assert dict(addresses.country_choices("de"))["DE"] == "Deutschland"


def check(**changes: str) -> dict[str, str]:
    return addresses.problems(addresses.normalise(address_form(**changes)))


def test_a_good_address_has_no_problems() -> None:
    assert check() == {}


@pytest.mark.parametrize(
    ("country", "province", "good", "bad"),
    [
        ("US", "IL", "62704-1234", "6270"),
        ("CA", "ON", "K1A 0B1", "12345"),
        ("GB", "", "SW1A 1AA", "SW1A"),
        ("AU", "NSW", "2000", "20000"),
        ("DE", "", "10115", "1011"),
        ("FR", "", "75001", "7500A"),
        ("NL", "", "1012 AB", "1012"),
        ("ES", "M", "28013", "2801"),
        ("IT", "RM", "00184", "0018"),
        ("JP", "JP-13", "100-0001", "1000"),
    ],
)
def test_postal_codes_follow_each_countrys_shape(
    country: str, province: str, good: str, bad: str
) -> None:
    assert check(country_code=country, province_code=province, zip=good) == {}
    problems = check(country_code=country, province_code=province, zip=bad)
    assert list(problems) == ["zip"] and "is not a postal code of" in problems["zip"]


def test_a_postal_code_is_required_where_the_country_uses_them_and_dropped_where_not() -> None:
    assert check(zip="") == {"zip": "Enter the postal code."}
    hong_kong = addresses.normalise(address_form(country_code="HK", province_code="KL", zip="999"))
    assert hong_kong["zip"] == "" and addresses.problems(hong_kong) == {}


def test_provinces_are_shopify_zone_codes() -> None:
    us = {p.code for p in addresses.provinces("US")}
    assert {"IL", "CA", "DC", "PR", "AA"} <= us and "ZZ" not in us
    assert "JBT" not in {p.code for p in addresses.provinces("AU")}
    tokyo = next(p for p in addresses.provinces("JP") if p.code == "JP-13")
    assert tokyo.name == "Tokyo"
    assert addresses.provinces("DE") == () and addresses.provinces("IN") == ()
    mexico = {p.code: p.name for p in addresses.provinces("MX")}
    assert len(mexico) == 32 and mexico["Q ROO"] == "Quintana Roo" and mexico["DF"]
    assert "ROO" not in mexico  # ISO's code, not Shopify's
    assert check(province_code="ZZ") == {
        "province_code": "Choose a state or province of United States."
    }
    assert check(province_code="ON") == {
        "province_code": "Choose a state or province of United States."
    }
    assert check(province_code="") == {"province_code": "Choose the state or province."}


def test_pseudo_locales_and_regions_are_refused() -> None:
    for code in ("XA", "XB", "EU", "EZ", "QO", "UN", "ZZ", "us1"):
        assert check(country_code=code) == {"country_code": "Choose a country from the list."}


def test_the_address_reads_with_the_countrys_name() -> None:
    lines = addresses.describe(address_form())
    assert lines == ["Jane Doe", "1 Main St", "Springfield IL 62704", "United States"]


def test_where_no_list_of_shopify_codes_is_kept_the_code_is_checked_for_its_shape() -> None:
    india = {"country_code": "IN", "zip": "400001"}
    assert addresses.province_as_code("IN") and not addresses.province_as_code("DE")
    assert check(**india, province_code="MH") == {}
    assert list(check(**india, province_code="Maharashtra")) == ["province_code"]
    assert check(**india, province_code="") == {
        "province_code": "Enter the state or province code."
    }
    germany = addresses.normalise(address_form(country_code="DE", province_code="BY", zip="10115"))
    assert germany["province_code"] == ""
