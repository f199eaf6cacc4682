"""Shopify webhooks for the premiums ledger: ``POST /webhooks/shopify``.

https://shopify.dev/docs/apps/build/webhooks/subscribe/https — the body is signed with the app's
client secret: ``X-Shopify-Hmac-Sha256`` = base64(HMAC-SHA256(secret, raw body)). The endpoint
checks it in constant time before reading the body as JSON, ignores a delivery whose
``X-Shopify-Webhook-Id`` it has seen, and answers at once: the work (reading the order from Shopify
and booking its premium) is a job on the queue, committed with the record of the delivery.

Answers: 200 accepted, repeated or not of interest; 401 signature missing or wrong (nothing is
stored); 400 a signed delivery without the headers or body Shopify always sends; 413 too large.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from portal.billing.ledger import book_order
from portal.billing.models import ShopifyWebhook
from portal.jobs import queue
from portal.jobs.worker import JobContext
from portal.stores.models import Store
from portal.web import session, settings_of

log = logging.getLogger(__name__)

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPICS = frozenset({"orders/create", "orders/cancelled", "refunds/create"})
REFRESH_ORDER = "billing.refresh_order"
MAX_BODY_BYTES = 1024 * 1024


class MalformedDelivery(ValueError):
    """A correctly signed delivery that lacks what Shopify always sends."""


@dataclass(frozen=True)
class Delivery:
    webhook_id: str
    shop_domain: str
    topic: str
    order_id: str | None


def signature_of(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def is_authentic(body: bytes, signature: str | None, secret: str) -> bool:
    """Whether ``signature`` is the body's HMAC under ``secret`` (compared in constant time)."""
    if not secret or not signature:
        return False
    return hmac.compare_digest(signature_of(body, secret).encode(), signature.strip().encode())


def delivery_of(headers: Headers, body: bytes) -> Delivery:
    webhook_id = headers.get("X-Shopify-Webhook-Id", "").strip()
    shop_domain = headers.get("X-Shopify-Shop-Domain", "").strip().lower()
    topic = headers.get("X-Shopify-Topic", "").strip()
    if not (webhook_id and shop_domain and topic) or len(webhook_id) > 128:
        raise MalformedDelivery("webhook id, shop domain and topic are required")
    order_id = _order_id(topic, _json_object(body)) if topic in TOPICS else None
    return Delivery(webhook_id, shop_domain, topic, order_id)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise MalformedDelivery("the body is not JSON") from exc
    if not isinstance(payload, dict):
        raise MalformedDelivery("the body is not a JSON object")
    return payload


def _order_id(topic: str, payload: dict[str, Any]) -> str:
    raw = payload.get("order_id") if topic == "refunds/create" else payload.get("id")
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit():
        raise MalformedDelivery(f"{topic} without an order id")
    return f"gid://shopify/Order/{raw}"


# --- the endpoint ----------------------------------------------------------------------------


async def shopify_webhook(request: Request) -> Response:
    body = await request.body()  # BodySizeLimitMiddleware caps it at MAX_BODY_BYTES
    secret = str(settings_of(request).shopify_webhook_secret)
    if not is_authentic(body, request.headers.get(HMAC_HEADER), secret):
        return PlainTextResponse("Signature refused.", status_code=401)
    try:
        delivery = delivery_of(request.headers, body)
    except MalformedDelivery as exc:
        return PlainTextResponse(str(exc), status_code=400)
    if delivery.order_id is None:
        return PlainTextResponse("Not a topic the portal follows.")
    async with session(request) as db:
        outcome = await accept(db, delivery, now=datetime.now(UTC))
    return PlainTextResponse(outcome)


async def accept(db: AsyncSession, delivery: Delivery, *, now: datetime) -> str:
    """Record the delivery and queue its work in one transaction; says what happened."""
    if await _seen(db, delivery.webhook_id):
        return "Already received."
    store = await db.scalar(select(Store).where(Store.shop_domain == delivery.shop_domain))
    if store is None:
        log.warning("webhook %s for unknown shop %s", delivery.webhook_id, delivery.shop_domain)
        return "Unknown shop."
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
        return "Already received."
    return "Accepted."


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


# --- the job ---------------------------------------------------------------------------------


async def refresh_order_job(context: JobContext) -> dict[str, Any]:
    """Job ``billing.refresh_order``: read the order from Shopify as it is now and book it."""
    payload = context.job.payload
    async with context.sessions() as db:
        store = await db.get(Store, payload["store_id"])
    if store is None:
        return {"skipped": "store no longer exists"}
    order = await context.services.shopify(store).get_billable_order(order_id=payload["order_id"])
    if order is None:
        return {"skipped": "order not found in Shopify"}
    async with context.sessions() as db:
        change = await book_order(db, store, order, now=datetime.now(UTC))
        await db.commit()
    return {"change": None if change is None else str(change)}
