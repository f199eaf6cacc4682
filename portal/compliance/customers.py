"""What the portal holds about one customer of one store, found by their email and by the orders
a compliance request names: ``data_report`` gathers it for a customers/data_request,
``erase_customer`` erases it for a customers/redact.

Erasure keeps what the invoices and the queue's history are made of (amounts, quantities, variant
ids, statuses, dates, order numbers and ids) and erases what says who the customer is or what
they wrote: email, name, address and phone, descriptions and wishes, the words of every timeline
line of their requests, the agents' notes on their resolutions, photos (rows and files), order
lookups, unsubmitted drafts, the emails queued or sent to them, and earlier data reports about
them. Only counts are kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from portal.compliance.files import forget_photo
from portal.compliance.models import ComplianceRequest
from portal.compliance.service import DATA_REQUEST
from portal.db import escape_like
from portal.jobs.email import ERASED_KEY, SEND_EMAIL, STORE_KEY
from portal.jobs.models import Job
from portal.reorders.models import ReorderRequest, RequestPhoto
from portal.shopper.models import OrderVerification, StoredDraft
from portal.shopper.verification import keyed_hash
from portal.storage import Storage
from portal.stores.models import Store
from portal.support.models import Resolution

REDACTED_EMAIL = "redacted@redacted.invalid"
ERASED = "[erased at the customer's request]"


@dataclass(frozen=True)
class Customer:
    """Whom a compliance request is about: an email (casefolded) and Shopify order gids."""

    email: str | None
    orders: frozenset[str]
    customer_id: str | None = None

    @classmethod
    def of(cls, asked: dict[str, Any]) -> Customer:
        email = asked.get("email")
        orders = asked.get("orders") or []
        return cls(
            email=email.strip().casefold() if isinstance(email, str) and email.strip() else None,
            orders=frozenset(str(o) for o in orders),
            customer_id=asked.get("customer_id"),
        )

    def sent_to(self, address: object) -> bool:
        return bool(self.email) and isinstance(address, str) and address.casefold() == self.email


# --- finding -----------------------------------------------------------------------------------


async def customer_requests(
    db: AsyncSession, store: Store, customer: Customer
) -> Sequence[ReorderRequest]:
    matches: list[ColumnElement[bool]] = []
    if customer.email:
        matches.append(func.lower(ReorderRequest.email) == customer.email.lower())
    if customer.orders:
        matches.append(ReorderRequest.shopify_order_id.in_(customer.orders))
    if not matches:
        return []
    query = (
        select(ReorderRequest)
        .where(ReorderRequest.store_id == store.id, or_(*matches))
        .options(
            selectinload(ReorderRequest.items),
            selectinload(ReorderRequest.photos),
            selectinload(ReorderRequest.events),
        )
        .order_by(ReorderRequest.id)
    )
    return (await db.scalars(query)).all()


def _orders_of(customer: Customer, requests: Iterable[ReorderRequest]) -> set[str]:
    return set(customer.orders) | {r.shopify_order_id for r in requests}


async def _verifications(
    db: AsyncSession, store: Store, customer: Customer, orders: set[str], secret: str
) -> Sequence[OrderVerification]:
    matches: list[ColumnElement[bool]] = []
    if orders:
        matches.append(OrderVerification.shopify_order_id.in_(orders))
    if customer.email:
        matches.append(OrderVerification.email_hash == keyed_hash(secret, "email", customer.email))
    if not matches:
        return []
    query = select(OrderVerification).where(OrderVerification.store_id == store.id, or_(*matches))
    return (await db.scalars(query.order_by(OrderVerification.id))).all()


async def _drafts(db: AsyncSession, store: Store, orders: set[str]) -> Sequence[StoredDraft]:
    if not orders:
        return []
    query = select(StoredDraft).where(
        StoredDraft.store_id == store.id, StoredDraft.shopify_order_id.in_(orders)
    )
    return (await db.scalars(query.order_by(StoredDraft.created_at))).all()


async def _emails(db: AsyncSession, store: Store, customer: Customer) -> list[Job]:
    """Emails queued or sent to the customer about this store (or about no store named, as
    emails queued before emails carried their store)."""
    if not customer.email:
        return []
    jobs = await db.scalars(select(Job).where(Job.kind == SEND_EMAIL).order_by(Job.id))
    return [
        job
        for job in jobs
        if customer.sent_to(job.payload.get("to"))
        and job.payload.get(STORE_KEY) in (None, store.id)
    ]


async def resolutions_of(db: AsyncSession, requests: Sequence[ReorderRequest]) -> list[Resolution]:
    if not requests:
        return []
    query = select(Resolution).where(Resolution.request_id.in_([r.id for r in requests]))
    return list(await db.scalars(query.order_by(Resolution.id)))


# --- customers/data_request ----------------------------------------------------------------------


async def data_report(
    db: AsyncSession, store: Store, customer: Customer, *, secret: str, now: datetime
) -> dict[str, Any]:
    """Everything the portal holds about the customer at this store, as JSON for the admin to
    send to the merchant (photos listed, not included)."""
    requests = await customer_requests(db, store, customer)
    orders = _orders_of(customer, requests)
    resolutions = await resolutions_of(db, requests)
    return {
        "store": {"name": store.name, "shop_domain": store.shop_domain},
        "customer": {
            "email": customer.email,
            "shopify_customer_id": customer.customer_id,
            "orders": sorted(customer.orders),
        },
        "generated_at": now.isoformat(),
        "reorder_requests": [_request_json(r, resolutions) for r in requests],
        "order_verifications": [
            _verification_json(v) for v in await _verifications(db, store, customer, orders, secret)
        ],
        "drafts": [_draft_json(d) for d in await _drafts(db, store, orders)],
        "emails": [_email_json(job) for job in await _emails(db, store, customer)],
    }


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _request_json(request: ReorderRequest, resolutions: list[Resolution]) -> dict[str, Any]:
    return {
        "reference": request.reference,
        "order_name": request.order_name,
        "shopify_order_id": request.shopify_order_id,
        "email": request.email,
        "customer_name": request.customer_name,
        "issue_type": request.issue_type,
        "description": request.description,
        "preferred_resolution": request.resolution,
        "alternative_wish": request.alternative_wish,
        "shipping_address": request.shipping_address,
        "status": request.status,
        "currency": request.currency,
        "items_total": str(request.items_total),
        "created_at": _when(request.created_at),
        "closed_at": _when(request.closed_at),
        "items": [
            {
                "title": i.title,
                "variant_title": i.variant_title,
                "sku": i.sku,
                "variant_id": i.variant_id,
                "quantity": i.quantity,
                "unit_price": str(i.unit_price),
            }
            for i in request.items
        ],
        "photos": [
            {"photo_id": p.photo_id, "content_type": p.content_type, "size": [p.width, p.height]}
            for p in request.photos
        ],
        "timeline": [
            {
                "at": _when(e.created_at),
                "kind": e.kind,
                "by": e.actor,
                "shown_to_customer": e.public,
                "message": e.message,
            }
            for e in request.events
        ],
        "resolutions": [
            {
                "kind": r.kind,
                "status": r.status,
                "amount": None if r.amount is None else str(r.amount),
                "currency": r.currency,
                "shopify_order_name": r.shopify_order_name,
                "note": r.description,
                "resolved_at": _when(r.resolved_at),
            }
            for r in resolutions
            if r.request_id == request.id
        ],
    }


def _verification_json(verification: OrderVerification) -> dict[str, Any]:
    return {
        "at": _when(verification.created_at),
        "shopify_order_id": verification.shopify_order_id,
        "code_sent": verification.code_hash is not None,
        "used_at": _when(verification.used_at),
    }


def _draft_json(draft: StoredDraft) -> dict[str, Any]:
    return {
        "at": _when(draft.created_at),
        "shopify_order_id": draft.shopify_order_id,
        "data": draft.data,
    }


def _email_json(job: Job) -> dict[str, Any]:
    return {
        "queued_at": _when(job.created_at),
        "status": job.status,
        "kind": job.payload.get("kind"),
        "to": job.payload.get("to"),
        "subject": job.payload.get("subject"),
        "text": job.payload.get("text"),
    }


# --- customers/redact ----------------------------------------------------------------------------


async def erase_customer(
    db: AsyncSession, store: Store, customer: Customer, *, secret: str, storage: Storage
) -> dict[str, int]:
    """Erase the customer's personal data at this store (see the module's docstring); the
    caller commits. Photo files are deleted at once: a run that does not commit is run again."""
    requests = await customer_requests(db, store, customer)
    orders = _orders_of(customer, requests)
    counts = {"reorder_requests": len(requests), "timeline_lines": 0, "photos": 0}
    for request in requests:
        counts["timeline_lines"] += erase_request_details(request, ERASED)
        counts["photos"] += await erase_photos(db, request, storage)
    counts["resolutions"] = erase_notes(await resolutions_of(db, requests), ERASED)
    verifications = await _verifications(db, store, customer, orders, secret)
    counts["order_verifications"] = await _delete_rows(db, OrderVerification, verifications)
    counts["drafts"] = await _erase_drafts(db, store, orders, storage)
    counts["emails"] = _erase_emails(await _emails(db, store, customer))
    counts["job_errors"] = await _erase_job_errors(db, customer)
    counts["data_reports"] = await _erase_reports(db, store, customer)
    return counts


def erase_request_details(request: ReorderRequest, note: str) -> int:
    """Everything in the request that says who the shopper is or what they wrote; each timeline
    line's words become ``note``. Amounts, items, statuses and dates stay. The number of
    timeline lines erased."""
    request.email = REDACTED_EMAIL
    request.customer_name = ""
    request.description = ""
    request.alternative_wish = ""
    request.shipping_address = None
    request.tracking_numbers = ""
    request.device_key = None  # the search text and address key follow (ReorderRequest)
    erased = 0
    for event in request.events:
        if event.message:
            event.message = note
            erased += 1
    return erased


async def erase_photos(db: AsyncSession, request: ReorderRequest, storage: Storage) -> int:
    photos = list(request.photos)
    for photo in photos:
        await forget_photo(storage, photo.photo_id)
    if photos:
        await db.execute(delete(RequestPhoto).where(RequestPhoto.request_id == request.id))
        await db.flush()
        db.expire(request, ["photos"])
    return len(photos)


def erase_notes(resolutions: list[Resolution], note: str) -> int:
    for resolution in resolutions:
        resolution.description = ""
        resolution.error = note if resolution.error else None
    return len(resolutions)


async def _delete_rows(db: AsyncSession, model: Any, rows: Sequence[Any]) -> int:
    if rows:
        await db.execute(delete(model).where(model.id.in_([row.id for row in rows])))
    return len(rows)


async def _erase_drafts(db: AsyncSession, store: Store, orders: set[str], storage: Storage) -> int:
    drafts = await _drafts(db, store, orders)
    for draft in drafts:
        for photo in draft.data.get("photos", []):
            await forget_photo(storage, photo.get("photo_id"))
    return await _delete_rows(db, StoredDraft, drafts)


def _erase_emails(jobs: list[Job]) -> int:
    """Queued ones are skipped by the worker; sent ones keep only when they were sent."""
    for job in jobs:
        kept = {"kind": job.payload.get("kind"), STORE_KEY: job.payload.get(STORE_KEY)}
        job.payload = {ERASED_KEY: True, **kept}
        job.result = {ERASED_KEY: True} if job.result is not None else None
        job.last_error = ERASED if job.last_error else None
    return len(jobs)


async def _erase_job_errors(db: AsyncSession, customer: Customer) -> int:
    """A job's last error that quotes the customer's email (an SMTP refusal, say)."""
    if not customer.email:
        return 0
    pattern = "%" + escape_like(customer.email.lower()) + "%"
    jobs = list(
        await db.scalars(select(Job).where(func.lower(Job.last_error).like(pattern, escape="\\")))
    )
    for job in jobs:
        job.last_error = ERASED
    return len(jobs)


async def _erase_reports(db: AsyncSession, store: Store, customer: Customer) -> int:
    """Earlier data reports about the customer hold everything erased here."""
    query = select(ComplianceRequest).where(
        ComplianceRequest.store_id == store.id, ComplianceRequest.topic == DATA_REQUEST
    )
    erased = 0
    for request in await db.scalars(query):
        report = request.report or {}
        about = report.get("customer") or report.get("asked") or {}
        if customer.sent_to(about.get("email")) or (
            customer.orders and customer.orders & set(about.get("orders") or [])
        ):
            request.report = {ERASED_KEY: True}
            erased += 1
    return erased
