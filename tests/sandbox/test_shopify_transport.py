"""The sandbox over real HTTP on loopback: routing, the access token, the cost extension and
every fault tests can switch on."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from sandbox.shopify import ShopifyWorld, create_shopify_sandbox
from sandbox.shopify.app import UNAUTHORISED
from sandbox.shopify.schema import SUPPORTED_VERSIONS
from tests.helpers.servers import serve
from tests.sandbox.shopify_helpers import (
    DOMAIN,
    OTHER_DOMAIN,
    TOKEN,
    Catalogue,
    graphql_path,
    seeded_world,
)

SHOP_QUERY = "{ shop { name myshopifyDomain } }"
CREATE_ORDER = """
mutation Create($order: OrderCreateOrderInput!) {
  orderCreate(order: $order) { order { id name } userErrors { field message code } }
}
"""


@pytest.fixture
def sandbox() -> Iterator[tuple[ShopifyWorld, Catalogue, httpx.Client]]:
    world, catalogue = seeded_world()
    with (
        serve(create_shopify_sandbox(world)) as base_url,
        httpx.Client(base_url=base_url, timeout=5) as client,
    ):
        yield world, catalogue, client


def post(
    client: httpx.Client,
    query: str = SHOP_QUERY,
    *,
    token: str | None = TOKEN,
    domain: str = DOMAIN,
    version: str = "2025-04",
    variables: dict[str, object] | None = None,
) -> httpx.Response:
    headers = {"X-Shopify-Access-Token": token} if token is not None else {}
    body = {"query": query, "variables": variables or {}}
    return client.post(graphql_path(domain, version), json=body, headers=headers)


def order_input(catalogue: Catalogue, source_identifier: str) -> dict[str, object]:
    return {
        "order": {
            "email": "jane@example.com",
            "sourceIdentifier": source_identifier,
            "lineItems": [{"variantId": catalogue.shirt.variants[0].gid, "quantity": 1}],
        }
    }


# --- routing and authentication ----------------------------------------------------------------


def test_a_good_token_reads_its_own_shop(
    sandbox: tuple[ShopifyWorld, Catalogue, httpx.Client],
) -> None:
    _, _, client = sandbox
    response = post(client)
    assert response.status_code == 200
    assert response.json()["data"]["shop"] == {"name": "Maple & Moss", "myshopifyDomain": DOMAIN}


@pytest.mark.parametrize("token", [None, "", "shpat_wrong"])
def test_a_missing_or_wrong_token_is_refused_like_shopify(
    sandbox: tuple[ShopifyWorld, Catalogue, httpx.Client], token: str | None
) -> None:
    _, _, client = sandbox
    response = post(client, token=token)
    assert response.status_code == 401
    assert response.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }
    assert response.json()["errors"] == UNAUTHORISED


def test_a_token_only_opens_its_own_shop(
    sandbox: tuple[ShopifyWorld, Catalogue, httpx.Client],
) -> None:
    _, _, client = sandbox
    assert post(client, domain=OTHER_DOMAIN, token=TOKEN).status_code == 401


def test_an_unknown_shop_is_not_found(
    sandbox: tuple[ShopifyWorld, Catalogue, httpx.Client],
) -> None:
    _, _, client = sandbox
    assert post(client, domain="nobody.myshopify.com").status_code == 404


@pytest.mark.parametrize("version", ["2019-01", "2025-02", "2099-01", "unstable", "latest"])
def test_a_never_released_api_version_is_not_found(
    sandbox: tuple[ShopifyWorld, Catalogue, httpx.Client], version: str
) -> None:
    _, _, client = sandbox
    assert post(client, version=version).status_code == 404


def test_every_supported_version_answers(
    sandbox: tuple[ShopifyWorld, Catalogue, httpx.Client],
) -> None:
    _, _, client = sandbox
    assert SUPPORTED_VERSIONS == ("2025-01", "2025-04", "2025-07", "2025-10", "2026-01", "2026-04")
    for version in SUPPORTED_VERSIONS:
        assert post(client, version=version).json()["data"]["shop"]["name"] == "Maple & Moss"


def test_a_body_without_a_query_is_a_bad_request(
    sandbox: tuple[ShopifyWorld, Catalogue, httpx.Client],
) -> None:
    _, _, client = sandbox
    headers = {"X-Shopify-Access-Token": TOKEN, "Content-Type": "application/json"}
    response = client.post(graphql_path(), content=b"{not json", headers=headers)
    assert response.status_code == 400
    assert response.json() == {"errors": {"query": "Required parameter missing or invalid"}}


# --- the cost extension ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [SHOP_QUERY, "{ shop { nonsense } }", "{ shop {", "{ orders { nodes { id } } }"],
    ids=["ok", "invalid field", "syntax error", "no page size"],
)
def test_every_graphql_answer_carries_the_cost(
    sandbox: tuple[ShopifyWorld, Catalogue, httpx.Client], query: str
) -> None:
    _, _, client = sandbox
    cost = post(client, query).json()["extensions"]["cost"]
    assert set(cost) == {"requestedQueryCost", "actualQueryCost", "throttleStatus"}
    assert set(cost["throttleStatus"]) == {"maximumAvailable", "currentlyAvailable", "restoreRate"}


def test_a_mutation_answer_carries_the_cost(
    sandbox: tuple[ShopifyWorld, Catalogue, httpx.Client],
) -> None:
    _, catalogue, client = sandbox
    payload = post(client, CREATE_ORDER, variables=order_input(catalogue, "r-cost")).json()
    assert payload["data"]["orderCreate"]["userErrors"] == []
    assert payload["extensions"]["cost"]["requestedQueryCost"] == 10
    assert payload["extensions"]["cost"]["actualQueryCost"] == 10


# --- faults ------------------------------------------------------------------------------------


def test_latency_delays_every_answer(
    sandbox: tuple[ShopifyWorld, Catalogue, httpx.Client],
) -> None:
    world, _, client = sandbox
    world.faults(DOMAIN).latency = 0.3
    started = time.monotonic()
    assert post(client).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_fail_next_answers_503_the_given_number_of_times(
    sandbox: tuple[ShopifyWorld, Catalogue, httpx.Client],
) -> None:
    world, _, client = sandbox
    world.faults(DOMAIN).fail_next(status=503, times=2)
    statuses = [post(client).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


def test_a_429_carries_retry_after(sandbox: tuple[ShopifyWorld, Catalogue, httpx.Client]) -> None:
    world, _, client = sandbox
    world.faults(DOMAIN).fail_next(status=429, times=1)
    response = post(client)
    assert response.status_code == 429
    assert float(response.headers["Retry-After"]) > 0
    assert "errors" in response.json()
    assert post(client).status_code == 200


def test_a_500_is_answered_once(sandbox: tuple[ShopifyWorld, Catalogue, httpx.Client]) -> None:
    world, _, client = sandbox
    world.faults(DOMAIN).fail_next(status=500)
    assert post(client).status_code == 500
    assert post(client).status_code == 200


def test_faults_belong_to_one_shop(sandbox: tuple[ShopifyWorld, Catalogue, httpx.Client]) -> None:
    world, _, client = sandbox
    world.faults(OTHER_DOMAIN).fail_next(status=503)
    assert post(client).status_code == 200


def test_a_failed_request_does_not_apply_its_mutation(
    sandbox: tuple[ShopifyWorld, Catalogue, httpx.Client],
) -> None:
    world, catalogue, client = sandbox
    world.faults(DOMAIN).fail_next(status=503)
    response = post(client, CREATE_ORDER, variables=order_input(catalogue, "r-503"))
    assert response.status_code == 503
    assert world.orders(DOMAIN) == []


def test_a_dropped_response_still_applies_the_mutation(
    sandbox: tuple[ShopifyWorld, Catalogue, httpx.Client],
) -> None:
    world, catalogue, client = sandbox
    world.faults(DOMAIN).drop_after_mutation(times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        post(client, CREATE_ORDER, variables=order_input(catalogue, "r-dropped"))
    created = world.orders(DOMAIN)
    assert [o.source_identifier for o in created] == ["r-dropped"]
    again = post(client, CREATE_ORDER, variables=order_input(catalogue, "r-after"))
    assert again.json()["data"]["orderCreate"]["order"]["name"] == "#1002"


def test_a_dropped_response_waits_for_a_mutation(
    sandbox: tuple[ShopifyWorld, Catalogue, httpx.Client],
) -> None:
    world, _, client = sandbox
    world.faults(DOMAIN).drop_after_mutation(times=1)
    assert post(client).status_code == 200
    assert world.faults(DOMAIN).pending_drops == 1


@pytest.mark.anyio
async def test_a_dropped_response_is_a_transport_error_without_sockets_too() -> None:
    world, catalogue = seeded_world()
    world.faults(DOMAIN).drop_after_mutation()
    transport = httpx.ASGITransport(app=create_shopify_sandbox(world))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(
                graphql_path(),
                headers={"X-Shopify-Access-Token": TOKEN},
                json={"query": CREATE_ORDER, "variables": order_input(catalogue, "r-asgi")},
            )
    assert [o.source_identifier for o in world.orders(DOMAIN)] == ["r-asgi"]
