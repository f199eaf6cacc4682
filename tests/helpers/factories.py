"""Factories for rows, specs and addresses used across tests: each builds a valid thing with
plain defaults, and a test names only what it is about (``reorder_request(store, status=...)``).
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from portal.db import create_engine, session_factory
from portal.integrations.shopify import Address
from portal.reorders.models import ReorderRequest
from portal.sealing import Sealer
from portal.stores.models import Store
from portal.stores.service import StoreSpec, upsert_store
from sandbox.shopify import state as sandbox

_serial = itertools.count(1)

TEST_ENCRYPTION_KEY = "67UsmhcLX8P3WnlnOA61OIrXBfpa0D9cDZaIPOVqVEc="
"""The key every test portal seals its stored secrets with (a test value, not a secret)."""
SEALER = Sealer([TEST_ENCRYPTION_KEY])

# --- addresses -------------------------------------------------------------------------------

JANE_DOE: dict[str, str] = {
    "first_name": "Jane",
    "last_name": "Doe",
    "address1": "1 Main St",
    "city": "Springfield",
    "province": "Illinois",
    "province_code": "IL",
    "zip": "62704",
    "country": "United States",
    "country_code": "US",
}
"""The shopper most tests use, and where her parcels go."""

IN_OREGON: dict[str, str] = {"province": "Oregon", "province_code": "OR", "zip": "97477"}
"""Jane's other Springfield, where the Shopify client tests send her parcels."""


def address_form(**changes: str) -> dict[str, str]:
    """The shipping address as the request form sends it and the request row keeps it."""
    values = {"company": "", "address2": "", "phone": "", **JANE_DOE, **changes}
    del values["province"], values["country"]
    return values


def shopify_address(**changes: str) -> Address:
    """The portal's address (a new order's shipping address): codes, not spelled-out names."""
    values = {**JANE_DOE, **changes}
    del values["province"], values["country"]
    return Address(**values)


def sandbox_address(**changes: str) -> sandbox.Address:
    """The address the sandbox shop keeps on an order it was given."""
    return sandbox.Address(**{**JANE_DOE, **changes})


# --- stores ----------------------------------------------------------------------------------


def store_spec(name: str, slug: str, **changes: Any) -> StoreSpec:
    values: dict[str, Any] = {
        "name": name,
        "slug": slug,
        "shop_domain": f"{slug}.myshopify.com",
        "access_token": "shpat_test",
        "api_version": "2025-04",
        "protection_variant_ids": ["gid://shopify/ProductVariant/1"],
        "support_email": f"help@{slug}.example",
    }
    values.update(changes)
    return StoreSpec(**values)


def store_row(slug: str, **changes: Any) -> Store:
    """A store row to add to a session yourself (``add_store`` writes one through the service)."""
    spec = store_spec(slug.replace("-", " ").title(), slug)
    values: dict[str, Any] = {
        "name": spec.name,
        "slug": spec.slug,
        "shop_domain": spec.shop_domain,
        "sealed_access_token": SEALER.seal(spec.access_token),
        "api_version": spec.api_version,
        "support_email": spec.support_email,
    }
    values.update(changes)
    return Store(**values)


async def add_store(db: AsyncSession, name: str, slug: str, **changes: Any) -> Store:
    """Create (or update) the store through the store service and commit."""
    store = await upsert_store(db, store_spec(name, slug, **changes), SEALER)
    await db.commit()
    return store


async def create_store(database_url: str, name: str, slug: str, **changes: Any) -> Store:
    """``add_store`` on its own connection, for tests that hold no session."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as db:
            return await add_store(db, name, slug, **changes)
    finally:
        await engine.dispose()


# --- reorder requests ------------------------------------------------------------------------


def reorder_request(store_id: int, **changes: Any) -> ReorderRequest:
    """A submitted request for one lost parcel on a made-up order; unique reference and key."""
    n = next(_serial)
    values: dict[str, Any] = {
        "reference": f"RR-{n:06d}",
        "submit_key": f"key-{n}",
        "store_id": store_id,
        "shopify_order_id": f"gid://shopify/Order/{n}",
        "order_name": f"#{200_000 + n}",  # clear of the order numbers tests pick themselves
        "email": "jane@example.com",
        "issue_type": "Lost",
        "resolution": "refund",
        "currency": "USD",
        "items_total": Decimal("10.00"),
    }
    values.update(changes)
    return ReorderRequest(**values)
