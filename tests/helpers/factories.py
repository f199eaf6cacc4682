"""Factories for rows and specs used across tests."""

from __future__ import annotations

from typing import Any

from portal.stores.service import StoreSpec


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
