"""What the portal's own rows say about a reorder request's risk: the same order line in another
request, the same photo, the same address or device behind other customers, and how many
requests the customer filed lately. Each finding comes from an index look-up on keys stored
when the request was written (``fingerprints``), within the request's store.

``portal.support.signals`` adds what Corso and Shopify say and explains each finding; here the
findings are only found, and counted when a request is filed so the queue can flag it at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from portal.reorders import fingerprints
from portal.reorders.models import (
    PhotoBand,
    ReorderRequest,
    RequestItem,
    RequestPhoto,
    RequestStatus,
)

CLAIM_WINDOWS = (30, 90, 365)
# A customer is flagged at this many claims (portal requests and Corso claims) in the window.
CLAIM_LIMITS = {30: 3, 90: 5, 365: 8}
MATCH_LIMIT = 20  # other requests named per finding
# A job queued when a request is filed: its signals judged with Shopify and Corso too, so the
# queue flags a duplicate claim before anyone opens the request (portal.support.risk_job).
ASSESS_JOB = "risk.assess"


@dataclass(frozen=True)
class OtherRequest:
    """Another request a finding points at."""

    reference: str
    email: str
    status: str
    created_at: datetime
    order_name: str = ""


@dataclass(frozen=True)
class PortalFindings:
    """Everything the portal's rows say; empty lists mean nothing was found."""

    same_lines: dict[str, list[OtherRequest]] = field(default_factory=dict)  # line item id ->
    same_photos: list[OtherRequest] = field(default_factory=list)
    same_address: list[OtherRequest] = field(default_factory=list)  # other customers' requests
    same_device: list[OtherRequest] = field(default_factory=list)  # other customers' requests
    request_dates: list[datetime] = field(default_factory=list)  # the customer's, last 365 days


def _other(row: ReorderRequest) -> OtherRequest:
    return OtherRequest(row.reference, row.email, row.status, row.created_at, row.order_name)


def _others_of(request: ReorderRequest) -> list[ColumnElement[bool]]:
    return [ReorderRequest.store_id == request.store_id, ReorderRequest.id != request.id]


async def same_lines(
    session: AsyncSession, request: ReorderRequest
) -> dict[str, list[OtherRequest]]:
    """Other requests of the same order that name one of this request's line items."""
    wanted = [item.line_item_id for item in request.items]
    if not wanted:
        return {}
    rows = await session.execute(
        select(RequestItem.line_item_id, ReorderRequest)
        .join(ReorderRequest, ReorderRequest.id == RequestItem.request_id)
        .where(
            *_others_of(request),
            ReorderRequest.shopify_order_id == request.shopify_order_id,
            ReorderRequest.status != RequestStatus.DENIED,
            RequestItem.line_item_id.in_(wanted),
        )
        .order_by(ReorderRequest.created_at, ReorderRequest.id)
        .limit(MATCH_LIMIT * len(wanted))
    )
    found: dict[str, list[OtherRequest]] = {}
    for line_item_id, other in rows:
        found.setdefault(line_item_id, []).append(_other(other))
    return found


async def same_photos(session: AsyncSession, request: ReorderRequest) -> list[OtherRequest]:
    """Other requests with a photo within ``PHOTO_MATCH_BITS`` of one of this request's."""
    hashes = [p.phash for p in request.photos if p.phash]
    if not hashes:
        return []
    keys = {k for h in hashes for k in fingerprints.photo_band_keys(h)}
    rows = await session.execute(
        select(RequestPhoto.phash, ReorderRequest)
        .join(PhotoBand, PhotoBand.photo_id == RequestPhoto.id)
        .join(ReorderRequest, ReorderRequest.id == RequestPhoto.request_id)
        .where(*_others_of(request), PhotoBand.band_key.in_(keys))
        .order_by(ReorderRequest.created_at, ReorderRequest.id)
        .limit(MATCH_LIMIT * len(keys))
    )
    found: dict[str, OtherRequest] = {}
    for phash, other in rows:
        if phash and any(fingerprints.photos_match(phash, mine) for mine in hashes):
            found.setdefault(other.reference, _other(other))
    return list(found.values())[:MATCH_LIMIT]


async def _other_customers_by(
    session: AsyncSession,
    request: ReorderRequest,
    column: InstrumentedAttribute[str | None],
    key: str | None,
) -> list[OtherRequest]:
    if key is None:
        return []
    rows = await session.scalars(
        select(ReorderRequest)
        .where(
            *_others_of(request),
            column == key,
            ReorderRequest.email != request.email,
        )
        .order_by(ReorderRequest.created_at.desc(), ReorderRequest.id.desc())
        .limit(MATCH_LIMIT)
    )
    return [_other(row) for row in rows]


async def same_address(session: AsyncSession, request: ReorderRequest) -> list[OtherRequest]:
    """Requests of other customers shipped to the same address."""
    return await _other_customers_by(
        session, request, ReorderRequest.address_key, request.address_key
    )


async def same_device(session: AsyncSession, request: ReorderRequest) -> list[OtherRequest]:
    """Requests of other customers filed from the same browser."""
    return await _other_customers_by(
        session, request, ReorderRequest.device_key, request.device_key
    )


async def request_dates(
    session: AsyncSession, request: ReorderRequest, now: datetime
) -> list[datetime]:
    """When the customer filed requests at this store in the last year (this one included)."""
    since = now - timedelta(days=max(CLAIM_WINDOWS))
    rows = await session.scalars(
        select(ReorderRequest.created_at).where(
            ReorderRequest.store_id == request.store_id,
            ReorderRequest.email == request.email,
            ReorderRequest.created_at >= since,
        )
    )
    return list(rows)


def claims_in_windows(dates: Sequence[datetime], now: datetime) -> dict[int, int]:
    """How many of ``dates`` fall in each of the last 30, 90 and 365 days."""
    return {
        days: sum(1 for d in dates if d >= now - timedelta(days=days)) for days in CLAIM_WINDOWS
    }


def too_many_claims(counts: dict[int, int]) -> bool:
    return any(counts[days] >= CLAIM_LIMITS[days] for days in CLAIM_WINDOWS)


async def portal_findings(
    session: AsyncSession, request: ReorderRequest, now: datetime
) -> PortalFindings:
    return PortalFindings(
        same_lines=await same_lines(session, request),
        same_photos=await same_photos(session, request),
        same_address=await same_address(session, request),
        same_device=await same_device(session, request),
        request_dates=await request_dates(session, request, now),
    )


def portal_signal_count(findings: PortalFindings, now: datetime) -> int:
    """How many kinds of signal the portal's rows alone raise."""
    return sum(
        (
            len(findings.same_lines),
            bool(findings.same_photos),
            bool(findings.same_address),
            bool(findings.same_device),
            too_many_claims(claims_in_windows(findings.request_dates, now)),
        )
    )


async def flag_on_filing(session: AsyncSession, request: ReorderRequest, now: datetime) -> None:
    """Count a new request's signals, and flag the requests it matches: a match goes both ways
    (the request page counts each one exactly when an agent opens it)."""
    findings = await portal_findings(session, request, now)
    request.risk_count = portal_signal_count(findings, now)
    matched = {
        other.reference
        for others in (
            *findings.same_lines.values(),
            findings.same_photos,
            findings.same_address,
            findings.same_device,
        )
        for other in others
    }
    if matched:
        await session.execute(
            update(ReorderRequest)
            .where(ReorderRequest.reference.in_(matched), ReorderRequest.risk_count == 0)
            .values(risk_count=1)
        )
    await session.flush()


async def store_risk_count(session: AsyncSession, request_id: int, count: int) -> None:
    """Keep the count the request page found, for the queue's column and filter."""
    await session.execute(
        update(ReorderRequest)
        .where(ReorderRequest.id == request_id, ReorderRequest.risk_count != count)
        .values(risk_count=count)
    )
