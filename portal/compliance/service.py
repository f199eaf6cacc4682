"""Shopify's mandatory compliance requests (customers/data_request, customers/redact,
shop/redact): recording each one with its job, and reading them back for the admin.

https://shopify.dev/docs/apps/build/compliance/privacy-law-compliance — a request is recorded
with what it names (the customer's email and Shopify ids, the orders) under ``report["asked"]``
until its job has done the work; then ``report`` holds the data request's report, or for an
erasure only counts of what was erased: the job forgets the customer's email in the same
transaction as it erases the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.compliance.models import ComplianceRequest
from portal.jobs import queue
from portal.stores.models import Store

DATA_REQUEST = "customers/data_request"
CUSTOMER_REDACT = "customers/redact"
SHOP_REDACT = "shop/redact"
TOPICS = (DATA_REQUEST, CUSTOMER_REDACT, SHOP_REDACT)

DATA_REQUEST_JOB = "compliance.data_request"
CUSTOMER_REDACT_JOB = "compliance.customer_redact"
SHOP_REDACT_JOB = "compliance.shop_redact"
JOB_OF_TOPIC = {
    DATA_REQUEST: DATA_REQUEST_JOB,
    CUSTOMER_REDACT: CUSTOMER_REDACT_JOB,
    SHOP_REDACT: SHOP_REDACT_JOB,
}
ASKED = "asked"
PAGE_SIZE = 100


async def record_request(
    db: AsyncSession,
    *,
    webhook_id: str,
    topic: str,
    shop_domain: str,
    store: Store,
    facts: dict[str, Any],
    now: datetime,
) -> ComplianceRequest:
    """Record the request and queue its job, in the caller's transaction."""
    request = ComplianceRequest(
        webhook_id=webhook_id,
        topic=topic,
        shop_domain=shop_domain,
        store_id=store.id,
        received_at=now,
        report={ASKED: facts} if facts else None,
    )
    db.add(request)
    await db.flush()
    await queue.enqueue(
        db,
        JOB_OF_TOPIC[topic],
        {"compliance_request_id": request.id},
        dedupe_key=f"compliance:{webhook_id}",
    )
    return request


def record_nothing_held(
    db: AsyncSession, *, webhook_id: str, topic: str, shop_domain: str, now: datetime
) -> None:
    """A request about a shop the portal does not know: done at once, nothing held."""
    db.add(
        ComplianceRequest(
            webhook_id=webhook_id,
            topic=topic,
            shop_domain=shop_domain,
            store_id=None,
            received_at=now,
            completed_at=now,
            report={"nothing_held": True},
        )
    )


def asked(request: ComplianceRequest) -> dict[str, Any]:
    """What the request named (empty once its job has done the work)."""
    found = (request.report or {}).get(ASKED)
    return found if isinstance(found, dict) else {}


async def recent_requests(
    db: AsyncSession, *, limit: int = PAGE_SIZE
) -> Sequence[ComplianceRequest]:
    query = (
        select(ComplianceRequest)
        .order_by(ComplianceRequest.received_at.desc(), ComplianceRequest.id.desc())
        .limit(limit)
    )
    return (await db.scalars(query)).all()


async def get_request(db: AsyncSession, request_id: int) -> ComplianceRequest | None:
    return await db.get(ComplianceRequest, request_id)
