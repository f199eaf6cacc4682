"""The rules of a reorder request: what may still be claimed, when an order is eligible, and
filing the request (one transaction, once per draft)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from portal.clock import utcnow
from portal.db import serialise
from portal.errors import NotEligible, NothingLeftToClaim
from portal.i18n import gettext as _
from portal.i18n import local_day, ngettext
from portal.integrations.shopify.models import LineItem, Order
from portal.reorders import fingerprints, risk, tracking
from portal.reorders.models import (
    IssueType,
    PreferredResolution,
    ReorderRequest,
    RequestEvent,
    RequestItem,
    RequestStatus,
    new_photo,
)
from portal.stores.models import Store

REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 6
# Requests whose items still count against what may be claimed. Refunded requests are already
# reflected in Shopify's refundable quantity; denied ones claimed nothing.
COUNTED_STATUSES = (
    RequestStatus.SUBMITTED,
    RequestStatus.IN_REVIEW,
    RequestStatus.NEEDS_INFO,
    RequestStatus.NEEDS_ATTENTION,
    RequestStatus.REORDERED,
    RequestStatus.RESOLVED,
)


def new_reference() -> str:
    return "RR-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def claimable_lines(order: Order, store: Store) -> list[LineItem]:
    """The order's goods: every line except the shipping-protection item."""
    return [li for li in order.line_items if not store.is_protection_variant(li.variant_id)]


def is_protected(order: Order, store: Store) -> bool:
    return any(store.is_protection_variant(li.variant_id) for li in order.line_items)


async def requested_quantities(
    session: AsyncSession, *, store_id: int, order_id: str
) -> dict[str, int]:
    """Quantities per line item already asked for here, in requests that still count."""
    rows = await session.execute(
        select(RequestItem.line_item_id, RequestItem.quantity)
        .join(ReorderRequest)
        .where(
            ReorderRequest.store_id == store_id,
            ReorderRequest.shopify_order_id == order_id,
            ReorderRequest.status.in_(COUNTED_STATUSES),
        )
    )
    totals: dict[str, int] = {}
    for line_item_id, quantity in rows:
        totals[line_item_id] = totals.get(line_item_id, 0) + quantity
    return totals


def claimable_quantities(lines: Iterable[LineItem], requested: dict[str, int]) -> dict[str, int]:
    """Ordered, minus refunded, minus already requested here."""
    return {li.id: max(0, li.refundable_quantity - requested.get(li.id, 0)) for li in lines}


async def lines_left_to_claim(
    session: AsyncSession, *, store: Store, order: Order
) -> list[tuple[LineItem, int]]:
    """Each of the order's goods with the quantity that may still be claimed."""
    requested = await requested_quantities(session, store_id=store.id, order_id=order.id)
    lines = claimable_lines(order, store)
    left = claimable_quantities(lines, requested)
    return [(line, left[line.id]) for line in lines]


def eligibility_problems(
    order: Order,
    store: Store,
    issue_type: IssueType | None,
    now: datetime,
    line_item_ids: Iterable[str] | None = None,
) -> list[str]:
    """Why this order (or, with ``line_item_ids``, these of its items) cannot be claimed for
    ``issue_type`` now, in the shopper's words (empty when it can). Before the shopper says
    what happened (``issue_type`` None) the order is open while any reason is open for any of
    its parcels; otherwise each item is checked against the parcel it travels in."""
    if order.is_cancelled:
        return [_("This order was cancelled, so there is nothing to replace or refund.")]
    if issue_type is None:
        return _order_problems(order, store, now)
    return _reason_problems(order, store, issue_type, now, line_item_ids)


def _order_problems(order: Order, store: Store, now: datetime) -> list[str]:
    options = _parcels_in_play(order, store, now, None)
    windows = [
        [tracking.reason_window(issue, p, store, now, order.created_at) for p in options]
        for issue in IssueType
    ]
    if any(w.is_open for per_issue in windows for w in per_issue):
        return []
    latest = [per_issue[-1] for per_issue in windows]
    waiting = [w for w in latest if w.refusal is tracking.Refusal.NOT_DELIVERED]
    said = [explain(w, store) for w in latest if w not in waiting]
    if waiting:
        said.append(
            _(
                "A stolen parcel, or a damaged, wrong or missing item, can be reported once the "
                "carrier shows the parcel delivered. Tracking shows it has not been delivered yet."
            )
        )
    return list(dict.fromkeys(said))


def closed_reasons(order: Order, store: Store, now: datetime) -> list[str]:
    """For the request form: each reason that no parcel of the order may be reported for now,
    in plain words (a shopper sees them before choosing)."""
    options = _parcels_in_play(order, store, now, None)
    said = []
    for issue in IssueType:
        windows = [tracking.reason_window(issue, p, store, now, order.created_at) for p in options]
        if not any(w.is_open for w in windows):
            said.append(explain(windows[-1], store))
    return list(dict.fromkeys(said))


def _reason_problems(
    order: Order,
    store: Store,
    issue: IssueType,
    now: datetime,
    line_item_ids: Iterable[str] | None,
) -> list[str]:
    if line_item_ids is None:
        options = _parcels_in_play(order, store, now, None)
        windows = [tracking.reason_window(issue, p, store, now, order.created_at) for p in options]
        return [] if any(w.is_open for w in windows) else [explain(windows[-1], store)]
    refused: dict[str, list[str]] = {}  # explanation -> titles of the items it is about
    for line_id in dict.fromkeys(line_item_ids):
        options = _parcels_in_play(order, store, now, line_id)
        windows = [tracking.reason_window(issue, p, store, now, order.created_at) for p in options]
        if not any(w.is_open for w in windows):
            line = order.line_item(line_id)
            refused.setdefault(explain(windows[-1], store), []).append(line.title if line else "")
    several = len(tracking.parcels_of(order)) > 1
    return [
        f"{', '.join(titles)}: {why}" if several and all(titles) else why
        for why, titles in refused.items()
    ]


def _parcels_in_play(
    order: Order, store: Store, now: datetime, line_item_id: str | None
) -> list[tracking.ParcelTracking]:
    """The parcels the goods (or one line of them) travel in, oldest first, after
    ``UNFULFILLED`` when some of them have not shipped."""
    ids = None if line_item_id is None else [line_item_id]
    parcels = tracking.parcels_of(order, ids)
    in_play = [tracking.parcel_tracking(f, store, now) for f in parcels]
    goods = claimable_lines(order, store)
    if line_item_id is not None:
        goods = [li for li in goods if li.id == line_item_id]
    shipped = {li.id: 0 for li in goods}
    for parcel in tracking.parcels_of(order):
        for line in parcel.line_items:
            if line.line_item_id in shipped:
                shipped[line.line_item_id] += line.quantity
    unshipped = any(shipped[li.id] < li.current_quantity for li in goods)
    if unshipped and (parcels or not order.fulfillments or line_item_id is not None):
        return [tracking.UNFULFILLED, *in_play]
    return in_play or [tracking.UNFULFILLED]


def explain(window: tracking.Window, store: Store) -> str:
    """A closed window in plain words, with its dates in the store's time zone."""
    why = window.refusal
    issue = window.issue
    if why is tracking.Refusal.NOT_SHIPPED:
        return _(
            "A lost or stolen parcel can be reported once the order has shipped. "
            "This order has not shipped yet."
        )
    if why is tracking.Refusal.NOT_YET_LOST:
        return _lost_later(window, store)
    if why is tracking.Refusal.DELIVERED and window.tracking.delivered_at is None:
        return _(
            "Tracking shows this parcel was delivered, so it cannot be reported as lost. If it "
            "did not reach you, report it as stolen."
        )
    if why is tracking.Refusal.DELIVERED:
        return _(
            "Tracking shows this parcel was delivered on %(date)s, so it cannot be reported as "
            "lost. If it did not reach you, report it as stolen.",
            date=day(window.tracking.delivered_at, store),
        )
    if why is tracking.Refusal.NOT_DELIVERED:
        return _(
            "%(what)s can be reported once the carrier shows the parcel delivered. Tracking "
            "shows it has not been delivered yet.",
            what=reason_subject(issue),
        )
    return _closed(window, store)


def _lost_later(window: tracking.Window, store: Store) -> str:
    opens = day(window.opens, store, year=False)
    if window.opens_by_estimate:
        days = tracking.estimate_days(store)
        return ngettext(
            "You can report a lost parcel from %(date)s, %(num)s day after its estimated "
            "delivery on %(estimate)s.",
            "You can report a lost parcel from %(date)s, %(num)s days after its estimated "
            "delivery on %(estimate)s.",
            days,
            date=opens,
            estimate=day(window.tracking.estimated_delivery_at, store, year=False),
        )
    return ngettext(
        "You can report a lost parcel from %(date)s, when it has had no tracking update for "
        "%(num)s day.",
        "You can report a lost parcel from %(date)s, when it has had no tracking update for "
        "%(num)s days.",
        tracking.quiet_days(store),
        date=opens,
    )


def _closed(window: tracking.Window, store: Store) -> str:
    sentences = {
        tracking.Basis.DELIVERY: _(
            "%(what)s had to be reported within %(days)s days of delivery, by %(date)s."
        ),
        tracking.Basis.ORDER: _(
            "%(what)s had to be reported within %(days)s days of the order, by %(date)s."
        ),
        tracking.Basis.SHIPPING: _(
            "%(what)s had to be reported within %(days)s days of shipping, by %(date)s."
        ),
    }
    return sentences[window.basis] % {
        "what": reason_subject(window.issue),
        "days": window.days,
        "date": day(window.closes, store),
    }


def reason_subject(issue: IssueType) -> str:
    """The reason as the subject of a sentence: "A lost parcel"."""
    subjects = {
        IssueType.LOST: _("A lost parcel"),
        IssueType.STOLEN: _("A stolen parcel"),
        IssueType.DAMAGED: _("A damaged item"),
        IssueType.WRONG_ITEM: _("A wrong item"),
        IssueType.MISSING_ITEM: _("A missing item"),
    }
    return subjects[issue]


def day(moment: datetime | None, store: Store, *, year: bool = True) -> str:
    """A date in the store's time zone and the shopper's language, as the pages write it."""
    return "" if moment is None else local_day(moment, store.time_zone or "UTC", year=year)


def claim_window_end(order: Order, store: Store) -> datetime:
    """When the last of the store's claim windows for ``order`` closes, as things stand: from
    each parcel's delivery (or shipping), or from the order while nothing has shipped."""
    now = utcnow()
    parcels = [tracking.parcel_tracking(f, store, now) for f in tracking.parcels_of(order)]
    ends = [tracking.window_end(p, store, order.created_at) for p in parcels]
    return max(ends, default=order.created_at + timedelta(days=store.longest_claim_window))


@dataclass(frozen=True)
class PhotoRecord:
    photo_id: str
    content_type: str
    width: int
    height: int
    sha256: str
    phash: str | None = None  # perceptual hash; drafts saved before it was kept have none


@dataclass(frozen=True)
class RequestDraft:
    """Everything the shopper chose, checked, before they press Submit."""

    submit_key: str
    issue_type: IssueType
    quantities: dict[str, int]  # line item id -> quantity
    resolution: PreferredResolution
    description: str = ""
    alternative_wish: str = ""
    shipping_address: dict[str, Any] | None = None
    photos: Sequence[PhotoRecord] = field(default_factory=tuple)
    add_to: str = ""  # the reference of an open request these items are added to, if any

    def as_json(self) -> dict[str, Any]:
        return {
            "submit_key": self.submit_key,
            "issue_type": self.issue_type.value,
            "quantities": self.quantities,
            "resolution": self.resolution.value,
            "description": self.description,
            "alternative_wish": self.alternative_wish,
            "shipping_address": self.shipping_address,
            "photos": [vars(p) for p in self.photos],
            "add_to": self.add_to,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RequestDraft:
        return cls(
            submit_key=data["submit_key"],
            issue_type=IssueType(data["issue_type"]),
            quantities={str(k): int(v) for k, v in data["quantities"].items()},
            resolution=PreferredResolution(data["resolution"]),
            description=data.get("description", ""),
            alternative_wish=data.get("alternative_wish", ""),
            shipping_address=data.get("shipping_address"),
            photos=tuple(PhotoRecord(**p) for p in data.get("photos", [])),
            add_to=str(data.get("add_to", "")),
        )


async def existing_reorder(session: AsyncSession, submit_key: str) -> ReorderRequest | None:
    return await session.scalar(
        select(ReorderRequest)
        .where(ReorderRequest.submit_key == submit_key)
        .options(selectinload(ReorderRequest.items))
    )


REFERENCE_ATTEMPTS = 5


async def file_reorder(
    session: AsyncSession,
    *,
    store: Store,
    order: Order,
    draft: RequestDraft,
    now: datetime,
    device_key: str | None = None,
) -> tuple[ReorderRequest, bool]:
    """Write the request with its items, photos and first timeline line, in the caller's
    transaction. Returns ``(reorder, created)``; a second submit of the same draft returns the
    first request. The order's rules are checked again here, under a per-order lock on
    PostgreSQL, so two drafts submitted together cannot claim the same items twice."""
    earlier = await existing_reorder(session, draft.submit_key)
    if earlier is not None:
        return earlier, False
    problems = eligibility_problems(order, store, draft.issue_type, now, draft.quantities)
    if problems:
        raise NotEligible(problems)
    await lock_order(session, store.id, order.id)
    lines = {li.id: li for li in claimable_lines(order, store)}
    requested = await requested_quantities(session, store_id=store.id, order_id=order.id)
    left = claimable_quantities(lines.values(), requested)
    if any(q > left.get(line_id, 0) for line_id, q in draft.quantities.items()):
        raise NothingLeftToClaim("quantities beyond what is claimable")
    for _attempt in range(REFERENCE_ATTEMPTS):
        reorder = _new_reorder(store, order, draft, lines, now, device_key)
        session.add(reorder)
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError:
            session.expunge(reorder)
            earlier = await existing_reorder(session, draft.submit_key)
            if earlier is not None:
                return earlier, False
            continue  # the reference was taken: draw another
        await risk.flag_on_filing(session, reorder, now)
        return reorder, True
    raise RuntimeError("could not draw an unused request reference")


async def lock_order(session: AsyncSession, store_id: int, order_id: str) -> None:
    """Serialise filings for one order until the transaction ends."""
    await serialise(session, f"reorder-order:{store_id}:{order_id}")


def _new_reorder(
    store: Store,
    order: Order,
    draft: RequestDraft,
    lines: dict[str, LineItem],
    now: datetime,
    device_key: str | None,
) -> ReorderRequest:
    items = [item_for(lines[line_id], quantity) for line_id, quantity in draft.quantities.items()]
    reorder = ReorderRequest(
        reference=new_reference(),
        submit_key=draft.submit_key,
        store_id=store.id,
        shopify_order_id=order.id,
        order_name=order.name,
        email=(order.email or "").casefold(),
        customer_name=order.customer_name or "",
        issue_type=draft.issue_type.value,
        description=draft.description,
        resolution=draft.resolution.value,
        alternative_wish=draft.alternative_wish,
        shipping_address=draft.shipping_address,
        currency=order.currency,
        items_total=sum((i.total for i in items), Decimal("0.00")),
        status=RequestStatus.SUBMITTED,
        created_at=now,
        updated_at=now,
        items=items,
        photos=[new_photo(**vars(p)) for p in draft.photos],
        tracking_numbers=fingerprints.tracking_numbers(
            t.number for f in order.fulfillments for t in f.tracking
        ),
        device_key=device_key,
    )
    reorder.events.append(
        RequestEvent(kind="submitted", actor="shopper", public=True, created_at=now, data={})
    )
    return reorder


def item_for(line: LineItem, quantity: int) -> RequestItem:
    return RequestItem(
        line_item_id=line.id,
        variant_id=line.variant_id,
        title=line.title,
        variant_title=line.variant_title,
        sku=line.sku,
        image_url=line.image.url if line.image else None,
        quantity=quantity,
        unit_price=line.unit_price.amount,
    )


async def get_reorder(
    session: AsyncSession, *, store_id: int, reorder_id: int
) -> ReorderRequest | None:
    """A store's request with its items, photos and timeline."""
    return await session.scalar(
        _with_everything().where(
            ReorderRequest.id == reorder_id, ReorderRequest.store_id == store_id
        )
    )


async def get_reorder_by_reference(
    session: AsyncSession, *, store_id: int, reference: str
) -> ReorderRequest | None:
    return await session.scalar(
        _with_everything().where(
            ReorderRequest.reference == reference, ReorderRequest.store_id == store_id
        )
    )


def _with_everything() -> Select[ReorderRequest]:
    return select(ReorderRequest).options(
        selectinload(ReorderRequest.items),
        selectinload(ReorderRequest.events),
        selectinload(ReorderRequest.photos),
    )
