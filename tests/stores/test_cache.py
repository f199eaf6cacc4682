"""The store rows the shopper pages read from memory: a change made in this process is seen
at once, one made by another process within the cache's TTL, and nothing older."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from portal.db import create_engine, session_factory
from portal.stores import service
from portal.stores.cache import StoreCache
from portal.stores.models import Store
from tests.helpers.factories import SEALER
from tests.helpers.factories import store_spec as spec

pytestmark = pytest.mark.anyio

SLUG = "maple-and-moss"

OTHER_PROCESS = """
import sys
from sqlalchemy import create_engine, text
from portal.db import sync_url

engine = create_engine(sync_url(sys.argv[1]))
with engine.begin() as connection:
    connection.execute(
        text("UPDATE stores SET support_email = :email WHERE slug = :slug"),
        {"email": sys.argv[2], "slug": sys.argv[3]},
    )
engine.dispose()
"""


async def _store(engine: AsyncEngine) -> None:
    async with session_factory(engine)() as db:
        await service.upsert_store(db, spec("Maple & Moss", SLUG), SEALER)
        await db.commit()


def _change_in_another_process(database_url: str, email: str) -> None:
    subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", OTHER_PROCESS, database_url, email, SLUG], check=True, timeout=60
    )


async def test_another_process_s_change_is_seen_within_the_ttl_and_not_before(
    engine: AsyncEngine, database_url: str
) -> None:
    await _store(engine)
    now = [100.0]
    cache = StoreCache(ttl=1.0, clock=lambda: now[0])
    sessions = session_factory(engine)
    first = await cache.by_slug(sessions, SLUG)
    assert first is not None
    before = first.support_email

    _change_in_another_process(database_url, "new-care@maple.example")
    now[0] += 0.9  # within the TTL: the row comes from memory
    again = await cache.by_slug(sessions, SLUG)
    assert again is not None and again.support_email == before

    now[0] += 0.2  # past it: read again
    later = await cache.by_slug(sessions, SLUG)
    assert later is not None and later.support_email == "new-care@maple.example"


async def test_a_change_made_in_this_process_is_seen_at_once_through_any_engine(
    engine: AsyncEngine, database_url: str
) -> None:
    await _store(engine)
    cache = StoreCache(ttl=3600)  # only an invalidation can bring the change
    sessions = session_factory(engine)
    assert (await cache.by_slug(sessions, SLUG)) is not None

    other = create_engine(database_url)  # another app instance on the same database
    try:
        async with session_factory(other)() as db:
            store = await service.get_by_slug(db, SLUG)
            assert store is not None
            store.support_email = "orm@maple.example"
            await db.commit()
        seen = await cache.by_slug(sessions, SLUG)
        assert seen is not None and seen.support_email == "orm@maple.example"

        async with session_factory(other)() as db, db.begin():
            await db.execute(
                update(Store).where(Store.slug == SLUG).values(support_email="bulk@maple.example")
            )
        seen = await cache.by_slug(sessions, SLUG)
        assert seen is not None and seen.support_email == "bulk@maple.example"
    finally:
        await other.dispose()


async def test_an_unknown_slug_is_remembered_too_until_a_store_is_made(engine: AsyncEngine) -> None:
    cache = StoreCache(ttl=3600)
    sessions = session_factory(engine)
    assert await cache.by_slug(sessions, SLUG) is None
    await _store(engine)
    found = await cache.by_slug(sessions, SLUG)
    assert found is not None and found.slug == SLUG


async def test_a_row_read_while_a_write_is_under_way_is_not_kept(engine: AsyncEngine) -> None:
    await _store(engine)
    cache = StoreCache(ttl=3600)
    sessions = session_factory(engine)
    async with sessions() as writer:
        store = await service.get_by_slug(writer, SLUG)
        assert store is not None
        store.support_email = "pending@maple.example"
        await writer.flush()  # written, not yet committed
        seen = await cache.by_slug(sessions, SLUG)  # the committed row, as it was
        assert seen is not None and seen.support_email != "pending@maple.example"
        await writer.commit()
    seen = await cache.by_slug(sessions, SLUG)
    assert seen is not None and seen.support_email == "pending@maple.example"
