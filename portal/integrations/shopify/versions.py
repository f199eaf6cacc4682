"""Shopify Admin API versions the portal's documents are written and validated for.

https://shopify.dev/docs/api/usage/versioning: a stable version is released each quarter and
supported for at least twelve months; a request naming a retired version is served by the oldest
supported one, and every response says which version ran in ``X-Shopify-API-Version``.
"""

from __future__ import annotations

from datetime import date

SUPPORTED = ("2025-01", "2025-04")
"""Versions every document in ``documents/`` is validated against (tests/integrations)."""
DEFAULT = "2025-04"
SUPPORT_MONTHS = 12


def released(version: str) -> date:
    year, month = version.split("-")
    return date(int(year), int(month), 1)


def support_ends(version: str) -> date:
    """The first day Shopify no longer promises to serve ``version`` as itself."""
    start = released(version)
    months = start.month - 1 + SUPPORT_MONTHS
    return date(start.year + months // 12, months % 12 + 1, 1)


def is_past_support(version: str, today: date) -> bool:
    return today >= support_ends(version)


def support_warning(requested: str, served: str | None, today: date) -> str | None:
    """Words for the admin when the store's version is past its support window or Shopify
    answered with another version; None when all is well."""
    if served and served != requested:
        return (
            f"The store asks for API version {requested}, but Shopify answers with {served}: "
            f"{requested} is no longer supported. Move the store to a supported version."
        )
    if requested != "unstable" and is_past_support(requested, today):
        return (
            f"API version {requested} left Shopify's support window on "
            f"{support_ends(requested):%d %B %Y}; Shopify serves the oldest supported version "
            "instead. Move the store to a supported version."
        )
    return None
