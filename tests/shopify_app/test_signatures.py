"""The install callback's HMAC, as Shopify documents it, and the shop domains accepted."""

from __future__ import annotations

import httpx
import pytest

from portal.errors import InstallRefused
from portal.integrations.shopify.oauth import ShopifyOAuth, query_signature, signed_message
from portal.shopify_app.install import normalise_shop

# The worked example of Shopify's authorization code grant documentation (secret "hush").
DOCUMENTED = [
    ("code", "0907a61c0c8d55e99db179b68161bc00"),
    ("hmac", "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"),
    ("shop", "some-shop.myshopify.com"),
    ("state", "0.6784241404160823"),
    ("timestamp", "1337178173"),
]


def oauth(secret: str = "hush") -> ShopifyOAuth:  # noqa: S107 - the documented example
    return ShopifyOAuth(httpx.AsyncClient(), client_id="app", client_secret=secret)


def test_the_documented_example_verifies() -> None:
    assert query_signature(DOCUMENTED, "hush") == DOCUMENTED[1][1]
    assert oauth().is_signed_by_shopify(DOCUMENTED)


@pytest.mark.parametrize(
    "pairs",
    [
        [(k, "1337178174" if k == "timestamp" else v) for k, v in DOCUMENTED],  # one value
        [(k, v) for k, v in DOCUMENTED if k != "hmac"],  # unsigned
        [*DOCUMENTED, ("hmac", DOCUMENTED[1][1])],  # two signatures
        [*DOCUMENTED, ("extra", "1")],  # a parameter added after signing
    ],
)
def test_any_change_to_the_signed_query_is_refused(pairs: list[tuple[str, str]]) -> None:
    assert not oauth().is_signed_by_shopify(pairs)


def test_another_secret_or_no_secret_refuses() -> None:
    assert not oauth("other").is_signed_by_shopify(DOCUMENTED)
    assert not oauth("").is_signed_by_shopify(DOCUMENTED)


def test_ampersands_and_percents_are_escaped_before_signing() -> None:
    assert signed_message([("a&b", "c%d&e"), ("hmac", "x")]) == "a%26b=c%25d%26e"


@pytest.mark.parametrize(
    ("raw", "shop"),
    [
        ("maple-and-moss.myshopify.com", "maple-and-moss.myshopify.com"),
        ("  Maple-And-Moss.myshopify.com/ ", "maple-and-moss.myshopify.com"),
        ("https://maple-and-moss.myshopify.com", "maple-and-moss.myshopify.com"),
        ("maple-and-moss", "maple-and-moss.myshopify.com"),
    ],
)
def test_shop_domains_are_normalised(raw: str, shop: str) -> None:
    assert normalise_shop(raw) == shop


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "evil.com",
        "maple.myshopify.com.evil.com",
        "maple.myshopify.com@evil.com",
        "-maple.myshopify.com",
        "a" * 101 + ".myshopify.com",
        "maple_moss.myshopify.com",
    ],
)
def test_other_domains_are_refused(raw: str) -> None:
    with pytest.raises(InstallRefused):
        normalise_shop(raw)
