"""Which Admin API version serves a request, by Shopify's calendar
(https://shopify.dev/docs/api/usage/versioning): a version ships each quarter (January, April,
July, October, on the 1st at 17:00 UTC) and is supported for 12 months. A request naming a
retired version is served by the oldest supported one ("falls forward"); the response's
``X-Shopify-API-Version`` header names the version that served it. A version that was never
released (not a quarter, not yet out, or older than Shopify's first, 2019-04) is not found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

HEADER = "X-Shopify-API-Version"
FIRST_VERSION = "2019-04"
RELEASE_HOUR = 17
SHAPE = re.compile(r"(\d{4})-(01|04|07|10)")


def release_of(version: str) -> datetime | None:
    """When ``version`` ships, or None if it is not a quarterly version name."""
    matched = SHAPE.fullmatch(version)
    if matched is None:
        return None
    return datetime(int(matched[1]), int(matched[2]), 1, RELEASE_HOUR, tzinfo=UTC)


def _months_later(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


def _quarter_before(version: str) -> str:
    year, month = int(version[:4]), int(version[5:])
    return f"{year - 1}-10" if month == 1 else f"{year}-{month - 3:02d}"


@dataclass
class ApiVersions:
    """The release calendar of one world; ``support_months`` is Shopify's 12 unless a test
    needs an older version to stay supported."""

    support_months: int = 12

    def latest(self, now: datetime) -> str:
        version = f"{now.year}-{(now.month - 1) // 3 * 3 + 1:02d}"
        release = release_of(version)
        assert release is not None
        return version if release <= now else _quarter_before(version)

    def supported(self, now: datetime) -> list[str]:
        """Every supported version at ``now``, oldest first."""
        found: list[str] = []
        version = self.latest(now)
        while version >= FIRST_VERSION and self._still_supported(version, now):
            found.insert(0, version)
            version = _quarter_before(version)
        return found

    def _still_supported(self, version: str, now: datetime) -> bool:
        release = release_of(version)
        return release is not None and now < _months_later(release, self.support_months)

    def served(self, requested: str, now: datetime) -> str | None:
        """The version that serves a request naming ``requested``; None: never released."""
        release = release_of(requested)
        if release is None or requested < FIRST_VERSION or release > now:
            return None
        if self._still_supported(requested, now):
            return requested
        return self.supported(now)[0]
