"""One order, several problems: the requests a shopper coming back to an order already has, and
adding items to one of them while the team has not started on it.

A request is *unworked* while it is submitted, unassigned, and every line of its timeline is
the shopper's own (no note, question or resolution yet). Items are added to it only for the
same problem and the same wish; anything else is a separate request, which the shopper is told.
Claimable quantities are checked again under the order's lock, as for a new request."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from portal.errors import NotEligible, NothingLeftToClaim
from portal.i18n import gettext as _
from portal.integrations.shopify.models import LineItem, Order
from portal.reorders import service as reorders
from portal.reorders.models import (
    OPEN_STATUSES,
    ReorderRequest,
    RequestEvent,
    RequestPhoto,
    RequestStatus,
)
from portal.reorders.service import RequestDraft
from portal.stores.models import Store

SHOPPER = "shopper"
ITEMS_ADDED = "items_added"


async def open_reorders(
    session: AsyncSession, *, store_id: int, order_id: str
) -> list[ReorderRequest]:
    """The order's open requests, oldest first, with their items and timeline."""
    rows = await session.scalars(
        select(ReorderRequest)
        .where(
            ReorderRequest.store_id == store_id,
            ReorderRequest.shopify_order_id == order_id,
            ReorderRequest.status.in_(OPEN_STATUSES),
        )
        .options(
            selectinload(ReorderRequest.items),
            selectinload(ReorderRequest.events),
            selectinload(ReorderRequest.photos),
        )
        .order_by(ReorderRequest.id)
    )
    return list(rows)


def is_unworked(reorder: ReorderRequest) -> bool:
    return (
        reorder.status == RequestStatus.SUBMITTED
        and reorder.assigned_to_id is None
        and all(event.actor == SHOPPER for event in reorder.events)
    )


def addition_problem(reorder: ReorderRequest, draft: RequestDraft) -> str | None:
    """Why these items cannot join ``reorder`` (None when they can)."""
    if not is_unworked(reorder):
        return _(
            "Our team has started on request %(ref)s, so nothing more can be added to it. "
            "Choose to file a separate request.",
            ref=reorder.reference,
        )
    if reorder.issue_type != draft.issue_type.value or reorder.resolution != draft.resolution:
        return _(
            "Request %(ref)s is for another problem or another wish. Items with a different "
            "problem or wish go in a separate request.",
            ref=reorder.reference,
        )
    return None


async def added_by(
    session: AsyncSession, *, store_id: int, order_id: str, submit_key: str
) -> ReorderRequest | None:
    """The request a submitted draft's items were added to (the draft is gone by then)."""
    for reorder in await open_reorders(session, store_id=store_id, order_id=order_id):
        if any(e.data.get("submit_key") == submit_key for e in reorder.events):
            return reorder
    return None


async def add_to_reorder(
    session: AsyncSession, *, store: Store, order: Order, draft: RequestDraft, now: datetime
) -> ReorderRequest:
    """Add the draft's items and photos to the open request it names, in the caller's
    transaction and under the order's lock; ``NotEligible`` says why when they may not be."""
    problems = reorders.eligibility_problems(order, store, draft.issue_type, now, draft.quantities)
    if problems:
        raise NotEligible(problems)
    await reorders.lock_order(session, store.id, order.id)
    found = await open_reorders(session, store_id=store.id, order_id=order.id)
    reorder = next((r for r in found if r.reference == draft.add_to), None)
    if reorder is None:
        raise NotEligible([_("Request %(ref)s is closed now.", ref=draft.add_to)])
    problem = addition_problem(reorder, draft)
    if problem is not None:
        raise NotEligible([problem])
    lines = {li.id: li for li in reorders.claimable_lines(order, store)}
    requested = await reorders.requested_quantities(session, store_id=store.id, order_id=order.id)
    left = reorders.claimable_quantities(lines.values(), requested)
    if any(q > left.get(line_id, 0) for line_id, q in draft.quantities.items()):
        raise NothingLeftToClaim("quantities beyond what is claimable")
    _merge_items(reorder, draft, lines)
    reorder.photos.extend(RequestPhoto(**vars(p)) for p in draft.photos)
    if draft.description:
        reorder.description = "\n\n".join(d for d in (reorder.description, draft.description) if d)
    reorder.updated_at = now
    reorder.events.append(
        RequestEvent(
            kind=ITEMS_ADDED,
            actor=SHOPPER,
            public=True,
            created_at=now,
            message=_added_words(draft, lines),
            data={"submit_key": draft.submit_key, "quantities": draft.quantities},
        )
    )
    await session.flush()
    return reorder


def _merge_items(reorder: ReorderRequest, draft: RequestDraft, lines: dict[str, LineItem]) -> None:
    by_line = {item.line_item_id: item for item in reorder.items}
    for line_id, quantity in draft.quantities.items():
        if line_id in by_line:
            by_line[line_id].quantity += quantity
        else:
            reorder.items.append(reorders.item_for(lines[line_id], quantity))
    reorder.items_total = sum((i.total for i in reorder.items), Decimal("0.00"))


def _added_words(draft: RequestDraft, lines: dict[str, LineItem]) -> str:
    names = [
        f"{quantity} \u00d7 {lines[line_id].name}" for line_id, quantity in draft.quantities.items()
    ]
    return ", ".join(names)
