"""Shopify webhooks for the premiums ledger, as rules without HTTP.

https://shopify.dev/docs/apps/build/webhooks/subscribe/https — the body is signed with the app's
client secret: ``X-Shopify-Hmac-Sha256`` = base64(HMAC-SHA256(secret, raw body)). The signature
is checked in constant time before the body is read as JSON; a delivery whose
``X-Shopify-Webhook-Id`` was seen before is ignored; the work (reading the order from Shopify and
booking its premium) is a job on the queue, committed with the record of the delivery. The
endpoint is ``portal.billing.webhook_views``, the job ``portal.billing.jobs``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from portal.billing.models import ShopifyWebhook
from portal.errors import MalformedDelivery, SignatureRefused
from portal.jobs import queue
from portal.stores.models import Store

log = logging.getLogger(__name__)

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
WEBHOOK_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]{0,99}\.myshopify\.com")
TOPIC = re.compile(r"[a-z_]{1,64}/[a-z_]{1,64}")
TOPICS = frozenset({"orders/create", "orders/cancelled", "refunds/create"})
REFRESH_ORDER = "billing.refresh_order"


class Outcome(StrEnum):
    """What became of a signed delivery, in the words Shopify is answered with."""

    ACCEPTED = "Accepted."
    REPEATED = "Already received."
    UNKNOWN_SHOP = "Unknown shop."
    NOT_FOLLOWED = "Not a topic the portal follows."


@dataclass(frozen=True)
class Delivery:
    webhook_id: str
    shop_domain: str
    topic: str
    order_id: str | None  # the order's gid; None for a topic the portal does not follow


def fingerprint(value: str) -> str:
    """A short, stable stand-in for a value from outside, fit for a log line."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def signature_of(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def is_authentic(body: bytes, signature: str | None, secret: str) -> bool:
    """Whether ``signature`` is the body's HMAC under ``secret`` (compared in constant time)."""
    if not secret or not signature:
        return False
    return hmac.compare_digest(signature_of(body, secret).encode(), signature.strip().encode())


def signed_delivery(headers: Mapping[str, str], body: bytes, *, secret: str) -> Delivery:
    """The delivery in ``headers`` (a case-insensitive mapping, as Starlette's) and the raw
    ``body``: ``SignatureRefused`` first, then ``MalformedDelivery``."""
    if not is_authentic(body, headers.get(HMAC_HEADER), secret):
        raise SignatureRefused("signature refused")
    return delivery_of(headers, body)


def delivery_of(headers: Mapping[str, str], body: bytes) -> Delivery:
    webhook_id = headers.get("X-Shopify-Webhook-Id", "").strip()
    shop_domain = headers.get("X-Shopify-Shop-Domain", "").strip().lower()
    topic = headers.get("X-Shopify-Topic", "").strip()
    if not (WEBHOOK_ID.fullmatch(webhook_id) and SHOP_DOMAIN.fullmatch(shop_domain)):
        raise MalformedDelivery("a webhook id and a myshopify.com shop domain are required")
    if not TOPIC.fullmatch(topic):
        raise MalformedDelivery("a topic is required")
    order_id = _order_id(topic, _json_object(body)) if topic in TOPICS else None
    return Delivery(webhook_id, shop_domain, topic, order_id)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:  # nested beyond what the parser can follow
        raise MalformedDelivery("the body is not JSON") from exc
    if not isinstance(payload, dict):
        raise MalformedDelivery("the body is not a JSON object")
    return payload


def _order_id(topic: str, payload: dict[str, Any]) -> str:
    raw = payload.get("order_id") if topic == "refunds/create" else payload.get("id")
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit():
        raise MalformedDelivery(f"{topic} without an order id")
    return f"gid://shopify/Order/{raw}"


async def accept(db: AsyncSession, delivery: Delivery, *, now: datetime) -> Outcome:
    """Record the delivery and queue its work in one transaction."""
    if delivery.order_id is None:
        return Outcome.NOT_FOLLOWED
    if await _seen(db, delivery.webhook_id):
        return Outcome.REPEATED
    store = await db.scalar(select(Store).where(Store.shop_domain == delivery.shop_domain))
    if store is None:
        # Signed, but data from outside all the same: logged as fingerprints, never verbatim.
        log.warning(
            "webhook %s for unknown shop %s",
            fingerprint(delivery.webhook_id),
            fingerprint(delivery.shop_domain),
        )
        return Outcome.UNKNOWN_SHOP
    _record(db, delivery, now)
    await queue.enqueue(
        db,
        REFRESH_ORDER,
        {"store_id": store.id, "order_id": delivery.order_id},
        dedupe_key=f"shopify-webhook:{delivery.webhook_id}",
    )
    try:
        await db.commit()
    except IntegrityError:  # the same delivery, accepted a moment ago by another request
        await db.rollback()
        return Outcome.REPEATED
    return Outcome.ACCEPTED


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
