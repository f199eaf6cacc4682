"""The sandbox Corso over real HTTP: tokens, List claims of the authenticated client's store, its
refusals, rate limit and faults."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.corso import CorsoWorld, ManualClock, create_corso_sandbox
from sandbox.corso.samples import bare_claim
from tests.helpers.servers import serve

STORE = 1101
OTHER_STORE = 2202
ANN = "ann.lee@example.com"
PORTAL = ("portal", "portal-secret")
OTHER = ("other", "other-secret")  # the other store's own client
START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def world(clock: ManualClock) -> CorsoWorld:
    world = CorsoWorld(clock=clock, token_ttl=3600, rate_limit=1000, rate_window=60)
    world.add_client(*PORTAL, STORE)
    world.add_client(*OTHER, OTHER_STORE)
    return world


@pytest.fixture
def corso(world: CorsoWorld) -> Iterator[httpx.Client]:
    with serve(create_corso_sandbox(world)) as url, httpx.Client(base_url=url) as http:
        yield http


def add_ann_claims(world: CorsoWorld, count: int) -> list[int]:
    """``count`` claims of Ann, one hour apart; their ids newest first."""
    for n in range(count):
        created = (START + timedelta(hours=n)).isoformat()
        world.add_claim(bare_claim(500 + n, store_id=STORE, customer_email=ANN, created_on=created))
    return [500 + n for n in reversed(range(count))]


def token_for(http: httpx.Client, client: tuple[str, str] = PORTAL) -> str:
    response = http.post("/oauth/token", json=credentials(*client))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def credentials(
    client_id: str = PORTAL[0], secret: str = PORTAL[1], **overrides: str
) -> dict[str, str]:
    body = {
        "client_id": client_id,
        "client_secret": secret,
        "audience": "api.corso.com",
        "grant_type": "client_credentials",
    }
    return body | overrides


def list_claims(http: httpx.Client, token: str | None, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.get("/v1/claims", params=params, headers=headers)


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [claim["claimId"] for claim in response.json()["claims"]]


# --- POST /oauth/token


def test_token_is_a_bearer_token_with_the_world_lifetime(corso: httpx.Client) -> None:
    response = corso.post("/oauth/token", json=credentials())

    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"].count(".") == 2  # shaped like the JWT Corso issues


def test_token_is_also_issued_for_a_form_encoded_request(corso: httpx.Client) -> None:
    response = corso.post("/oauth/token", data=credentials())

    assert response.status_code == 200
    assert list_claims(corso, response.json()["access_token"]).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (credentials(secret="guess"), 401, "access_denied"),
        (credentials(client_id="stranger"), 401, "access_denied"),
        (credentials(grant_type="password"), 400, "unsupported_grant_type"),
        (credentials(audience="api.example.com"), 403, "access_denied"),
    ],
    ids=["wrong secret", "unknown client", "bad grant type", "wrong audience"],
)
def test_token_refusals(corso: httpx.Client, body: dict[str, str], status: int, error: str) -> None:
    response = corso.post("/oauth/token", json=body)

    assert response.status_code == status
    assert response.json()["error"] == error
    assert "access_token" not in response.json()


def test_token_request_that_is_not_json_is_refused(corso: httpx.Client) -> None:
    response = corso.post(
        "/oauth/token", content=b"{nope", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# --- 401, 403


def test_claims_without_a_token_are_unauthorized(corso: httpx.Client) -> None:
    response = list_claims(corso, None)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_claims_with_a_forged_token_are_unauthorized(corso: httpx.Client) -> None:
    header, payload, _signature = token_for(corso).split(".")

    response = list_claims(corso, f"{header}.{payload}.forged")

    assert response.status_code == 401
    assert "invalid" in response.json()["message"]


def test_expired_token_is_unauthorized(corso: httpx.Client, clock: ManualClock) -> None:
    token = token_for(corso)
    clock.advance(3599)
    assert list_claims(corso, token).status_code == 200

    clock.advance(1)
    response = list_claims(corso, token)

    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_revoked_tokens_are_unauthorized(corso: httpx.Client, world: CorsoWorld) -> None:
    token = token_for(corso)
    world.revoke_tokens()

    assert list_claims(corso, token).status_code == 401


def test_a_request_naming_no_store_gets_the_authenticated_client_s_store(
    corso: httpx.Client, world: CorsoWorld
) -> None:
    add_ann_claims(world, 1)
    world.add_claim(bare_claim(900, store_id=OTHER_STORE, customer_email=ANN))

    assert ids(list_claims(corso, token_for(corso))) == [500]
    assert ids(list_claims(corso, token_for(corso, OTHER))) == [900]


def test_a_store_parameter_is_refused_unless_the_api_takes_one(
    corso: httpx.Client, world: CorsoWorld
) -> None:
    add_ann_claims(world, 1)
    token = token_for(corso)
    refused = list_claims(corso, token, storeId=STORE)
    world.store_param = "storeId"

    assert refused.status_code == 400 and "storeId" in refused.json()["message"]
    assert ids(list_claims(corso, token, storeId=STORE)) == [500]
    forbidden = list_claims(corso, token, storeId=OTHER_STORE)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"] == "forbidden"


# --- 400


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"first": 2, "before": "x"}, "before"),
        ({"last": 2, "after": "x"}, "after"),
        ({"first": 2, "last": 2}, "last"),
        ({"after": "x", "before": "x"}, "before"),
        ({"first": "ten"}, "first"),
        ({"first": "1.5"}, "first"),
        ({"first": 0}, "first"),
        ({"first": 101}, "first"),
        ({"last": -1}, "last"),
        ({"last": 1000}, "last"),
        ({"orderBy": "newest"}, "orderBy"),
        ({"orderBy": "DESC"}, "orderBy"),
        ({"after": "not a cursor!"}, "after"),
        ({"before": "eyJpZCI6MTIzNDU2fQ"}, "before"),  # {"id":123456}: base64 JSON, wrong shape
        ({"storeId": STORE}, "storeId"),  # Corso documents no store parameter
        ({"page": 2}, "page"),
    ],
)
def test_invalid_query_is_a_bad_request(
    corso: httpx.Client, params: dict[str, Any], named: str
) -> None:
    response = list_claims(corso, token_for(corso), **params)

    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert named in response.json()["message"]


def test_page_size_limits_are_accepted(corso: httpx.Client, world: CorsoWorld) -> None:
    add_ann_claims(world, 3)
    token = token_for(corso)

    assert len(ids(list_claims(corso, token, first=1))) == 1
    assert len(ids(list_claims(corso, token, first=100))) == 3
    assert len(ids(list_claims(corso, token, last=100))) == 3


# --- listing


def test_claims_are_newest_first_unless_asked_otherwise(
    corso: httpx.Client, world: CorsoWorld
) -> None:
    newest_first = add_ann_claims(world, 4)
    token = token_for(corso)

    assert ids(list_claims(corso, token)) == newest_first
    assert ids(list_claims(corso, token, orderBy="desc")) == newest_first
    assert ids(list_claims(corso, token, orderBy="asc")) == list(reversed(newest_first))


def test_claims_created_at_the_same_moment_are_ordered_by_claim_id(
    corso: httpx.Client, world: CorsoWorld
) -> None:
    for claim_id in (702, 700, 701):
        world.add_claim(bare_claim(claim_id, store_id=STORE, customer_email=ANN))

    assert ids(list_claims(corso, token_for(corso), orderBy="asc")) == [700, 701, 702]


def test_offsets_are_compared_as_instants(corso: httpx.Client, world: CorsoWorld) -> None:
    world.add_claim(
        bare_claim(1, store_id=STORE, customer_email=ANN, created_on="2025-03-01T10:00:00-05:00")
    )  # 15:00 UTC
    world.add_claim(
        bare_claim(2, store_id=STORE, customer_email=ANN, created_on="2025-03-01T12:00:00Z")
    )

    assert ids(list_claims(corso, token_for(corso))) == [1, 2]


def test_customer_email_matches_without_regard_to_case(
    corso: httpx.Client, world: CorsoWorld
) -> None:
    add_ann_claims(world, 2)
    world.add_claim(bare_claim(800, store_id=STORE, customer_email="bo@example.com"))

    response = list_claims(corso, token_for(corso), customerEmail="Ann.Lee@Example.COM")

    assert ids(response) == [501, 500]


def test_external_id_filters_exactly(corso: httpx.Client, world: CorsoWorld) -> None:
    add_ann_claims(world, 3)

    token = token_for(corso)
    assert ids(list_claims(corso, token, externalId="1001-501")) == [501]
    assert ids(list_claims(corso, token, externalId="1001-50")) == []


def test_an_empty_result_has_no_cursors(corso: httpx.Client) -> None:
    response = list_claims(corso, token_for(corso), customerEmail="nobody@example.com")

    assert response.json() == {
        "claims": [],
        "pageInfo": {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
    }


def test_money_is_sent_as_exact_json_numbers(corso: httpx.Client, world: CorsoWorld) -> None:
    claim = bare_claim(1, store_id=STORE, customer_email=ANN)
    world.add_claim(claim | {"feeAmountApplied": Decimal("49.99")})

    response = list_claims(corso, token_for(corso))

    assert '"feeAmountApplied":49.99' in response.text


# --- pages


def page(http: httpx.Client, token: str, **params: Any) -> tuple[list[int], dict[str, Any]]:
    response = list_claims(http, token, customerEmail=ANN, **params)
    return ids(response), response.json()["pageInfo"]


def test_forward_pages_cover_every_claim_once(corso: httpx.Client, world: CorsoWorld) -> None:
    newest_first = add_ann_claims(world, 7)
    token = token_for(corso)

    first, info1 = page(corso, token, first=3)
    second, info2 = page(corso, token, first=3, after=info1["endCursor"])
    third, info3 = page(corso, token, first=3, after=info2["endCursor"])

    assert first + second + third == newest_first
    assert [len(first), len(second), len(third)] == [3, 3, 1]
    assert [info1["hasNextPage"], info2["hasNextPage"], info3["hasNextPage"]] == [True, True, False]
    assert [i["hasPreviousPage"] for i in (info1, info2, info3)] == [False, True, True]


def test_default_page_is_fifty_claims(corso: httpx.Client, world: CorsoWorld) -> None:
    add_ann_claims(world, 51)

    claims, info = page(corso, token_for(corso))

    assert len(claims) == 50
    assert info["hasNextPage"] is True


def test_backward_page_is_the_page_before(corso: httpx.Client, world: CorsoWorld) -> None:
    add_ann_claims(world, 7)
    token = token_for(corso)
    first, info1 = page(corso, token, first=3)
    _, info2 = page(corso, token, first=3, after=info1["endCursor"])

    back, back_info = page(corso, token, last=3, before=info2["startCursor"])

    assert back == first
    assert back_info["hasPreviousPage"] is False
    assert back_info["hasNextPage"] is True
    assert back_info["startCursor"] == info1["startCursor"]
    assert back_info["endCursor"] == info1["endCursor"]


def test_paging_backward_from_the_end_visits_the_same_claims(
    corso: httpx.Client, world: CorsoWorld
) -> None:
    newest_first = add_ann_claims(world, 7)
    token = token_for(corso)

    seen: list[int] = []
    claims, info = page(corso, token, last=3)
    seen = claims + seen
    while info["hasPreviousPage"]:
        claims, info = page(corso, token, last=3, before=info["startCursor"])
        seen = claims + seen

    assert seen == newest_first


def test_pages_in_ascending_order_continue_in_that_order(
    corso: httpx.Client, world: CorsoWorld
) -> None:
    oldest_first = list(reversed(add_ann_claims(world, 5)))
    token = token_for(corso)

    first, info = page(corso, token, first=2, orderBy="asc")
    rest, _ = page(corso, token, first=10, orderBy="asc", after=info["endCursor"])

    assert first + rest == oldest_first


# --- rate limit


RATE_LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


def test_every_claims_answer_carries_rate_limit_headers(
    corso: httpx.Client, world: CorsoWorld
) -> None:
    world.rate_limit, world.store_param = 10, "storeId"
    token = token_for(corso)
    answers = [
        list_claims(corso, token),
        list_claims(corso, token, first="x"),
        list_claims(corso, token, storeId=OTHER_STORE),
        list_claims(corso, None),
    ]

    assert [a.status_code for a in answers] == [200, 400, 403, 401]
    for answer in answers:
        assert all(name in answer.headers for name in RATE_LIMIT_HEADERS)
    assert [a.headers["RateLimit-Remaining"] for a in answers[:3]] == ["9", "8", "7"]


def test_spent_window_answers_429_until_it_resets(
    corso: httpx.Client, world: CorsoWorld, clock: ManualClock
) -> None:
    world.rate_limit, world.rate_window = 2, 30
    token = token_for(corso)
    list_claims(corso, token)
    clock.advance(10)
    second = list_claims(corso, token)

    refused = list_claims(corso, token)

    assert second.status_code == 200
    assert second.headers["RateLimit-Remaining"] == "0"
    assert second.headers["RateLimit-Reset"] == "20"
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "20"
    assert refused.headers["RateLimit-Remaining"] == "0"

    clock.advance(20)
    again = list_claims(corso, token)

    assert again.status_code == 200
    assert again.headers["RateLimit-Remaining"] == "1"


def test_rate_limit_is_counted_per_client(corso: httpx.Client, world: CorsoWorld) -> None:
    world.rate_limit = 1
    portal = token_for(corso)
    other = token_for(corso, OTHER)
    list_claims(corso, portal)

    assert list_claims(corso, portal).status_code == 429
    assert list_claims(corso, other).status_code == 200


# --- faults


def test_planned_server_errors_come_first_then_answers_resume(
    corso: httpx.Client, world: CorsoWorld
) -> None:
    token = token_for(corso)
    world.faults.fail_next(503, times=2)

    statuses = [list_claims(corso, token).status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert world.statuses("claims") == [503, 503, 200]


def test_malformed_body_is_cut_off_json(corso: httpx.Client, world: CorsoWorld) -> None:
    token = token_for(corso)
    world.faults.malform_next()

    response = list_claims(corso, token)

    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    assert list_claims(corso, token).json()["claims"] == []


def test_reshaped_claims_are_answered_as_reshaped(corso: httpx.Client, world: CorsoWorld) -> None:
    add_ann_claims(world, 2)
    world.faults.reshape = lambda claim: {"externalId": claim["externalId"], "new": True}

    reshaped = list_claims(corso, token_for(corso)).json()["claims"]
    world.faults.clear()

    assert reshaped == [
        {"externalId": "1001-501", "new": True},
        {"externalId": "1001-500", "new": True},
    ]
    assert ids(list_claims(corso, token_for(corso))) == [501, 500]


def test_latency_delays_the_answer(corso: httpx.Client, world: CorsoWorld) -> None:
    token = token_for(corso)
    world.faults.latency = 0.5

    with pytest.raises(httpx.ReadTimeout):
        corso.get("/v1/claims", headers={"Authorization": f"Bearer {token}"}, timeout=0.05)


def test_the_world_records_what_it_answered(corso: httpx.Client, world: CorsoWorld) -> None:
    token = token_for(corso)
    list_claims(corso, token, customerEmail=ANN)

    [request] = world.requests("claims")

    assert request.client_id == "portal"
    assert request.params == {"customerEmail": ANN}
    assert [r.status for r in world.requests("token")] == [200]
