"""The one backoff policy: how long the Shopify and Corso clients wait before trying a call
again, and how long the job queue waits before running a failed job again.

Exponential with "equal jitter": half of ``base * 2**attempt`` (capped) is fixed, half random, so
callers that failed together do not come back together, yet none retries at once. What a
service itself asks for (``Retry-After``, Shopify's query-cost refill, Corso's ``RateLimit-Reset``)
overrides the formula; that stays in each client.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from portal.clock import utcnow


@dataclass(frozen=True)
class Backoff:
    base: float  # seconds before the first retry (attempt 0), on average three quarters of it
    cap: float  # no single wait is longer

    def delay(self, attempt: int, *, rng: Callable[[], float] = random.random) -> float:
        ceiling = min(self.cap, self.base * 2.0 ** max(attempt, 0))
        return ceiling / 2 + rng() * ceiling / 2


# Calls made while someone waits on a page or a job holds a lease: short.
HTTP_RETRY = Backoff(base=0.5, cap=8.0)
# Jobs that failed: long enough for an outage to pass, never longer than a quarter of an hour.
JOB_RETRY = Backoff(base=2.0, cap=15 * 60.0)


def retry_after(value: str | None, *, now: Callable[[], datetime] | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delay-seconds or an HTTP date; None if absent or
    unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now() if now else utcnow()
    return max(0.0, (when - current).total_seconds())


@dataclass
class RetryBudget:
    """What one call may still spend: a number of retries and a total time asleep."""

    max_retries: int
    max_wait: float
    retries: int = 0
    waited: float = 0.0

    def allows_retry(self, delay: float) -> bool:
        return self.retries < self.max_retries and self.can_wait(delay)

    def can_wait(self, delay: float) -> bool:
        return self.waited + delay <= self.max_wait

    def spend_retry(self, delay: float) -> None:
        self.retries += 1
        self.waited += delay

    def spend_wait(self, delay: float) -> None:
        self.waited += delay
