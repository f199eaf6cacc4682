"""What a shopper adds to a filed request from its status page: an answer to a question (with
photos, checked and stored like the request's own), and a new delivery address until a
resolution is under way or done. Rules only; the status page calls them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal.reorders import addresses
from portal.reorders.models import ReorderRequest, RequestPhoto, RequestStatus
from portal.reorders.service import PhotoRecord
from portal.support import actions

ADDRESS_CHANGED = "address_changed"


async def may_change_address(session: AsyncSession, reorder: ReorderRequest) -> bool:
    """Open, and no resolution pending or carried out (a refused one leaves it changeable)."""
    return reorder.is_open and await actions.live_resolution(session, reorder.id) is None


async def change_address(session: AsyncSession, reorder_id: int, address: dict[str, Any]) -> bool:
    """Replace the request's delivery address and say so in its timeline, with the row locked;
    False (nothing changed) when it may no longer be changed."""
    reorder = await session.get(ReorderRequest, reorder_id, with_for_update=True)
    if reorder is None or not await may_change_address(session, reorder):
        return False
    before = reorder.shipping_address
    reorder.shipping_address = address
    actions.record(
        session,
        reorder,
        ADDRESS_CHANGED,
        actions.SHOPPER,
        public=True,
        message="The shopper changed the delivery address to: "
        + ", ".join(addresses.describe(address)),
        data={"before": before, "after": address},
    )
    return True


async def answer_question(
    session: AsyncSession, reorder_id: int, answer: str, photos: Sequence[PhotoRecord] = ()
) -> bool:
    """The shopper's answer, and its photos, put the request back in review (Needs attention
    while a resolution of it is stopped). The row is
    locked, so of two answers sent together only the first is recorded; one sent after the
    question was dealt with changes nothing (False: its photos are for the caller to drop)."""
    reorder = await session.get(ReorderRequest, reorder_id, with_for_update=True)
    if reorder is None or reorder.status != RequestStatus.NEEDS_INFO:
        return False
    reorder.status = RequestStatus.IN_REVIEW
    for photo in photos:
        session.add(RequestPhoto(request_id=reorder.id, **vars(photo)))
    actions.record(
        session,
        reorder,
        "shopper_answered",
        actions.SHOPPER,
        public=True,
        message=answer,
        data={"photos": [p.photo_id for p in photos]} if photos else None,
    )
    if await actions.has_stopped_work(session, reorder.id):
        actions.needs_attention(reorder)  # the agent still has a stopped resolution to decide
    return True
