"""Shopify's webhook deliveries as rules without HTTP: who signed them, what they say, and what
each topic puts on the queue.

https://shopify.dev/docs/apps/build/webhooks/subscribe/https — the body is signed:
``X-Shopify-Hmac-Sha256`` = base64(HMAC-SHA256(secret, raw body)). The secret is the app's client
secret, or, for a store connected through a custom app made in its own admin, that app's secret
(kept sealed on the store's row). The store is looked up by ``X-Shopify-Shop-Domain`` only to
pick the secret; the signature is checked in constant time before the body is read as JSON.

A delivery whose ``X-Shopify-Webhook-Id`` was seen before is ignored. ``TOPICS`` says, per topic,
what the body must hold and what is done: the work is queued (or, for ``app/uninstalled``, a
column set) in the same transaction as the record of the delivery, so a delivery is acted on
exactly once. The mandatory compliance topics
(https://shopify.dev/docs/apps/build/compliance/privacy-law-compliance) are recorded as
``ComplianceRequest`` rows and worked by ``portal.compliance.jobs``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from portal.billing.models import ShopifyWebhook
from portal.billing.seen import Verdict, judge
from portal.billing.sync import REFRESH_ORDER
from portal.compliance import service as compliance
from portal.errors import MalformedDelivery, SealBroken, SignatureRefused
from portal.integrations.shopify.oauth import is_shop_domain
from portal.jobs import queue
from portal.reorders import snapshots
from portal.sealing import Sealer
from portal.shopper.protected import queue_order_protected
from portal.signing import digest
from portal.stores.models import Store
from portal.stores.service import get_by_domain

log = logging.getLogger(__name__)

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
WEBHOOK_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
TOPIC = re.compile(r"[a-z_]{1,64}/[a-z_]{1,64}")
TRIGGERED_AT = re.compile(r"[0-9T:.+Z-]{10,40}")
SHOPIFY_ID = re.compile(r"[0-9]{1,20}")
MAX_ORDERS = 10_000
MAX_LINES = 1_000
MAX_QUANTITY = 1_000_000
AMOUNT = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,4})?")


class Outcome(StrEnum):
    """What became of a signed delivery, in the words Shopify is answered with."""

    ACCEPTED = "Accepted."
    REPEATED = "Already received."
    UNKNOWN_SHOP = "Unknown shop."
    NOT_FOLLOWED = "Not a topic the portal follows."
    STORE_INACTIVE = "Received; the store has uninstalled the app."
    NOTHING_HELD = "Received; the portal holds no data for this shop."


@dataclass(frozen=True)
class Delivery:
    webhook_id: str
    shop_domain: str
    topic: str
    triggered_at: datetime | None = None
    order_id: str | None = None  # the order's gid, for the order topics
    facts: dict[str, Any] = field(default_factory=dict)  # what a compliance topic names


# --- signature ---------------------------------------------------------------------------------


def fingerprint(value: str) -> str:
    """A short, stable stand-in for a value from outside, fit for a log line."""
    return digest(value)[:12]


def signature_of(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def is_authentic(body: bytes, signature: str | None, secret: str) -> bool:
    """Whether ``signature`` is the body's HMAC under ``secret`` (compared in constant time)."""
    if not secret or not signature:
        return False
    return hmac.compare_digest(signature_of(body, secret).encode(), signature.strip().encode())


async def sender_store(db: AsyncSession, headers: Mapping[str, str]) -> Store | None:
    """The store the delivery says it is for (``X-Shopify-Shop-Domain``), if the portal has
    it: looked up once, for the secret and then for the work."""
    domain = _shop_domain(headers)
    return None if domain is None else await get_by_domain(db, domain)


def signing_secret(store: Store | None, *, app_secret: str, sealer: Sealer) -> str:
    """The secret the delivery must be signed with: the store's own (a custom app made in its
    admin) when it has one, the app's client secret otherwise. Empty means none: refused."""
    if store is None or store.sealed_webhook_secret is None:
        return app_secret
    try:
        return sealer.open(store.sealed_webhook_secret)
    except SealBroken:
        log.error(
            "the webhook secret of shop %s opens under no key", fingerprint(store.shop_domain)
        )
        return ""


def signed_delivery(headers: Mapping[str, str], body: bytes, *, secret: str) -> Delivery:
    """The delivery in ``headers`` (a case-insensitive mapping, as Starlette's) and the raw
    ``body``: ``SignatureRefused`` first, then ``MalformedDelivery``."""
    if not is_authentic(body, headers.get(HMAC_HEADER), secret):
        raise SignatureRefused("signature refused")
    return delivery_of(headers, body)


# --- reading -----------------------------------------------------------------------------------


def delivery_of(headers: Mapping[str, str], body: bytes) -> Delivery:
    webhook_id = headers.get("X-Shopify-Webhook-Id", "").strip()
    shop_domain = _shop_domain(headers)
    topic = headers.get("X-Shopify-Topic", "").strip()
    if not (WEBHOOK_ID.fullmatch(webhook_id) and shop_domain):
        raise MalformedDelivery("a webhook id and a myshopify.com shop domain are required")
    if not TOPIC.fullmatch(topic):
        raise MalformedDelivery("a topic is required")
    delivery = Delivery(webhook_id, shop_domain, topic, _triggered_at(headers))
    followed = TOPICS.get(topic)
    if followed is None:
        return delivery
    return followed.read(delivery, _json_object(body))


def _shop_domain(headers: Mapping[str, str]) -> str | None:
    domain = headers.get("X-Shopify-Shop-Domain", "").strip().lower()
    return domain if is_shop_domain(domain) else None


def _triggered_at(headers: Mapping[str, str]) -> datetime | None:
    """When Shopify says the event happened (``X-Shopify-Triggered-At``), if it says so."""
    text = headers.get("X-Shopify-Triggered-At", "").strip()
    if not TRIGGERED_AT.fullmatch(text):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:  # nested beyond what the parser can follow
        raise MalformedDelivery("the body is not JSON") from exc
    if not isinstance(payload, dict):
        raise MalformedDelivery("the body is not a JSON object")
    return payload


def _shopify_id(raw: object) -> str | None:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        return None
    text = str(raw)
    return text if SHOPIFY_ID.fullmatch(text) else None


def order_gid(raw: object) -> str | None:
    number = _shopify_id(raw)
    return None if number is None else f"gid://shopify/Order/{number}"


def _with_order(key: str) -> Callable[[Delivery, dict[str, Any]], Delivery]:
    def read(delivery: Delivery, payload: dict[str, Any]) -> Delivery:
        order_id = order_gid(payload.get(key))
        if order_id is None:
            raise MalformedDelivery(f"{delivery.topic} without an order id")
        return replace(delivery, order_id=order_id, facts=_order_facts(payload))

    return read


def _order_facts(payload: dict[str, Any]) -> dict[str, Any]:
    """What an order or refund body says about its lines, where it says it clearly (see
    ``portal.billing.seen``); a part it does not say clearly is left out."""
    facts: dict[str, Any] = {}
    lines = _lines(payload.get("line_items"), lambda raw: raw)
    if lines is not None:
        facts["lines"] = lines
    refunded = _lines(payload.get("refund_line_items"), lambda raw: raw.get("line_item"))
    if refunded is not None:
        facts["refunded_lines"] = refunded
    if "cancelled_at" in payload:
        facts["cancelled"] = payload["cancelled_at"] is not None
    return facts


def _lines(raw: object, line_of: Callable[[dict[str, Any]], Any]) -> list[dict[str, Any]] | None:
    if not isinstance(raw, list) or len(raw) > MAX_LINES:
        return None
    lines = [_line(line_of(item)) if isinstance(item, dict) else None for item in raw]
    return None if any(line is None for line in lines) else lines  # type: ignore[return-value]


def _line(raw: Any) -> dict[str, Any] | None:
    """One line item of a body: its variant, quantities, unit price and discount."""
    if not isinstance(raw, dict):
        return None
    quantity, current = _count(raw.get("quantity")), _count(raw.get("current_quantity"))
    price = _amount(raw.get("price"))
    if quantity is None or price is None:
        return None
    variant = _shopify_id(raw.get("variant_id"))
    return {
        "variant_id": None if variant is None else f"gid://shopify/ProductVariant/{variant}",
        "quantity": quantity,
        "current_quantity": current,
        "price": price,
        "discount": _discount(raw),
    }


def _discount(raw: dict[str, Any]) -> str | None:
    """The line's discount: the sum of its allocations (or ``total_discount``); None if unsaid."""
    allocations = raw.get("discount_allocations")
    if isinstance(allocations, list) and len(allocations) <= MAX_LINES:
        amounts = [_amount(a.get("amount")) if isinstance(a, dict) else None for a in allocations]
        if all(a is not None for a in amounts):
            return str(sum((Decimal(a) for a in amounts if a is not None), Decimal("0")))
        return None
    return _amount(raw.get("total_discount"))


def _count(raw: object) -> int | None:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_QUANTITY:
        return None
    return raw


def _amount(raw: object) -> str | None:
    text = raw if isinstance(raw, str) else None
    return text if text is not None and AMOUNT.fullmatch(text) else None


def _as_is(delivery: Delivery, payload: dict[str, Any]) -> Delivery:
    return delivery


def _customer_request(orders_key: str) -> Callable[[Delivery, dict[str, Any]], Delivery]:
    """customers/data_request and customers/redact: ``customer`` {id, email, phone} and the
    orders (ids) the request is about, under ``orders_key``."""

    def read(delivery: Delivery, payload: dict[str, Any]) -> Delivery:
        customer = payload.get("customer")
        orders = payload.get(orders_key) or []
        if not isinstance(customer, dict) or not isinstance(orders, list):
            raise MalformedDelivery(f"{delivery.topic} without a customer")
        if len(orders) > MAX_ORDERS:
            raise MalformedDelivery(f"{delivery.topic} names too many orders")
        email = customer.get("email")
        gids = [order_gid(o) for o in orders]
        facts = {
            "customer_id": _shopify_id(customer.get("id")),
            "email": email.strip()[:320] if isinstance(email, str) else None,
            "orders": sorted({g for g in gids if g is not None}),
        }
        data_request = payload.get("data_request")
        if isinstance(data_request, dict):
            facts["data_request_id"] = _shopify_id(data_request.get("id"))
        if not (facts["email"] or facts["orders"]):
            raise MalformedDelivery(f"{delivery.topic} names neither an email nor an order")
        return replace(delivery, facts=facts)

    return read


# --- acting ------------------------------------------------------------------------------------

Act = Callable[[AsyncSession, Store, Delivery, datetime], Awaitable[None]]


async def _refresh_order(db: AsyncSession, store: Store, delivery: Delivery, now: datetime) -> None:
    """Queue a read of the order for the premiums ledger, unless the body shows its premium
    cannot have changed (``portal.billing.seen``): a read costs Shopify points."""
    verdict, seen = judge(delivery.facts, store.protection_variant_ids)
    if verdict is Verdict.NOTHING_TO_BOOK:
        return
    payload: dict[str, Any] = {"store_id": store.id, "order_id": delivery.order_id}
    if seen is not None:
        payload["seen"] = seen.as_json()
    await queue.enqueue(
        db, REFRESH_ORDER, payload, dedupe_key=f"shopify-webhook:{delivery.webhook_id}"
    )


async def _order_changed(db: AsyncSession, store: Store, delivery: Delivery, now: datetime) -> None:
    """The order changed: shoppers' pages read it again from Shopify, the invoice refreshes."""
    if delivery.order_id is not None:
        await snapshots.forget(db, store_id=store.id, order_id=delivery.order_id, now=now)
    await _refresh_order(db, store, delivery, now)


async def _order_created(db: AsyncSession, store: Store, delivery: Delivery, now: datetime) -> None:
    await _refresh_order(db, store, delivery, now)
    if store.protected_order_email and delivery.order_id is not None:
        await queue_order_protected(db, store_id=store.id, order_id=delivery.order_id)


async def _uninstalled(db: AsyncSession, store: Store, delivery: Delivery, now: datetime) -> None:
    """Mark the store uninstalled (nothing is deleted: shop/redact comes 48 hours later). A
    late delivery about an uninstall from before the latest install is ignored."""
    if store.uninstalled_at is not None:
        return
    if delivery.triggered_at and store.installed_at and delivery.triggered_at < store.installed_at:
        return
    store.uninstalled_at = now


async def _compliance(db: AsyncSession, store: Store, delivery: Delivery, now: datetime) -> None:
    await compliance.record_request(
        db,
        webhook_id=delivery.webhook_id,
        topic=delivery.topic,
        shop_domain=delivery.shop_domain,
        store=store,
        facts=delivery.facts,
        now=now,
    )


@dataclass(frozen=True)
class Topic:
    read: Callable[[Delivery, dict[str, Any]], Delivery]  # checks the body; MalformedDelivery
    act: Act
    while_inactive: bool = False  # acted on for a store that uninstalled the app


TOPICS: dict[str, Topic] = {
    "orders/create": Topic(_with_order("id"), _order_created),
    "orders/updated": Topic(_with_order("id"), _order_changed),
    "orders/cancelled": Topic(_with_order("id"), _order_changed),
    "refunds/create": Topic(_with_order("order_id"), _order_changed),
    "app/uninstalled": Topic(_as_is, _uninstalled, while_inactive=True),
    "customers/data_request": Topic(
        _customer_request("orders_requested"), _compliance, while_inactive=True
    ),
    "customers/redact": Topic(
        _customer_request("orders_to_redact"), _compliance, while_inactive=True
    ),
    "shop/redact": Topic(_as_is, _compliance, while_inactive=True),
}


async def accept(
    db: AsyncSession, delivery: Delivery, *, store: Store | None, now: datetime
) -> Outcome:
    """Record the delivery and do or queue its work, in one transaction; ``store`` is
    ``sender_store``'s answer for the same delivery."""
    followed = TOPICS.get(delivery.topic)
    if followed is None:
        return Outcome.NOT_FOLLOWED
    if await _seen(db, delivery.webhook_id):
        return Outcome.REPEATED
    if store is None:
        return await _for_unknown_shop(db, delivery, now)
    _record(db, delivery, now)
    outcome = Outcome.ACCEPTED
    if store.is_active or followed.while_inactive:
        await followed.act(db, store, delivery, now)
    else:
        outcome = Outcome.STORE_INACTIVE
    return await _commit(db, outcome)


async def _for_unknown_shop(db: AsyncSession, delivery: Delivery, now: datetime) -> Outcome:
    # Signed, but data from outside all the same: logged as fingerprints, never verbatim.
    log.warning(
        "webhook %s for unknown shop %s",
        fingerprint(delivery.webhook_id),
        fingerprint(delivery.shop_domain),
    )
    if delivery.topic not in compliance.TOPICS:
        return Outcome.UNKNOWN_SHOP
    # A compliance request is answered even so: the record says the portal held nothing.
    _record(db, delivery, now)
    compliance.record_nothing_held(
        db,
        webhook_id=delivery.webhook_id,
        topic=delivery.topic,
        shop_domain=delivery.shop_domain,
        now=now,
    )
    return await _commit(db, Outcome.NOTHING_HELD)


async def _commit(db: AsyncSession, outcome: Outcome) -> Outcome:
    try:
        await db.commit()
    except IntegrityError:  # the same delivery, accepted a moment ago by another request
        await db.rollback()
        return Outcome.REPEATED
    return outcome


async def _seen(db: AsyncSession, webhook_id: str) -> bool:
    found = await db.scalar(
        select(ShopifyWebhook.id).where(ShopifyWebhook.webhook_id == webhook_id)
    )
    return found is not None


def _record(db: AsyncSession, delivery: Delivery, now: datetime) -> None:
    db.add(
        ShopifyWebhook(
            webhook_id=delivery.webhook_id,
            shop_domain=delivery.shop_domain,
            topic=delivery.topic,
            shopify_order_id=delivery.order_id,
            received_at=now,
        )
    )
