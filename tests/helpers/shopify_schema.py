"""Shopify's real Admin GraphQL schemas, read from ``../shared/shopify`` beside the checkout.

    real_schemas() -> {"2025-04": GraphQLSchema, "2025-01": GraphQLSchema}

Both are built with ``assume_valid=True`` (graphql-core refuses Shopify's own schema over a
deprecation mismatch on interface fields) and extended with the ``@idempotent(key:)`` directive
that ``refundCreate`` accepts from 2026-01, so documents using it validate. Tests call
``require_real_schemas()`` to skip, with the reason shown, where the folder is absent.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path

import pytest
from graphql import (
    GraphQLSchema,
    build_client_schema,
    build_schema,
    extend_schema,
    parse,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SHOPIFY_DIR = (REPO_ROOT / ".." / "shared" / "shopify").resolve()
SDL_2025_04 = SHOPIFY_DIR / "admin-2025-04.graphql"
INTROSPECTION_2025_01 = SHOPIFY_DIR / "admin-2025-01.introspection.json.gz"
IDEMPOTENT_DIRECTIVE = "directive @idempotent(key: String!) on FIELD"


def _with_idempotent(schema: GraphQLSchema) -> GraphQLSchema:
    return extend_schema(schema, parse(IDEMPOTENT_DIRECTIVE), assume_valid=True)


def _from_sdl(path: Path) -> GraphQLSchema:
    return build_schema(path.read_text(encoding="utf-8"), assume_valid=True)


def _from_introspection(path: Path) -> GraphQLSchema:
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        payload = json.load(stream)
    return build_client_schema(payload.get("data", payload), assume_valid=True)


@cache
def real_schemas() -> dict[str, GraphQLSchema]:
    """The real schemas present on disk, keyed by API version (empty when none are)."""
    schemas: dict[str, GraphQLSchema] = {}
    if SDL_2025_04.is_file():
        schemas["2025-04"] = _with_idempotent(_from_sdl(SDL_2025_04))
    if INTROSPECTION_2025_01.is_file():
        schemas["2025-01"] = _with_idempotent(_from_introspection(INTROSPECTION_2025_01))
    return schemas


def require_real_schemas() -> dict[str, GraphQLSchema]:
    """``real_schemas()``, or skip the calling test saying which folder is missing."""
    schemas = real_schemas()
    if not schemas:
        pytest.skip(f"Shopify's real schema files are not in {SHOPIFY_DIR}")
    return schemas
