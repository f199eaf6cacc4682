"""20 shoppers filing at once on one store against Shopify's standard-plan bucket (1,000 points,
100 a second), through the production layout (``portal sandbox --plan standard``, one ``portal
serve``, one ``portal worker``): no error page, every one filed, and under 5% of the store's
Shopify queries answered THROTTLED (the sandbox's own count). ``benchmarks/shoppers.py`` runs
this case and the 200-shopper one and prints their figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.crowd import CASES, run_case

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]


def test_twenty_shoppers_at_once_file_without_error_pages_or_throttling(tmp_path: Path) -> None:
    result = run_case(
        CASES["one-store"], directory=tmp_path, database_url=f"sqlite:///{tmp_path / 'portal.db'}"
    )
    print(result.report())
    assert result.error_pages == 0, (result.errors, result.failures)
    assert result.filed == result.shoppers == 20, result.failed
    assert result.shopify_queries > 0
    assert result.throttled_share < 0.05, result.report()
