"""Reading claims into the portal's models: the fields it reads from Corso's documented example,
tolerance of every field it does not read, and a claim it cannot read set aside on its own."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from portal.errors import CorsoResponseError
from portal.integrations.corso.client import CorsoClient
from portal.integrations.corso.models import Claim, ClaimPage, decode_page
from sandbox.corso import CorsoWorld, create_corso_sandbox
from sandbox.corso.samples import bare_claim
from tests.helpers.corso_claims import (
    contract_text,
    documented_answer,
    only_what_the_portal_reads,
    read_field_names,
)
from tests.helpers.servers import serve

EXAMPLE_STORE = 123456
PAGE_INFO = {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None}


def page_of(*claims: object) -> ClaimPage:
    return decode_page(json.dumps({"claims": list(claims), "pageInfo": PAGE_INFO}).encode())


def read(claim: dict[str, Any]) -> Claim:
    page = page_of(claim)
    assert page.unreadable == (), page.unreadable
    [parsed] = page.claims
    return parsed


def example_claim() -> dict[str, Any]:
    claim: dict[str, Any] = documented_answer()["claims"][0]
    return claim


@pytest.fixture
def example_url() -> Iterator[str]:
    world = CorsoWorld()
    world.add_client("example", "example-secret", EXAMPLE_STORE)
    world.add_claims(documented_answer()["claims"])
    with serve(create_corso_sandbox(world)) as url:
        yield url


@pytest.mark.anyio
async def test_reads_what_the_portal_needs_from_the_documented_example(example_url: str) -> None:
    async with httpx.AsyncClient() as http:
        corso = CorsoClient(
            http,
            api_url=f"{example_url}/v1",
            auth_url=f"{example_url}/oauth/token",
            client_id="example",
            client_secret="example-secret",
            audience="api.corso.com",
        )
        page = await corso.list_claims()

    [claim] = page.claims
    assert_example_claim(claim)


def test_reads_the_documented_page_info() -> None:
    page = decode_page(json.dumps(documented_answer()).encode())

    assert page.page_info.has_next_page is True
    assert page.page_info.has_previous_page is False
    assert page.page_info.start_cursor == "eyJpZCI6MTIzNDU2fQ"
    assert page.page_info.end_cursor == "eyJpZCI6Nzg5MDEyfQ"
    assert_example_claim(page.claims[0])


def assert_example_claim(claim: Claim) -> None:
    assert (claim.external_id, claim.status, claim.claim_type) == (
        "1-123-1",
        "In_Progress",
        "Return",
    )
    assert claim.created_on == datetime(2024, 1, 20, 14, 45, tzinfo=UTC)
    assert (claim.order.source_order_id, claim.order.order_name) == ("842810", "RDR-12345")
    # The example's resolutionSummary holds only "refunds": the other lists read as empty.
    summary = claim.resolution_summary
    assert summary is not None
    assert (summary.refunds, summary.gift_cards, summary.replacement_orders) == ((), (), ())
    [item] = claim.claim_line_items
    source = item.source_line_item
    assert (source.source_line_item_id, source.variant_id) == ("990986", "var-4569876332")
    assert source.name == "Shorts - color: blue, size: small"
    assert item.quantity == 1
    assert (item.status, item.status_detail, item.resolution_method) == (
        "Open",
        "Pending_Review",
        "Gift_Card",
    )
    moment = datetime(2024, 1, 20, 14, 45, tzinfo=UTC)
    assert (item.denied_on, item.canceled_on) == (moment, moment)


def test_every_field_the_portal_reads_is_named_in_the_contract() -> None:
    documented = set(re.findall(r"[A-Za-z][A-Za-z0-9]*", contract_text()))

    assert read_field_names() <= documented
    assert "storeId" not in read_field_names()  # nothing depends on which store answered


def test_a_claim_with_only_the_fields_the_portal_reads_reads_the_same() -> None:
    full = example_claim()
    stripped = only_what_the_portal_reads(full)

    assert len(json.dumps(stripped)) < len(json.dumps(full)) / 3
    assert "shippingAddress" not in stripped and "storeId" not in stripped
    assert read(stripped) == read(full)


# --- fields the portal does not read: absent, mistyped or new


def line_item(**changes: Any) -> dict[str, Any]:
    item = {
        "sourceLineItem": {
            "lineItemId": 1,
            "sourceLineItemId": "11",
            "sku": "CAP",
            "name": "Cap",
            "quantity": 1,
            "warehouseBin": "B-12",  # unknown field
        },
        "claimLineItemId": 5,
        "customFields": [],
        "quantity": 1,
        "isShopNow": False,
        "amount": 19.99,
        "requestedAmount": 19.99,
        "reason": "Changed Mind",
        "status": "On_Hold",  # a status Corso does not document (yet)
        "statusDetail": "Escalated",
        "requestedResolutionMethod": "Store_Credit",
    }
    return item | changes


def claim_with_extras(claim_id: int = 77, **changes: Any) -> dict[str, Any]:
    claim = bare_claim(claim_id, store_id=1101, customer_email="bo@example.com", created_on=None)
    claim["claimLineItems"] = [line_item()]
    extras = {"claimType": "Exchange", "loyaltyTier": {"name": "gold"}, "riskScore": 0.2}
    return claim | extras | changes


def test_fields_the_portal_does_not_read_may_be_missing_mistyped_or_new() -> None:
    claim = claim_with_extras()
    for unread in (
        "storeId",
        "claimId",
        "shippingAddress",
        "currencyCode",
        "tags",
        "customerEmail",
    ):
        del claim[unread]
    claim |= {"feeAmountApplied": "ten", "isInstantExchange": "no", "billingAddress": ["?"]}
    del claim["claimLineItems"][0]["requestedAmount"]
    claim["claimLineItems"][0]["customFields"] = "none"

    parsed = read(claim)

    assert (parsed.external_id, parsed.claim_type) == ("1001-77", "Exchange")
    assert (parsed.created_on, parsed.resolution_summary, parsed.order.order_name) == (None,) * 3
    [item] = parsed.claim_line_items
    assert (item.status, item.status_detail) == ("On_Hold", "Escalated")
    assert (item.resolution_method, item.denied_on, item.source_line_item.variant_id) == (None,) * 3


@pytest.mark.parametrize(
    ("path", "named"),
    [
        (("externalId",), "externalId"),
        (("status",), "status"),
        (("claimType",), "claimType"),
        (("order",), "order"),
        (("order", "sourceOrderId"), "sourceOrderId"),
        (("claimLineItems",), "claimLineItems"),
        (("claimLineItems", 0, "status"), r"status.*claimLineItems\[0\]"),
        (("claimLineItems", 0, "statusDetail"), "statusDetail"),
        (("claimLineItems", 0, "sourceLineItem", "name"), r"name.*sourceLineItem"),
        (("resolutionSummary", "refunds", 0, "amount"), r"amount.*refunds\[0\]"),
    ],
)
def test_a_claim_missing_a_field_the_portal_reads_is_set_aside_alone(
    path: tuple[Any, ...], named: str
) -> None:
    broken = claim_with_extras(78, resolutionSummary={"refunds": [{"refundId": 1, "amount": 5}]})
    *parents, name = path
    holder: Any = broken
    for key in parents:
        holder = holder[key]
    del holder[name]

    page = page_of(claim_with_extras(77), broken, claim_with_extras(79))

    assert [c.external_id for c in page.claims] == ["1001-77", "1001-79"]
    [unreadable] = page.unreadable
    assert re.search(named, unreadable.problem)
    assert (unreadable.claim_id, unreadable.label) == (
        78,
        "1001-78" if name != "externalId" else "#78",
    )


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"externalId": 1078}, "externalId"),
        ({"createdOn": "2024-01-20T14:45:00"}, "timezone"),  # no offset
        ({"createdOn": "yesterday"}, "createdOn"),
        ({"claimLineItems": "none"}, "claimLineItems"),
        ({"claimLineItems": [line_item(quantity="1")]}, "quantity"),
        ({"resolutionSummary": {"refunds": [{"amount": True}]}}, "amount"),
    ],
)
def test_a_mistyped_field_the_portal_reads_sets_the_claim_aside(
    changes: dict[str, Any], named: str
) -> None:
    page = page_of(claim_with_extras(78, **changes), claim_with_extras(79))

    assert [c.external_id for c in page.claims] == ["1001-79"]
    [unreadable] = page.unreadable
    assert named in unreadable.problem


def test_a_claim_that_is_not_an_object_is_set_aside() -> None:
    page = page_of(42, claim_with_extras())

    assert len(page.claims) == 1
    assert page.unreadable[0].label == "(no id)"


def test_money_is_exact_and_date_times_keep_their_offset() -> None:
    claim = read(
        claim_with_extras(
            createdOn="2024-03-10T01:30:00-08:00",
            resolutionSummary={"refunds": [{"refundId": 1, "amount": 49.99}], "giftCards": []},
        )
    )

    assert claim.resolution_summary is not None
    [refund] = claim.resolution_summary.refunds
    assert type(refund.amount) is Decimal and refund.amount == Decimal("49.99")
    assert claim.created_on is not None
    assert claim.created_on.utcoffset() == timedelta(hours=-8)
    assert claim.created_on == datetime(2024, 3, 10, 9, 30, tzinfo=UTC)
    assert claim.created_on.tzinfo == timezone(timedelta(hours=-8))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[]", "does not fit"),
        (b'{"claims": []}', "pageInfo"),
        (b'{"claims": {}, "pageInfo": {"hasNextPage": false}}', "claims"),
        (b'{"claims": [{"claimId": ', "not JSON"),
    ],
)
def test_an_answer_that_is_not_a_page_of_claims_is_a_response_error(
    body: bytes, message: str
) -> None:
    with pytest.raises(CorsoResponseError, match=message):
        decode_page(body)
