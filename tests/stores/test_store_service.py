from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from portal.errors import SealBroken, StoreRefused
from portal.integrations.shopify import ProductVariantRef, ProductWithVariants
from portal.sealing import Sealer, new_key
from portal.stores import service
from tests.helpers.factories import SEALER, TEST_ENCRYPTION_KEY
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


async def test_changes_are_checked_then_applied_naming_what_changed(db: AsyncSession) -> None:
    store = await service.upsert_store(db, spec("Maple & Moss", "maple-and-moss"), SEALER)
    changes = service.StoreChanges(
        support_email="Care@Maple.example",
        support_phone=" +1 555 0100 ",
        claim_windows={"lost": 45},
        brand_color="#AABBCC",
        corso_client_id="maple-client",
        corso_client_secret="maple-secret",
        protected_order_email=True,
    )
    changed = service.apply_changes(store, service.checked_changes(changes, store), SEALER)
    assert changed == [
        "support_email",
        "claim_windows",
        "brand_color",
        "protected_order_email",
        "support_phone",
        "corso_client_id",
        "corso_client_secret",
    ]
    assert (store.support_phone, store.brand_color) == ("+1 555 0100", "#aabbcc")
    assert store.claim_window_for("Lost") == 45 and store.claim_window_for("STOLEN") == 30
    assert SEALER.open(store.sealed_corso_client_secret or "") == "maple-secret"

    # Removing the Corso client removes its secret; nothing else named changes nothing.
    removal = service.StoreChanges(corso_client_id="", support_phone="")
    changed = service.apply_changes(store, service.checked_changes(removal, store), SEALER)
    assert changed == ["support_phone", "corso_client_id", "corso_client_secret"]
    assert store.corso_client_id is None and store.sealed_corso_client_secret is None
    unchanged = service.checked_changes(service.StoreChanges(), store)
    assert service.apply_changes(store, unchanged, SEALER) == []


async def test_a_secret_without_a_client_id_is_refused(db: AsyncSession) -> None:
    store = await service.upsert_store(db, spec("Maple & Moss", "maple-and-moss"), SEALER)
    with pytest.raises(StoreRefused) as refused:
        service.checked_changes(service.StoreChanges(corso_client_secret="lonely"), store)
    assert refused.value.field == "corso_client_secret"


async def test_the_protection_product_brings_every_variant(db: AsyncSession) -> None:
    store = await service.upsert_store(db, spec("Maple & Moss", "maple-and-moss"), SEALER)
    variants = tuple(
        ProductVariantRef(f"gid://shopify/ProductVariant/{n}", f"Tier {n}") for n in (7, 8)
    )
    product = ProductWithVariants("gid://shopify/Product/3", "Protection", variants)
    service.set_protection_product(store, product)
    assert store.protection_product_id == "gid://shopify/Product/3"
    assert store.is_protection_variant("gid://shopify/ProductVariant/8")
    with pytest.raises(StoreRefused):
        service.set_protection_product(
            store, ProductWithVariants("gid://shopify/Product/4", "", ())
        )


async def test_reseal_puts_every_secret_under_the_first_key(db: AsyncSession) -> None:
    await service.upsert_store(
        db,
        spec("Maple & Moss", "maple-and-moss", corso_client_id="c", corso_client_secret="cs"),
        SEALER,
    )
    await service.upsert_store(db, spec("Fern", "fern", webhook_secret="wh"), SEALER)
    await db.commit()
    fresh = new_key()
    rotated = Sealer([fresh, TEST_ENCRYPTION_KEY])
    assert await service.reseal_all(db, rotated) == 4
    only_new = Sealer([fresh])
    for store in await service.list_stores(db):
        await db.refresh(store)
        assert only_new.open(store.sealed_access_token) == "shpat_test"
    fern = await service.get_by_slug(db, "fern")
    assert fern is not None and only_new.open(fern.sealed_webhook_secret or "") == "wh"
    with pytest.raises(SealBroken):
        await service.reseal_all(db, Sealer([new_key()]))
