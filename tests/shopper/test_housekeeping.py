"""Drafts never submitted, their photos, and old verifications are cleaned up; what a submitted
request uses is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.shopper.housekeeping import purge
from portal.shopper.models import OrderVerification, ShopperSignOut, StoredDraft
from portal.shopper.photos import ProcessedPhoto, load_photo, store_photo
from portal.storage import DirectoryStorage
from portal.stores.service import upsert_store
from tests.helpers.factories import SEALER, store_spec

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


async def photo(tmp_path: Path) -> str:
    data = b"\xff\xd8jpeg"
    return await store_photo(
        DirectoryStorage(tmp_path),
        ProcessedPhoto(data=data, width=1, height=1, sha256="0" * 64, source_format="JPEG"),
    )


async def test_stale_drafts_their_photos_and_old_verifications_go(
    db: AsyncSession, tmp_path: Path
) -> None:
    store = await upsert_store(db, store_spec("Shop", "shop"), SEALER)
    old, fresh = await photo(tmp_path), await photo(tmp_path)
    for key, created, photo_id in (
        ("old", NOW - timedelta(days=3), old),
        ("fresh", NOW - timedelta(hours=1), fresh),
    ):
        db.add(
            StoredDraft(
                id=key,
                store_id=store.id,
                shopify_order_id="o",
                created_at=created,
                data={"photos": [{"photo_id": photo_id}]},
            )
        )
    for public_id, created in (("v-old", NOW - timedelta(days=3)), ("v-new", NOW)):
        db.add(
            OrderVerification(
                public_id=public_id,
                store_id=store.id,
                email_hash="e",
                client_hash="c",
                created_at=created,
                expires_at=created,
            )
        )
    for session_id, at in (("s" * 22, NOW - timedelta(hours=5)), ("t" * 22, NOW)):
        db.add(ShopperSignOut(session_id=session_id, signed_out_at=at))
    await db.commit()
    storage = DirectoryStorage(tmp_path)
    done = await purge(db, storage=storage, now=NOW)
    assert done == {
        "drafts": 1,
        "photos": 1,
        "verifications": 1,
        "sign_outs": 1,
        "order_copies": 0,
    }
    assert set(await db.scalars(select(ShopperSignOut.session_id))) == {"t" * 22}
    assert set(await db.scalars(select(StoredDraft.id))) == {"fresh"}
    assert await db.scalar(select(func.count()).select_from(OrderVerification)) == 1
    assert await load_photo(storage, old) is None
    assert await load_photo(storage, fresh) == b"\xff\xd8jpeg"


async def test_a_stale_drafts_photo_a_fresh_draft_still_holds_is_kept(
    db: AsyncSession, tmp_path: Path
) -> None:
    """ "Change something" makes a new draft holding the photos of the one before it."""
    store = await upsert_store(db, store_spec("Shop", "shop"), SEALER)
    shared, dropped = await photo(tmp_path), await photo(tmp_path)
    for key, created, photo_ids in (
        ("before", NOW - timedelta(days=3), [shared, dropped]),
        ("after", NOW - timedelta(hours=1), [shared]),
    ):
        db.add(
            StoredDraft(
                id=key,
                store_id=store.id,
                shopify_order_id="o",
                created_at=created,
                data={"photos": [{"photo_id": p} for p in photo_ids]},
            )
        )
    await db.commit()
    storage = DirectoryStorage(tmp_path)
    counts = await purge(db, storage=storage, now=NOW)
    assert counts["drafts"] == 1 and counts["photos"] == 1
    assert await load_photo(storage, shared) is not None
    assert await load_photo(storage, dropped) is None
