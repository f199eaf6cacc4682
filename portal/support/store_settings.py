"""The rules behind the store settings page: save settings (with a new logo) all at once or
not at all, search the store's products in Shopify, and make one of them the protection
product. No HTTP here: the views pass in what the forms read."""

from __future__ import annotations

import re

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from portal.errors import StoreRefused, UnknownStore
from portal.integrations.shopify import ProductMatch
from portal.runtime import Runtime
from portal.stores import logos, rules
from portal.stores import service as stores
from portal.stores.models import Store
from portal.stores.service import StoreChanges

SEARCH_RESULTS = 10
MAX_SEARCH = 100


async def save_settings(
    runtime: Runtime, store_id: int, changes: StoreChanges, logo: bytes | None
) -> list[str]:
    """Check every change, keep the new logo, then write them in one transaction; returns the
    names of the settings changed. ``StoreRefused`` leaves the store as it was."""
    async with runtime.sessions() as session:
        store = await _store(session, store_id)
        cleaned = stores.checked_changes(changes, store)
    new_logo = await _keep_logo(runtime, logo) if logo else None
    if new_logo is not None:
        cleaned = _with_logo(cleaned, new_logo)
    try:
        async with runtime.sessions() as session, session.begin():
            store = await _store(session, store_id, for_update=True)
            old_logo = store.logo_path
            changed = stores.apply_changes(store, cleaned, runtime.sealer)
    except BaseException:
        await logos.delete_logo(runtime.storage, new_logo)
        raise
    if "logo_path" in changed:
        await logos.delete_logo(runtime.storage, old_logo)
    return changed


def _with_logo(changes: StoreChanges, logo_id: str) -> StoreChanges:
    values = {**vars(changes), "logo_path": logo_id, "remove_logo": False}
    return StoreChanges(**values)


async def _keep_logo(runtime: Runtime, data: bytes) -> str:
    png = await anyio.to_thread.run_sync(logos.process_logo, data, limiter=runtime.photo_decoding)
    return await logos.store_logo(runtime.storage, png)


async def search_products(runtime: Runtime, store: Store, text: str) -> list[ProductMatch]:
    """The store's products whose title (or vendor, type, SKU) has ``text`` in it."""
    terms = _search_terms(" ".join(text.split())[:MAX_SEARCH])
    if not terms:
        return []
    return await runtime.shopify(store).search_products(query=terms, first=SEARCH_RESULTS)


def _search_terms(words: str) -> str:
    """Each word as a prefix term (``ship*``), letters, digits, - and _ only: the admin's words,
    never Shopify search syntax."""
    cleaned = (re.sub(r"[^\w-]", "", word).lstrip("-") for word in words.split(" "))
    return " ".join(f"{word}*" for word in cleaned if word)


async def choose_protection_product(runtime: Runtime, store_id: int, product_id: str) -> str:
    """Read the product and every variant from Shopify, then make it the store's protection
    product; returns its title. ``StoreRefused`` when Shopify has no such product."""
    product_id = rules.product_id(product_id)
    async with runtime.sessions() as session:
        store = await _store(session, store_id)
    product = await runtime.shopify(store).get_product_variants(product_id=product_id)
    if product is None:
        raise StoreRefused("product_id", "The store has no such product any more: search again.")
    async with runtime.sessions() as session, session.begin():
        store = await _store(session, store_id, for_update=True)
        stores.set_protection_product(store, product)
    return product.title


async def _store(session: AsyncSession, store_id: int, *, for_update: bool = False) -> Store:
    store = await session.get(Store, store_id, with_for_update=for_update)
    if store is None:
        raise UnknownStore(f"no store {store_id}")
    return store
