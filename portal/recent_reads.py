"""The request page's outside reads (the Shopify order, the stock of its variants, the customer's
Corso claims), kept briefly so that an agent moving around a request does not spend the store's
Shopify points or Corso's rate limit on every view.

Kept in each process's memory, not in the database: the values are rich objects (an order with
its lines, fulfillments and refunds) that would need a serialised form of their own, they are
worth keeping only for a minute, and a miss costs one read. What makes a per-process copy safe
to share between processes is the key: it carries the request's status and its resolutions'
states, so once the portal's own action changes the order (a refund or a replacement settles, a
request closes), every process asks again. ``fresh=True`` (the page's Refresh control) reads now.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from portal.clock import utcnow

T = TypeVar("T")
KEEP_SECONDS = 60.0
MAX_ENTRIES = 512


@dataclass
class RecentReads:
    """A small LRU of reads, each kept ``keep_seconds``; ``read`` answers (value, read at)."""

    keep_seconds: float = KEEP_SECONDS
    max_entries: int = MAX_ENTRIES
    clock: Callable[[], float] = time.monotonic
    _entries: OrderedDict[Hashable, tuple[float, datetime, Any]] = field(
        default_factory=OrderedDict
    )

    async def read(
        self, key: Hashable, fetch: Callable[[], Awaitable[T]], *, fresh: bool = False
    ) -> tuple[T, datetime]:
        """The value kept under ``key`` if younger than ``keep_seconds`` (and not ``fresh``),
        otherwise ``fetch()``'s, kept. A failed fetch keeps nothing."""
        now = self.clock()
        kept = None if fresh else self._entries.get(key)
        if kept is not None and now - kept[0] < self.keep_seconds:
            self._entries.move_to_end(key)
            value: T = kept[2]
            return value, kept[1]
        value = await fetch()
        read_at = utcnow()
        self._entries[key] = (now, read_at, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return value, read_at
