"""Duplicates and risk, explained: what an agent should know before resolving a request.

Each signal says in plain words why it fired and points at what it found: another request
(by reference) or a Corso claim (by its external id, shown in the Corso panel of the same page).
The portal's own findings come from stored keys (``portal.reorders.risk``); Corso's claims and
the Shopify order are the ones the request page already fetched, so nothing here calls out.

An agent may mark a signal reviewed: a ``RiskReview`` row names who and when, and the timeline
says so. A signal's key names what it found, so a new match (another request, another claim)
is a new signal that needs its own review. The number of signals not reviewed is kept on the
request (``risk_count``) for the queue's column and filter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from portal.errors import ActionRefused, IntegrationError, StoreInactive
from portal.i18n import gettext as _
from portal.i18n import ngettext
from portal.integrations.corso.models import Claim
from portal.integrations.shopify.models import Address, Order
from portal.reorders import fingerprints, risk, snapshots
from portal.reorders.labels import status_label
from portal.reorders.models import ReorderRequest, RequestEvent
from portal.reorders.risk import OtherRequest, PortalFindings
from portal.runtime import Runtime
from portal.stores.models import Store
from portal.support.claims import CustomerClaims, customer_claims, line_items_for
from portal.support.models import RiskReview

MAX_KEY_LENGTH = 200


class SignalKind(StrEnum):
    SAME_LINE = "same_line"  # another portal request names the same order line
    CORSO_LINE = "corso_line"  # a Corso claim names the same order line
    MANY_CLAIMS = "many_claims"
    SAME_PHOTO = "same_photo"
    SAME_ADDRESS = "same_address"
    SAME_DEVICE = "same_device"
    ADDRESS_CHANGED = "address_changed"


@dataclass(frozen=True)
class Link:
    """What a signal points at: a request of the portal or a claim in Corso."""

    label: str
    reference: str | None = None
    claim: str | None = None


@dataclass(frozen=True)
class Signal:
    key: str
    kind: SignalKind
    why: str
    links: tuple[Link, ...] = ()
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None

    @property
    def reviewed(self) -> bool:
        return self.reviewed_by is not None


@dataclass(frozen=True)
class RiskReport:
    signals: list[Signal]
    claim_counts: dict[int, int] = field(default_factory=dict)
    corso_counted: bool = False

    @property
    def unreviewed(self) -> int:
        return sum(not s.reviewed for s in self.signals)


# --- finding -----------------------------------------------------------------------------------


async def assess(
    session: AsyncSession,
    request: ReorderRequest,
    *,
    order: Order | None,
    claims: CustomerClaims | None,
    now: datetime,
) -> RiskReport:
    """Every signal of ``request``, with the reviews already recorded, and the claim counts."""
    findings, reviews = await portal_part(session, request, now)
    return judge(request, findings, reviews, order=order, claims=claims, now=now)


async def portal_part(
    session: AsyncSession, request: ReorderRequest, now: datetime
) -> tuple[PortalFindings, dict[str, RiskReview]]:
    """What the portal's rows say and which signals were reviewed: read while Shopify and
    Corso are asked, in a session of its own."""
    return await risk.portal_findings(session, request, now), await _reviews(session, request.id)


def judge(
    request: ReorderRequest,
    findings: PortalFindings,
    reviews: Mapping[str, RiskReview],
    *,
    order: Order | None,
    claims: CustomerClaims | None,
    now: datetime,
) -> RiskReport:
    """The signals, from the portal's findings, the order and the customer's Corso claims."""
    corso = claims.claims if claims is not None and claims.connected else ()
    counts = _claim_counts(findings.request_dates, corso, now)
    found = [
        *_same_lines(request, findings),
        *_corso_lines(request, corso),
        *_many_claims(counts, corso_counted=claims is not None and claims.connected),
        *_others("same_photo", findings.same_photos, _same_photo_why),
        *_others("same_address", findings.same_address, _same_address_why),
        *_others("same_device", findings.same_device, _same_device_why),
        *_address_changed(request, order),
    ]
    signals = [_with_review(s, reviews.get(s.key)) for s in found]
    return RiskReport(signals, counts, corso_counted=claims is not None and claims.connected)


def _key(*parts: str) -> str:
    key = ":".join(parts)
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return f"{parts[0]}:{hashlib.sha256(key.encode()).hexdigest()}"


def _request_link(other: OtherRequest) -> Link:
    return Link(f"{other.reference} ({status_label(other.status)})", reference=other.reference)


def _item_name(request: ReorderRequest, line_item_id: str) -> str:
    return next((i.title for i in request.items if i.line_item_id == line_item_id), line_item_id)


def _same_lines(request: ReorderRequest, findings: PortalFindings) -> Iterable[Signal]:
    for line_item_id, others in findings.same_lines.items():
        references = ",".join(o.reference for o in others)
        yield Signal(
            key=_key(SignalKind.SAME_LINE, line_item_id, references),
            kind=SignalKind.SAME_LINE,
            why=_(
                "%(item)s of order %(order)s is already claimed in another request here.",
                item=_item_name(request, line_item_id),
                order=request.order_name,
            ),
            links=tuple(_request_link(o) for o in others),
        )


def _numeric_id(gid: str) -> str:
    return gid.rsplit("/", 1)[-1]


def _same_order(claim: Claim, request: ReorderRequest) -> bool:
    return claim.order.source_order_id == _numeric_id(request.shopify_order_id) or (
        claim.order.order_name is not None and claim.order.order_name == request.order_name
    )


def _corso_lines(request: ReorderRequest, claims: Sequence[Claim]) -> Iterable[Signal]:
    for item in request.items:
        matching = [
            claim
            for claim in claims
            if _same_order(claim, request) and line_items_for(claim, _numeric_id(item.line_item_id))
        ]
        if not matching:
            continue
        ids = ",".join(c.external_id for c in matching)
        yield Signal(
            key=_key(SignalKind.CORSO_LINE, item.line_item_id, ids),
            kind=SignalKind.CORSO_LINE,
            why=_(
                "%(item)s of order %(order)s is already claimed in Corso: check what that "
                "claim issued before refunding or reordering it.",
                item=item.title,
                order=request.order_name,
            ),
            links=tuple(
                Link(f"{c.external_id} ({c.status.replace('_', ' ')})", claim=c.external_id)
                for c in matching
            ),
        )


def _claim_counts(
    request_dates: Sequence[datetime], claims: Sequence[Claim], now: datetime
) -> dict[int, int]:
    corso_dates = [c.created_on for c in claims if c.created_on is not None]
    return risk.claims_in_windows([*request_dates, *corso_dates], now)


def _many_claims(counts: dict[int, int], *, corso_counted: bool) -> Iterable[Signal]:
    if not risk.too_many_claims(counts):
        return
    where = _("in the portal and Corso") if corso_counted else _("in the portal")
    yield Signal(
        key=_key(SignalKind.MANY_CLAIMS, *(str(counts[d]) for d in risk.CLAIM_WINDOWS)),
        kind=SignalKind.MANY_CLAIMS,
        why=_(
            "This customer made %(d30)s claims in the last 30 days, %(d90)s in 90 days and "
            "%(d365)s in a year (%(where)s); more than %(limit30)s in a month, %(limit90)s in "
            "three months or %(limit365)s in a year is unusual.",
            d30=counts[30],
            d90=counts[90],
            d365=counts[365],
            where=where,
            limit30=risk.CLAIM_LIMITS[30] - 1,
            limit90=risk.CLAIM_LIMITS[90] - 1,
            limit365=risk.CLAIM_LIMITS[365] - 1,
        ),
    )


def _others(kind: str, others: Sequence[OtherRequest], why: Any) -> Iterable[Signal]:
    if not others:
        return
    yield Signal(
        key=_key(kind, ",".join(sorted(o.reference for o in others))),
        kind=SignalKind(kind),
        why=why(others),
        links=tuple(_request_link(o) for o in others),
    )


def _customers(others: Sequence[OtherRequest]) -> int:
    return len({o.email for o in others})


def _same_photo_why(others: Sequence[OtherRequest]) -> str:
    return ngettext(
        "A photo of this request was also sent with %(num)s other request (the same picture, "
        "even if resized or saved again).",
        "A photo of this request was also sent with %(num)s other requests (the same picture, "
        "even if resized or saved again).",
        len(others),
    )


def _same_address_why(others: Sequence[OtherRequest]) -> str:
    return ngettext(
        "The shipping address is also on requests of %(num)s other customer.",
        "The shipping address is also on requests of %(num)s other customers.",
        _customers(others),
    )


def _same_device_why(others: Sequence[OtherRequest]) -> str:
    return ngettext(
        "This request was filed from the same browser as requests of %(num)s other customer.",
        "This request was filed from the same browser as requests of %(num)s other customers.",
        _customers(others),
    )


def address_fields(address: Address | None) -> dict[str, Any] | None:
    return asdict(address) if address is not None else None


def _address_changed(request: ReorderRequest, order: Order | None) -> Iterable[Signal]:
    if order is None or not request.shipping_address or order.shipping_address is None:
        return
    ordered = address_fields(order.shipping_address)
    if fingerprints.same_address(request.shipping_address, ordered):
        return
    yield Signal(
        key=_key(SignalKind.ADDRESS_CHANGED, request.address_key or ""),
        kind=SignalKind.ADDRESS_CHANGED,
        why=_(
            "The reorder would ship to %(new)s, not to the order's address, %(old)s.",
            new=_one_line(request.shipping_address),
            old=_one_line(ordered),
        ),
    )


def _one_line(address: Mapping[str, Any] | None) -> str:
    parts = ("address1", "address2", "city", "province_code", "zip", "country_code")
    return ", ".join(str(address[p]) for p in parts if address and address.get(p))


async def outside_for_signals(
    runtime: Runtime, request: ReorderRequest, store: Store, *, background: bool = False
) -> tuple[Order | None, CustomerClaims | None]:
    """The order and the customer's Corso claims the signals are judged against; None for one
    that cannot be read now (its signals are then not raised). The order is the copy the
    shopper's flow kept a moment ago while it cannot have changed (``portal.reorders.
    snapshots``). ``background``: for a job, which leaves the store's points to pages."""
    try:
        shopify = runtime.shopify(store)
        if background:
            shopify = shopify.in_background()
        order = await snapshots.read_or_fetch(
            runtime.sessions,
            store_id=store.id,
            order_id=request.shopify_order_id,
            fetch=lambda: shopify.get_order(order_id=request.shopify_order_id),
        )
    except (IntegrationError, StoreInactive):
        order = None
    try:
        claims = await customer_claims(runtime.corso(store), request.email)
    except (IntegrationError, StoreInactive):
        claims = None
    return order, claims


# --- reviews -----------------------------------------------------------------------------------


async def _reviews(session: AsyncSession, request_id: int) -> dict[str, RiskReview]:
    rows = await session.scalars(select(RiskReview).where(RiskReview.request_id == request_id))
    return {row.signal_key: row for row in rows}


def _with_review(signal: Signal, review: RiskReview | None) -> Signal:
    if review is None:
        return signal
    return Signal(
        signal.key,
        signal.kind,
        signal.why,
        signal.links,
        reviewed_by=review.reviewer_email,
        reviewed_at=review.reviewed_at,
    )


async def mark_reviewed(
    session: AsyncSession,
    request: ReorderRequest,
    report: RiskReport,
    signal_key: str,
    *,
    reviewer: str,
    now: datetime,
) -> None:
    """Record that ``reviewer`` looked at this signal, in the timeline too; refused when the
    signal is no longer there or was already reviewed."""
    signal = next((s for s in report.signals if s.key == signal_key), None)
    if signal is None:
        raise ActionRefused(_("That signal is no longer raised: reload the page."))
    if signal.reviewed:
        raise ActionRefused(_("That signal was already marked reviewed."))
    try:
        async with session.begin_nested():
            session.add(
                RiskReview(
                    request_id=request.id,
                    signal_key=signal_key,
                    reviewer_email=reviewer,
                    reviewed_at=now,
                )
            )
            await session.flush()
    except IntegrityError as exc:
        raise ActionRefused(_("That signal was already marked reviewed.")) from exc
    request.events.append(
        RequestEvent(
            kind="risk_reviewed",
            actor=reviewer,
            public=False,
            message=signal.why,
            data={"signal": signal.kind.value},
            created_at=now,
        )
    )
    await risk.store_risk_count(session, request.id, report.unreviewed - 1)
