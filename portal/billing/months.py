"""Invoice months: ``"2026-10"``, the calendar month in a store's time zone."""

from __future__ import annotations

import re
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
