"""Signed Shopify deliveries to a running portal, and reading its database from a test."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
from sqlalchemy import JSON, String, create_engine, select, update
from sqlalchemy.orm import Session

from portal.db import sync_url
from portal.models import import_all_models
from portal.stores.models import Store
from tests.billing.portal_helpers import WEBHOOK_SECRET, signed
from tests.helpers.environment import SHOP

T = TypeVar("T")


def deliver(
    base_url: str,
    topic: str,
    payload: dict[str, Any],
    *,
    webhook_id: str,
    shop: str = SHOP,
    secret: str = WEBHOOK_SECRET,
    signature: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST ``payload`` as Shopify would, signed with ``secret`` (or with ``signature``)."""
    body, good = signed(payload, secret=secret)
    headers = {
        **(headers or {}),
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Hmac-Sha256": good if signature is None else signature,
        "X-Shopify-API-Version": "2026-01",
    }
    return httpx.post(base_url + "/webhooks/shopify", content=body, headers=headers, timeout=30)


def read(database_url: str, reading: Callable[[Session], T]) -> T:
    engine = create_engine(sync_url(database_url))
    try:
        with Session(engine) as db:
            return reading(db)
    finally:
        engine.dispose()


def all_rows(database_url: str, model: Any, *where: Any) -> list[Any]:
    return read(database_url, lambda db: list(db.scalars(select(model).where(*where))))


def change_store(database_url: str, slug: str, **values: Any) -> None:
    def write(db: Session) -> None:
        db.execute(update(Store).where(Store.slug == slug).values(**values))
        db.commit()

    read(database_url, write)


def store_row(database_url: str, slug: str) -> Store | None:
    return read(database_url, lambda db: db.scalar(select(Store).where(Store.slug == slug)))


def every_text(database_url: str) -> Iterator[tuple[str, str, str]]:
    """(table, column, text) for every value of every text or JSON column of every table."""
    metadata = import_all_models()
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                columns = [c for c in table.columns if isinstance(c.type, String | JSON)]
                if not columns:
                    continue
                for row in connection.execute(select(*columns)):
                    for column, value in zip(columns, row, strict=True):
                        if value is None:
                            continue
                        text = value if isinstance(value, str) else json.dumps(value)
                        yield table.name, column.name, text
    finally:
        engine.dispose()


def found_anywhere(database_url: str, needles: list[str]) -> list[tuple[str, str, str]]:
    """Where any of ``needles`` appears (case-insensitive) in the database."""
    lowered = [n.casefold() for n in needles]
    return [
        (table, column, needle)
        for table, column, text in every_text(database_url)
        for needle in lowered
        if needle in text.casefold()
    ]
