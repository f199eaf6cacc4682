"""Shopify's calculated-query-cost leaky bucket, one per shop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ThrottleStatus:
    maximum_available: float
    currently_available: float
    restore_rate: float

    def as_json(self) -> dict[str, float | int]:
        return {
            "maximumAvailable": float(self.maximum_available),
            "currentlyAvailable": int(self.currently_available),
            "restoreRate": float(self.restore_rate),
        }


class LeakyBucket:
    """Holds up to ``size`` points and regains ``restore_rate`` points per second of ``clock``."""

    def __init__(self, *, size: float, restore_rate: float, clock: Callable[[], float]) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.size = float(size)
        self.restore_rate = float(restore_rate)
        self._level = self.size
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._at)
        self._level = min(self.size, self._level + elapsed * self.restore_rate)
        self._at = now

    def try_take(self, cost: float) -> bool:
        """Take ``cost`` points if they are all available; otherwise take nothing."""
        with self._lock:
            self._refill()
            if cost > self._level:
                return False
            self._level -= cost
            return True

    def give_back(self, points: float) -> None:
        """Return points taken for a query whose actual cost was lower than requested."""
        with self._lock:
            self._refill()
            self._level = min(self.size, self._level + max(0.0, points))

    def drain(self, points: float | None = None) -> None:
        """Empty the bucket (or take ``points``) so tests can provoke throttling."""
        with self._lock:
            self._refill()
            self._level = max(0.0, self._level - (self.size if points is None else points))

    def status(self) -> ThrottleStatus:
        with self._lock:
            self._refill()
            return ThrottleStatus(self.size, self._level, self.restore_rate)
