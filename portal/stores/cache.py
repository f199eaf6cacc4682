"""Store rows kept in memory for a moment: every shopper page starts from the store named in its
URL, and reading that row each time was a tenth of a page's work.

A cached row is a detached ``Store`` shared by the requests that read it within ``TTL``: read
it, never change it (a change goes through a session of its own, as ``portal.stores.service``
does).

How a change is seen:

- in this process, at once: any statement that writes the ``stores`` table, through any engine
  (ORM flush, bulk ``UPDATE``, a command's SQL), empties every cache, and again when the
  connection that wrote it goes back to the pool, after its commit; a read that was under
  way across either moment is not kept;
- in every other process (other web processes, the worker, ``portal`` commands), within
  ``TTL`` seconds: no entry is served older than that.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import Pool

from portal.stores.models import Store
from portal.stores.service import get_by_slug

TTL = 1.0
"""Seconds a row may be served after it was read: how late another process sees a change."""
MAX_ENTRIES = 1024
"""Slugs held at most (unknown slugs too, so a scanner costs one read a slug a second)."""
_WROTE_STORES = "portal_wrote_stores"

_caches: weakref.WeakSet[StoreCache] = weakref.WeakSet()


class StoreCache:
    def __init__(self, *, ttl: float = TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self.generation = 0
        self.entries: dict[str, tuple[float, Store | None]] = {}
        _caches.add(self)

    async def by_slug(self, sessions: async_sessionmaker[AsyncSession], slug: str) -> Store | None:
        """The store with this slug (None when there is none), at most ``ttl`` seconds old."""
        now = self.clock()
        entry = self.entries.get(slug)
        if entry is not None and now - entry[0] < self.ttl:
            return entry[1]
        generation = self.generation
        async with sessions() as db:
            store = await get_by_slug(db, slug)
        if generation == self.generation:  # no write to stores while it was read
            if len(self.entries) >= MAX_ENTRIES:
                self.entries.clear()
            self.entries[slug] = (now, store)
        return store

    def clear(self) -> None:
        self.generation += 1
        self.entries.clear()


def _clear_all() -> None:
    for cache in list(_caches):
        cache.clear()


def _writes_stores(statement: str) -> bool:
    head = statement.lstrip()[:6].upper()
    return head not in ("SELECT", "WITH", "PRAGMA", "SAVEPO", "RELEAS") and (
        "stores" in statement.lower()
    )


@event.listens_for(Engine, "after_cursor_execute")
def _after_execute(
    conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    if _writes_stores(statement):
        conn.info[_WROTE_STORES] = True
        _clear_all()


@event.listens_for(Pool, "checkin")
def _after_commit(_dbapi_connection: Any, record: Any) -> None:
    if record is not None and record.info.pop(_WROTE_STORES, False):
        _clear_all()
