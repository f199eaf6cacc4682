from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from portal.stores import service
from tests.helpers.factories import SEALER
from tests.helpers.factories import store_spec as spec

pytestmark = pytest.mark.anyio


async def test_upsert_creates_then_updates_the_same_row(db: AsyncSession) -> None:
    created = await service.upsert_store(db, spec("Maple & Moss", "maple-and-moss"), SEALER)
    await db.commit()
    updated = await service.upsert_store(
        db,
        spec("Maple & Moss", "maple-and-moss", claim_window_days=45, time_zone="Europe/Paris"),
        SEALER,
    )
    await db.commit()
    assert updated.id == created.id
    stored = await service.get_by_slug(db, "maple-and-moss")
    assert stored is not None
    assert stored.claim_window_days == 45
    assert stored.time_zone == "Europe/Paris"
    assert stored.is_protection_variant("gid://shopify/ProductVariant/1")
    assert not stored.is_protection_variant("gid://shopify/ProductVariant/2")


async def test_search_finds_stores_by_part_of_the_name_case_insensitively(db: AsyncSession) -> None:
    await service.upsert_store(db, spec("Maple & Moss", "maple-and-moss"), SEALER)
    await service.upsert_store(db, spec("Harbor Outfitters", "harbor-outfitters"), SEALER)
    await db.commit()
    found = await service.search_stores(db, "MAPLE")
    assert [s.slug for s in found] == ["maple-and-moss"]
    assert await service.search_stores(db, "%") == []
