"""Nightly clean-up of what shoppers leave behind: drafts never submitted (they hold addresses)
and their photos, old verification rows and the copies of orders kept for their flow. Submitted
requests and their photos are kept."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.jobs import queue
from portal.reorders import snapshots
from portal.reorders.models import RequestPhoto
from portal.shopper.models import (
    SESSION_LIFETIME,
    OrderVerification,
    ShopperSignOut,
    StoredDraft,
)
from portal.shopper.photos import delete_photo
from portal.storage import Storage

PURGE = "shopper.purge"
DRAFT_LIFETIME = timedelta(days=2)
VERIFICATION_LIFETIME = timedelta(days=2)
PURGE_HOUR_UTC = 4


async def purge(session: AsyncSession, *, storage: Storage, now: datetime) -> dict[str, int]:
    """Delete stale drafts (and photos no submitted request uses), old verifications, and
    sign-outs of sessions that have ended by their age anyway."""
    stale = list(
        await session.scalars(
            select(StoredDraft).where(StoredDraft.created_at < now - DRAFT_LIFETIME)
        )
    )
    photo_ids = {p["photo_id"] for d in stale for p in d.data.get("photos", [])}
    kept = (
        set(
            await session.scalars(
                select(RequestPhoto.photo_id).where(RequestPhoto.photo_id.in_(photo_ids))
            )
        )
        if photo_ids
        else set()
    )
    kept |= await _photos_of_fresh_drafts(session, {d.id for d in stale})
    for photo_id in photo_ids - kept:
        await delete_photo(storage, photo_id)
    await session.execute(delete(StoredDraft).where(StoredDraft.id.in_([d.id for d in stale])))
    old = await session.execute(
        delete(OrderVerification).where(OrderVerification.created_at < now - VERIFICATION_LIFETIME)
    )
    signed_out = await session.execute(
        delete(ShopperSignOut).where(ShopperSignOut.signed_out_at < now - SESSION_LIFETIME)
    )
    order_copies = await snapshots.purge(session, now=now)
    await session.commit()
    return {
        "drafts": len(stale),
        "photos": len(photo_ids - kept),
        "verifications": int(old.rowcount or 0),  # type: ignore[attr-defined]
        "sign_outs": int(signed_out.rowcount or 0),  # type: ignore[attr-defined]
        "order_copies": order_copies,
    }


async def _photos_of_fresh_drafts(session: AsyncSession, stale: set[str]) -> set[str]:
    """Photos a draft that is not being purged still holds: a draft reopened with "Change
    something" keeps the photos of the one before it."""
    fresh = await session.scalars(select(StoredDraft.data).where(StoredDraft.id.not_in(stale)))
    return {p["photo_id"] for data in fresh for p in data.get("photos", [])}


async def schedule_purge(session: AsyncSession, *, now: datetime) -> None:
    """Queue the next nightly purge unless it is queued already (safe at every worker start)."""
    await queue.enqueue_nightly(session, PURGE, key="shopper-purge", now=now, hour=PURGE_HOUR_UTC)
