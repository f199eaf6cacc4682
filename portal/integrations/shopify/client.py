"""The portal's client for Shopify's Admin GraphQL API.

API reference: https://shopify.dev/docs/api/admin-graphql (rate limits:
https://shopify.dev/docs/api/usage/limits). One ``ShopifyClient`` is built per store and use; the
``httpx.AsyncClient`` under it is shared by the whole app. Every document sent lives in
``documents/*.graphql``.

What the client does so callers do not have to:

- waits for query points (``throttleStatus``) instead of failing, both when Shopify answers
  THROTTLED (or 429, honouring ``Retry-After``) and before sending a document it knows the
  bucket cannot pay for yet: such waits are bounded by ``max_wait`` seconds per call, not
  counted as retries, so many callers sharing one shop's bucket wait their turn;
- retries 5xx, timeouts and dropped connections with jittered exponential backoff, within
  ``max_retries`` retries (and the same ``max_wait``);
- never sends a mutation twice blindly: after a lost ``orderCreate`` response it looks the order up
  by ``sourceIdentifier``; a ``refundCreate`` is re-sent with the same ``@idempotent`` key (API
  2026-01 and later) or, on older versions, only after the order's refunds show that the key
  written into the refund note is not there;
- maps every failure onto ``portal.errors``.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import httpx

from portal import metrics
from portal.backoff import HTTP_RETRY, RetryBudget, retry_after
from portal.errors import (
    InventoryClaimFailed,
    OutcomeUnknown,
    QueryCostExceeded,
    RefundOutcomeUnknown,
    ShopifyAuthError,
    ShopifyError,
    ShopifyGraphQLError,
    ShopifyResponseError,
    ShopifyThrottled,
    ShopifyUnavailable,
    ShopifyUserError,
    UserErrorDetail,
)
from portal.integrations.shopify import parse
from portal.integrations.shopify.app_config import WEBHOOK_TOPICS
from portal.integrations.shopify.loader import Document, load
from portal.integrations.shopify.models import (
    Address,
    Fulfillment,
    LineItem,
    Money,
    NewOrder,
    Order,
    ProductMatch,
    ProductVariantRef,
    ProductWithVariants,
    Refund,
    RefundLine,
    RefundTransaction,
    ShopInfo,
    SuggestedRefund,
    Variant,
)
from portal.integrations.shopify.throttle import (
    Keeper,
    LocalBucket,
    QueryCost,
    Turn,
    estimate_cost,
    ledger_for,
)

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://{shop}/admin/api/{version}/graphql.json"
IDEMPOTENT_REFUNDS_FROM = "2026-01"
"""First API version whose ``refundCreate`` takes ``@idempotent(key:)``."""
REFUND_KEY_REQUIRED_FROM = "2026-04"
MAX_INPUT_ITEMS = 250
"""Shopify's limit on the length of any input array (and of ``nodes(ids:)``)."""
SEARCH_PAGE = 2
"""Candidates per page of an order search: one order usually matches (more pages follow while
none has)."""
LINE_ITEM_PAGE = 250
"""The largest page of line items; the pages after an order's first grow towards it."""
FIRST_REFUND_NOTES = 4
"""How many of an order's refunds RefundPlan lists (most orders have none or one). A list that
comes back full is read again, longer each time, up to ALL_REFUND_NOTES."""
ALL_REFUND_NOTES = 250
FIRST_VARIANT_PAGE = 4
WEBHOOK_PAGE = len(WEBHOOK_TOPICS)
"""About as many subscriptions as the portal makes, so one page usually holds them all."""
# How many fulfillments and refunds OrderFields asks for (fragments/order.graphql): an order
# with as many has the rest read by OrderShipmentsAndRefunds.
FIRST_FULFILLMENTS = 2
FIRST_REFUNDS = 2
MAX_FULFILLMENTS = 40  # parcels with tracking and lines per query: under 1,000 points
PARCEL_FIRST_LINES = 5  # the lines FulfillmentFields reads with each parcel

_API_VERSION = re.compile(r"^\d{4}-(01|04|07|10)$")
_AUTH_STATUSES = frozenset({401, 403, 423})
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_PLAIN_SEARCH_VALUE = re.compile(r"^[\w#@.+\-]+$")

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")


class TokenSource(Protocol):
    """Where the client gets its access token: ``current`` before each request (an expiring
    token is refreshed a few minutes before it expires), ``renewed`` after Shopify answered 401
    to ``rejected`` (None: there is nothing newer, the 401 stands)."""

    async def current(self) -> str: ...

    async def renewed(self, rejected: str) -> str | None: ...


@dataclasses.dataclass(frozen=True)
class StaticToken:
    """A token that never changes (a custom app's Admin API token)."""

    token: str

    async def current(self) -> str:
        return self.token

    async def renewed(self, rejected: str) -> str | None:
        return None


class _Unauthorised(Exception):
    def __init__(self, final: ShopifyAuthError, token: str) -> None:
        super().__init__(str(final))
        self.final = final
        self.token = token


class _Retry(Exception):
    """One attempt failed in a way worth retrying; ``final`` is raised when retries run out."""

    def __init__(
        self, final: ShopifyError, *, delay: float | None = None, throttled: bool = False
    ) -> None:
        super().__init__(str(final))
        self.final = final
        self.delay = delay
        self.throttled = throttled  # Shopify's rate limit (THROTTLED, 429), not a failure


@dataclasses.dataclass(frozen=True)
class BillableLine:
    """One line of an order as the invoice sees it."""

    id: str
    variant_id: str | None
    quantity: int
    current_quantity: int
    """``quantity`` minus the units refunded or removed since."""
    charged: Money
    """What the whole line cost after every discount (original total minus discounts)."""


@dataclasses.dataclass(frozen=True)
class WebhookSubscription:
    id: str
    topic: str  # the GraphQL enum spelling: ORDERS_CREATE
    callback_url: str


@dataclasses.dataclass(frozen=True)
class BillableOrder:
    """An order reduced to what the monthly invoice needs (see ``iter_billable_orders``)."""

    id: str
    name: str
    created_at: datetime
    updated_at: datetime | None
    cancelled_at: datetime | None
    currency: str
    line_items: tuple[BillableLine, ...]


class ShopifyClient:
    """Reads orders and variants, creates paid replacement orders and refunds, for one shop."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        shop_domain: str,
        access_token: str | TokenSource,
        api_version: str,
        endpoint: str = DEFAULT_ENDPOINT,
        max_retries: int = 5,
        max_wait: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        bucket_keeper: Keeper | None = None,
    ) -> None:
        if api_version != "unstable" and not _API_VERSION.match(api_version):
            raise ValueError(f"not a Shopify API version: {api_version!r} (expected YYYY-MM)")
        self._http = http
        self._shop = shop_domain
        self._tokens: TokenSource = (
            StaticToken(access_token) if isinstance(access_token, str) else access_token
        )
        self.served_version: str | None = None
        """The API version Shopify said it ran (``X-Shopify-API-Version``), once it answered."""
        self._version = api_version
        self._url = endpoint.format(shop=shop_domain, version=api_version)
        self._max_retries = max_retries
        self._max_wait = max_wait
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        keeper = bucket_keeper or (lambda _shop: LocalBucket(clock))
        self._ledger = ledger_for(http, shop_domain, keeper)
        self._background = False

    def waiting_at_most(self, seconds: float) -> ShopifyClient:
        """This client, waiting at most ``seconds`` per call for points and retries (someone
        is looking at the page): ``ShopifyThrottled`` sooner, never a longer wait."""
        shorter = copy.copy(self)
        shorter._max_wait = min(self._max_wait, seconds)
        return shorter

    def in_background(self) -> ShopifyClient:
        """This client for work nobody is watching (jobs): it spends the shop's points only
        while a reserve is left for the pages people are looking at (``BACKGROUND_RESERVE``)."""
        behind = copy.copy(self)
        behind._background = True
        return behind

    @property
    def idempotent_refunds(self) -> bool:
        """Whether this API version takes ``@idempotent(key:)`` on ``refundCreate``."""
        return _version_at_least(self._version, IDEMPOTENT_REFUNDS_FROM)

    # --- reading orders ----------------------------------------------------------------------

    async def find_order(self, *, name: str, email: str | None = None) -> Order | None:
        """The order called ``name`` ("#1001" or "1001"), if its email matches ``email``.

        Shopify's search is fuzzy, so both are checked again here, ignoring case.
        """
        number = name.strip().lstrip("#").strip()
        if not number:
            return None
        terms = [f"name:{_search_value('#' + number if number.isdigit() else number)}"]
        if email:
            terms.append(f"email:{_search_value(email.strip())}")

        def matches(candidate: Any) -> bool:
            found = parse.text(candidate["name"]).lstrip("#")
            return found.casefold() == number.casefold() and _email_matches(candidate, email)

        return await self._find_one(" ".join(terms), matches)

    async def get_order(self, *, order_id: str) -> Order | None:
        data = await self._send(load("Order"), {"id": _gid("Order", order_id)})
        found = data.get("order")
        return None if found is None else await self._complete_order(found)

    async def find_order_by_source_identifier(self, *, source_identifier: str) -> Order | None:
        return await self._find_one(
            f"source_identifier:{_search_value(source_identifier)}",
            lambda candidate: candidate.get("sourceIdentifier") == source_identifier,
            document_name="OrderIds",
        )

    async def _find_one(
        self, query: str, matches: Callable[[Any], bool], *, document_name: str = "OrderSearch"
    ) -> Order | None:
        """Search cheaply for candidates, small page by small page until one really matches,
        then read that one in full."""
        document = load(document_name)
        after: str | None = None
        while True:
            variables = {"query": query, "first": SEARCH_PAGE, "after": after}
            connection = parse.guarded(lambda d: d["orders"], await self._send(document, variables))
            candidates = parse.guarded(parse.objects, connection)
            match = next((c for c in candidates if parse.guarded(matches, c)), None)
            if match is not None:
                return await self.get_order(order_id=parse.guarded(parse.text, match["id"]))
            after = parse.guarded(_next_cursor, connection)
            if after is None:
                return None

    async def _order_nodes(
        self, document_name: str, query: str, page_size: int
    ) -> AsyncIterator[Any]:
        """The raw order nodes of a search, following the cursor, pages sized by cost."""
        document = load(document_name)
        cap = max(1, min(page_size, MAX_INPUT_ITEMS))
        after: str | None = None
        while True:
            data, _, cap = await self._sized(
                document, _sized_by_first({"query": query, "after": after}), cap=cap
            )
            connection = parse.guarded(lambda d: d["orders"], data)
            for node in parse.guarded(parse.objects, connection):
                yield node
            page = parse.guarded(lambda c: c["pageInfo"], connection)
            if not page.get("hasNextPage"):
                return
            after = parse.guarded(parse.text, page.get("endCursor"))

    async def _complete_order(self, node: Any) -> Order:
        """The order with every line item, fulfillment and refund: the pages of line items
        after the first, and the rest of the fulfillments and refunds when the first ones
        filled their lists."""
        order = parse.guarded(parse.order, node)
        cursor = parse.guarded(lambda d: _next_cursor(d["lineItems"]), node)
        if cursor is not None:
            rest = await self._remaining_lines("OrderLineItems", order.id, cursor, _full_line_page)
            order = dataclasses.replace(order, line_items=order.line_items + tuple(rest))
        parcels = parse.guarded(_parcel_count, node)
        return await self._complete_lists(order, node["fulfillments"], parcels)

    async def _complete_lists(self, order: Order, shipments: Any, parcels: int) -> Order:
        """Read the rest of the order's fulfillments (``parcels`` of them, as the order counts
        them) and its refunds list when it came back full, a little longer each time (at most
        about twice the points of what is found); then each parcel's lines after its first
        page. Parcels are read at most ``MAX_FULFILLMENTS`` at a time: each carries its
        tracking and lines, and more would pass Shopify's 1,000-point limit for one query."""
        refunds = order.refunds
        found = {"fulfillments": len(order.fulfillments), "refunds": len(refunds)}
        wanted = {
            "fulfillments": parcels if parcels > found["fulfillments"] else 0,
            "refunds": _longer(FIRST_REFUNDS) if found["refunds"] >= FIRST_REFUNDS else 0,
        }
        wanted["fulfillments"] = min(wanted["fulfillments"], MAX_FULFILLMENTS)
        while any(wanted.values()):
            lines = max(1, min(PARCEL_FIRST_LINES, len(order.line_items)))
            variables = {"id": order.id, "lines": lines, **wanted}
            data = await self._send(load("OrderShipmentsAndRefunds"), variables)
            lists = parse.guarded(lambda d: d["order"], data)
            if wanted["fulfillments"]:
                shipments = lists["fulfillments"]
            if wanted["refunds"]:
                refunds = parse.guarded(
                    lambda d: tuple(parse.refund_summary(r) for r in parse.objects(d)),
                    lists["refunds"],
                )
            asked = wanted["refunds"]
            wanted = {  # the parcels were asked by their count: once is enough
                "fulfillments": 0,
                "refunds": _longer(asked) if asked and len(refunds) >= asked else 0,
            }
        count = len(order.line_items)
        fulfillments = [
            await self._whole_fulfillment(f, count) for f in parse.guarded(parse.objects, shipments)
        ]
        unread = max(0, parcels - len(fulfillments))
        if unread:
            log.warning(
                "%s on %s has %d fulfillments; the first %d are read",
                *(order.name, self._shop, parcels, len(fulfillments)),
            )
        return dataclasses.replace(
            order, fulfillments=tuple(fulfillments), refunds=refunds, parcels_unread=unread
        )

    async def _whole_fulfillment(self, node: Any, order_lines: int) -> Fulfillment:
        """A parcel with every one of its lines: the pages after the first, when there are,
        each no larger than the order's lines not yet seen in it (a parcel carries each line
        at most once)."""
        parcel = parse.guarded(parse.fulfillment, node)
        _, cursor = parse.guarded(
            lambda d: parse.fulfillment_line_page(d["fulfillmentLineItems"]), node
        )
        lines = list(parcel.line_items)
        document = load("FulfillmentLineItems")
        while cursor is not None:
            unseen = min(LINE_ITEM_PAGE, max(1, order_lines - len(lines)))
            data, _, _ = await self._sized(
                document, _sized_by_first({"id": parcel.id, "after": cursor}), cap=unseen
            )
            connection = parse.guarded(lambda d: d["fulfillment"]["fulfillmentLineItems"], data)
            more, cursor = parse.guarded(parse.fulfillment_line_page, connection)
            lines.extend(more)
        return dataclasses.replace(parcel, line_items=tuple(lines))

    # --- orders for the invoice --------------------------------------------------------------

    async def iter_billable_orders(
        self, *, query: str, page_size: int = 250
    ) -> AsyncIterator[BillableOrder]:
        """Every order matching ``query``, in the light shape the invoice needs, each page as
        large as the query-cost budget allows (up to ``page_size``)."""
        async for node in self._order_nodes("BillableOrders", query, page_size):
            yield await self._complete_billable_order(node)

    async def get_billable_order(self, *, order_id: str) -> BillableOrder | None:
        data = await self._send(load("BillableOrder"), {"id": _gid("Order", order_id)})
        found = data.get("order")
        return None if found is None else await self._complete_billable_order(found)

    async def _complete_billable_order(self, node: Any) -> BillableOrder:
        order = parse.guarded(_billable_order, node)
        cursor = parse.guarded(lambda d: _next_cursor(d["lineItems"]), node)
        if cursor is None:
            return order
        rest = await self._remaining_lines(
            "BillableOrderLineItems", order.id, cursor, _billable_line_page
        )
        return dataclasses.replace(order, line_items=order.line_items + tuple(rest))

    async def _remaining_lines(
        self,
        document_name: str,
        order_id: str,
        cursor: str | None,
        read_page: Callable[[Any], tuple[list[T], str | None]],
    ) -> list[T]:
        """The order's line items after ``cursor``, page by page: each page twice as many as
        were read after the first page (two at first, up to ``LINE_ITEM_PAGE``), so each page
        asks for at most about twice the points of what it finds."""
        items: list[T] = []
        document = load(document_name)
        while cursor is not None:
            wanted = min(LINE_ITEM_PAGE, max(2, 2 * len(items)))
            data, _, _ = await self._sized(
                document, _sized_by_first({"id": order_id, "after": cursor}), cap=wanted
            )
            connection = parse.guarded(lambda d: d["order"]["lineItems"], data)
            more, cursor = parse.guarded(read_page, connection)
            items.extend(more)
        return items

    # --- catalogue and shop ------------------------------------------------------------------

    async def get_variants(self, *, variant_ids: Sequence[str]) -> list[Variant]:
        """The variants that exist among ``variant_ids``, in the order asked for."""
        ids = list(dict.fromkeys(_gid("ProductVariant", v) for v in variant_ids))
        document = load("Variants")
        found: list[Variant] = []
        cap = MAX_INPUT_ITEMS
        while ids:
            data, size, cap = await self._sized(document, _sized_by_ids(ids), cap=cap)
            ids = ids[size:]
            nodes = parse.guarded(parse.objects, data.get("nodes"))
            found.extend(parse.guarded(parse.variant, n) for n in nodes if n and "id" in n)
        return found

    async def shop(self) -> ShopInfo:
        data = await self._send(load("Shop"), {})
        return parse.guarded(parse.shop, data.get("shop"))

    async def access_scopes(self) -> frozenset[str]:
        """The scopes the token holds (``currentAppInstallation.accessScopes``)."""
        data = await self._send(load("AccessScopes"), {})
        installation = parse.guarded(lambda d: d["currentAppInstallation"], data)
        handles = parse.guarded(parse.objects, installation.get("accessScopes"))
        return frozenset(parse.guarded(parse.text, h.get("handle")) for h in handles)

    # --- webhook subscriptions ---------------------------------------------------------------

    async def webhook_subscriptions(self) -> list[WebhookSubscription]:
        """The app's subscriptions on this shop (HTTP endpoints; others are left out)."""
        found: list[WebhookSubscription] = []
        after: str | None = None
        document = load("WebhookSubscriptions")
        while True:
            data = await self._send(document, {"first": WEBHOOK_PAGE, "after": after})
            connection = parse.guarded(lambda d: d["webhookSubscriptions"], data)
            for node in parse.guarded(parse.objects, connection):
                endpoint = node.get("endpoint") or {}
                if endpoint.get("__typename") == "WebhookHttpEndpoint":
                    found.append(
                        WebhookSubscription(
                            id=parse.guarded(parse.text, node.get("id")),
                            topic=parse.guarded(parse.text, node.get("topic")),
                            callback_url=parse.guarded(parse.text, endpoint.get("callbackUrl")),
                        )
                    )
            page = parse.guarded(lambda c: c["pageInfo"], connection)
            if not page.get("hasNextPage"):
                return found
            after = parse.guarded(parse.text, page.get("endCursor"))

    async def subscribe_webhook(self, *, topic: str, callback_url: str) -> str:
        """Subscribe ``topic`` (enum spelling, e.g. ORDERS_CREATE) to ``callback_url``; the new
        subscription's id. Safe to repeat: the caller lists first."""
        data = await self._send(
            load("WebhookSubscriptionCreate"),
            {
                "topic": topic,
                "webhookSubscription": {"callbackUrl": callback_url, "format": "JSON"},
            },
        )
        payload = parse.guarded(lambda d: d["webhookSubscriptionCreate"], data)
        _raise_user_errors(payload)
        created = payload.get("webhookSubscription") or {}
        return parse.guarded(parse.text, created.get("id"))

    async def unsubscribe_webhook(self, *, subscription_id: str) -> None:
        data = await self._send(load("WebhookSubscriptionDelete"), {"id": subscription_id})
        _raise_user_errors(parse.guarded(lambda d: d["webhookSubscriptionDelete"], data))

    async def search_products(self, *, query: str, first: int = 10) -> list[ProductMatch]:
        """Products matching a Shopify product search (a bare word matches part of the title),
        by title, at most ``first`` of them, each with its first few variants."""
        variables = {"query": query, "first": max(1, min(first, 50))}
        data = await self._send(load("ProductSearch"), variables)
        nodes = parse.guarded(lambda d: parse.objects(d["products"]), data)
        return [parse.guarded(parse.product_match, n) for n in nodes]

    async def get_product_variants(self, *, product_id: str) -> ProductWithVariants | None:
        """The product with every one of its variants, page by page; None if there is none."""
        document = load("ProductVariantIds")
        gid = _gid("Product", product_id)
        title: str | None = None
        variants: list[ProductVariantRef] = []
        after: str | None = None
        while True:  # pages grow with what was read: most products have a few variants
            wanted = min(MAX_INPUT_ITEMS, max(FIRST_VARIANT_PAGE, 2 * len(variants)))
            data, _, _ = await self._sized(
                document, _sized_by_first({"id": gid, "after": after}), cap=wanted
            )
            product = data.get("product")
            if product is None:
                return None
            title = parse.guarded(lambda p: parse.text(p["title"]), product)
            connection = parse.guarded(lambda p: p["variants"], product)
            nodes = parse.guarded(parse.objects, connection)
            variants.extend(parse.guarded(parse.variant_ref, v) for v in nodes)
            after = parse.guarded(_next_cursor, connection)
            if after is None:
                return ProductWithVariants(id=gid, title=title, variants=tuple(variants))

    # --- replacement orders ------------------------------------------------------------------

    async def create_order(self, *, order: NewOrder) -> Order:
        """Create ``order`` marked paid, exactly once per ``order.source_identifier``.

        An order that already carries the source identifier is returned instead of creating
        another; after a lost answer the order is looked up again before anything is re-sent.
        Raises ``InventoryClaimFailed`` when stock ran out, ``ShopifyUserError`` for other
        refusals.
        """
        _check_new_order(order)
        existing = await self.find_order_by_source_identifier(
            source_identifier=order.source_identifier
        )
        if existing is not None:
            return existing
        document = load("OrderCreate")
        variables = _order_create_variables(order)
        for attempt in range(self._max_retries + 1):
            try:
                data = await self._send(document, variables, replay_safe=False)
            except OutcomeUnknown as lost:
                log.warning("orderCreate %s: %s; looking it up", order.source_identifier, lost)
                await self._sleep(HTTP_RETRY.delay(attempt, rng=self._rng))
                found = await self.find_order_by_source_identifier(
                    source_identifier=order.source_identifier
                )
                if found is not None:
                    return found
                continue
            return await self._created_order(data)
        raise ShopifyUnavailable(
            f"orderCreate for {order.source_identifier} got no answer after "
            f"{self._max_retries + 1} attempts; it was not found by its source identifier"
        )

    async def _created_order(self, data: dict[str, Any]) -> Order:
        payload = parse.guarded(lambda d: d["orderCreate"], data)
        _raise_user_errors(payload)
        if payload.get("order") is None:
            raise ShopifyResponseError("orderCreate answered neither an order nor userErrors")
        return await self._complete_order(payload["order"])

    # --- refunds -----------------------------------------------------------------------------

    async def suggest_refund(
        self, *, order_id: str, lines: Sequence[RefundLine], refund_shipping: bool = False
    ) -> SuggestedRefund:
        """What Shopify would refund for ``lines``, and through which original payments."""
        variables = {
            "id": _gid("Order", order_id),
            "lines": [_refund_line(line) for line in _limited(lines, "refund lines")],
            "refundShipping": refund_shipping,
        }
        data = await self._send(load("SuggestRefund"), variables)
        suggestion = parse.guarded(lambda d: (d["order"] or {}).get("suggestedRefund"), data)
        if suggestion is None:
            raise ShopifyResponseError(f"no refund can be suggested for order {order_id}")
        return parse.guarded(parse.suggested_refund, suggestion)

    async def refund_as_suggested(
        self,
        *,
        order_id: str,
        lines: Sequence[RefundLine],
        idempotency_key: str,
        note: str | None = None,
        notify: bool = True,
        refund_shipping: bool = False,
    ) -> Refund:
        """Refund ``lines`` to the original payments, for the amounts Shopify suggests (taxes
        and what is left to refund included), once however often this is called with
        ``idempotency_key`` (see ``create_refund``).

        One read (``RefundPlan``: the order's refunds, to find one made earlier with the key,
        and the suggested transactions), then ``refundCreate``: about 17 points in all, where a
        separate suggestion, key scan and mutation cost about 40.
        """
        _check_refund_key(self._version, idempotency_key)
        order_gid = _gid("Order", order_id)
        variables = {
            "id": order_gid,
            "refunds": FIRST_REFUND_NOTES,
            "lines": [_refund_line(line) for line in _limited(lines, "refund lines")],
            "refundShipping": refund_shipping,
        }
        data = await self._send(load("RefundPlan"), variables)
        order = data.get("order")
        if order is None:
            raise ShopifyResponseError(f"order {order_gid} was not found")
        listed = parse.guarded(lambda o: parse.objects(o["refunds"]), order)
        earlier = await self._keyed_refund(order_gid, idempotency_key, listed, FIRST_REFUND_NOTES)
        if earlier is not None:
            return earlier
        suggestion = parse.guarded(lambda o: o["suggestedRefund"], order)
        if suggestion is None:
            raise ShopifyResponseError(f"no refund can be suggested for order {order_id}")
        suggested = parse.guarded(parse.suggested_transactions, suggestion)
        transactions = [RefundTransaction.from_suggestion(t) for t in suggested if t.amount.amount]
        return await self._refund(
            order_gid, lines, transactions, note, notify, idempotency_key, shipping_amount=None
        )

    async def create_refund(
        self,
        *,
        order_id: str,
        lines: Sequence[RefundLine],
        transactions: Sequence[RefundTransaction],
        note: str | None = None,
        notify: bool = True,
        idempotency_key: str | None = None,
        shipping_amount: Decimal | None = None,
    ) -> Refund:
        """Refund ``lines`` on the order, returning money through ``transactions``.

        With an ``idempotency_key`` the refund happens once however often this is called: the
        key is written into the note and looked for among the order's refunds before sending
        and after a lost answer (so a re-run whose fresh suggestion differs, because the first
        refund already went through, finds that refund instead of being refused), and from API
        2026-01 it is also sent as ``@idempotent(key:)``. Without a key a lost answer raises
        ``RefundOutcomeUnknown`` (never re-sent).
        """
        _check_refund_key(self._version, idempotency_key)
        order_gid = _gid("Order", order_id)
        if idempotency_key is not None:
            earlier = await self._refund_with_key(order_gid, idempotency_key)
            if earlier is not None:
                return earlier
        return await self._refund(
            order_gid, lines, transactions, note, notify, idempotency_key, shipping_amount
        )

    async def _refund(
        self,
        order_gid: str,
        lines: Sequence[RefundLine],
        transactions: Sequence[RefundTransaction],
        note: str | None,
        notify: bool,
        idempotency_key: str | None,
        shipping_amount: Decimal | None,
    ) -> Refund:
        """``refundCreate``, once the order was seen to hold no refund with the key."""
        keyed = idempotency_key is not None and self.idempotent_refunds
        if idempotency_key is not None:
            note = _note_with_key(note, idempotency_key)
        variables: dict[str, Any] = {
            "input": _refund_input(order_gid, lines, transactions, note, notify, shipping_amount)
        }
        if keyed:
            variables["key"] = idempotency_key
        document = load("RefundCreateIdempotent" if keyed else "RefundCreate")
        for attempt in range(self._max_retries + 1):
            try:
                data = await self._send(document, variables, replay_safe=keyed)
            except OutcomeUnknown as lost:
                if idempotency_key is None:
                    raise RefundOutcomeUnknown(
                        f"refundCreate on {order_gid} got no answer and carried no key: check the "
                        "order's refunds in Shopify before refunding again"
                    ) from lost
                log.warning("refundCreate %s: %s; looking for it", idempotency_key, lost)
                await self._sleep(HTTP_RETRY.delay(attempt, rng=self._rng))
                found = await self._refund_with_key(order_gid, idempotency_key)
                if found is not None:
                    return found
                continue
            return _created_refund(data)
        raise ShopifyUnavailable(f"refundCreate on {order_gid} got no answer; it was not applied")

    async def find_refund(self, *, order_id: str, idempotency_key: str) -> Refund | None:
        """The order's refund made with ``idempotency_key`` by ``create_refund``, if any."""
        return await self._refund_with_key(_gid("Order", order_id), idempotency_key)

    async def _refund_with_key(self, order_gid: str, key: str) -> Refund | None:
        return await self._keyed_refund(order_gid, key, await self._refund_notes(order_gid, 1), 1)

    async def _refund_notes(self, order_gid: str, first: int) -> list[Any]:
        data = await self._send(load("RefundNotes"), {"id": order_gid, "first": first})
        order = data.get("order")
        if order is None:
            raise ShopifyResponseError(f"order {order_gid} was not found")
        return parse.guarded(lambda o: parse.objects(o["refunds"]), order)

    async def _keyed_refund(
        self, order_gid: str, key: str, listed: list[Any], asked: int
    ) -> Refund | None:
        """The refund among ``listed`` (the first ``asked`` of the order's) whose note carries
        ``key``. A list that came back full is read again, each time 2n + 1 long, so each read
        asks for at most about twice the points of the refunds it finds."""
        marker = _key_marker(key)
        match = next((r for r in listed if marker in (r.get("note") or "")), None)
        while match is None and len(listed) >= asked and asked < ALL_REFUND_NOTES:
            asked = min(ALL_REFUND_NOTES, 2 * asked + 1)
            listed = await self._refund_notes(order_gid, asked)
            match = next((r for r in listed if marker in (r.get("note") or "")), None)
        if match is None:
            return None
        found = await self._send(load("Refund"), {"id": parse.guarded(parse.text, match["id"])})
        node = found.get("node")
        if not node:
            raise ShopifyResponseError(f"refund {match['id']} was listed but cannot be read")
        return parse.guarded(parse.refund, node)

    # --- transport ---------------------------------------------------------------------------

    async def _sized(
        self,
        document: Document,
        variables_for: Callable[[int], dict[str, Any]],
        *,
        cap: int,
    ) -> tuple[dict[str, Any], int, int]:
        """Send a paged document with the largest page (up to ``cap``) that fits the query-cost
        limit, halving it while Shopify still finds it too expensive.

        Returns the data, the page size used and the cap for the next page.
        """
        while True:
            size = await self._ledger.largest_size(
                document.name, document.ast, variables_for, wanted=cap
            )
            try:
                return await self._send(document, variables_for(size)), size, cap
            except QueryCostExceeded:
                if size == 1:
                    raise
                cap = size // 2

    async def _send(
        self, document: Document, variables: Mapping[str, Any], *, replay_safe: bool = True
    ) -> dict[str, Any]:
        """``data`` of one operation, retried within the budget.

        ``replay_safe=False`` (a mutation without an idempotency key): once the request may have
        reached Shopify, a lost answer raises ``OutcomeUnknown`` instead of being retried.
        """
        if document.stem:  # the document as the version Shopify runs for this shop needs it
            document = load(document.stem, self.served_version or self._version)
        budget = RetryBudget(self._max_retries, self._max_wait)
        estimate = estimate_cost(document.ast, variables)
        renewed = False
        while True:
            turn = await self._take_turn(document.name, estimate, budget)
            try:
                return await self._attempt(document, variables, turn, estimate, replay_safe)
            except _Unauthorised as refused:
                # An expiring token may have been revoked or rotated by another process: one
                # renewal, then the 401 stands (a 401 is answered before anything is applied).
                if renewed or await self._tokens.renewed(refused.token) is None:
                    raise refused.final from None
                renewed = True
            except _Retry as retry:
                delay = retry.delay
                if delay is None:
                    delay = HTTP_RETRY.delay(budget.retries, rng=self._rng)
                allowed = budget.can_wait(delay) if retry.throttled else budget.allows_retry(delay)
                if not allowed:
                    log.warning(
                        "%s on %s: giving up after %d retries: %s",
                        *(document.name, self._shop, budget.retries, retry),
                    )
                    raise retry.final from retry.__cause__
                if delay > 0:  # else (THROTTLED) the next turn waits for the points
                    log.debug(
                        "%s on %s: %s; retrying in %.2fs", document.name, self._shop, retry, delay
                    )
                    await self._sleep(delay)
                if not retry.throttled:
                    budget.spend_retry(delay)
                elif delay > 0:  # waiting for points is bounded by time, not by count
                    metrics.shopify_throttle_wait(delay)
                    budget.spend_wait(delay)

    async def _take_turn(self, name: str, estimate: float, budget: RetryBudget) -> Turn:
        """Queue for the document's points behind every earlier caller, and wait the turn out;
        ``ShopifyThrottled`` at once, without sending, when the turn would come too late."""
        while True:
            turn = await self._ledger.take_turn(
                name,
                estimate,
                longest=budget.max_wait - budget.waited,
                background=self._background,
            )
            if turn is None:
                raise ShopifyThrottled(
                    f"{self._shop}'s query points are spoken for longer than "
                    f"{budget.max_wait:.0f} s"
                )
            if turn.promised:
                break
            log.debug("%s on %s: leaving points for pages for %.2fs", name, self._shop, turn.wait)
            metrics.shopify_throttle_wait(turn.wait)
            await self._sleep(turn.wait)
            budget.spend_wait(turn.wait)
        if turn.wait > 0:
            log.debug("%s on %s: waiting %.2fs for query points", name, self._shop, turn.wait)
            metrics.shopify_throttle_wait(turn.wait)
            await self._sleep(turn.wait)
            budget.spend_wait(turn.wait)
        return turn

    async def _attempt(
        self,
        document: Document,
        variables: Mapping[str, Any],
        turn: Turn,
        estimate: float,
        replay_safe: bool,
    ) -> dict[str, Any]:
        request = {
            "query": document.text,
            "variables": dict(variables),
            "operationName": document.name,
        }
        token = await self._tokens.current()
        try:
            response = await self._http.post(self._url, json=request, headers=_headers(token))
        except httpx.TransportError as exc:
            await self._ledger.settle(turn, None, name=document.name, estimate=estimate)
            if not replay_safe and not isinstance(exc, _NEVER_SENT):
                raise OutcomeUnknown(f"{document.name}: {type(exc).__name__}: {exc}") from exc
            raise _Retry(
                ShopifyUnavailable(f"Shopify did not answer {self._shop}: {type(exc).__name__}")
            ) from exc
        served = response.headers.get("X-Shopify-API-Version", "")
        if _API_VERSION.match(served) or served == "unstable":
            self.served_version = served
        body = _json_of(response)
        cost = QueryCost.from_extensions(body.get("extensions")) if body else None
        await self._ledger.settle(turn, cost, name=document.name, estimate=estimate)
        return self._read(response, body, document, cost, replay_safe, token)

    def _read(
        self,
        response: httpx.Response,
        body: dict[str, Any] | None,
        document: Document,
        cost: QueryCost | None,
        replay_safe: bool,
        token: str,
    ) -> dict[str, Any]:
        status = response.status_code
        if status in _AUTH_STATUSES:
            refused = ShopifyAuthError(
                f"Shopify refused access to {self._shop} (HTTP {status}): {_error_text(response)}"
            )
            if status == 401:
                raise _Unauthorised(refused, token)
            raise refused
        if status == 429:
            raise _Retry(
                ShopifyThrottled(f"Shopify rate-limited {self._shop} (HTTP 429)"),
                delay=retry_after(response.headers.get("Retry-After")),
                throttled=True,
            )
        if status >= 500:
            message = f"Shopify answered HTTP {status} for {self._shop}"
            if not replay_safe:
                raise OutcomeUnknown(f"{document.name}: {message}")
            raise _Retry(ShopifyUnavailable(message))
        if status != 200:
            raise ShopifyResponseError(f"Shopify answered HTTP {status}: {_error_text(response)}")
        if body is None:
            raise ShopifyResponseError("Shopify answered something that is not a JSON object")
        return self._read_body(body, cost)

    def _read_body(self, body: dict[str, Any], cost: QueryCost | None) -> dict[str, Any]:
        if body.get("errors"):
            raise _graphql_failure(body["errors"], cost, self._shop)
        data = body.get("data")
        if not isinstance(data, dict):
            raise ShopifyResponseError("Shopify answered without data or errors")
        return data


def _headers(token: str) -> dict[str, str]:
    return {"X-Shopify-Access-Token": token, "Accept": "application/json"}


def _json_of(response: httpx.Response) -> dict[str, Any] | None:
    """The JSON object of a 200 answer, read once; None for anything else."""
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


# --- errors ----------------------------------------------------------------------------------


def _graphql_failure(errors: Any, cost: QueryCost | None, shop: str) -> Exception:
    if not isinstance(errors, list):
        return ShopifyResponseError(f"Shopify answered an error: {errors}")
    codes = [_error_code(e) for e in errors]
    known = [c for c in codes if c]
    message = "; ".join(str(e.get("message")) if isinstance(e, dict) else str(e) for e in errors)
    if "THROTTLED" in known:
        if cost is not None and not cost.can_ever_run:
            return QueryCostExceeded(f"query costs more than {shop}'s bucket holds", known)
        # The next turn waits for the points when the answer said how full the bucket is.
        reported = cost is not None and cost.throttle_wait() is not None
        throttled = ShopifyThrottled(f"Shopify throttled {shop}: {message}")
        return _Retry(throttled, delay=0.0 if reported else None, throttled=True)
    if "MAX_COST_EXCEEDED" in known:
        return QueryCostExceeded(message, known)
    if "ACCESS_DENIED" in known:
        return ShopifyAuthError(f"the access token may not do this on {shop}: {message}")
    return ShopifyGraphQLError(message, known)


def _error_code(error: Any) -> str | None:
    extensions = error.get("extensions") if isinstance(error, dict) else None
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return code if isinstance(code, str) else None


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    errors = body.get("errors") if isinstance(body, dict) else None
    return str(errors if errors is not None else body)[:200]


def _raise_user_errors(payload: Any) -> None:
    raw = parse.guarded(parse.objects, payload.get("userErrors") or [])
    if not raw:
        return
    details = [
        UserErrorDetail(
            message=str(e.get("message") or "refused"),
            field=tuple(str(f) for f in e.get("field") or ()),
            code=e.get("code"),
        )
        for e in raw
    ]
    if any(d.code == "INVENTORY_CLAIM_FAILED" for d in details):
        raise InventoryClaimFailed(details)
    raise ShopifyUserError(details)


def _created_refund(data: dict[str, Any]) -> Refund:
    payload = parse.guarded(lambda d: d["refundCreate"], data)
    _raise_user_errors(payload)
    if payload.get("refund") is None:
        raise ShopifyResponseError("refundCreate answered neither a refund nor userErrors")
    return parse.guarded(parse.refund, payload["refund"])


# --- inputs ----------------------------------------------------------------------------------


def _check_new_order(order: NewOrder) -> None:
    if not order.source_identifier.strip():
        raise ValueError("a new order needs a source identifier")
    if not order.lines:
        raise ValueError("a new order needs at least one line")
    _limited(order.lines, "order lines")
    if any(line.quantity < 1 for line in order.lines):
        raise ValueError("every order line needs a quantity of at least 1")


def _order_create_variables(order: NewOrder) -> dict[str, Any]:
    def money_bag(amount: Decimal) -> dict[str, Any]:
        return {"shopMoney": {"amount": str(amount), "currencyCode": order.currency}}

    new: dict[str, Any] = {
        "currency": order.currency,
        "financialStatus": "PAID",
        "sourceIdentifier": order.source_identifier,
        "tags": list(order.tags),
        "test": order.test,
        "lineItems": [
            {
                "variantId": line.variant_id,
                "quantity": line.quantity,
                "priceSet": money_bag(line.price),
            }
            for line in order.lines
        ],
    }
    if order.total > 0:
        new["transactions"] = [
            {
                "kind": "SALE",
                "status": "SUCCESS",
                "gateway": order.gateway,
                "amountSet": money_bag(order.total),
            }
        ]
    optional = {"email": order.email, "note": order.note}
    new.update({k: v for k, v in optional.items() if v is not None})
    if order.shipping_address is not None:
        new["shippingAddress"] = _address_input(order.shipping_address)
    options = {"inventoryBehaviour": order.inventory_behaviour, "sendReceipt": order.send_receipt}
    return {"order": new, "options": options}


def _address_input(address: Address) -> dict[str, str]:
    fields = {
        "firstName": address.first_name,
        "lastName": address.last_name,
        "company": address.company,
        "address1": address.address1,
        "address2": address.address2,
        "city": address.city,
        "provinceCode": address.province_code,
        "zip": address.zip,
        "countryCode": address.country_code,
        "phone": address.phone,
    }
    return {k: v for k, v in fields.items() if v is not None}


def _refund_line(line: RefundLine) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "lineItemId": line.line_item_id,
        "quantity": line.quantity,
        "restockType": line.restock_type,
    }
    if line.location_id is not None:
        entry["locationId"] = line.location_id
    return entry


def _refund_input(
    order_gid: str,
    lines: Sequence[RefundLine],
    transactions: Sequence[RefundTransaction],
    note: str | None,
    notify: bool,
    shipping_amount: Decimal | None,
) -> dict[str, Any]:
    refund: dict[str, Any] = {
        "orderId": order_gid,
        "notify": notify,
        "refundLineItems": [_refund_line(line) for line in _limited(lines, "refund lines")],
        "transactions": [
            {
                "orderId": order_gid,
                "parentId": t.parent_id,
                "gateway": t.gateway,
                "kind": t.kind,
                "amount": str(t.amount),
            }
            for t in _limited(transactions, "refund transactions")
        ],
    }
    if note is not None:
        refund["note"] = note
    if shipping_amount is not None:
        refund["shipping"] = {"amount": str(shipping_amount)}
    return refund


def _check_refund_key(version: str, key: str | None) -> None:
    if key is None and _version_at_least(version, REFUND_KEY_REQUIRED_FROM):
        raise ValueError(f"API {version} requires an idempotency key on refundCreate")


def _key_marker(key: str) -> str:
    return f"[ref {key}]"


def _note_with_key(note: str | None, key: str) -> str:
    marker = _key_marker(key)
    if note and marker in note:
        return note
    return f"{note} {marker}" if note else marker


def _limited(items: Sequence[T], what: str) -> Sequence[T]:
    if len(items) > MAX_INPUT_ITEMS:
        raise ValueError(f"Shopify takes at most {MAX_INPUT_ITEMS} {what} at once")
    return items


# --- small helpers ---------------------------------------------------------------------------


def _billable_order(d: Any) -> BillableOrder:
    return BillableOrder(
        id=parse.text(d["id"]),
        name=parse.text(d["name"]),
        created_at=parse.timestamp(d["createdAt"]),
        updated_at=parse.optional_timestamp(d.get("updatedAt")),
        cancelled_at=parse.optional_timestamp(d.get("cancelledAt")),
        currency=parse.text(d["currencyCode"]),
        line_items=tuple(_billable_line(n) for n in parse.objects(d["lineItems"])),
    )


def _parcel_count(node: Any) -> int:
    """How many fulfillments the order has (0 when Shopify does not say)."""
    counted = node.get("fulfillmentsCount")
    return parse.integer(counted["count"]) if counted else 0


def _longer(length: int) -> int:
    """The next length to ask for a list that came back full at ``length`` (0: no more)."""
    return 0 if length >= MAX_INPUT_ITEMS else min(MAX_INPUT_ITEMS, length + max(1, length // 3))


def _next_cursor(connection: Any) -> str | None:
    page_info = connection["pageInfo"]
    if not parse.flag(page_info["hasNextPage"]):
        return None
    return parse.text(page_info["endCursor"])


def _billable_line_page(connection: Any) -> tuple[list[BillableLine], str | None]:
    return [_billable_line(n) for n in parse.objects(connection)], _next_cursor(connection)


def _full_line_page(connection: Any) -> tuple[list[LineItem], str | None]:
    items, has_next, cursor = parse.line_item_page(connection)
    return list(items), cursor if has_next else None


def _billable_line(d: Any) -> BillableLine:
    original = parse.money(d["originalTotalSet"])
    discount = parse.money(d["totalDiscountSet"])
    return BillableLine(
        id=parse.text(d["id"]),
        variant_id=parse.node_id(d.get("variant")),
        quantity=parse.integer(d["quantity"]),
        current_quantity=parse.integer(d["currentQuantity"]),
        charged=Money(original.amount - discount.amount, original.currency),
    )


def _sized_by_first(fixed: dict[str, Any]) -> Callable[[int], dict[str, Any]]:
    return lambda n: {**fixed, "first": n}


def _sized_by_ids(ids: list[str]) -> Callable[[int], dict[str, Any]]:
    return lambda n: {"ids": ids[:n]}


def _version_at_least(version: str, first: str) -> bool:
    return version == "unstable" or version >= first


def _gid(kind: str, value: str) -> str:
    """Accept a bare numeric id where a GID is expected."""
    value = value.strip()
    return f"gid://shopify/{kind}/{value}" if value.isdigit() else value


def _search_value(value: str) -> str:
    """A value for Shopify's search syntax, quoted unless it is a plain token."""
    if _PLAIN_SEARCH_VALUE.match(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _email_matches(candidate: Any, email: str | None) -> bool:
    """Whether a search candidate's order or customer email is ``email``, ignoring case."""
    if email is None:
        return True
    wanted = email.strip().casefold()
    customer = candidate.get("customer")
    known = [candidate.get("email"), parse.customer_email(customer) if customer else None]
    return any(isinstance(e, str) and e.strip().casefold() == wanted for e in known)
