"""What earlier Corso claims already issued for a requested line item, and how a customer's
claims are gathered for the agent's panel."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from portal.integrations.corso.client import CorsoClient
from portal.integrations.corso.models import Claim, UnreadableClaim, decode_page
from portal.support.claims import (
    NOT_CONNECTED,
    LineItemHistory,
    customer_claims,
    issued_for_line_item,
    line_items_for,
)
from sandbox.corso.samples import bare_claim

PAGE_INFO = {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None}


def claim_of(line_item_id: str, **item: Any) -> dict[str, Any]:
    """A claim with one line item for Shopify line item ``line_item_id`` (variant 4401)."""
    claim = bare_claim(77, store_id=1101, customer_email="bo@example.com")
    line = {
        "sourceLineItem": {
            "lineItemId": 1,
            "sourceLineItemId": line_item_id,
            "variantId": "4401",
            "sku": "CAP",
            "name": "Cap",
            "quantity": 1,
        },
        "claimLineItemId": 5,
        "customFields": [],
        "quantity": 1,
        "isShopNow": False,
        "amount": 19.99,
        "requestedAmount": 19.99,
        "reason": "Changed Mind",
        "status": "Open",
        "statusDetail": "Pending_Review",
        "requestedResolutionMethod": "Refund",
    }
    claim["claimLineItems"] = [line | item]
    return claim


def claims(*raw: dict[str, Any]) -> list[Claim]:
    numbered = [
        copy.deepcopy(claim) | {"externalId": f"1042-{n + 1}"} for n, claim in enumerate(raw)
    ]
    page = decode_page(json.dumps({"claims": numbered, "pageInfo": PAGE_INFO}).encode())
    assert page.unreadable == ()
    return list(page.claims)


def test_a_refunded_line_item_is_reported_with_its_claim() -> None:
    history = issued_for_line_item(
        claims(
            claim_of("11", status="Closed", statusDetail="Refunded", resolutionMethod="Refund"),
            claim_of("99", status="Closed", statusDetail="Refunded", resolutionMethod="Refund"),
        ),
        "11",
    )

    assert history == LineItemHistory(refunded_in=("1042-1",), replaced_in=())
    assert history.already_issued is True


def test_an_approved_replacement_and_a_replacement_order_count_as_replaced() -> None:
    approved = claim_of(
        "11",
        status="Approved",
        statusDetail="Pending_Approval",
        resolutionMethod="Replacement_Order",
    )
    shipped_again = claim_of("11", status="Open", statusDetail="Pending_Review")
    shipped_again["resolutionSummary"] = {
        "replacementOrders": [
            {
                "sourceOrderId": "6100000000001",
                "lineItems": [
                    {
                        "lineItemId": 9,
                        "sourceLineItemId": "77001",
                        "variantId": "4401",
                        "sku": "CAP",
                        "name": "Cap",
                        "quantity": 1,
                    }
                ],
            }
        ]
    }

    history = issued_for_line_item(claims(approved, shipped_again), "11")

    assert history.replaced_in == ("1042-1", "1042-2")
    assert history.refunded_in == ()


def test_requests_denials_and_cancellations_are_not_issued() -> None:
    history = issued_for_line_item(
        claims(
            claim_of("11", status="Open", statusDetail="Pending_Review", resolutionMethod="Refund"),
            claim_of(
                "11",
                status="Closed",
                statusDetail="No_Action_Taken",
                resolutionMethod="Refund",
                canceledOn="2025-01-02T00:00:00Z",
            ),
            claim_of(
                "11",
                status="Denied",
                statusDetail="Item_Not_Returned",
                deniedOn="2025-01-02T00:00:00Z",
            ),
        ),
        "11",
    )

    assert history == LineItemHistory()
    assert history.already_issued is False


def test_line_items_for_picks_the_claimed_shopify_line_item() -> None:
    [claim] = claims(claim_of("11"))

    assert [i.source_line_item.name for i in line_items_for(claim, "11")] == ["Cap"]
    assert line_items_for(claim, "12") == ()


# --- gathering a customer's claims


class FakeCorso:
    """Answers ``iter_claims`` with what it was given."""

    def __init__(self, found: list[Claim | UnreadableClaim]) -> None:
        self.found = found
        self.asked: list[str | None] = []

    async def iter_claims(
        self, *, customer_email: str | None = None, page_size: int = 50
    ) -> AsyncIterator[Any]:
        self.asked.append(customer_email)
        for item in self.found:
            yield item


@pytest.mark.anyio
async def test_claims_and_unreadable_ones_are_kept_apart() -> None:
    [readable] = claims(claim_of("11"))
    unreadable = UnreadableClaim("Object missing required field `status`", "1042-9", 9)
    corso = FakeCorso([readable, unreadable])

    found = await customer_claims(corso, "bo@example.com")  # type: ignore[arg-type]

    assert (found.claims, found.unreadable) == ((readable,), (unreadable,))
    assert found.connected and not found.empty
    assert corso.asked == ["bo@example.com"]


@pytest.mark.anyio
async def test_a_store_without_corso_credentials_is_not_connected() -> None:
    corso: CorsoClient | None = None

    found = await customer_claims(corso, "bo@example.com")

    assert found is NOT_CONNECTED
    assert not found.connected and found.empty
