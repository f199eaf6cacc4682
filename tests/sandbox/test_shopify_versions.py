"""The Admin API version calendar: the version that served each answer is named in
``X-Shopify-API-Version``; a retired version falls forward to the oldest supported one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from sandbox.shopify import ShopifyWorld, create_shopify_sandbox
from sandbox.shopify.versions import ApiVersions
from tests.helpers.servers import serve
from tests.sandbox.shopify_helpers import DOMAIN, TOKEN, graphql_path, seeded_world

REFUND_IDEMPOTENT = """
mutation { refundCreate(input: {orderId: "gid://shopify/Order/1"}) @idempotent(key: "k") {
  userErrors { message } } }
"""


@pytest.fixture
def sandbox() -> Iterator[tuple[ShopifyWorld, httpx.Client]]:
    world, _ = seeded_world()  # 2026-11-20: 2026-01 to 2026-10 are supported
    with (
        serve(create_shopify_sandbox(world)) as base_url,
        httpx.Client(base_url=base_url, timeout=5) as client,
    ):
        yield world, client


def post(
    client: httpx.Client, version: str, query: str = "{ shop { name } }", token: str = TOKEN
) -> httpx.Response:
    headers = {"X-Shopify-Access-Token": token}
    return client.post(graphql_path(DOMAIN, version), json={"query": query}, headers=headers)


@pytest.mark.parametrize("version", ["2026-01", "2026-04", "2026-07", "2026-10"])
def test_a_supported_version_serves_itself(
    sandbox: tuple[ShopifyWorld, httpx.Client], version: str
) -> None:
    _, client = sandbox
    answer = post(client, version)
    assert answer.status_code == 200
    assert answer.headers["X-Shopify-API-Version"] == version


@pytest.mark.parametrize("version", ["2019-04", "2025-04", "2025-10"])
def test_a_retired_version_is_served_as_the_oldest_supported(
    sandbox: tuple[ShopifyWorld, httpx.Client], version: str
) -> None:
    _, client = sandbox
    answer = post(client, version, REFUND_IDEMPOTENT)
    assert answer.headers["X-Shopify-API-Version"] == "2026-01"
    assert "errors" not in answer.json()  # @idempotent exists: the schema is 2026-01's


def test_an_unauthorised_answer_names_its_version_too(
    sandbox: tuple[ShopifyWorld, httpx.Client],
) -> None:
    _, client = sandbox
    answer = post(client, "2025-04", token="wrong")
    assert answer.status_code == 401
    assert answer.headers["X-Shopify-API-Version"] == "2026-01"


@pytest.mark.parametrize("version", ["2027-01", "2026-02", "2019-01", "unstable", "2026-1"])
def test_a_version_never_released_is_not_found(
    sandbox: tuple[ShopifyWorld, httpx.Client], version: str
) -> None:
    _, client = sandbox
    assert post(client, version).status_code == 404


def test_the_calendar_follows_the_world_clock() -> None:
    versions = ApiVersions()
    at = datetime(2026, 4, 1, 16, 59, tzinfo=UTC)  # 2026-04 ships at 17:00 UTC
    assert versions.supported(at) == ["2025-04", "2025-07", "2025-10", "2026-01"]
    assert versions.served("2026-04", at) is None
    later = datetime(2026, 4, 1, 17, 0, tzinfo=UTC)
    assert versions.supported(later) == ["2025-07", "2025-10", "2026-01", "2026-04"]
    assert versions.served("2025-04", later) == "2025-07"
    assert versions.served("2025-07", later) == "2025-07"
