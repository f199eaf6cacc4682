"""What a shopper may still change on a filed request: its delivery address, until a
resolution is under way or done. Rules only; the status page calls them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal.reorders import addresses
from portal.reorders.models import ReorderRequest
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
