"""Reading claims into the portal's dataclasses: Corso's documented example field by field, a
claim with only its required fields, and what earlier claims issued for a line item."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from portal.errors import CorsoResponseError
from portal.integrations.corso import (
    Address,
    Claim,
    CorsoClient,
    LineItemHistory,
    decode_json,
    issued_for_line_item,
    parse_claim,
    parse_claim_page,
)
from sandbox.corso import CorsoWorld, create_corso_sandbox
from sandbox.corso.samples import bare_claim
from tests.helpers.servers import serve

SEED = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "list-claims-api.txt"
EXAMPLE_STORE = 123456
CHICAGO = Address(
    name="Michael Jordan, c/o Chicago Bulls",
    first_name="John",
    last_name="Doe",
    line1="1901 W Madison St",
    line2="Ste 101",
    city="Chicago",
    state_or_province_code="IL",
    postal_code="60612-2459",
    country_code="US",
    latitude=41.8807,
    longitude=-87.6742,
)


def documented_example() -> dict[str, Any]:
    """The List claims response example of Corso's documentation, as the seed file holds it."""
    text = SEED.read_text(encoding="utf-8")
    start = text.index('{\n"claims": [')
    end = text.index("\nBad Request", start)
    example: dict[str, Any] = json.loads(text[start:end])
    return example


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def as_answer(claim: dict[str, Any]) -> bytes:
    return json.dumps(claim).encode()


@pytest.fixture
def example_world() -> CorsoWorld:
    world = CorsoWorld()
    world.add_client("example", "example-secret", [EXAMPLE_STORE])
    world.add_claims(documented_example()["claims"])
    return world


@pytest.fixture
def example_url(example_world: CorsoWorld) -> Iterator[str]:
    with serve(create_corso_sandbox(example_world)) as url:
        yield url


@pytest.mark.anyio
async def test_reads_every_field_of_the_documented_example(example_url: str) -> None:
    async with httpx.AsyncClient() as http:
        corso = CorsoClient(
            http,
            api_url=f"{example_url}/v1",
            auth_url=f"{example_url}/oauth/token",
            client_id="example",
            client_secret="example-secret",
            audience="api.corso.com",
        )
        page = await corso.list_claims(store_id=EXAMPLE_STORE)

    [claim] = page.claims
    assert_example_claim(claim)


def test_reads_the_documented_page_info() -> None:
    page = parse_claim_page(decode_json(as_answer(documented_example())))

    assert page.page_info.has_next_page is True
    assert page.page_info.has_previous_page is False
    assert page.page_info.start_cursor == "eyJpZCI6MTIzNDU2fQ"
    assert page.page_info.end_cursor == "eyJpZCI6Nzg5MDEyfQ"
    assert_example_claim(page.claims[0])


def assert_example_claim(claim: Claim) -> None:
    assert (claim.store_id, claim.claim_id, claim.external_id) == (123456, 456789, "1-123-1")
    assert claim.was_created_from_registration is False
    assert claim.is_instant_exchange is False
    assert (claim.claim_type, claim.status, claim.currency_code) == ("Return", "In_Progress", "USD")
    assert claim.shipping_address == CHICAGO
    assert claim.billing_address == CHICAGO
    assert (claim.customer_email, claim.customer_name) == ("[email protected]", "John Doe")
    assert claim.tags == ("VIP", "Urgent")
    assert claim.note_to_customer == "Fulfillment issue - tracking not updating."
    assert claim.created_on == datetime(2024, 1, 20, 14, 45, tzinfo=UTC)
    assert claim.updated_on == datetime(2024, 1, 21, 9, 15, tzinfo=UTC)
    assert claim.finalized_on == datetime(2024, 1, 22, 16, 0, tzinfo=UTC)
    assert_example_money(claim)
    assert_example_summaries(claim)
    assert_example_order_and_shipment(claim)
    assert_example_line_item(claim)


def assert_example_money(claim: Claim) -> None:
    amounts = (
        claim.fee_amount_applied,
        claim.exchange_order_shipping_amount_applied,
        claim.return_shipping_amount_applied,
        claim.shop_now_incentive_amount_applied,
    )
    assert all(type(amount) is Decimal for amount in amounts)
    assert amounts == (Decimal(10),) * 4
    assert claim.fee_name == "Handling Fee"


def assert_example_summaries(claim: Claim) -> None:
    # The example's resolutionSummary holds only "refunds": the other lists read as empty.
    assert claim.resolution_summary is not None
    assert claim.resolution_summary.refunds == ()
    assert claim.resolution_summary.gift_cards == ()
    assert claim.resolution_summary.replacement_orders == ()
    summary = claim.request_summary
    assert summary is not None
    assert summary.monetary_totals.gift_card == Decimal(100)
    assert summary.monetary_totals.refund == Decimal(100)
    [approved] = summary.approved_line_items
    assert (approved.claim_line_item_id, approved.quantity) == (123456, 1)
    assert (approved.amount, approved.estimated_amount) == (Decimal(100), Decimal(100))
    assert approved.resolution_method == "Refund"
    assert approved.was_zeroed_through_deduction is False


def assert_example_order_and_shipment(claim: Claim) -> None:
    order = claim.order
    assert (order.order_id, order.source_order_id, order.order_number) == (
        18372912,
        "842810",
        "string",
    )
    assert (order.order_name, order.created_on) == ("RDR-12345", at("2022-01-01T17:32:28+00:00"))
    [shipment] = claim.shipments
    assert shipment.shipment_id == 123456
    assert shipment.to_address == CHICAGO
    assert shipment.from_address == CHICAGO
    moment = at("2024-01-20T14:45:00+00:00")
    assert (shipment.expires_on, shipment.in_transit_on, shipment.created_on) == (moment,) * 3
    assert shipment.is_return_shipment is True
    assert shipment.qr_code_url == "https://cdn.corso.com/img/qr-code.png"
    assert shipment.label_url == "https://cdn.corso.com/img/label.png"
    assert shipment.packing_slip_url == "https://cdn.corso.com/img/packing-slip.pdf"
    assert (shipment.method, shipment.carrier, shipment.carrier_service_name) == (
        "Label",
        "USPS",
        "USPS",
    )
    assert shipment.carrier_tracking_url == "https://www.usps.com/tracking/1234567890"
    assert shipment.carrier_tracking_status == "In Transit"


def assert_example_line_item(claim: Claim) -> None:
    [item] = claim.claim_line_items
    source = item.source_line_item
    assert (source.line_item_id, source.source_line_item_id) == (18372912, "990986")
    assert (source.product_id, source.variant_id) == ("pro-33320", "var-4569876332")
    assert (source.sku, source.name, source.quantity) == (
        "ITEM-12345",
        "Shorts - color: blue, size: small",
        1,
    )
    assert source.img_url == "https://cdn.example.com/products/widget-blue.jpg"
    assert item.claim_line_item_id == 123456
    assert [(f.name, f.value) for f in item.custom_fields] == [("Serial Number", "string")]
    assert item.quantity == 1
    exchange = item.variant_exchange_line_item
    assert exchange is not None
    assert (exchange.variant_id, exchange.quantity, exchange.price) == ("123456", 1, Decimal(10))
    assert (exchange.img_url, exchange.sku, exchange.title, exchange.options) == (None,) * 3 + ((),)
    assert item.is_shop_now is False
    [replacement] = item.replacement_items
    assert (replacement.variant_id, replacement.quantity) == ("var-123456", 1)
    assert replacement.price == Decimal(10)
    # Exactly 49.99: read from the JSON text, never through a float.
    assert item.amount == Decimal("49.99")
    assert item.requested_amount == Decimal("49.99")
    assert (item.reason, item.reason_detail) == ("Wrong Size", "Too Small")
    assert (item.status, item.status_detail) == ("Open", "Pending_Review")
    assert item.image_urls == ("https://cdn.corso.com/img/corso-gsp-prod-img.png",)
    assert (item.requested_resolution_method, item.resolution_method) == ("Refund", "Gift_Card")
    assert item.note_from_customer == "Item was damaged in transit."
    assert item.denied_on == item.canceled_on == at("2024-01-20T14:45:00+00:00")


# --- only what is required, plus what Corso may add later


def required_only_with_extras() -> dict[str, Any]:
    claim = bare_claim(77, store_id=1101, customer_email="bo@example.com", created_on=None)
    claim["claimLineItems"] = [
        {
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
    ]
    return claim | {"claimType": "Exchange", "loyaltyTier": {"name": "gold"}, "riskScore": 0.2}


def test_reads_a_claim_with_only_required_fields_and_unknown_ones() -> None:
    claim = parse_claim(decode_json(as_answer(required_only_with_extras())))

    assert (claim.claim_id, claim.claim_type) == (77, "Exchange")
    assert claim.shipping_address.line2 is None
    assert claim.shipping_address.latitude is None
    assert claim.order.source_order_id == "5550001"
    assert claim.order.order_id is None
    assert claim.order.created_on is None
    assert (claim.resolution_summary, claim.request_summary) == (None, None)
    assert (claim.shipments, claim.tags) == ((), ())
    assert (claim.customer_name, claim.fee_name, claim.note_to_customer) == (None, None, None)
    assert (claim.created_on, claim.updated_on, claim.finalized_on) == (None, None, None)
    assert claim.fee_amount_applied == Decimal(0)
    [item] = claim.claim_line_items
    assert (item.status, item.status_detail) == ("On_Hold", "Escalated")
    assert item.requested_resolution_method == "Store_Credit"
    assert item.amount == Decimal("19.99")
    assert (item.variant_exchange_line_item, item.replacement_items, item.image_urls) == (
        None,
        (),
        (),
    )
    assert (item.resolution_method, item.reason_detail, item.note_from_customer) == (None,) * 3
    assert item.source_line_item.product_id is None


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (("externalId",), r"claim\.externalId is missing"),
        (("order", "sourceOrderId"), r"claim\.order\.sourceOrderId is missing"),
        (("claimLineItems", 0, "sourceLineItem", "sku"), r"claimLineItems\[0\]\.sourceLineItem"),
        (("claimLineItems", 0, "requestedAmount"), "requestedAmount is missing"),
        (("tags",), r"claim\.tags is missing"),
    ],
)
def test_a_missing_required_field_is_a_response_error(path: tuple[Any, ...], message: str) -> None:
    claim = required_only_with_extras()
    *parents, name = path
    holder: Any = claim
    for key in parents:
        holder = holder[key]
    del holder[name]

    with pytest.raises(CorsoResponseError, match=message):
        parse_claim(decode_json(as_answer(claim)))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("claimId", "456789"),
        ("feeAmountApplied", "10.00"),
        ("feeAmountApplied", True),
        ("isInstantExchange", "false"),
        ("createdOn", "2024-01-20T14:45:00"),  # no offset
        ("createdOn", "yesterday"),
        ("tags", "VIP"),
        ("shippingAddress", ["1901 W Madison St"]),
    ],
)
def test_a_mistyped_field_is_a_response_error(field: str, value: object) -> None:
    claim = required_only_with_extras() | {field: value}

    with pytest.raises(CorsoResponseError, match=field):
        parse_claim(decode_json(as_answer(claim)))


def test_date_times_keep_their_offset() -> None:
    claim = parse_claim(
        decode_json(
            as_answer(required_only_with_extras() | {"createdOn": "2024-03-10T01:30:00-08:00"})
        )
    )

    assert claim.created_on is not None
    assert claim.created_on.utcoffset() == timedelta(hours=-8)
    assert claim.created_on == datetime(2024, 3, 10, 9, 30, tzinfo=UTC)
    assert claim.created_on.tzinfo == timezone(timedelta(hours=-8))


def test_an_answer_that_is_not_an_object_is_a_response_error() -> None:
    with pytest.raises(CorsoResponseError, match="expected an object"):
        parse_claim_page(decode_json(b"[]"))


# --- what earlier claims issued for a line item


def claim_of(line_item_id: str, **item: Any) -> dict[str, Any]:
    """A claim with one line item for Shopify line item ``line_item_id`` (variant 4401)."""
    claim = required_only_with_extras()
    line = claim["claimLineItems"][0]
    line["sourceLineItem"] |= {"sourceLineItemId": line_item_id, "variantId": "4401"}
    line |= item
    return claim


def claims(*raw: dict[str, Any]) -> list[Claim]:
    parsed = []
    for n, claim in enumerate(raw):
        claim = copy.deepcopy(claim) | {"externalId": f"1042-{n + 1}"}
        parsed.append(parse_claim(decode_json(as_answer(claim))))
    return parsed


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

    assert [i.claim_line_item_id for i in claim.line_items_for("11")] == [5]
    assert claim.line_items_for("12") == ()
