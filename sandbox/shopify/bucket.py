"""Shopify's calculated-query-cost leaky bucket, one per shop."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


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
    """Holds up to ``size`` points and regains ``restore_rate`` points per second of ``clock``.

    ``admitted`` and ``throttled`` count the queries it let through and the ones it refused
    (answered THROTTLED), and ``operations``, ``throttled_operations`` and the ``points``
    spent each by operation name, so tests and load runs can tell Shopify's side of the
    story."""

    def __init__(self, *, size: float, restore_rate: float, clock: Callable[[], float]) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.size = float(size)
        self.restore_rate = float(restore_rate)
        self._level = self.size
        self._at = clock()
        self.admitted = 0
        self.throttled = 0
        self.operations: Counter[str] = Counter()
        self.throttled_operations: Counter[str] = Counter()
        self.points: dict[str, float] = defaultdict(float)  # actual cost spent, by operation

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._at)
        self._level = min(self.size, self._level + elapsed * self.restore_rate)
        self._at = now

    def try_take(self, cost: float, operation: str | None = None) -> bool:
        """Take ``cost`` points if they are all available; otherwise take nothing."""
        with self._lock:
            self._refill()
            if cost > self._level:
                self.throttled += 1
                self.throttled_operations[operation or "(unnamed)"] += 1
                return False
            self._level -= cost
            self.points[operation or "(unnamed)"] += cost
            self.admitted += 1
            self.operations[operation or "(unnamed)"] += 1
            return True

    def give_back(self, points: float, operation: str | None = None) -> None:
        """Return points taken for a query whose actual cost was lower than requested."""
        with self._lock:
            self._refill()
            self._level = min(self.size, self._level + max(0.0, points))
            self.points[operation or "(unnamed)"] -= max(0.0, points)

    def drain(self, points: float | None = None) -> None:
        """Empty the bucket (or take ``points``) so tests can provoke throttling."""
        with self._lock:
            self._refill()
            self._level = max(0.0, self._level - (self.size if points is None else points))

    def counts(self) -> dict[str, Any]:
        with self._lock:
            return {
                "admitted": self.admitted,
                "throttled": self.throttled,
                "operations": dict(self.operations),
                "throttled operations": dict(self.throttled_operations),
                "points": dict(self.points),
            }

    def status(self) -> ThrottleStatus:
        with self._lock:
            self._refill()
            return ThrottleStatus(self.size, self._level, self.restore_rate)
