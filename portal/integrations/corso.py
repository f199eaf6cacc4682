"""Corso's claims API: the return, exchange and warranty claims a customer has already filed.

Support agents see these next to a reorder request, so they do not refund or replace an item that
an earlier claim already covered. ``CorsoClient`` reads the List claims operation
(https://dev.corso.com/commerce-api/oas/list-claims, part of the Corso developer documentation
linked from https://docs.corso.com) with an OAuth 2 client-credentials token, pages through every
claim of a customer, and returns the project's own frozen dataclasses.

Failures become ``portal.errors`` exceptions: 400 -> ``CorsoBadRequest``, a token refused twice ->
``CorsoAuthError``, 403 -> ``CorsoForbidden``, 5xx / 429 / timeouts once retries or the longest
acceptable wait are spent -> ``CorsoUnavailable``, an answer that does not fit the documented schema
-> ``CorsoResponseError``.

Money (the API's ``currency`` type, sent as JSON numbers) is read from the raw JSON text as
``Decimal``; date-times are timezone-aware; enumerations stay strings so a value Corso adds later
does not break the page.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from portal.backoff import HTTP_RETRY
from portal.errors import (
    CorsoAuthError,
    CorsoBadRequest,
    CorsoForbidden,
    CorsoResponseError,
    CorsoUnavailable,
)

# The query parameter naming the store a request concerns. Corso's page says claims are listed
# "for the authenticated store"; how a client serving several stores names one is unconfirmed.
STORE_ID_PARAM = "storeId"

MAX_PAGE_SIZE = 100
REFUND_METHODS = frozenset({"Refund"})
REFUND_DETAILS = frozenset({"Refunded", "Refunded_Partial"})
REPLACEMENT_METHODS = frozenset({"Replacement_Order", "Variant_Exchange"})
ISSUED_STATUSES = frozenset({"Approved", "Closed"})

_TOO_MANY_REQUESTS = httpx.codes.TOO_MANY_REQUESTS
_TOKEN_MARGIN = 60.0  # refresh this long before expiry (or 10% of a shorter lifetime)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


# --- what a claim is made of ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    line1: str
    city: str
    state_or_province_code: str
    postal_code: str
    country_code: str
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    line2: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceLineItem:
    """A line item of the Shopify order, as Corso knows it."""

    line_item_id: int
    source_line_item_id: str
    sku: str
    name: str
    quantity: int
    product_id: str | None = None
    variant_id: str | None = None
    img_url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimOrder:
    """The order a claim was filed against."""

    source_order_id: str
    order_id: int | None = None
    order_number: str | None = None
    order_name: str | None = None
    created_on: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplacementOrder:
    source_order_id: str
    line_items: tuple[SourceLineItem, ...]
    order_id: int | None = None
    order_number: str | None = None
    order_name: str | None = None
    created_on: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GiftCard:
    gift_card_id: int
    amount: Decimal
    created_on: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Refund:
    refund_id: int
    amount: Decimal
    created_on: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolutionSummary:
    """What was actually issued when the claim was finalized."""

    gift_cards: tuple[GiftCard, ...] = ()
    refunds: tuple[Refund, ...] = ()
    replacement_orders: tuple[ReplacementOrder, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MonetaryTotals:
    gift_card: Decimal
    refund: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovedLineItem:
    claim_line_item_id: int
    quantity: int
    amount: Decimal
    resolution_method: str | None = None
    estimated_amount: Decimal | None = None
    was_zeroed_through_deduction: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestSummary:
    """What an open claim is currently set to issue once finalized."""

    monetary_totals: MonetaryTotals
    approved_line_items: tuple[ApprovedLineItem, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Shipment:
    shipment_id: int
    to_address: Address
    from_address: Address
    is_return_shipment: bool
    method: str
    expires_on: datetime | None = None
    in_transit_on: datetime | None = None
    created_on: datetime | None = None
    qr_code_url: str | None = None
    label_url: str | None = None
    packing_slip_url: str | None = None
    carrier: str | None = None
    carrier_tracking_url: str | None = None
    carrier_tracking_status: str | None = None
    carrier_service_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomField:
    name: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Option:
    name: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeItem:
    """A variant sent in exchange for, or as a replacement of, a claimed item."""

    variant_id: str
    quantity: int
    price: Decimal
    img_url: str | None = None
    sku: str | None = None
    title: str | None = None
    options: tuple[Option, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimLineItem:
    source_line_item: SourceLineItem
    claim_line_item_id: int
    quantity: int
    is_shop_now: bool
    amount: Decimal
    requested_amount: Decimal
    reason: str
    status: str
    status_detail: str
    requested_resolution_method: str
    custom_fields: tuple[CustomField, ...] = ()
    variant_exchange_line_item: ExchangeItem | None = None
    replacement_items: tuple[ExchangeItem, ...] = ()
    reason_detail: str | None = None
    image_urls: tuple[str, ...] = ()
    resolution_method: str | None = None
    note_from_customer: str | None = None
    denied_on: datetime | None = None
    canceled_on: datetime | None = None

    @property
    def was_refunded(self) -> bool:
        return self.status_detail in REFUND_DETAILS or self._issued_as(REFUND_METHODS)

    @property
    def was_replaced(self) -> bool:
        return self.status_detail in REPLACEMENT_METHODS or self._issued_as(REPLACEMENT_METHODS)

    def _issued_as(self, methods: frozenset[str]) -> bool:
        withdrawn = self.denied_on is not None or self.canceled_on is not None
        issued = self.status in ISSUED_STATUSES and not withdrawn
        return issued and self.resolution_method in methods


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """A return, exchange or warranty claim filed with Corso."""

    store_id: int
    claim_id: int
    external_id: str
    was_created_from_registration: bool
    shipping_address: Address
    billing_address: Address
    currency_code: str
    order: ClaimOrder
    is_instant_exchange: bool
    claim_type: str
    status: str
    fee_amount_applied: Decimal
    exchange_order_shipping_amount_applied: Decimal
    return_shipping_amount_applied: Decimal
    shop_now_incentive_amount_applied: Decimal
    customer_email: str
    claim_line_items: tuple[ClaimLineItem, ...]
    tags: tuple[str, ...] = ()
    resolution_summary: ResolutionSummary | None = None
    request_summary: RequestSummary | None = None
    shipments: tuple[Shipment, ...] = ()
    fee_name: str | None = None
    customer_name: str | None = None
    note_to_customer: str | None = None
    created_on: datetime | None = None
    updated_on: datetime | None = None
    finalized_on: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status != "Completed"

    def line_items_for(self, source_line_item_id: str) -> tuple[ClaimLineItem, ...]:
        """This claim's line items for one Shopify line item."""
        return tuple(
            item
            for item in self.claim_line_items
            if item.source_line_item.source_line_item_id == source_line_item_id
        )

    def replacement_variant_ids(self) -> frozenset[str]:
        orders = self.resolution_summary.replacement_orders if self.resolution_summary else ()
        return frozenset(
            item.variant_id for order in orders for item in order.line_items if item.variant_id
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None = None
    end_cursor: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimPage:
    claims: tuple[Claim, ...]
    page_info: PageInfo


@dataclass(frozen=True, slots=True)
class LineItemHistory:
    """What earlier claims already issued for one Shopify line item (claim external ids)."""

    refunded_in: tuple[str, ...] = ()
    replaced_in: tuple[str, ...] = ()

    @property
    def already_issued(self) -> bool:
        return bool(self.refunded_in or self.replaced_in)


def issued_for_line_item(claims: Iterable[Claim], source_line_item_id: str) -> LineItemHistory:
    """Whether any claim already refunded or replaced this Shopify line item, and which."""
    refunded: list[str] = []
    replaced: list[str] = []
    for claim in claims:
        items = claim.line_items_for(source_line_item_id)
        if any(item.was_refunded for item in items):
            refunded.append(claim.external_id)
        if any(item.was_replaced for item in items) or _sent_again(claim, items):
            replaced.append(claim.external_id)
    return LineItemHistory(tuple(refunded), tuple(replaced))


def _sent_again(claim: Claim, items: Iterable[ClaimLineItem]) -> bool:
    """A replacement order of the claim carries the claimed variant again."""
    sent = claim.replacement_variant_ids()
    return any(item.source_line_item.variant_id in sent for item in items)


# --- reading the JSON -------------------------------------------------------------------------

Convert = Callable[[object, str], T]


class _Fields:
    """One JSON object of an answer; a missing or mistyped field names its path in the error."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, dict):
            raise CorsoResponseError(f"{path}: expected an object, got {type(data).__name__}")
        self._data: dict[str, object] = data
        self._path = path

    def required(self, name: str, convert: Convert[T]) -> T:
        value = self._data.get(name)
        if value is None:
            raise CorsoResponseError(f"{self._path}.{name} is missing")
        return convert(value, f"{self._path}.{name}")

    def optional(self, name: str, convert: Convert[T]) -> T | None:
        value = self._data.get(name)
        return None if value is None else convert(value, f"{self._path}.{name}")

    def listing(self, name: str, convert: Convert[T], *, required: bool = True) -> tuple[T, ...]:
        items = self.required(name, _array) if required else self.optional(name, _array)
        where = f"{self._path}.{name}"
        return tuple(convert(item, f"{where}[{i}]") for i, item in enumerate(items or ()))


def _mistyped(where: str, expected: str, value: object) -> CorsoResponseError:
    return CorsoResponseError(f"{where}: expected {expected}, got {value!r:.60}")


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _mistyped(where, "a string", value)
    return value


def _flag(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise _mistyped(where, "true or false", value)
    return value


def _number(value: object, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _mistyped(where, "a number", value)
    number = Decimal(value)
    if not number.is_finite():
        raise _mistyped(where, "a finite number", value)
    return number


_money = _number


def _integer(value: object, where: str) -> int:
    number = _number(value, where)
    if number != number.to_integral_value():
        raise _mistyped(where, "a whole number", value)
    return int(number)


def _coordinate(value: object, where: str) -> float:
    return float(_number(value, where))


def _moment(value: object, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(_text(value, where))
    except ValueError:
        raise _mistyped(where, "an ISO 8601 date-time", value) from None
    if moment.tzinfo is None:
        raise _mistyped(where, "a date-time with an offset", value)
    return moment


def _array(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise _mistyped(where, "an array", value)
    return value


def _nested(parse: Callable[[_Fields], T]) -> Convert[T]:
    return lambda value, where: parse(_Fields(value, where))


def _address(f: _Fields) -> Address:
    return Address(
        line1=f.required("line1", _text),
        city=f.required("city", _text),
        state_or_province_code=f.required("stateOrProvinceCode", _text),
        postal_code=f.required("postalCode", _text),
        country_code=f.required("countryCode", _text),
        name=f.optional("name", _text),
        first_name=f.optional("firstName", _text),
        last_name=f.optional("lastName", _text),
        line2=f.optional("line2", _text),
        latitude=f.optional("latitude", _coordinate),
        longitude=f.optional("longitude", _coordinate),
    )


def _source_line_item(f: _Fields) -> SourceLineItem:
    return SourceLineItem(
        line_item_id=f.required("lineItemId", _integer),
        source_line_item_id=f.required("sourceLineItemId", _text),
        sku=f.required("sku", _text),
        name=f.required("name", _text),
        quantity=f.required("quantity", _integer),
        product_id=f.optional("productId", _text),
        variant_id=f.optional("variantId", _text),
        img_url=f.optional("imgUrl", _text),
    )


def _claim_order(f: _Fields) -> ClaimOrder:
    return ClaimOrder(
        source_order_id=f.required("sourceOrderId", _text),
        order_id=f.optional("orderId", _integer),
        order_number=f.optional("orderNumber", _text),
        order_name=f.optional("orderName", _text),
        created_on=f.optional("createdOn", _moment),
    )


def _replacement_order(f: _Fields) -> ReplacementOrder:
    return ReplacementOrder(
        source_order_id=f.required("sourceOrderId", _text),
        line_items=f.listing("lineItems", _nested(_source_line_item)),
        order_id=f.optional("orderId", _integer),
        order_number=f.optional("orderNumber", _text),
        order_name=f.optional("orderName", _text),
        created_on=f.optional("createdOn", _moment),
    )


def _gift_card(f: _Fields) -> GiftCard:
    return GiftCard(
        gift_card_id=f.required("giftCardId", _integer),
        amount=f.required("amount", _money),
        created_on=f.optional("createdOn", _moment),
    )


def _refund(f: _Fields) -> Refund:
    return Refund(
        refund_id=f.required("refundId", _integer),
        amount=f.required("amount", _money),
        created_on=f.optional("createdOn", _moment),
    )


def _resolution_summary(f: _Fields) -> ResolutionSummary:
    # The three lists are documented as required, yet Corso's own example sends only "refunds":
    # an absent list is read as empty rather than refusing the claim.
    return ResolutionSummary(
        gift_cards=f.listing("giftCards", _nested(_gift_card), required=False),
        refunds=f.listing("refunds", _nested(_refund), required=False),
        replacement_orders=f.listing(
            "replacementOrders", _nested(_replacement_order), required=False
        ),
    )


def _monetary_totals(f: _Fields) -> MonetaryTotals:
    return MonetaryTotals(
        gift_card=f.required("giftCard", _money), refund=f.required("refund", _money)
    )


def _approved_line_item(f: _Fields) -> ApprovedLineItem:
    return ApprovedLineItem(
        claim_line_item_id=f.required("claimLineItemId", _integer),
        quantity=f.required("quantity", _integer),
        amount=f.required("amount", _money),
        resolution_method=f.optional("resolutionMethod", _text),
        estimated_amount=f.optional("estimatedAmount", _money),
        was_zeroed_through_deduction=f.optional("wasZeroedThroughDeduction", _flag),
    )


def _request_summary(f: _Fields) -> RequestSummary:
    return RequestSummary(
        monetary_totals=f.required("monetaryTotals", _nested(_monetary_totals)),
        approved_line_items=f.listing("approvedLineItems", _nested(_approved_line_item)),
    )


def _shipment(f: _Fields) -> Shipment:
    return Shipment(
        shipment_id=f.required("shipmentId", _integer),
        to_address=f.required("toAddress", _nested(_address)),
        from_address=f.required("fromAddress", _nested(_address)),
        is_return_shipment=f.required("isReturnShipment", _flag),
        method=f.required("method", _text),
        expires_on=f.optional("expiresOn", _moment),
        in_transit_on=f.optional("inTransitOn", _moment),
        created_on=f.optional("createdOn", _moment),
        qr_code_url=f.optional("qrCodeUrl", _text),
        label_url=f.optional("labelUrl", _text),
        packing_slip_url=f.optional("packingSlipUrl", _text),
        carrier=f.optional("carrier", _text),
        carrier_tracking_url=f.optional("carrierTrackingUrl", _text),
        carrier_tracking_status=f.optional("carrierTrackingStatus", _text),
        carrier_service_name=f.optional("carrierServiceName", _text),
    )


def _name_value(f: _Fields) -> tuple[str, str]:
    return f.required("name", _text), f.required("value", _text)


def _custom_field(f: _Fields) -> CustomField:
    name, value = _name_value(f)
    return CustomField(name=name, value=value)


def _option(f: _Fields) -> Option:
    name, value = _name_value(f)
    return Option(name=name, value=value)


def _exchange_item(f: _Fields) -> ExchangeItem:
    return ExchangeItem(
        variant_id=f.required("variantId", _text),
        quantity=f.required("quantity", _integer),
        price=f.required("price", _money),
        img_url=f.optional("imgUrl", _text),
        sku=f.optional("sku", _text),
        title=f.optional("title", _text),
        options=f.listing("options", _nested(_option), required=False),
    )


def _claim_line_item(f: _Fields) -> ClaimLineItem:
    return ClaimLineItem(
        source_line_item=f.required("sourceLineItem", _nested(_source_line_item)),
        claim_line_item_id=f.required("claimLineItemId", _integer),
        quantity=f.required("quantity", _integer),
        is_shop_now=f.required("isShopNow", _flag),
        amount=f.required("amount", _money),
        requested_amount=f.required("requestedAmount", _money),
        reason=f.required("reason", _text),
        status=f.required("status", _text),
        status_detail=f.required("statusDetail", _text),
        requested_resolution_method=f.required("requestedResolutionMethod", _text),
        custom_fields=f.listing("customFields", _nested(_custom_field)),
        variant_exchange_line_item=f.optional("variantExchangeLineItem", _nested(_exchange_item)),
        replacement_items=f.listing("replacementItems", _nested(_exchange_item), required=False),
        reason_detail=f.optional("reasonDetail", _text),
        image_urls=f.listing("imageUrls", _text, required=False),
        resolution_method=f.optional("resolutionMethod", _text),
        note_from_customer=f.optional("noteFromCustomer", _text),
        denied_on=f.optional("deniedOn", _moment),
        canceled_on=f.optional("canceledOn", _moment),
    )


def _claim(f: _Fields) -> Claim:
    return Claim(
        store_id=f.required("storeId", _integer),
        claim_id=f.required("claimId", _integer),
        external_id=f.required("externalId", _text),
        was_created_from_registration=f.required("wasCreatedFromRegistration", _flag),
        shipping_address=f.required("shippingAddress", _nested(_address)),
        billing_address=f.required("billingAddress", _nested(_address)),
        currency_code=f.required("currencyCode", _text),
        order=f.required("order", _nested(_claim_order)),
        is_instant_exchange=f.required("isInstantExchange", _flag),
        claim_type=f.required("claimType", _text),
        status=f.required("status", _text),
        fee_amount_applied=f.required("feeAmountApplied", _money),
        exchange_order_shipping_amount_applied=f.required(
            "exchangeOrderShippingAmountApplied", _money
        ),
        return_shipping_amount_applied=f.required("returnShippingAmountApplied", _money),
        shop_now_incentive_amount_applied=f.required("shopNowIncentiveAmountApplied", _money),
        customer_email=f.required("customerEmail", _text),
        claim_line_items=f.listing("claimLineItems", _nested(_claim_line_item)),
        tags=f.listing("tags", _text),
        resolution_summary=f.optional("resolutionSummary", _nested(_resolution_summary)),
        request_summary=f.optional("requestSummary", _nested(_request_summary)),
        shipments=f.listing("shipments", _nested(_shipment), required=False),
        fee_name=f.optional("feeName", _text),
        customer_name=f.optional("customerName", _text),
        note_to_customer=f.optional("noteToCustomer", _text),
        created_on=f.optional("createdOn", _moment),
        updated_on=f.optional("updatedOn", _moment),
        finalized_on=f.optional("finalizedOn", _moment),
    )


def _page_info(f: _Fields) -> PageInfo:
    # startCursor and endCursor are "nullable required": null on an empty page.
    return PageInfo(
        has_next_page=f.required("hasNextPage", _flag),
        has_previous_page=f.required("hasPreviousPage", _flag),
        start_cursor=f.optional("startCursor", _text),
        end_cursor=f.optional("endCursor", _text),
    )


def parse_claim(data: object, path: str = "claim") -> Claim:
    """One claim object, as the API sends it, into a ``Claim``."""
    return _claim(_Fields(data, path))


def parse_claim_page(data: object) -> ClaimPage:
    """A List claims answer (already decoded with ``decode_json``) into a ``ClaimPage``."""
    f = _Fields(data, "answer")
    return ClaimPage(
        claims=f.listing("claims", _nested(_claim)),
        page_info=f.required("pageInfo", _nested(_page_info)),
    )


def decode_json(content: bytes) -> object:
    """JSON with every non-integer number kept exact as ``Decimal``."""
    try:
        return json.loads(content, parse_float=Decimal)
    except ValueError as exc:
        raise CorsoResponseError(f"Corso answered with something that is not JSON: {exc}") from None


# --- the client -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _AccessToken:
    value: str
    refresh_at: float  # on the client's clock


class CorsoClient:
    """Reads claims from Corso with one cached OAuth token, within Corso's rate limit."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_url: str,
        auth_url: str,
        client_id: str,
        client_secret: str,
        audience: str,
        max_retries: int = 4,
        max_wait: float = 30.0,
        timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http = http
        self._timeout = timeout  # per request; None keeps the shared client's own
        self._api_url = api_url.rstrip("/")
        self._auth_url = auth_url
        self._credentials = {
            "client_id": client_id,
            "client_secret": client_secret,
            "audience": audience,
            "grant_type": "client_credentials",
        }
        self._max_retries = max_retries
        self._max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._token: _AccessToken | None = None
        self._token_lock = asyncio.Lock()
        self._paused_until = 0.0
        self._jitter = random.Random()

    # --- claims

    async def list_claims(
        self,
        *,
        store_id: int,
        customer_email: str | None = None,
        external_id: str | None = None,
        page_size: int = 50,
        after: str | None = None,
        before: str | None = None,
        order: str = "desc",
    ) -> ClaimPage:
        """One page of claims: forward from ``after``, or the page before ``before``."""
        query = _claims_query(
            store_id=store_id,
            customer_email=customer_email,
            external_id=external_id,
            page_size=page_size,
            after=after,
            before=before,
            order=order,
        )
        return parse_claim_page(await self._get_json("/claims", query))

    async def iter_claims(
        self,
        *,
        store_id: int,
        customer_email: str | None = None,
        external_id: str | None = None,
        page_size: int = 50,
        order: str = "desc",
    ) -> AsyncIterator[Claim]:
        """Every matching claim, page after page, each once."""
        after: str | None = None
        while True:
            page = await self.list_claims(
                store_id=store_id,
                customer_email=customer_email,
                external_id=external_id,
                page_size=page_size,
                after=after,
                order=order,
            )
            for claim in page.claims:
                yield claim
            if not page.page_info.has_next_page:
                return
            after = _next_cursor(page.page_info, after)

    # --- requests

    async def _get_json(self, path: str, query: dict[str, str]) -> object:
        response = await self._get_authorized(self._api_url + path, query)
        _raise_for_refusal(response)
        return decode_json(response.content)

    async def _get_authorized(self, url: str, query: dict[str, str]) -> httpx.Response:
        token = await self._access_token()
        response = await self._send("GET", url, params=query, headers=_bearer(token))
        if response.status_code != httpx.codes.UNAUTHORIZED:
            return response
        self._forget_token(token)
        token = await self._access_token()
        response = await self._send("GET", url, params=query, headers=_bearer(token))
        if response.status_code == httpx.codes.UNAUTHORIZED:
            raise CorsoAuthError("Corso refused a freshly issued access token")
        return response

    async def _send(self, method: str, url: str, **options: Any) -> httpx.Response:
        """One request, retried on 429, 5xx and transport failures within the retry budget."""
        for attempt in range(self._max_retries + 1):
            await self._wait_out_rate_limit()
            outcome = await self._attempt(method, url, options)
            if isinstance(outcome, httpx.Response) and not _is_transient(outcome.status_code):
                return outcome
            if attempt < self._max_retries:
                await self._pause_before_retry(attempt, outcome)
        raise CorsoUnavailable(
            f"Corso did not answer after {attempt + 1} attempts ({_describe(outcome)})"
        )

    async def _attempt(
        self, method: str, url: str, options: dict[str, Any]
    ) -> httpx.Response | httpx.TransportError:
        try:
            if self._timeout is not None:
                options = {"timeout": self._timeout, **options}
            response = await self._http.request(method, url, **options)
        except httpx.TransportError as exc:
            return exc
        self._note_rate_limit(response)
        return response

    async def _pause_before_retry(
        self, attempt: int, outcome: httpx.Response | httpx.TransportError
    ) -> None:
        if isinstance(outcome, httpx.Response) and outcome.status_code == _TOO_MANY_REQUESTS:
            retry_after = _numeric_header(outcome, "Retry-After")
            self._pause_for(self._backoff(attempt) if retry_after is None else retry_after)
            return  # the pause is waited out before the next attempt
        await self._sleep_within_budget(self._backoff(attempt))

    def _backoff(self, attempt: int) -> float:
        return min(self._max_wait, HTTP_RETRY.delay(attempt, rng=self._jitter.random))

    # --- rate limit

    def _note_rate_limit(self, response: httpx.Response) -> None:
        remaining = _numeric_header(response, "RateLimit-Remaining")
        reset = _numeric_header(response, "RateLimit-Reset")
        if remaining == 0 and reset is not None:
            self._pause_for(reset)

    def _pause_for(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def _wait_out_rate_limit(self) -> None:
        wait = self._paused_until - self._clock()
        if wait > 0:
            await self._sleep_within_budget(wait)

    async def _sleep_within_budget(self, seconds: float) -> None:
        if seconds > self._max_wait:
            raise CorsoUnavailable(
                f"Corso asks for a {seconds:.0f} s wait, longer than {self._max_wait:.0f} s"
            )
        await self._sleep(seconds)

    # --- token

    async def _access_token(self) -> str:
        async with self._token_lock:
            if self._token is None or self._clock() >= self._token.refresh_at:
                self._token = await self._request_token()
            return self._token.value

    def _forget_token(self, value: str) -> None:
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _request_token(self) -> _AccessToken:
        response = await self._send("POST", self._auth_url, json=self._credentials)
        if response.status_code in (400, 401, 403):
            raise CorsoAuthError(f"Corso refused the client credentials: {_reason(response)}")
        if response.is_error:
            raise CorsoResponseError(f"Corso's token endpoint answered {response.status_code}")
        f = _Fields(decode_json(response.content), "token")
        lifetime = float(f.required("expires_in", _number))
        margin = min(_TOKEN_MARGIN, lifetime / 10)
        return _AccessToken(f.required("access_token", _text), self._clock() + lifetime - margin)


def _claims_query(
    *,
    store_id: int,
    customer_email: str | None,
    external_id: str | None,
    page_size: int,
    after: str | None,
    before: str | None,
    order: str,
) -> dict[str, str]:
    if after is not None and before is not None:
        raise ValueError("page forward (after) or backward (before), not both")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be from 1 to {MAX_PAGE_SIZE}")
    if order not in ("asc", "desc"):
        raise ValueError("order must be 'asc' or 'desc'")
    query = {
        STORE_ID_PARAM: str(store_id),
        "orderBy": order,
        "customerEmail": customer_email,
        "externalId": external_id,
    }
    if before is None:
        query |= {"first": str(page_size), "after": after}
    else:
        query |= {"last": str(page_size), "before": before}
    return {name: value for name, value in query.items() if value is not None}


def _next_cursor(page_info: PageInfo, previous: str | None) -> str:
    cursor = page_info.end_cursor
    if cursor is None or cursor == previous:
        raise CorsoResponseError("Corso says more claims follow but gave no new cursor")
    return cursor


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _is_transient(status: int) -> bool:
    return status == _TOO_MANY_REQUESTS or status >= 500


def _describe(outcome: httpx.Response | httpx.TransportError) -> str:
    if isinstance(outcome, httpx.Response):
        return f"HTTP {outcome.status_code}"
    return f"{type(outcome).__name__}: {outcome}"


def _numeric_header(response: httpx.Response, name: str) -> float | None:
    try:
        seconds = float(response.headers.get(name, ""))
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _raise_for_refusal(response: httpx.Response) -> None:
    status = response.status_code
    if status == httpx.codes.BAD_REQUEST:
        raise CorsoBadRequest(f"Corso refused the query: {_reason(response)}")
    if status == httpx.codes.FORBIDDEN:
        raise CorsoForbidden(f"Corso refused access to the store: {_reason(response)}")
    if status != httpx.codes.OK:
        raise CorsoResponseError(f"Corso answered {status}: {_reason(response)}")


def _reason(response: httpx.Response) -> str:
    """The message of an error body, whichever of the usual keys it uses."""
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "error_description", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return response.text[:200] or response.reason_phrase
