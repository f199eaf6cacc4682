"""A clock tests move by hand, shared by the sandbox world and the client under test."""

from __future__ import annotations

import threading


class ManualClock:
    """Seconds since the epoch that only change when ``advance`` is called."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    async def sleep(self, seconds: float) -> None:
        """An ``asyncio.sleep`` stand-in that passes time at once instead of waiting."""
        self.advance(seconds)
