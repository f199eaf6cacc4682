"""Invoice months: ``"2026-10"``, the calendar month in a store's time zone."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from portal.errors import BadMonth

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(text: str) -> str:
    """``text`` if it names a month as YYYY-MM; BadMonth otherwise."""
    if not _MONTH.match(text or ""):
        raise BadMonth(f"{text!r} is not a month (expected YYYY-MM, e.g. 2026-10)")
    return text


def month_of(moment: datetime, time_zone: str) -> str:
    """The month ``moment`` falls in, on the store's calendar."""
    return moment.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m")


def next_month(month: str) -> str:
    year, number = _parts(month)
    return f"{year + 1}-01" if number == 12 else f"{year}-{number + 1:02d}"


def previous_month(month: str) -> str:
    year, number = _parts(month)
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def month_bounds(month: str, time_zone: str) -> tuple[datetime, datetime]:
    """[start, end) of the month in UTC, as the store's clocks see it."""
    return _start(month, time_zone), _start(next_month(month), time_zone)


@dataclass(frozen=True)
class Fringe:
    """The moments ``[start, end)`` that UTC puts in ``utc_month`` and the store's calendar in
    ``store_month``: the hours between UTC's midnight and the store's at a month boundary."""

    start: datetime
    end: datetime
    utc_month: str
    store_month: str


def zone_fringes(months: Iterable[str], time_zone: str) -> tuple[Fringe, ...]:
    """At each start and end of ``months``, in order of time: what a count by UTC month gets
    wrong about the store's months. West of UTC the store's month begins after UTC's, so its
    first hours count under the next month by UTC; east of UTC before it, so its first hours
    count under the month before. None in a zone at UTC's offset."""
    found = []
    for after in sorted({*months, *(next_month(m) for m in months)}):
        before = previous_month(after)
        local, utc = _start(after, time_zone), _start(after, "UTC")
        if local > utc:
            found.append(Fringe(utc, local, utc_month=after, store_month=before))
        elif local < utc:
            found.append(Fringe(local, utc, utc_month=before, store_month=after))
    return tuple(found)


def _start(month: str, time_zone: str) -> datetime:
    year, number = _parts(month)
    return datetime(year, number, 1, tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


def _parts(month: str) -> tuple[int, int]:
    parse_month(month)
    year, number = month.split("-")
    return int(year), int(number)


def month_label(month: str) -> str:
    """``"October 2026"``."""
    year, number = _parts(month)
    return datetime(year, number, 1).strftime("%B %Y")
