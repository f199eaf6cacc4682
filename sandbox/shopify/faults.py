"""Failures tests can switch on per shop: latency, HTTP errors, responses lost after a mutation.

faults = world.faults("maple-and-moss.myshopify.com")
faults.latency = 0.3                      # seconds added to every request
faults.fail_next(status=503, times=2)     # the next two requests answer 503
faults.fail_next(status=429)              # answered 429 with a Retry-After header
faults.drop_after_mutation(times=1)       # the next mutation is applied, its response lost
faults.clear()
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

ERROR_BODIES: dict[int, str] = {
    429: "Exceeded 2 calls per second for api client. Reduce request rates to resume "
    "uninterrupted service.",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class PlannedFailure:
    """One request that will be answered with ``status`` instead of being executed."""

    status: int
    retry_after: float | None = None

    @property
    def body(self) -> dict[str, str]:
        return {"errors": ERROR_BODIES.get(self.status, "Error")}

    @property
    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": f"{self.retry_after:.1f}"}


class Faults:
    """The failures planned for one shop; safe to change from a test thread while serving."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latency: float = 0.0
        self._failures: deque[PlannedFailure] = deque()
        self._drops = 0

    def fail_next(
        self, status: int = 503, times: int = 1, *, retry_after: float | None = None
    ) -> None:
        """Answer the next ``times`` requests with HTTP ``status`` (429 gets a Retry-After)."""
        if retry_after is None and status == 429:
            retry_after = 1.0
        with self._lock:
            self._failures.extend(PlannedFailure(status, retry_after) for _ in range(times))

    def drop_after_mutation(self, times: int = 1) -> None:
        """Apply the next ``times`` mutations, then lose their responses."""
        with self._lock:
            self._drops += times

    def clear(self) -> None:
        with self._lock:
            self.latency = 0.0
            self._failures.clear()
            self._drops = 0

    def take_failure(self) -> PlannedFailure | None:
        with self._lock:
            return self._failures.popleft() if self._failures else None

    def take_drop(self) -> bool:
        with self._lock:
            if self._drops <= 0:
                return False
            self._drops -= 1
            return True

    @property
    def pending_failures(self) -> int:
        with self._lock:
            return len(self._failures)

    @property
    def pending_drops(self) -> int:
        with self._lock:
            return self._drops
