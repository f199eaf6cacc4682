"""CorsoClient against the sandbox Corso served on loopback: pages, tokens, rate limit, retries,
and stores kept apart by their own credentials."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from portal import metrics
from portal.errors import (
    CorsoAuthError,
    CorsoBadRequest,
    CorsoForbidden,
    CorsoResponseError,
    CorsoUnavailable,
)
from portal.integrations.corso.client import CorsoClient
from portal.integrations.corso.models import Claim, UnreadableClaim
from sandbox.corso import CorsoWorld, ManualClock, create_corso_sandbox
from sandbox.corso.demo import ClaimSourceLineItem, ClaimSourceOrder, build_demo_claims
from sandbox.corso.samples import bare_claim
from tests.helpers.servers import free_port, serve

pytestmark = pytest.mark.anyio

STORE = 1101
OTHER_STORE = 2202
CLIENT_ID, CLIENT_SECRET = "portal", "portal-secret"
HEAVY = "dana.frequent@example.com"
NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


class Sleeps:
    """Stands in for asyncio.sleep: records each wait and passes it on the shared clock."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sleeps(clock: ManualClock) -> Sleeps:
    return Sleeps(clock)


@pytest.fixture
def world(clock: ManualClock) -> CorsoWorld:
    world = CorsoWorld(clock=clock, token_ttl=3600, rate_limit=1000, rate_window=60)
    world.add_client(CLIENT_ID, CLIENT_SECRET, STORE)
    return world


@pytest.fixture
def base_url(world: CorsoWorld) -> Iterator[str]:
    with serve(create_corso_sandbox(world)) as url:
        yield url


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


@pytest.fixture
def connect(http: httpx.AsyncClient, base_url: str, clock: ManualClock, sleeps: Sleeps) -> Any:
    def connect(*, via: httpx.AsyncClient = http, **options: Any) -> CorsoClient:
        settings: dict[str, Any] = {
            "api_url": f"{base_url}/v1",
            "auth_url": f"{base_url}/oauth/token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "audience": "api.corso.com",
            "clock": clock,
            "sleep": sleeps,
        }
        return CorsoClient(via, **(settings | options))

    return connect


@pytest.fixture
def corso(connect: Any) -> CorsoClient:
    client: CorsoClient = connect()
    return client


def heavy_customer_claims(count: int) -> list[dict[str, Any]]:
    orders = [
        ClaimSourceOrder(
            corso_store_id=STORE,
            currency="USD",
            customer_email=email,
            customer_name="Dana Frequent",
            order_name=f"#{1040 + n}",
            source_order_id=str(820_000 + n),
            created_at=datetime(2025, 1, 1 + n, tzinfo=UTC),
            address_line1="8 Quarry Ln",
            city="Burlington",
            state_or_province_code="VT",
            postal_code="05401",
            country_code="US",
            line_items=(
                ClaimSourceLineItem(f"1660{n}", "701", "4401", "TEE-M", "Tee", 2, Decimal("24.00")),
            ),
        )
        for n, email in enumerate([HEAVY, HEAVY, "other@example.com", "third@example.com"])
    ]
    return build_demo_claims(
        orders, seed=11, now=NOW, heavy_customer_email=HEAVY, heavy_claim_count=count
    )


def claim_statuses(world: CorsoWorld) -> list[int]:
    return world.statuses("claims")


def token_requests(world: CorsoWorld) -> int:
    return len(world.requests("token"))


# --- pages


async def test_iterates_every_claim_of_a_customer_across_pages(
    corso: CorsoClient, world: CorsoWorld
) -> None:
    world.add_claims(heavy_customer_claims(130))
    expected = {c["externalId"] for c in world.claims_of_customer(STORE, HEAVY)}

    claims = [c async for c in corso.iter_claims(customer_email=HEAVY.upper())]

    external_ids = [c.external_id for c in claims if isinstance(c, Claim)]
    assert len(expected) == 130
    assert len(external_ids) == 130
    assert set(external_ids) == expected
    created = [c.created_on for c in claims if isinstance(c, Claim)]
    assert created == sorted(created, reverse=True)  # newest first, across page boundaries
    requests = world.requests("claims")
    assert len(requests) == 3
    assert "after" not in requests[0].params
    assert requests[1].params["after"] and requests[2].params["after"]
    assert all("storeId" not in r.params for r in requests)


async def test_iterates_in_ascending_order_with_small_pages(
    corso: CorsoClient, world: CorsoWorld
) -> None:
    for n in range(5):
        created = f"2025-02-0{n + 1}T00:00:00Z"
        world.add_claim(bare_claim(n + 1, store_id=STORE, customer_email=HEAVY, created_on=created))

    claims = [c.external_id async for c in corso.iter_claims(page_size=2, order="asc")]

    assert claims == ["1001-1", "1001-2", "1001-3", "1001-4", "1001-5"]
    assert len(world.requests("claims")) == 3


async def test_a_page_and_the_page_before_it(corso: CorsoClient, world: CorsoWorld) -> None:
    world.add_claims(heavy_customer_claims(12))
    first = await corso.list_claims(customer_email=HEAVY, page_size=5)
    second = await corso.list_claims(
        customer_email=HEAVY, page_size=5, after=first.page_info.end_cursor
    )

    before = await corso.list_claims(
        customer_email=HEAVY, page_size=5, before=second.page_info.start_cursor
    )

    assert before.claims == first.claims
    assert second.page_info.has_previous_page is True
    assert before.page_info.has_previous_page is False
    assert world.requests("claims")[-1].params["last"] == "5"


async def test_paging_both_ways_at_once_is_refused_before_sending(corso: CorsoClient) -> None:
    with pytest.raises(ValueError):
        await corso.list_claims(after="a", before="b")


# --- token


async def test_token_is_reused_then_refreshed_shortly_before_it_expires(
    corso: CorsoClient, world: CorsoWorld, clock: ManualClock
) -> None:
    await corso.list_claims()
    clock.advance(3500)
    await corso.list_claims()
    assert token_requests(world) == 1

    clock.advance(50)  # 3550 s: still valid at Corso, but within the last minute
    await corso.list_claims()

    assert token_requests(world) == 2
    assert claim_statuses(world) == [200, 200, 200]


async def test_concurrent_callers_share_one_token_request(
    corso: CorsoClient, world: CorsoWorld
) -> None:
    await asyncio.gather(*(corso.list_claims() for _ in range(5)))

    assert token_requests(world) == 1
    assert claim_statuses(world) == [200] * 5


async def test_a_refused_token_is_refreshed_once(corso: CorsoClient, world: CorsoWorld) -> None:
    await corso.list_claims()
    world.revoke_tokens()

    page = await corso.list_claims()

    assert page.claims == ()
    assert token_requests(world) == 2
    assert claim_statuses(world) == [200, 401, 200]


async def test_a_fresh_token_refused_again_is_an_auth_error(
    corso: CorsoClient, world: CorsoWorld
) -> None:
    world.token_ttl = 0  # every token is already expired when it arrives

    with pytest.raises(CorsoAuthError):
        await corso.list_claims()

    assert token_requests(world) == 2
    assert claim_statuses(world) == [401, 401]


async def test_refused_credentials_are_an_auth_error(connect: Any, world: CorsoWorld) -> None:
    corso: CorsoClient = connect(client_secret="guess")

    with pytest.raises(CorsoAuthError, match="Unauthorized"):
        await corso.list_claims()

    assert world.statuses("token") == [401]
    assert claim_statuses(world) == []


# --- rate limit


async def test_429_waits_as_long_as_retry_after_says(
    connect: Any, world: CorsoWorld, clock: ManualClock, sleeps: Sleeps
) -> None:
    world.rate_limit, world.rate_window = 1, 20
    other_worker: CorsoClient = connect(sleep=Sleeps(ManualClock()))  # same credentials
    await other_worker.list_claims()
    clock.advance(5)
    corso: CorsoClient = connect()

    page = await corso.list_claims()

    assert page.claims == ()
    assert sleeps.waits == [15.0]
    assert claim_statuses(world) == [200, 429, 200]


async def test_spent_window_is_waited_out_before_the_next_call(
    corso: CorsoClient, world: CorsoWorld, sleeps: Sleeps
) -> None:
    world.rate_limit, world.rate_window = 2, 30
    await corso.list_claims()
    await corso.list_claims()  # RateLimit-Remaining: 0, RateLimit-Reset: 30
    assert sleeps.waits == []

    await corso.list_claims()

    assert sleeps.waits == [30.0]
    assert claim_statuses(world) == [200, 200, 200]  # never refused


async def test_a_wait_longer_than_max_wait_is_unavailable(
    connect: Any, world: CorsoWorld, sleeps: Sleeps
) -> None:
    world.rate_limit, world.rate_window = 1, 120
    corso: CorsoClient = connect(max_wait=30.0)
    await corso.list_claims()

    with pytest.raises(CorsoUnavailable, match="120 s wait"):
        await corso.list_claims()

    assert sleeps.waits == []
    assert claim_statuses(world) == [200]


# --- retries


async def test_server_errors_are_retried_with_growing_backoff(
    corso: CorsoClient, world: CorsoWorld, sleeps: Sleeps
) -> None:
    await corso.list_claims()
    world.faults.fail_next(503, times=2)

    page = await corso.list_claims()

    assert page.page_info.has_next_page is False
    assert claim_statuses(world) == [200, 503, 503, 200]
    first, second = sleeps.waits
    assert 0.25 <= first <= 0.5
    assert 0.5 <= second <= 1.0


async def test_exhausted_retries_are_unavailable(
    connect: Any, world: CorsoWorld, sleeps: Sleeps
) -> None:
    corso: CorsoClient = connect(max_retries=2)
    await corso.list_claims()
    world.faults.fail_next(500, times=5)

    with pytest.raises(CorsoUnavailable, match="3 attempts") as raised:
        await corso.list_claims()

    assert raised.value.retryable is True
    assert claim_statuses(world) == [200, 500, 500, 500]
    assert len(sleeps.waits) == 2


async def test_connection_failures_are_retried_then_unavailable(
    connect: Any, sleeps: Sleeps
) -> None:
    nobody_listens = f"http://127.0.0.1:{free_port()}/v1"
    corso: CorsoClient = connect(api_url=nobody_listens, max_retries=3)

    with pytest.raises(CorsoUnavailable, match="ConnectError"):
        await corso.list_claims()

    assert len(sleeps.waits) == 3


async def test_slow_answers_time_out_and_are_retried(
    connect: Any, world: CorsoWorld, sleeps: Sleeps
) -> None:
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0, read=0.2)) as impatient:
        corso: CorsoClient = connect(via=impatient, max_retries=1)
        await corso.list_claims()  # token fetched before Corso slows down
        world.faults.latency = 1.0

        with pytest.raises(CorsoUnavailable, match=r"2 attempts.*ReadTimeout"):
            await corso.list_claims()

    assert len(sleeps.waits) == 1


# --- refusals and nonsense


async def test_a_cursor_corso_never_issued_is_a_bad_request(corso: CorsoClient) -> None:
    with pytest.raises(CorsoBadRequest, match="after"):
        await corso.list_claims(after="bm90LWEtY3Vyc29y")


async def test_cut_off_json_is_a_response_error(corso: CorsoClient, world: CorsoWorld) -> None:
    await corso.list_claims()
    world.faults.malform_next()

    with pytest.raises(CorsoResponseError, match="not JSON"):
        await corso.list_claims()

    assert claim_statuses(world) == [200, 200]  # answered, so not retried


async def test_a_claim_the_portal_cannot_read_is_set_aside_and_the_rest_read(
    corso: CorsoClient, world: CorsoWorld
) -> None:
    for n in (1, 2, 3):
        world.add_claim(bare_claim(n, store_id=STORE, customer_email=HEAVY))
    broken = bare_claim(4, store_id=STORE, customer_email=HEAVY)
    del broken["claimType"]
    world.add_claim(broken)

    found = [c async for c in corso.iter_claims(customer_email=HEAVY, page_size=2)]

    assert sorted(c.external_id for c in found if isinstance(c, Claim)) == [
        "1001-1",
        "1001-2",
        "1001-3",
    ]
    [unreadable] = [c for c in found if isinstance(c, UnreadableClaim)]
    assert unreadable.external_id == "1001-4" and "claimType" in unreadable.problem


# --- stores: each with its own credentials, none named in a request


def add_client_of_another_store(world: CorsoWorld) -> None:
    world.add_client("other", "other-secret", OTHER_STORE)


async def test_sends_no_store_parameter_and_reads_the_authenticated_store(
    corso: CorsoClient, world: CorsoWorld
) -> None:
    world.add_claim(bare_claim(1, store_id=STORE, customer_email=HEAVY))
    world.add_claim(bare_claim(2, store_id=OTHER_STORE, customer_email=HEAVY))

    page = await corso.list_claims(customer_email=HEAVY)

    assert [c.external_id for c in page.claims] == ["1001-1"]
    [request] = world.requests("claims")
    assert request.params == {"orderBy": "desc", "customerEmail": HEAVY, "first": "50"}


async def test_two_stores_with_their_own_credentials_see_only_their_own_claims(
    connect: Any, world: CorsoWorld
) -> None:
    add_client_of_another_store(world)
    for n, store in enumerate((STORE, OTHER_STORE, STORE, OTHER_STORE), start=1):
        world.add_claim(bare_claim(n, store_id=store, customer_email=HEAVY))
    mine: CorsoClient = connect()
    theirs: CorsoClient = connect(client_id="other", client_secret="other-secret")

    my_claims = [c.external_id async for c in mine.iter_claims(customer_email=HEAVY)]
    their_claims = [c.external_id async for c in theirs.iter_claims(customer_email=HEAVY)]

    assert sorted(my_claims) == ["1001-1", "1001-3"]
    assert sorted(their_claims) == ["1001-2", "1001-4"]
    assert {r.client_id for r in world.requests("claims")} == {CLIENT_ID, "other"}


async def test_a_store_parameter_the_contract_does_not_document_is_refused(
    connect: Any,
) -> None:
    corso: CorsoClient = connect(store_query={"storeId": str(STORE)})

    with pytest.raises(CorsoBadRequest, match="storeId"):
        await corso.list_claims()


async def test_a_store_parameter_is_sent_where_the_api_takes_one(
    connect: Any, world: CorsoWorld
) -> None:
    world.store_param = "storeId"
    world.add_claim(bare_claim(1, store_id=STORE, customer_email=HEAVY))
    mine: CorsoClient = connect(store_query={"storeId": str(STORE)})
    elsewhere: CorsoClient = connect(store_query={"storeId": str(OTHER_STORE)})

    assert [c.external_id for c in (await mine.list_claims()).claims] == ["1001-1"]
    with pytest.raises(CorsoForbidden, match=str(OTHER_STORE)):
        await elsewhere.list_claims()
    assert [r.params["storeId"] for r in world.requests("claims")] == ["1101", "2202"]


async def test_corso_errors_are_counted_by_kind(
    connect: Any, world: CorsoWorld, sleeps: Sleeps
) -> None:
    def count() -> float:
        labels = {"kind": "CorsoUnavailable"}
        return metrics.REGISTRY.get_sample_value("portal_corso_errors_total", labels) or 0.0

    corso: CorsoClient = connect(max_retries=1)
    await corso.list_claims()
    before = count()
    world.faults.fail_next(500, times=5)
    with pytest.raises(CorsoUnavailable):
        await corso.list_claims()
    assert count() - before == 1
