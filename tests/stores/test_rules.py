"""The checks of store settings that the settings page and ``portal stores`` share."""

from __future__ import annotations

import pytest

from portal.errors import StoreRefused
from portal.stores import rules


@pytest.mark.parametrize(
    ("check", "value", "cleaned"),
    [
        (rules.color, " #AbCdEf ", "#abcdef"),
        (rules.email, "Help@Example.com", "Help@example.com"),
        (rules.phone, " +1 (555) 010-0100 ", "+1 (555) 010-0100"),
        (rules.phone, "", None),
        (rules.corso_client_id, "client_123", "client_123"),
        (rules.corso_client_id, "  ", None),
        (rules.issue_type_key, "lost", "LOST"),
        (rules.issue_type_key, "Wrong_Item", "WRONG_ITEM"),
        (rules.issue_type_key, "missing-item", "MISSING_ITEM"),
        (rules.shop_domain, " North-Wind.myshopify.com ", "north-wind.myshopify.com"),
        (rules.slug, "north-wind", "north-wind"),
        (rules.api_version, "2025-04", "2025-04"),
        (rules.access_token, "shpat_0123456789abcdef", "shpat_0123456789abcdef"),
        (rules.product_id, "gid://shopify/Product/8001", "gid://shopify/Product/8001"),
    ],
)
def test_good_values_come_back_cleaned(check: object, value: str, cleaned: object) -> None:
    assert check(value) == cleaned  # type: ignore[operator]


@pytest.mark.parametrize(
    ("check", "value", "field"),
    [
        (rules.color, "red", "brand_color"),
        (rules.color, "#abc", "brand_color"),
        (rules.color, "#abcdef;}", "brand_color"),
        (rules.email, "", "support_email"),
        (rules.email, "a" * 250 + "@x.example", "support_email"),
        (rules.email, "no at sign", "support_email"),
        (rules.phone, "call me", "support_phone"),
        (rules.phone, "12", "support_phone"),
        (rules.phone, "1" * 40, "support_phone"),
        (rules.corso_client_id, "has space", "corso_client_id"),
        (rules.corso_client_id, "é", "corso_client_id"),
        (rules.issue_type_key, "Flooded", "claim_windows"),
        (rules.shop_domain, "example.com", "shop"),
        (rules.shop_domain, "x.myshopify.com.evil.example", "shop"),
        (rules.slug, "Has Caps", "slug"),
        (rules.slug, "support", "slug"),
        (rules.slug, "-dash", "slug"),
        (rules.api_version, "2025-05", "api_version"),
        (rules.access_token, "token", "token"),
        (rules.product_id, "gid://shopify/ProductVariant/1", "product_id"),
        (rules.product_id, "8001", "product_id"),
    ],
)
def test_bad_values_are_refused_naming_the_field(check: object, value: str, field: str) -> None:
    with pytest.raises(StoreRefused) as refused:
        check(value)  # type: ignore[operator]
    assert refused.value.field == field and refused.value.message


@pytest.mark.parametrize("days", [0, -1, 366, 10**9])
def test_claim_windows_are_one_day_to_a_year(days: int) -> None:
    assert rules.claim_days(1) == 1 and rules.claim_days(365) == 365
    with pytest.raises(StoreRefused):
        rules.claim_days(days)
    with pytest.raises(StoreRefused):
        rules.claim_windows({"LOST": days})


def test_claim_window_overrides_are_keyed_by_issue_type_name() -> None:
    assert rules.claim_windows({"lost": 45, "Damaged": 10}) == {"LOST": 45, "DAMAGED": 10}


@pytest.mark.parametrize(("days", "ok"), [(0, False), (1, True), (365, True), (366, False)])
def test_lost_quiet_days_are_one_day_to_a_year(days: int, ok: bool) -> None:
    if ok:
        assert rules.lost_after_quiet_days(days) == days
    else:
        with pytest.raises(StoreRefused, match="without a tracking update") as refused:
            rules.lost_after_quiet_days(days)
        assert refused.value.field == "lost_after_quiet_days"


@pytest.mark.parametrize(("days", "ok"), [(-1, False), (0, True), (365, True), (366, False)])
def test_days_past_the_estimate_may_be_none_to_a_year(days: int, ok: bool) -> None:
    if ok:
        assert rules.lost_after_estimate_days(days) == days
    else:
        with pytest.raises(StoreRefused, match="past the estimated delivery"):
            rules.lost_after_estimate_days(days)


def test_lost_must_be_able_to_open_before_its_window_closes() -> None:
    rules.lost_reachable(7, 8)
    with pytest.raises(StoreRefused, match="could never be reported") as refused:
        rules.lost_reachable(7, 7)
    assert refused.value.field == "lost_after_quiet_days"
