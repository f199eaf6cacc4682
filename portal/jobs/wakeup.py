"""Workers woken by new work: PostgreSQL's LISTEN on the channel ``queue.announce`` notifies.

One ``Wakeup`` per process holds one listening connection and wakes every worker of the process
that waits on it. While it listens, an idle worker sleeps until the next job it could take falls
due (at most ``IDLE_SECONDS``), instead of polling twice a second; when the connection is lost
(a database restart) it says so, the workers poll again, and it reconnects with backoff. SQLite
has no notifications: its workers poll as before.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg
from sqlalchemy.engine import URL

from portal.jobs.queue import CHANNEL

IDLE_SECONDS = 10.0
"""The longest an idle worker sleeps while notifications arrive; a safety net, not the path."""
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)

log = logging.getLogger(__name__)


class Wakeup:
    def __init__(self, url: URL) -> None:
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.listening = False
        self._waiters: set[asyncio.Event] = set()

    def waiter(self) -> asyncio.Event:
        """An event of one worker's own, set at each notification."""
        event = asyncio.Event()
        self._waiters.add(event)
        return event

    def _wake_all(self) -> None:
        for event in self._waiters:
            event.set()

    async def listen(self) -> None:
        """Until cancelled: keep a connection that listens, and wake the workers at each
        notification (and whenever listening starts or stops, so none sleeps on stale terms)."""
        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self.listening, failures = True, 0
                    self._wake_all()
                    async for _ in connection.notifies():
                        self._wake_all()
            except psycopg.Error as exc:
                if self.listening:
                    log.warning("job notifications lost (%s); polling until they are back", exc)
            finally:
                if self.listening:
                    self.listening = False
                    self._wake_all()
            await asyncio.sleep(RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)])
            failures += 1
