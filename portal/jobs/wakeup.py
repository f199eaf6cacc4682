"""Workers woken by new work instead of polling the queue.

- In the process that queues a job, the commit that queues it wakes that process's workers at
  once (``wake_here``): the web app running its workers in-process, as ``make demo`` does.
- Across processes on PostgreSQL: LISTEN on the channel ``queue.announce`` notifies
  (``Wakeup``): one listening connection per process.
- Across processes on SQLite, which has no notifications: a look at the database file and its
  write-ahead log every ``WATCH_SECONDS`` (``FileWatch``). Every commit changes their size or
  time of change; a look costs two ``stat`` calls, a query of the queue costs a hundred times
  more.

While a watch is on (``listening``), an idle worker sleeps until it is woken or the next job it
could take falls due (at most ``IDLE_SECONDS``); without one (notifications lost while the
connection is re-made) it polls. The next job's due time is read again at every wake-up, so a
wake-up that finds nothing only costs a look.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg.pq import ConnStatus
from sqlalchemy.engine import URL

CHANNEL = "portal_jobs"
"""The PostgreSQL channel a job's arrival is announced on (``queue.announce`` notifies)."""
IDLE_SECONDS = 30.0
"""The longest an idle worker sleeps while a watch is on; a safety net, not the path: every
job queued, due now or later, and every retry wakes the workers, which then sleep until the
next one is due."""
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)
CONNECT_SECONDS = 10
"""The longest the listener waits for a connection before it tries again (libpq's default is
none; a connection made while the server shuts down can wait for an answer that never comes)."""
WATCH_SECONDS = 0.2
"""How often ``FileWatch`` looks at a SQLite database for a commit of another process."""

log = logging.getLogger(__name__)


class Watch:
    """The workers of one process and what wakes them; ``listen`` runs until cancelled."""

    def __init__(self) -> None:
        self.listening = False
        self._waiters: set[asyncio.Event] = set()

    def waiter(self) -> asyncio.Event:
        """An event of one worker's own, set at each sign of new work."""
        event = asyncio.Event()
        self._waiters.add(event)
        return event

    def _wake_all(self) -> None:
        for event in self._waiters:
            event.set()

    async def listen(self) -> None:
        raise NotImplementedError


class Wakeup(Watch):
    """PostgreSQL: a connection that LISTENs, reconnecting with backoff when it is lost."""

    def __init__(self, url: URL) -> None:
        super().__init__()
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def listen(self) -> None:
        """Until cancelled: keep a connection that listens, and wake the workers at each
        notification (and whenever listening starts or stops, so none sleeps on stale terms)."""
        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, connect_timeout=CONNECT_SECONDS
                ) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self.listening, failures = True, 0
                    self._wake_all()
                    async for _ in _notifications(connection):
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


async def _notifications(connection: psycopg.AsyncConnection[Any]) -> AsyncIterator[None]:
    """Once per batch of notifications, read when the connection's socket has data. (psycopg's
    own ``notifies()`` looks at the socket ten times a second, to notice a Ctrl-C: that was
    most of an idle worker's time.) Raises ``psycopg.OperationalError`` when the connection is
    lost."""
    pgconn = connection.pgconn
    readable = asyncio.Event()
    loop = asyncio.get_running_loop()
    socket = pgconn.socket  # kept: once the connection is lost, libpq has no socket to name
    loop.add_reader(socket, readable.set)
    try:
        while True:
            await readable.wait()
            readable.clear()
            pgconn.consume_input()  # raises when the server has closed the connection
            if pgconn.status != ConnStatus.OK:
                raise psycopg.OperationalError("the listening connection was lost")
            arrived = False
            while pgconn.notifies() is not None:
                arrived = True
            if arrived:
                yield
    finally:
        # Unwatched even when libpq has closed it: a socket of the next connection that gets
        # the same number would otherwise be taken as watched and never be woken.
        loop.remove_reader(socket)


class FileWatch(Watch):
    """SQLite: wakes the workers when the database file or its write-ahead log changed."""

    def __init__(self, database: Path, seconds: float = WATCH_SECONDS) -> None:
        super().__init__()
        self.files = (database, Path(f"{database}-wal"))
        self.seconds = seconds

    @classmethod
    def of(cls, url: URL) -> FileWatch | None:
        """The watch of a SQLite database file; None for an in-memory database."""
        database = url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return cls(Path(database))

    def _stamp(self) -> tuple[tuple[int, int] | None, ...]:
        return tuple(_size_and_change(path) for path in self.files)

    async def listen(self) -> None:
        """Until cancelled: look at the files every ``seconds``; wake the workers when they
        changed (and when the watch starts or stops)."""
        seen = self._stamp()
        self.listening = True
        self._wake_all()
        try:
            while True:
                await asyncio.sleep(self.seconds)
                now = self._stamp()
                if now != seen:
                    seen = now
                    self._wake_all()
        finally:
            self.listening = False
            self._wake_all()


def _size_and_change(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:  # no write-ahead log yet, or the file is being replaced
        return None
    return found.st_size, found.st_mtime_ns


# --- the workers of this process, woken by a commit made here ----------------------------------

_HERE: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()


@contextlib.contextmanager
def woken_here(event: asyncio.Event) -> Iterator[None]:
    """While the block runs, a job committed by this process sets ``event`` (a worker's)."""
    entry = (asyncio.get_running_loop(), event)
    _HERE.add(entry)
    try:
        yield
    finally:
        _HERE.discard(entry)


def wake_here() -> None:
    """Wake this process's workers: a transaction that queued a job has just committed. Safe
    from any thread; each event is set in its own event loop."""
    for loop, event in list(_HERE):
        with contextlib.suppress(RuntimeError):  # its loop has closed: the worker is gone
            loop.call_soon_threadsafe(event.set)
