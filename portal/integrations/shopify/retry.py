"""How long to wait before trying Shopify again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0


def backoff(attempt: int, *, rng: Callable[[], float], cap: float = BACKOFF_CAP) -> float:
    """Exponential backoff with jitter: half of ``base * 2**attempt`` fixed, half random, so
    clients that failed together do not come back together."""
    ceiling = min(cap, BACKOFF_BASE * 2.0**attempt)
    return ceiling / 2 + rng() * ceiling / 2


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
    current = now() if now else datetime.now(UTC)
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
